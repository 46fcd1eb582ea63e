"""Chart specs for the supervisor dashboards: plain dicts that the {% chart %} tag writes
into the page as JSON and static/web/charts.js draws with ECharts.

The contract (charts.js documents the same):

- line, bar, stacked-bar: ``{"kind", "title", "x": [label, ...], "series": [{"name",
  "data": [number | None, ...]}], "unit", "y_label"}``, optionally ``"links": [url | None,
  ...]`` with one drill-down address per x entry;
- histogram: the same shape with the counts per bin as the one series; ``unit`` is that of
  the measured values and ``"edges"`` (one more than ``x``, the last ``None`` for an open
  bin) lets the page label the bins in its own language;
- pie: ``x`` and the first series;
- sankey: ``{"kind", "title", "nodes": [name, ...], "links": [{"source", "target",
  "value"}], "unit"}``.

``unit`` is "count", "percent" (values are fractions 0..1), "seconds" or "minutes".
Values that are not finite numbers become None (JSON has no NaN)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypedDict

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Unit = Literal["count", "percent", "seconds", "minutes"]
UNITS: tuple[Unit, ...] = ("count", "percent", "seconds", "minutes")

Number = int | float | Decimal
Label = str | Promise
ChartSpec = dict[str, Any]


class Series(TypedDict):
    name: Label
    data: list[float | None]


SeriesInput = Mapping[Label, Sequence[Number | None]] | Sequence[Series]


def series(name: Label, data: Iterable[Number | None]) -> Series:
    return {"name": name, "data": [_value(value) for value in data]}


def line_chart(
    title: Label,
    x: Sequence[Label],
    series: SeriesInput,
    unit: Unit = "count",
    *,
    y_label: Label = "",
    links: Sequence[str | None] | None = None,
) -> ChartSpec:
    """A time series or any other ordered x axis; None leaves a gap in the line."""
    return _cartesian("line", title, x, series, unit, y_label, links)


def bar_chart(
    title: Label,
    x: Sequence[Label],
    series: SeriesInput,
    unit: Unit = "count",
    *,
    y_label: Label = "",
    links: Sequence[str | None] | None = None,
    stacked: bool = False,
) -> ChartSpec:
    """Bars side by side per x entry, or stacked into one bar with ``stacked=True``."""
    kind = "stacked-bar" if stacked else "bar"
    return _cartesian(kind, title, x, series, unit, y_label, links)


def histogram(
    title: Label,
    values: Iterable[Number],
    edges: Sequence[Number],
    unit: Unit = "count",
    *,
    y_label: Label = "",
    series_name: Label | None = None,
    open_end: bool = True,
) -> ChartSpec:
    """How many ``values`` fall into each bin ``edges[i] <= value < edges[i + 1]``.

    With ``open_end`` a last bin counts every value from ``edges[-1]`` on; without it the
    last bin includes its upper edge. A value outside the bins is a ValueError, as the
    chart would otherwise hide it."""
    bounds = [float(edge) for edge in edges]
    if len(bounds) < 2 or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
        raise ValueError("histogram edges must be at least two strictly increasing numbers")
    closed_bins = len(bounds) - 1
    counts = [0] * (closed_bins + (1 if open_end else 0))
    for raw in values:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is no number to count in a histogram")
        if value < bounds[0]:
            raise ValueError(f"{raw!r} lies below the first histogram edge {edges[0]!r}")
        index = bisect.bisect_right(bounds, value) - 1
        if index >= closed_bins:
            if not open_end and value > bounds[-1]:
                raise ValueError(f"{raw!r} lies above the last histogram edge {edges[-1]!r}")
            index = closed_bins if open_end else closed_bins - 1
        counts[index] += 1
    labels = [f"{_plain(a)}–{_plain(b)}" for a, b in zip(bounds, bounds[1:], strict=False)]
    spec_edges: list[float | None] = list(bounds)
    if open_end:
        labels.append(f"≥ {_plain(bounds[-1])}")
        spec_edges.append(None)
    return {
        "kind": "histogram",
        "title": title,
        "x": labels,
        "edges": spec_edges,
        "series": [series(_("Count") if series_name is None else series_name, counts)],
        "unit": _unit(unit),
        "y_label": y_label,
    }


def pie_chart(
    title: Label, labels: Sequence[Label], values: Sequence[Number | None], unit: Unit = "count"
) -> ChartSpec:
    """Shares of a whole; the template's table carries the exact numbers."""
    return _cartesian("pie", title, labels, [series(title, values)], unit, "", None)


def sankey(
    title: Label,
    links: Iterable[tuple[Label, Label, Number]] | Mapping[tuple[Label, Label], Number],
    unit: Unit = "count",
) -> ChartSpec:
    """Flows between named nodes, e.g. the channels of customer journeys.

    Repeated (source, target) pairs are added up and flows of zero left out. A Sankey
    diagram needs flows without cycles: a journey that returns to a channel names its
    nodes by step ("1 · E-mail", "2 · Phone", "3 · E-mail"), otherwise ValueError."""
    triples = (
        [(source, target, raw) for (source, target), raw in links.items()]
        if isinstance(links, Mapping)
        else links
    )
    totals: dict[tuple[str, str], float] = {}
    for source, target, raw in triples:
        value = _value(raw)
        if value is None or value < 0:
            raise ValueError(f"flow {source!s} → {target!s} needs a value of zero or more")
        key = (str(source), str(target))
        if key[0] == key[1]:
            raise ValueError(f"flow from {key[0]} to itself: name the nodes by step")
        totals[key] = totals.get(key, 0.0) + value
    flows = {key: value for key, value in totals.items() if value > 0}
    nodes: list[str] = []
    for source, target in flows:
        for name in (source, target):
            if name not in nodes:
                nodes.append(name)
    _refuse_cycles(flows)
    return {
        "kind": "sankey",
        "title": title,
        "nodes": nodes,
        "links": [
            {"source": source, "target": target, "value": _integral(value)}
            for (source, target), value in flows.items()
        ],
        "unit": _unit(unit),
    }


def is_empty(spec: Mapping[str, Any] | None) -> bool:
    """True where charts.js shows the empty text instead of a chart."""
    if not spec or not spec.get("kind"):
        return True
    if spec["kind"] == "sankey":
        return not any(link["value"] > 0 for link in spec.get("links", []))
    if not spec.get("x"):
        return True
    all_series = spec.get("series", [])[:1] if spec["kind"] == "pie" else spec.get("series", [])
    return not any(
        value is not None and (spec["kind"] != "pie" or value > 0)
        for one in all_series
        for value in one["data"]
    )


def _cartesian(
    kind: str,
    title: Label,
    x: Sequence[Label],
    data: SeriesInput,
    unit: Unit,
    y_label: Label,
    links: Sequence[str | None] | None,
) -> ChartSpec:
    if isinstance(data, Mapping):
        all_series = [series(name, values) for name, values in data.items()]
    else:
        all_series = [series(one["name"], one["data"]) for one in data]
    for one in all_series:
        if len(one["data"]) != len(x):
            raise ValueError(
                f"series {one['name']!s} has {len(one['data'])} values for {len(x)} x entries"
            )
    spec: ChartSpec = {
        "kind": kind,
        "title": title,
        "x": list(x),
        "series": all_series,
        "unit": _unit(unit),
        "y_label": y_label,
    }
    if links is not None:
        if len(links) != len(x):
            raise ValueError(f"{len(links)} drill-down links for {len(x)} x entries")
        spec["links"] = [str(link) if link else None for link in links]
    return spec


def _refuse_cycles(flows: Iterable[tuple[str, str]]) -> None:
    following: dict[str, list[str]] = {}
    for source, target in flows:
        following.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1 while on the current path, 2 when done

    def visit(node: str) -> None:
        state[node] = 1
        for after in following.get(node, []):
            if state.get(after) == 1:
                raise ValueError(f"the flows return to {after}: name the nodes by step")
            if after not in state:
                visit(after)
        state[node] = 2

    for node in list(following):
        if node not in state:
            visit(node)


def _unit(unit: str) -> Unit:
    if unit not in UNITS:
        raise ValueError(f"unknown chart unit {unit!r}; one of {', '.join(UNITS)}")
    return unit  # type: ignore[return-value]


def _value(value: Number | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return _integral(number) if math.isfinite(number) else None


def _integral(number: float) -> float:
    """Whole numbers stay ints in the JSON (12, not 12.0)."""
    return int(number) if float(number).is_integer() else number


def _plain(number: float) -> str:
    return str(_integral(number))

"""The chart spec builders and the {% chart %} tag that writes a spec into the page."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from casework.web.charts import (
    bar_chart,
    histogram,
    is_empty,
    line_chart,
    pie_chart,
    sankey,
    series,
)
from casework.web.templatetags.charts import DEFAULT_EMPTY_TEXT


def render(spec: object, **tag_args: str) -> str:
    args = " ".join(f"{name}={name}" for name in tag_args)
    return Template("{% load charts %}{% chart spec " + args + " %}").render(
        Context({"spec": spec, **tag_args})
    )


def embedded_spec(html: str) -> dict:
    match = re.search(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert match is not None, html
    return json.loads(match.group(1))


def test_a_line_chart_keeps_the_order_of_x_and_series_and_leaves_gaps_as_none():
    spec = line_chart(
        "Backlog",
        ["Mon", "Tue", "Wed"],
        {"Open": [3, None, Decimal("4.5")], "New": [1, 2, float("nan")]},
        y_label="cases",
    )
    assert spec == {
        "kind": "line",
        "title": "Backlog",
        "x": ["Mon", "Tue", "Wed"],
        "series": [
            {"name": "Open", "data": [3, None, 4.5]},
            {"name": "New", "data": [1, 2, None]},
        ],
        "unit": "count",
        "y_label": "cases",
    }
    assert isinstance(spec["series"][0]["data"][0], int)


def test_a_bar_chart_takes_series_dicts_stacks_and_carries_drill_down_links():
    spec = bar_chart(
        "Service level",
        ["Team A", "Team B"],
        [series("met", [0.8, 0.95])],
        "percent",
        links=["/supervisor/teams/1/", None],
        stacked=True,
    )
    assert spec["kind"] == "stacked-bar"
    assert spec["unit"] == "percent"
    assert spec["series"] == [{"name": "met", "data": [0.8, 0.95]}]
    assert spec["links"] == ["/supervisor/teams/1/", None]
    assert bar_chart("t", ["a"], {"s": [1]})["kind"] == "bar"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: line_chart("t", ["a", "b"], {"s": [1]}), "1 values for 2 x entries"),
        (lambda: bar_chart("t", ["a"], {"s": [1]}, links=[]), "0 drill-down links"),
        (lambda: line_chart("t", ["a"], {"s": [1]}, "hours"), "unknown chart unit"),  # type: ignore[arg-type]
    ],
)
def test_specs_that_would_draw_wrongly_are_refused(call, message):  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        call()


def test_a_histogram_counts_values_into_bins_with_an_open_last_bin():
    spec = histogram("Handling time", [0, 59.9, 60, 119, 300, 5000], [0, 60, 120], "seconds")
    assert spec["kind"] == "histogram"
    assert spec["x"] == ["0–60", "60–120", "≥ 120"]
    assert spec["edges"] == [0, 60, 120, None]
    assert spec["series"][0]["data"] == [2, 2, 2]
    assert spec["unit"] == "seconds"
    assert str(spec["series"][0]["name"]) == "Count"


def test_a_closed_histogram_includes_its_upper_edge_and_refuses_values_outside():
    spec = histogram("Waiting", [1, 2.5, 5], [0, 2.5, 5], "minutes", open_end=False)
    assert spec["x"] == ["0–2.5", "2.5–5"]
    assert spec["edges"] == [0, 2.5, 5]
    assert spec["series"][0]["data"] == [1, 2]
    with pytest.raises(ValueError, match="above the last"):
        histogram("Waiting", [6], [0, 5], open_end=False)
    with pytest.raises(ValueError, match="below the first"):
        histogram("Waiting", [-1], [0, 5])
    with pytest.raises(ValueError, match="strictly increasing"):
        histogram("Waiting", [1], [0, 0])
    with pytest.raises(ValueError, match="no number"):
        histogram("Waiting", [math.inf], [0, 5])


def test_a_sankey_adds_up_repeated_flows_drops_zero_flows_and_lists_nodes_in_order():
    spec = sankey(
        "Journeys",
        [
            ("E-mail", "Phone", 3),
            ("E-mail", "Chat", 0),
            ("Phone", "Resolved", 2),
            ("E-mail", "Phone", 4),
        ],
    )
    assert spec == {
        "kind": "sankey",
        "title": "Journeys",
        "nodes": ["E-mail", "Phone", "Resolved"],
        "links": [
            {"source": "E-mail", "target": "Phone", "value": 7},
            {"source": "Phone", "target": "Resolved", "value": 2},
        ],
        "unit": "count",
    }
    assert sankey("J", {("a", "b"): 1.5})["links"] == [{"source": "a", "target": "b", "value": 1.5}]


def test_a_sankey_refuses_cycles_which_it_could_not_draw():
    with pytest.raises(ValueError, match="name the nodes by step"):
        sankey("J", [("E-mail", "Phone", 1), ("Phone", "E-mail", 1)])
    with pytest.raises(ValueError, match="itself"):
        sankey("J", [("E-mail", "E-mail", 1)])
    with pytest.raises(ValueError, match="zero or more"):
        sankey("J", [("a", "b", -1)])


def test_empty_specs_are_those_without_a_single_value():
    assert is_empty(None)
    assert is_empty({})
    assert is_empty(line_chart("t", [], {}))
    assert is_empty(line_chart("t", ["a", "b"], {"s": [None, None]}))
    assert not is_empty(line_chart("t", ["a", "b"], {"s": [None, 0]}))
    assert is_empty(pie_chart("t", ["a"], [0]))
    assert is_empty(sankey("t", [("a", "b", 0)]))
    assert not is_empty(sankey("t", [("a", "b", 1)]))


def test_the_tag_writes_the_spec_as_json_for_charts_js():
    spec = bar_chart("Cases", ["A"], {"open": [2]})
    html = render(spec, empty_text="Nothing yet")
    assert html.startswith('<div class="chart" data-chart data-chart-kind="bar"')
    assert 'data-empty-text="Nothing yet"' in html
    assert embedded_spec(html) == spec


def test_the_tag_escapes_a_title_that_would_end_the_script_element():
    title = '</script><script>alert("x")</script> & <b>'
    html = render(line_chart(title, ["a"], {"s": [1]}), empty_text='"><img src=x>')
    assert html.count("</script>") == 1
    assert "<b>" not in html and "<img" not in html
    assert "\\u003C/script\\u003E" in html
    assert 'data-empty-text="&quot;&gt;&lt;img src=x&gt;"' in html
    assert embedded_spec(html)["title"] == title


def test_the_tag_translates_lazy_texts_and_has_a_default_empty_text():
    spec = line_chart(_("Open"), ["a"], {_("Open"): [1]}, y_label=_("Open"))
    with translation.override("en"):
        html = render(spec)
    assert embedded_spec(html)["title"] == "Open"
    assert f'data-empty-text="{DEFAULT_EMPTY_TEXT}"' in html


def test_the_tag_draws_an_empty_placeholder_for_no_spec_and_adds_classes():
    html = render(None, css_class="chart-tall wide")
    assert 'class="chart chart-tall wide"' in html
    assert embedded_spec(html) == {}

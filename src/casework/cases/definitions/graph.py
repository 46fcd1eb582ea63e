"""A case type's life cycle as a standalone SVG picture, in pure Python.

Layout: primary stages are columns from left to right in the order a case meets them
(breadth-first from the initial stage); alternate stages (withdrawn, rejected, …) sit in a
lane below, drawn dashed. Each stage lists its steps as boxes. Transitions are arrows:
forward ones between the column headers, backward ones arching over the columns, ones
into the alternate lane dropping down. An arrow is labelled with its action, or else its
condition. Every text is XML-escaped; nothing outside this module is needed to draw it.
"""

from __future__ import annotations

from collections import deque
from xml.sax.saxutils import escape, quoteattr

from casework.cases.definitions.specs import CaseTypeDefinition, StageSpec, TransitionSpec
from casework.rules.translation import gettext as _

COLUMN_WIDTH = 210
COLUMN_GAP = 130
HEADER_HEIGHT = 44
STEP_HEIGHT = 34
STEP_GAP = 8
MARGIN = 40
TOP_SPACE = 110  # room for backward arrows and the title
LANE_GAP = 110
LABEL_CHARS = 34
FORWARD_LABEL_CHARS = 22  # must fit in the gap between two columns

_KIND_COLOURS = {
    "collect_data": "#e3f2fd",
    "decision": "#fff3e0",
    "set_data": "#f3e5f5",
    "task": "#e8f5e9",
    "approval": "#fce4ec",
    "notify": "#e0f7fa",
    "wait": "#f5f5f5",
    "subcase": "#ede7f6",
    "integration": "#fffde7",
    "action": "#e0f2f1",
}


def render_svg(definition: CaseTypeDefinition, *, language: str = "en") -> str:
    """The life cycle of `definition` as an SVG document (text). Names from the definition
    are shown in `language`; the few words of the picture itself in the active language."""
    primary = _ordered(definition, [stage for stage in definition.stages if not stage.is_alternate])
    alternate = [stage for stage in definition.stages if stage.is_alternate]
    positions: dict[str, tuple[float, float, float]] = {}  # key → x, y, height
    primary_height = max((_stage_height(stage) for stage in primary), default=HEADER_HEIGHT)
    for column, stage in enumerate(primary):
        x = MARGIN + column * (COLUMN_WIDTH + COLUMN_GAP)
        positions[stage.key] = (x, TOP_SPACE, _stage_height(stage))
    lane_y = TOP_SPACE + primary_height + LANE_GAP
    for column, stage in enumerate(alternate):
        x = MARGIN + column * (COLUMN_WIDTH + COLUMN_GAP)
        positions[stage.key] = (x, lane_y, _stage_height(stage))
    alternate_height = max((_stage_height(stage) for stage in alternate), default=0)
    columns = max(len(primary), len(alternate), 1)
    width = 2 * MARGIN + columns * COLUMN_WIDTH + (columns - 1) * COLUMN_GAP
    height = (lane_y + alternate_height if alternate else TOP_SPACE + primary_height) + MARGIN

    title = f"{definition.name.in_language(language)} ({definition.key} v{definition.version})"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
        "markerHeight='8' orient='auto-start-reverse'><path d='M 0 0 L 10 5 L 0 10 z' "
        "fill='#455a64'/></marker></defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        _text(MARGIN, 28, title, size=16, weight="bold"),
    ]
    if alternate:
        parts.append(_text(MARGIN, lane_y - 16, _("alternate stages"), size=11, colour="#78909c"))
    for stage in definition.stages:
        parts.extend(_stage(stage, positions[stage.key], language, definition.initial_stage))
    back_edges = 0
    for stage in definition.stages:
        for transition in stage.transitions:
            if transition.to not in positions:
                continue
            arrow, back_edges = _arrow(stage, transition, positions, back_edges, language)
            parts.extend(arrow)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _ordered(definition: CaseTypeDefinition, stages: list[StageSpec]) -> list[StageSpec]:
    """By distance from the initial stage (breadth-first), ties in definition order; stages
    not reached come last."""
    by_key = {stage.key: stage for stage in stages}
    distance = {definition.initial_stage: 0}
    queue = deque([definition.initial_stage])
    while queue:
        key = queue.popleft()
        for transition in by_key[key].transitions if key in by_key else ():
            if transition.to not in distance:
                distance[transition.to] = distance[key] + 1
                queue.append(transition.to)
    index = {stage.key: position for position, stage in enumerate(stages)}
    return sorted(
        stages, key=lambda stage: (distance.get(stage.key, len(stages)), index[stage.key])
    )


def _stage_height(stage: StageSpec) -> float:
    return HEADER_HEIGHT + len(stage.steps) * (STEP_HEIGHT + STEP_GAP) + STEP_GAP


def _stage(
    stage: StageSpec, position: tuple[float, float, float], language: str, initial: str
) -> list[str]:
    x, y, height = position
    fill, stroke, dash = (
        ("#fafafa", "#90a4ae", ' stroke-dasharray="6 4"')
        if stage.is_alternate
        else (
            "#eceff1",
            "#455a64",
            "",
        )
    )
    border = 3 if stage.is_final else 1.5
    parts = [
        f'<g class="stage" id={quoteattr("stage-" + stage.key)}>',
        f'<rect x="{x}" y="{y}" width="{COLUMN_WIDTH}" height="{height}" rx="8" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{border}"{dash}/>',
        _text(x + 10, y + 19, _short(stage.name.in_language(language), 28), weight="bold"),
        _text(
            x + 10,
            y + 35,
            " · ".join(
                label
                for label, shown in (
                    (stage.key, True),
                    (_("start"), stage.key == initial),
                    (_("final"), stage.is_final),
                )
                if shown
            ),
            size=10,
            colour="#607d8b",
        ),
    ]
    for index, step in enumerate(stage.steps):
        step_y = y + HEADER_HEIGHT + STEP_GAP + index * (STEP_HEIGHT + STEP_GAP)
        name = step.name.in_language(language) if step.name else step.key
        condition = " ?" if step.condition is not None else ""
        parts.append(
            f'<rect x="{x + 10}" y="{step_y}" width="{COLUMN_WIDTH - 20}" height="{STEP_HEIGHT}" '
            f'rx="4" fill="{_KIND_COLOURS.get(step.kind.value, "#ffffff")}" stroke="#b0bec5"/>'
        )
        parts.append(_text(x + 18, step_y + 14, _short(name, 30), size=11))
        parts.append(
            _text(x + 18, step_y + 27, f"{step.kind.value}{condition}", size=9, colour="#546e7a")
        )
    parts.append("</g>")
    return parts


def _arrow(
    stage: StageSpec,
    transition: TransitionSpec,
    positions: dict[str, tuple[float, float, float]],
    back_edges: int,
    language: str,
) -> tuple[list[str], int]:
    source_x, source_y, source_height = positions[stage.key]
    target_x, target_y, _height = positions[transition.to]
    if transition.action is not None:
        label = transition.name.in_language(language) if transition.name else transition.action
        label = f"[{label}]"
    elif transition.condition is not None:
        label = transition.condition.source
    else:
        label = ""
    style = 'stroke="#455a64" stroke-width="1.5" fill="none" marker-end="url(#arrow)"'
    if transition.action is not None:
        style += ' stroke-dasharray="4 3"'
    is_forward = target_x > source_x and target_y == source_y
    if target_y > source_y:  # down into the alternate lane
        start = (source_x + COLUMN_WIDTH / 2, source_y + source_height)
        end = (target_x + COLUMN_WIDTH / 2, target_y)
        middle_y = (start[1] + end[1]) / 2
        path = (
            f"M {start[0]} {start[1]} C {start[0]} {middle_y}, {end[0]} {middle_y}, "
            f"{end[0]} {end[1]}"
        )
        # Near the source, so that labels of arrows from different stages do not collide.
        label_at = (start[0] + (end[0] - start[0]) * 0.15, start[1] + (end[1] - start[1]) * 0.3)
    elif is_forward:
        start = (source_x + COLUMN_WIDTH, source_y + HEADER_HEIGHT / 2)
        end = (target_x, target_y + HEADER_HEIGHT / 2)
        bend = 0 if target_x - source_x <= COLUMN_WIDTH + COLUMN_GAP else -60
        path = (
            f"M {start[0]} {start[1]} C {start[0] + 40} {start[1] + bend}, "
            f"{end[0] - 40} {end[1] + bend}, {end[0]} {end[1]}"
        )
        label_at = ((start[0] + end[0]) / 2, start[1] + bend * 0.75 - 6)
    else:  # backward, to itself, or up from the alternate lane: arch over the top
        back_edges += 1
        lift = 18 + 14 * (back_edges % 4)
        start = (source_x + COLUMN_WIDTH / 2 + 20, source_y)
        end = (target_x + COLUMN_WIDTH / 2 - 20, target_y)
        top = min(start[1], end[1]) - lift - 20
        path = f"M {start[0]} {start[1]} C {start[0]} {top}, {end[0]} {top}, {end[0]} {end[1]}"
        label_at = ((start[0] + end[0]) / 2, top + 10)
    parts = [
        f'<path class="transition" d="{path}" {style}>'
        f"<title>{escape(stage.key + ' → ' + transition.to + (': ' + label if label else ''))}"
        "</title></path>"
    ]
    if label:
        parts.append(
            _text(
                label_at[0],
                label_at[1],
                _short(label, LABEL_CHARS),
                size=10,
                anchor="middle",
                colour="#37474f",
            )
        )
    return parts, back_edges


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 12,
    weight: str = "normal",
    colour: str = "#263238",
    anchor: str = "start",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
        f'fill="{colour}" text-anchor="{anchor}">{escape(text)}</text>'
    )

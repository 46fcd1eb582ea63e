"""From events to figures: which digest an event belongs to, and what a digest contributes
to the summary tables.

Both steps are pure functions. A digest is a set of compact entries keyed by the event's
sequence number, so it is the same whatever order its events came in and however often;
its contribution is computed from the entries sorted by time. That is what makes the
incremental figures equal a full recomputation (docs/analytics.md).

Entries (JSON lists, `t` = occurred at, seconds since the epoch):
  case:      ["o", t, case_type, service_type, queue, by_agent, customer_id, segment]
             ["i", t, channel, direction, actor_kind, actor_id]              a contact
             ["f", t, to_queue, agent_id]                                    forwarded
             ["a", t, owner_id]                                              assigned
             ["r", t, resolution_code, actor_kind, actor_id]                 resolved
             ["ro", t]                                                       reopened
             ["l", t, customer_id, segment]                                  customer linked
             ["sm", t, kind, in_time] / ["sb", t, kind]                      SLA met / breached
             ["h", t]                                                        a person acted
  work_item: ["q", t, channel, queue] ["ac", t, agent_id, waited] ["c", t, agent_id,
             handled] ["w", t, waited] ["wu", t, after_work]
             queued/accepted/completed/withdrawn/after-call work ended
  interaction (contacts without a case): ["i", t, channel, direction, actor_kind, actor_id]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from casework.analytics.models import HANDLING_TIME_BOUNDS, SERVICE_LEVEL_THRESHOLDS

AGENT = "agent"
INBOUND = "inbound"
OUTBOUND = "outbound"
FCR_WINDOW_SECONDS = 7 * 24 * 3600
# Journeys longer than this are counted at this position (the flow chart stays readable).
MAX_JOURNEY_POSITION = 6

# The retention case type's resolution codes, by outcome.
DEFAULT_RETENTION_OUTCOMES: Mapping[str, tuple[str, ...]] = {
    "saved": ("retained", "saved", "offer-accepted"),
    "lost": ("churned", "lost", "cancelled-contract", "offer-declined"),
}


class EventRow(NamedTuple):
    seq: int
    occurred_at: datetime
    code: str
    actor_kind: str
    actor_id: int | None
    object_type: str
    object_id: int
    payload: dict[str, Any]


EVENT_FIELDS = EventRow._fields

# Codes that never touch a figure: the consumer does not read their payloads.
RELEVANT_PREFIXES = ("case.", "task.", "sla.met", "sla.breached", "interaction.", "work_item.")


def is_relevant(code: str) -> bool:
    return code.startswith(RELEVANT_PREFIXES)


def entries_of(event: EventRow) -> list[tuple[str, int, list[Any]]]:
    """(digest kind, entity id, entry) for each digest the event belongs to."""
    t = event.occurred_at.timestamp()
    p = event.payload
    code = event.code
    by_agent = event.actor_kind == AGENT
    agent_id = event.actor_id if by_agent else None
    if code == "interaction.recorded":
        if p.get("occurred_at"):
            t = datetime.fromisoformat(p["occurred_at"]).timestamp()
        entry = ["i", t, p.get("channel", ""), p.get("direction", ""), event.actor_kind, agent_id]
        if p.get("case_id"):
            return [("case", p["case_id"], entry)]
        return [("interaction", event.object_id, entry)]
    if code.startswith("work_item."):
        return _work_item_entries(event, t)
    if code.startswith("task."):
        if by_agent and p.get("case_id"):
            return [("case", p["case_id"], ["h", t])]
        return []
    if event.object_type != "case":
        return []
    case_id = event.object_id
    if code == "case.opened":
        entry = [
            "o",
            t,
            p.get("case_type", ""),
            p.get("service_type", ""),
            p.get("queue", ""),
            by_agent,
            p.get("customer_id"),
            None,  # the segment, looked up when the digest first sees the entry
        ]
    elif code == "case.forwarded":
        entry = ["f", t, p.get("to_queue", ""), agent_id]
    elif code == "case.assigned":
        entry = ["a", t, (p.get("after") or {}).get("owner_id")]
    elif code == "case.resolved":
        entry = ["r", t, p.get("resolution_code", ""), event.actor_kind, agent_id]
    elif code == "case.reopened":
        entry = ["ro", t]
    elif code == "case.customer_linked":
        entry = ["l", t, p.get("customer_id"), None]
    elif code == "sla.met":
        entry = ["sm", t, p.get("kind", ""), bool(p.get("in_time"))]
    elif code == "sla.breached":
        entry = ["sb", t, p.get("kind", "")]
    elif by_agent:
        entry = ["h", t]
    else:
        return []
    return [("case", case_id, entry)]


def _work_item_entries(event: EventRow, t: float) -> list[tuple[str, int, list[Any]]]:
    p = event.payload
    code = event.code
    if code == "work_item.queued":
        entry = ["q", t, p.get("channel", ""), p.get("queue", "")]
    elif code == "work_item.accepted":
        entry = ["ac", t, p.get("agent_id"), float(p.get("waited_seconds") or 0)]
    elif code == "work_item.completed":
        entry = ["c", t, p.get("agent_id"), float(p.get("handled_seconds") or 0)]
    elif code == "work_item.withdrawn":
        entry = ["w", t, float(p.get("waited_seconds") or 0)]
    elif code == "work_item.wrapped_up":
        entry = ["wu", t, float(p.get("after_work_seconds") or 0)]
    else:
        return []
    return [("work_item", event.object_id, entry)]


def customers_needing_segments(entries: Iterable[list[Any]]) -> set[int]:
    return {
        entry[-2] for entry in entries if entry[0] in ("o", "l") and entry[-1] is None and entry[-2]
    }


def fill_segments(entries: Iterable[list[Any]], segments: Mapping[int, str]) -> None:
    """Put the customer's segment into opened/linked entries (as of when it was counted)."""
    for entry in entries:
        if entry[0] in ("o", "l") and entry[-1] is None:
            entry[-1] = segments.get(entry[-2], "") if entry[-2] else ""


class Point(NamedTuple):
    """Measures added at one moment to one row of a summary table. `table` is "q" (queue
    tables), "a" (agent tables) or "t" (channel transitions); `dims` the row's key."""

    table: str
    t: float
    dims: tuple[Any, ...]
    measures: dict[str, int]


def points_of(kind: str, digest: Mapping[str, list[Any]], retention: Mapping) -> list[Point]:
    if not digest:
        return []
    # By time, then sequence: the same order whatever order the entries arrived in.
    ordered = sorted(digest.items(), key=lambda item: (item[1][1], int(item[0])))
    entries = [entry for _, entry in ordered]
    if kind == "case":
        return _case_points(entries, retention)
    if kind == "work_item":
        return _work_item_points(entries)
    return _contact_points(entries, ("", "", "", ""))


def _contact_points(entries: list[list[Any]], case_dims: tuple[str, str, str, str]) -> list[Point]:
    """Contacts count in their own channel; `case_dims` = queue, case type, service type,
    segment."""
    points = []
    for entry in entries:
        if entry[0] != "i" or entry[3] not in (INBOUND, OUTBOUND):
            continue
        _, t, channel, direction, actor_kind, agent_id = entry
        measure = "contacts_in" if direction == INBOUND else "contacts_out"
        points.append(Point("q", t, (channel, *case_dims), {measure: 1}))
        if direction == OUTBOUND and agent_id:
            points.append(Point("a", t, (agent_id, channel, case_dims[0]), {measure: 1}))
    return points


def _case_points(entries: list[list[Any]], retention: Mapping) -> list[Point]:
    opened = next((entry for entry in entries if entry[0] == "o"), None)
    case_type = service_type = segment = start_queue = ""
    if opened:
        _, _, case_type, service_type, start_queue, _, _, segment = opened
    linked = [entry for entry in entries if entry[0] == "l"]
    if linked:
        segment = linked[-1][3] or segment
    forwards = [entry for entry in entries if entry[0] == "f"]

    def queue_at(t: float) -> str:
        queue = start_queue
        for forward in forwards:
            if forward[1] > t:
                break
            queue = forward[2]
        return queue

    def owner_at(t: float) -> int | None:
        owner = None
        for entry in entries:
            if entry[1] > t:
                break
            if entry[0] == "a":
                owner = entry[2]
        return owner

    points: list[Point] = []
    contacts = [entry for entry in entries if entry[0] == "i"]
    for contact in contacts:
        points += _contact_points(
            [contact], (queue_at(contact[1]), case_type, service_type, segment)
        )
    inbound = [entry for entry in contacts if entry[3] == INBOUND]
    channel = inbound[0][2] if inbound else ""

    def dims(t: float) -> tuple[str, ...]:
        return (channel, queue_at(t), case_type, service_type, segment)

    if opened:
        measures = {"cases_opened": 1}
        if inbound:
            measures["cases_with_contact"] = 1
            switches = sum(1 for a, b in zip(inbound, inbound[1:], strict=False) if a[2] != b[2])
            if len(inbound) > 1:
                measures["cases_repeat"] = 1
            if switches:
                measures["channel_switches"] = switches
        points.append(
            Point(
                "q", opened[1], (channel, start_queue, case_type, service_type, segment), measures
            )
        )
        previous = "start"
        for position, contact in enumerate(inbound[:MAX_JOURNEY_POSITION], start=1):
            points.append(
                Point(
                    "t",
                    opened[1],
                    (position, previous, contact[2], case_type, segment),
                    {"cases": 1},
                )
            )
            previous = contact[2]

    if inbound:
        first_in = inbound[0][1]
        # A person's answer: automatic acknowledgements do not count as a response.
        reply = next(
            (c for c in contacts if c[3] == OUTBOUND and c[4] == AGENT and c[1] >= first_in), None
        )
        if reply:
            points.append(
                Point(
                    "q",
                    reply[1],
                    dims(reply[1]),
                    {"first_responses": 1, "first_response_seconds": round(reply[1] - first_in)},
                )
            )

    for forward in forwards:
        before = queue_at(forward[1] - 1e-6)
        points.append(
            Point(
                "q",
                forward[1],
                (channel, before, case_type, service_type, segment),
                {"transfers": 1},
            )
        )
        if forward[3]:
            points.append(Point("a", forward[1], (forward[3], channel, before), {"transfers": 1}))

    seen_sla: set[tuple[str, str]] = set()
    for entry in entries:
        if entry[0] not in ("sm", "sb") or (entry[0], entry[2]) in seen_sla:
            continue
        seen_sla.add((entry[0], entry[2]))
        if entry[0] == "sm" and not entry[3]:
            continue  # met late: the breach was counted when it happened
        outcome = "met" if entry[0] == "sm" else "breached"
        points.append(Point("q", entry[1], dims(entry[1]), {f"sla_{entry[2]}_{outcome}": 1}))

    resolution = next((entry for entry in entries if entry[0] == "r"), None)
    if resolution:
        points += _resolution_points(entries, resolution, inbound, dims, owner_at, retention)
    return points


def _resolution_points(entries, resolution, inbound, dims, owner_at, retention) -> list[Point]:  # noqa: ANN001
    """The first resolution: resolved, first-contact resolution, reopened, automated."""
    _, t, code, actor_kind, agent_id = resolution
    measures = {"cases_resolved": 1}
    contacts_before = sum(1 for contact in inbound if contact[1] <= t)
    came_back = any(t < contact[1] <= t + FCR_WINDOW_SECONDS for contact in inbound)
    reopened = any(entry[0] == "ro" and entry[1] >= t for entry in entries)
    reopened_soon = any(
        entry[0] == "ro" and t <= entry[1] <= t + FCR_WINDOW_SECONDS for entry in entries
    )
    if contacts_before == 1 and not came_back and not reopened_soon:
        measures["cases_fcr"] = 1
    if reopened:
        measures["cases_reopened"] = 1
    if not _a_person_acted(entries, t):
        measures["cases_automated"] = 1
    if code in retention.get("saved", ()):
        measures["retention_saved"] = 1
    elif code in retention.get("lost", ()):
        measures["retention_lost"] = 1
    case_dims = dims(t)
    points = [Point("q", t, case_dims, measures)]
    agent = agent_id if actor_kind == AGENT else owner_at(t)
    if agent:
        agent_measures = {k: v for k, v in measures.items() if not k.startswith("retention_")}
        points.append(Point("a", t, (agent, case_dims[0], case_dims[1]), agent_measures))
    return points


def _a_person_acted(entries: list[list[Any]], until: float) -> bool:
    for entry in entries:
        if entry[1] > until:
            break
        kind = entry[0]
        if (
            kind == "h"
            or (kind == "o" and entry[5])
            or (kind == "i" and entry[4] == AGENT)
            or (kind == "f" and entry[3])
            or (kind == "r" and entry[3] == AGENT)
        ):
            return True
    return False


def _work_item_points(entries: list[list[Any]]) -> list[Point]:
    queued = next((entry for entry in entries if entry[0] == "q"), None)
    channel, queue = (queued[2], queued[3]) if queued else ("", "")
    dims = (channel, queue, "", "", "")
    points = []
    if queued:
        points.append(Point("q", queued[1], dims, {"offered": 1}))
    accepted = next((entry for entry in entries if entry[0] == "ac"), None)
    if accepted:
        _, t, agent_id, waited = accepted
        measures = {"answered": 1, "answer_wait_seconds": round(waited)}
        for seconds in SERVICE_LEVEL_THRESHOLDS:
            if waited <= seconds:
                measures[f"answered_within_{seconds}"] = 1
        points.append(Point("q", t, dims, measures))
        if agent_id:
            points.append(Point("a", t, (agent_id, channel, queue), measures))
    else:
        withdrawn = next((entry for entry in entries if entry[0] == "w"), None)
        if withdrawn:
            measures = {"abandoned": 1, "abandon_wait_seconds": round(withdrawn[2])}
            points.append(Point("q", withdrawn[1], dims, measures))
    completed = next((entry for entry in entries if entry[0] == "c"), None)
    if completed:
        _, t, agent_id, handled = completed
        wrap_up = next((entry for entry in entries if entry[0] == "wu"), None)
        if wrap_up:
            handled += wrap_up[2]  # after-call work is part of the handling time
        measures = {"handled": 1, "handle_seconds": round(handled)}
        if wrap_up:
            measures["after_work_seconds"] = round(wrap_up[2])
        for seconds in HANDLING_TIME_BOUNDS:
            if handled <= seconds:
                measures[f"handled_within_{seconds}"] = 1
        points.append(Point("q", t, dims, measures))
        if agent_id:
            points.append(Point("a", t, (agent_id, channel, queue), measures))
    return points

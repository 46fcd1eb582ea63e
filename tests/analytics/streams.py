"""Random but plausible event streams for the aggregation tests: cases with contacts on
several channels, replies, transfers, resolutions and reopenings, SLA outcomes, and routed
calls that are answered, abandoned or completed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from casework.analytics.contributions import EventRow

CHANNELS = ("email", "phone", "chat", "portal", "letter")
QUEUES = ("service", "billing", "complaints")
CASE_TYPES = ("licensing-request", "complaint-goodwill", "retention-order")
START = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # the weekend Germany changes to summer time


class _Stream:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[EventRow] = []

    def add(self, at, code, object_type, object_id, payload, actor=("system", None)):  # noqa: ANN001
        self.events.append(
            EventRow(
                seq=len(self.events) + 1,
                occurred_at=at,
                code=code,
                actor_kind=actor[0],
                actor_id=actor[1],
                object_type=object_type,
                object_id=object_id,
                payload=payload,
            )
        )


def random_stream(seed: int, *, cases: int = 60, work_items: int = 40) -> list[EventRow]:
    rng = random.Random(seed)
    stream = _Stream(rng)
    interaction_id = 0
    for case_id in range(1, cases + 1):
        at = START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        customer_id = rng.choice([None, 1, 2, 3])
        stream.add(
            at,
            "case.opened",
            "case",
            case_id,
            {
                "case_type": rng.choice(CASE_TYPES),
                "service_type": rng.choice(("advice", "support", "complaint")),
                "queue": rng.choice(QUEUES),
                "customer_id": customer_id,
            },
        )
        for _ in range(rng.randrange(0, 5)):
            interaction_id += 1
            at += timedelta(minutes=rng.randrange(1, 4000))
            direction = rng.choice(("inbound", "inbound", "outbound", "internal"))
            actor = ("agent", rng.choice([7, 8])) if direction != "inbound" else ("customer", 1)
            if direction == "outbound" and rng.random() < 0.3:
                actor = ("system", None)  # an automatic acknowledgement
            stream.add(
                at,
                "interaction.recorded",
                "interaction",
                interaction_id,
                {"channel": rng.choice(CHANNELS), "direction": direction, "case_id": case_id},
                actor,
            )
            if rng.random() < 0.2:
                stream.add(
                    at,
                    "case.forwarded",
                    "case",
                    case_id,
                    {"to_queue": rng.choice(QUEUES)},
                    rng.choice([("agent", 7), ("system", None)]),
                )
            if rng.random() < 0.2:
                stream.add(
                    at, "case.assigned", "case", case_id, {"after": {"owner_id": 8}}, ("agent", 8)
                )
            if rng.random() < 0.2:
                stream.add(
                    at, "task.completed", "task", case_id * 10, {"case_id": case_id}, ("agent", 7)
                )
        if rng.random() < 0.3:
            stream.add(
                at, "case.customer_linked", "case", case_id, {"customer_id": 2}, ("agent", 7)
            )
        for kind in ("first_response", "resolution"):
            roll = rng.random()
            if roll < 0.3:
                stream.add(at, "sla.breached", "case", case_id, {"kind": kind})
            if roll < 0.8:
                stream.add(at, "sla.met", "case", case_id, {"kind": kind, "in_time": roll >= 0.3})
        if rng.random() < 0.7:
            at += timedelta(minutes=rng.randrange(1, 600))
            stream.add(
                at,
                "case.resolved",
                "case",
                case_id,
                {"resolution_code": rng.choice(("solved", "retained", "churned"))},
                rng.choice([("agent", 7), ("system", None)]),
            )
            if rng.random() < 0.3:
                at += timedelta(days=rng.randrange(0, 10), minutes=5)
                stream.add(at, "case.reopened", "case", case_id, {"reason": "new mail"})
                interaction_id += 1
                stream.add(
                    at,
                    "interaction.recorded",
                    "interaction",
                    interaction_id,
                    {"channel": rng.choice(CHANNELS), "direction": "inbound", "case_id": case_id},
                    ("customer", 1),
                )
    for _ in range(5):  # contacts that belong to no case
        interaction_id += 1
        stream.add(
            START + timedelta(minutes=rng.randrange(0, 4000)),
            "interaction.recorded",
            "interaction",
            interaction_id,
            {"channel": "phone", "direction": "inbound", "case_id": None},
            ("customer", 3),
        )
    for item_id in range(1, work_items + 1):
        at = START + timedelta(seconds=rng.randrange(0, 3 * 24 * 3600))
        channel, queue = rng.choice(("phone", "chat")), rng.choice(QUEUES)
        stream.add(
            at, "work_item.queued", "work_item", item_id, {"channel": channel, "queue": queue}
        )
        waited = rng.choice([3.2, 15.0, 25.7, 44.0, 95.0, 200.0])
        at += timedelta(seconds=waited)
        if rng.random() < 0.75:
            agent = rng.choice([7, 8])
            stream.add(
                at,
                "work_item.accepted",
                "work_item",
                item_id,
                {"agent_id": agent, "waited_seconds": waited},
                ("agent", agent),
            )
            handled = rng.uniform(30, 900)
            stream.add(
                at + timedelta(seconds=handled),
                "work_item.completed",
                "work_item",
                item_id,
                {"agent_id": agent, "handled_seconds": round(handled, 3)},
                ("agent", agent),
            )
        else:
            stream.add(at, "work_item.withdrawn", "work_item", item_id, {"waited_seconds": waited})
    # Events the figures ignore must not disturb them.
    stream.add(START, "customer.viewed", "customer", 1, {}, ("agent", 7))
    stream.add(START, "presence.changed", "agent", 7, {"to": "available"}, ("agent", 7))
    return stream.events

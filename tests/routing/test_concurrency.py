"""Several routers at once (real threads, real database): no item is offered twice, no
agent exceeds capacity, the chain stays intact. On PostgreSQL the routers queue on row
locks (and skip rows another one holds); on SQLite on the single writer."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from casework.events.services import verify_chain
from casework.kernel.actors import Actor
from casework.routing.models import AgentStatus, Offer, OfferStatus, WorkItem, WorkItemStatus
from casework.routing.presence import set_presence
from casework.routing.queries import actor_for_agent
from casework.routing.router import (
    NewWorkItem,
    accept_offer,
    complete_work_item,
    submit_work_item,
)
from tests.factories import AgentFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = Actor.system("test")
THREADS = 6
CALLS_PER_THREAD = 12


def _run_in_threads(jobs: list) -> list[BaseException]:  # noqa: ANN001
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job) -> None:  # noqa: ANN001
        try:
            start.wait()
            job()
        except BaseException as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return errors


def test_competing_routers_never_offer_an_item_twice_nor_overfill_an_agent():
    queue = QueueFactory(code="parallel")
    agents = [AgentFactory() for _ in range(4)]
    for agent in agents:
        set_presence(agent.pk, "available", actor=SYSTEM)

    def router(thread: int):  # noqa: ANN202
        def work() -> None:
            for n in range(CALLS_PER_THREAD):
                channel = "chat" if n % 3 else "phone"
                item = submit_work_item(
                    NewWorkItem(channel=channel, queue=queue.code, external_id=f"{thread}-{n}"),
                    actor=SYSTEM,
                )
                if item.status == WorkItemStatus.OFFERED and n % 2 == 0:
                    # Agents answer and finish some of it meanwhile, freeing capacity.
                    agent = next(a for a in agents if a.pk == item.agent_id)
                    accept_offer(item.pk, actor=actor_for_agent(agent))
                    complete_work_item(item.pk, actor=actor_for_agent(agent))

        return work

    errors = _run_in_threads([router(t) for t in range(THREADS)])

    assert errors == []
    assert WorkItem.objects.count() == THREADS * CALLS_PER_THREAD
    live = Offer.objects.filter(status__in=[OfferStatus.PENDING, OfferStatus.ACCEPTED])
    per_item = Counter(live.values_list("item_id", flat=True))
    assert all(count == 1 for count in per_item.values())
    held = Counter()
    for item in WorkItem.objects.filter(
        status__in=[WorkItemStatus.OFFERED, WorkItemStatus.ACCEPTED]
    ):
        held[item.agent_id] += item.units
    for status in AgentStatus.objects.all():
        assert status.used_units <= status.capacity_units
        assert status.used_units == held[status.agent_id]
    assert (
        WorkItem.objects.filter(status=WorkItemStatus.OFFERED).count()
        == Offer.objects.filter(status=OfferStatus.PENDING).count()
    )
    assert verify_chain().is_intact

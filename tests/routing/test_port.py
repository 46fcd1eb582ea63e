"""The router as the channels ask it, the transactional router and the engine alike: plain
answers, the same item for a repeated submission, the item's state readable after an
answer was lost (also before the engine has written it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from casework.routing.engine import RouterEngine
from casework.routing.errors import NoPendingOffer, WorkItemNotActive
from casework.routing.models import AgentStatus, WorkItem, WorkItemStatus
from casework.routing.port import EmbeddedRouter, EngineRouter, RoutedItem, Router, get_router
from tests.factories import CaseFactory, CustomerFactory
from tests.routing.conftest import SYSTEM, as_agent, call

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["embedded", "engine"])
def make_router(request: pytest.FixtureRequest) -> Callable[[], Router]:
    """The router, made after the test's agents (the engine loads them when it starts)."""
    if request.param == "embedded":
        return EmbeddedRouter
    return lambda: EngineRouter(RouterEngine.load())


def written(router: Router) -> None:
    """The engine's rows as the tables will hold them after its writer's next flush."""
    if isinstance(router, EngineRouter):
        router.engine.flush()


def test_the_channels_ask_the_embedded_router_by_default():
    assert isinstance(get_router(), EmbeddedRouter)


def test_an_answer_is_a_value_with_the_rows_state(queue, make_agent, make_router):
    agent = make_agent()
    router = make_router()
    routed = router.submit(call(queue, external_id="call-1"), actor=SYSTEM)

    assert (routed.status, routed.agent_id, routed.queue_id) == (
        WorkItemStatus.OFFERED,
        agent.pk,
        queue.pk,
    )
    assert routed.is_waiting
    written(router)
    assert routed == RoutedItem.of(WorkItem.objects.get(pk=routed.id))
    with pytest.raises(dataclasses.FrozenInstanceError):
        routed.status = WorkItemStatus.ACCEPTED  # type: ignore[misc]


def test_a_submission_repeated_after_a_lost_answer_gives_the_same_item(
    queue, make_agent, make_router
):
    make_agent()
    router = make_router()
    first = router.submit(call(queue, external_id="call-2"), actor=SYSTEM)
    again = router.submit(call(queue, external_id="call-2"), actor=SYSTEM)

    assert again == first
    written(router)
    assert WorkItem.objects.filter(external_id="call-2").count() == 1


def test_an_item_goes_through_accept_and_complete_and_reads_back(queue, make_agent, make_router):
    agent = make_agent()
    router = make_router()
    item = router.submit(call(queue, external_id="call-3"), actor=SYSTEM)

    accepted = router.accept(item.id, actor=as_agent(agent))
    assert (accepted.status, accepted.agent_id) == (WorkItemStatus.ACCEPTED, agent.pk)
    assert not accepted.is_waiting
    completed = router.complete(item.id, actor=as_agent(agent))
    assert completed.status == WorkItemStatus.COMPLETED
    assert router.item(item.id) == completed  # the engine: finished, not written yet
    # A repeated answer finds the item in that state: the error says so, nothing changes.
    with pytest.raises(WorkItemNotActive):
        router.complete(item.id, actor=as_agent(agent))
    with pytest.raises(NoPendingOffer):
        router.accept(item.id, actor=as_agent(agent))
    written(router)
    assert router.item(item.id) == completed == RoutedItem.of(WorkItem.objects.get(pk=item.id))


def test_a_declined_or_withdrawn_item_reads_back_with_its_state(queue, make_agent, make_router):
    first, second = make_agent(), make_agent()
    router = make_router()
    item = router.submit(call(queue, external_id="call-4"), actor=SYSTEM)
    assert item.agent_id == first.pk

    moved_on = router.decline(item.id, actor=as_agent(first))
    assert (moved_on.status, moved_on.agent_id) == (WorkItemStatus.OFFERED, second.pk)
    withdrawn = router.withdraw(item.id, actor=SYSTEM, reason="hangup")
    assert withdrawn.status == WorkItemStatus.WITHDRAWN
    assert router.item(item.id) == withdrawn


def test_taking_an_item_offered_to_someone_else(queue, make_agent, make_router):
    first, second = make_agent(), make_agent()
    router = make_router()
    item = router.submit(call(queue, external_id="call-5"), actor=SYSTEM)

    taken = router.take(item.id, agent_id=second.pk, actor=as_agent(second))
    assert (taken.status, taken.agent_id) == (WorkItemStatus.ACCEPTED, second.pk)
    written(router)
    assert AgentStatus.objects.get(agent=first).used_units == 0


def test_presence_through_the_router_offers_waiting_work(queue, make_agent, make_router):
    agent = make_agent(presence="offline")
    router = make_router()
    item = router.submit(call(queue, external_id="call-6"), actor=SYSTEM)
    assert item.status == WorkItemStatus.QUEUED

    router.set_presence(agent.pk, "available", actor=as_agent(agent))
    assert router.item(item.id).agent_id == agent.pk  # type: ignore[union-attr]


def test_after_call_work_ends_when_the_agent_wraps_up(queue, make_agent, make_router):
    agent = make_agent()
    router = make_router()
    item = router.submit(call(queue, external_id="call-7"), actor=SYSTEM)
    router.accept(item.id, actor=as_agent(agent))
    router.complete(item.id, actor=as_agent(agent))
    waiting = router.submit(call(queue, external_id="call-8"), actor=SYSTEM)
    assert waiting.status == WorkItemStatus.QUEUED  # the agent is in after-call work

    router.end_after_work(agent.pk)
    assert router.item(waiting.id).agent_id == agent.pk  # type: ignore[union-attr]
    router.end_after_work(agent.pk)  # again: nothing to end


def test_facts_learnt_later_amend_the_item(queue, make_agent, make_router):
    customer, case = CustomerFactory(), CaseFactory()
    make_agent(presence="offline")
    router = make_router()
    item = router.submit(call(queue, external_id="call-9"), actor=SYSTEM)

    amended = router.amend(item.id, customer_id=customer.pk, case_id=case.pk, min_priority=4)
    assert (amended.customer_id, amended.case_id) == (customer.pk, case.pk)
    # The customer is only set where there was none; the priority only ever rises.
    again = router.amend(item.id, customer_id=customer.pk + 1, min_priority=1)
    assert again.customer_id == customer.pk
    written(router)
    row = WorkItem.objects.get(pk=item.id)
    assert (row.customer_id, row.case_id, row.priority) == (customer.pk, case.pk, 4)


def test_a_higher_priority_puts_a_waiting_item_first(queue, make_agent, make_router, test_clock):
    agent = make_agent(presence="offline")
    router = make_router()
    early = router.submit(call(queue, external_id="call-10"), actor=SYSTEM)
    test_clock.advance(5)
    late = router.submit(call(queue, external_id="call-11"), actor=SYSTEM)
    router.amend(late.id, min_priority=9)

    router.set_presence(agent.pk, "available", actor=as_agent(agent))
    assert router.item(late.id).agent_id == agent.pk  # type: ignore[union-attr]
    assert router.item(early.id).status == WorkItemStatus.QUEUED  # type: ignore[union-attr]


def test_an_id_the_router_never_gave_reads_as_none(db, make_router):
    assert make_router().item(987654) is None

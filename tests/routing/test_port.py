"""The router as the channels ask it: plain answers, the same item for a repeated
submission, the item's state readable after an answer was lost."""

from __future__ import annotations

import dataclasses

import pytest

from casework.routing.errors import NoPendingOffer, WorkItemNotActive
from casework.routing.models import AgentStatus, WorkItem, WorkItemStatus
from casework.routing.port import EmbeddedRouter, RoutedItem, get_router
from tests.routing.conftest import SYSTEM, as_agent, call

pytestmark = pytest.mark.django_db


def test_the_channels_ask_the_embedded_router_by_default():
    assert isinstance(get_router(), EmbeddedRouter)


def test_an_answer_is_a_value_with_the_rows_state(queue, make_agent):
    agent = make_agent()
    routed = get_router().submit(call(queue, external_id="call-1"), actor=SYSTEM)

    row = WorkItem.objects.get(pk=routed.id)
    assert routed == RoutedItem.of(row)
    assert (routed.status, routed.agent_id, routed.queue_id) == (
        WorkItemStatus.OFFERED,
        agent.pk,
        queue.pk,
    )
    assert routed.is_waiting
    with pytest.raises(dataclasses.FrozenInstanceError):
        routed.status = WorkItemStatus.ACCEPTED  # type: ignore[misc]


def test_a_submission_repeated_after_a_lost_answer_gives_the_same_item(queue, make_agent):
    make_agent()
    first = get_router().submit(call(queue, external_id="call-2"), actor=SYSTEM)
    again = get_router().submit(call(queue, external_id="call-2"), actor=SYSTEM)

    assert again == first
    assert WorkItem.objects.filter(external_id="call-2").count() == 1


def test_an_item_goes_through_accept_and_complete_and_reads_back(queue, make_agent):
    agent = make_agent()
    router = get_router()
    item = router.submit(call(queue, external_id="call-3"), actor=SYSTEM)

    accepted = router.accept(item.id, actor=as_agent(agent))
    assert (accepted.status, accepted.agent_id) == (WorkItemStatus.ACCEPTED, agent.pk)
    assert not accepted.is_waiting
    completed = router.complete(item.id, actor=as_agent(agent))
    assert completed.status == WorkItemStatus.COMPLETED
    assert router.item(item.id) == completed
    # A repeated answer finds the item in that state: the error says so, nothing changes.
    with pytest.raises(WorkItemNotActive):
        router.complete(item.id, actor=as_agent(agent))
    with pytest.raises(NoPendingOffer):
        router.accept(item.id, actor=as_agent(agent))


def test_a_declined_or_withdrawn_item_reads_back_with_its_state(queue, make_agent):
    first, second = make_agent(), make_agent()
    router = get_router()
    item = router.submit(call(queue, external_id="call-4"), actor=SYSTEM)
    assert item.agent_id == first.pk

    moved_on = router.decline(item.id, actor=as_agent(first))
    assert (moved_on.status, moved_on.agent_id) == (WorkItemStatus.OFFERED, second.pk)
    withdrawn = router.withdraw(item.id, actor=SYSTEM, reason="hangup")
    assert withdrawn.status == WorkItemStatus.WITHDRAWN
    assert router.item(item.id) == withdrawn


def test_taking_an_item_offered_to_someone_else(queue, make_agent):
    first, second = make_agent(), make_agent()
    router = get_router()
    item = router.submit(call(queue, external_id="call-5"), actor=SYSTEM)

    taken = router.take(item.id, agent_id=second.pk, actor=as_agent(second))
    assert (taken.status, taken.agent_id) == (WorkItemStatus.ACCEPTED, second.pk)
    assert AgentStatus.objects.get(agent=first).used_units == 0


def test_presence_through_the_router_offers_waiting_work(queue, make_agent):
    agent = make_agent(presence="offline")
    router = get_router()
    item = router.submit(call(queue, external_id="call-6"), actor=SYSTEM)
    assert item.status == WorkItemStatus.QUEUED

    router.set_presence(agent.pk, "available", actor=as_agent(agent))
    assert router.item(item.id).agent_id == agent.pk  # type: ignore[union-attr]


def test_an_id_the_router_never_gave_reads_as_none(db):
    assert get_router().item(987654) is None

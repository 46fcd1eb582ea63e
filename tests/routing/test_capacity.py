"""Capacity per channel: a call takes the whole agent, up to three chats, up to five tasks."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from casework.routing.models import AgentStatus, ChannelCapacity, WorkItemStatus
from casework.routing.router import accept_offer, complete_work_item
from tests.routing.conftest import as_agent, call, submit

pytestmark = pytest.mark.django_db


def test_an_agent_takes_three_chats_and_the_fourth_waits(queue, make_agent):
    agent = make_agent()

    chats = [submit(call(queue, channel="chat")) for _ in range(4)]

    assert [chat.status for chat in chats] == ["offered"] * 3 + ["queued"]
    assert AgentStatus.objects.get(agent=agent).used_units == 99


def test_a_call_needs_the_whole_agent(queue, make_agent):
    agent = make_agent()
    chat = submit(call(queue, channel="chat"))

    phone = submit(call(queue))

    assert chat.status == WorkItemStatus.OFFERED and phone.status == WorkItemStatus.QUEUED
    accept_offer(chat.pk, actor=as_agent(agent))
    complete_work_item(chat.pk, actor=as_agent(agent))  # the chat ends: the call is offered now
    phone.refresh_from_db()
    assert phone.status == WorkItemStatus.OFFERED and phone.agent_id == agent.pk
    assert AgentStatus.objects.get(agent=agent).used_units == 100


def test_capacity_is_configured_in_the_database(queue, make_agent):
    chat = ChannelCapacity.objects.get(channel="chat")
    chat.units = 50
    chat.save()  # as the admin does: the process forgets its copy at once
    make_agent()

    chats = [submit(call(queue, channel="chat")) for _ in range(3)]

    assert [chat.status for chat in chats] == ["offered", "offered", "queued"]


def test_an_agent_with_a_smaller_capacity_gets_less(queue, make_agent):
    agent = make_agent()
    AgentStatus.objects.filter(agent=agent).update(capacity_units=66)

    chats = [submit(call(queue, channel="chat")) for _ in range(3)]

    assert [chat.status for chat in chats] == ["offered", "offered", "queued"]


def test_the_database_refuses_occupancy_beyond_capacity(queue, make_agent):
    agent = make_agent()
    with pytest.raises(IntegrityError):
        AgentStatus.objects.filter(agent=agent).update(used_units=101)


def test_work_goes_to_the_least_occupied_then_the_longest_idle_agent(queue, make_agent):
    first, second = make_agent(), make_agent()  # `first` has been idle longest

    one, two, three = (submit(call(queue, channel="chat")) for _ in range(3))

    assert (one.agent_id, two.agent_id, three.agent_id) == (first.pk, second.pk, first.pk)

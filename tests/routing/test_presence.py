"""Presence: agents set it with one click, the router sets busy and after-call work, and
every stretch of time is in the log."""

from __future__ import annotations

import pytest

from casework.events.models import Event
from casework.kernel.errors import PermissionDenied
from casework.routing.errors import PresenceNotSelectable, UnknownAgent, UnknownPresenceState
from casework.routing.models import AgentStatus, PresenceLog
from casework.routing.presence import set_presence
from casework.routing.queries import presence_seconds
from casework.routing.router import accept_offer, complete_work_item
from tests.factories import AgentFactory
from tests.routing.conftest import SYSTEM, as_agent, call, submit

pytestmark = pytest.mark.django_db


def test_an_agent_sets_their_presence_and_the_log_keeps_each_stretch(test_clock):
    agent = AgentFactory()
    start = test_clock.at

    set_presence(agent.pk, "available", actor=as_agent(agent))
    test_clock.advance(600)
    set_presence(agent.pk, "break", actor=as_agent(agent))
    test_clock.advance(300)
    status = set_presence(agent.pk, "available", actor=as_agent(agent))

    assert status.presence_id == "available" and status.is_routable
    log = list(PresenceLog.objects.filter(agent=agent).order_by("started_at", "pk"))
    assert [entry.presence_id for entry in log] == ["offline", "available", "break", "available"]
    assert log[-1].ended_at is None and all(entry.ended_at for entry in log[:-1])
    assert log[2].set_by == f"agent:{agent.user.username}"
    end = test_clock.advance(60)
    assert presence_seconds(agent.pk, start=start, end=end) == {"available": 660.0, "break": 300.0}
    changes = Event.objects.filter(code="presence.changed", object_id=agent.pk).order_by("seq")
    assert [e.payload["after"]["presence"] for e in changes] == ["available", "break", "available"]


def test_setting_the_same_state_again_changes_nothing(test_clock):
    agent = AgentFactory()
    set_presence(agent.pk, "available", actor=SYSTEM)
    set_presence(agent.pk, "available", actor=SYSTEM)

    assert PresenceLog.objects.filter(agent=agent).count() == 2  # offline, available


def test_a_call_makes_the_agent_busy_then_after_call_work_then_available(
    queue, make_agent, test_clock, run_jobs
):
    agent = make_agent()
    item = submit(call(queue))
    accept_offer(item.pk, actor=as_agent(agent))
    assert AgentStatus.objects.get(agent=agent).presence_id == "busy"

    test_clock.advance(180)
    complete_work_item(item.pk, actor=as_agent(agent))
    assert AgentStatus.objects.get(agent=agent).presence_id == "after_call_work"

    test_clock.advance(30)  # the phone channel's after-call work
    run_jobs()
    status = AgentStatus.objects.get(agent=agent)
    assert status.presence_id == "available" and status.used_units == 0
    log = PresenceLog.objects.filter(agent=agent).order_by("started_at", "pk")
    assert [(e.presence_id, e.set_by) for e in log][-3:] == [
        ("busy", "system:routing"),
        ("after_call_work", "system:routing"),
        ("available", "system:routing"),
    ]
    # The call's switch to busy and back is told by its own events; the end of the after-call
    # work timer is recorded.
    changes = Event.objects.filter(code="presence.changed", object_id=agent.pk).order_by("seq")
    moves = [(e.payload["before"]["presence"], e.payload["after"]["presence"]) for e in changes]
    assert moves == [("offline", "available"), ("after_call_work", "available")]
    assert Event.objects.filter(code="work_item.accepted", object_id=item.pk).exists()


def test_a_break_taken_during_after_call_work_is_kept(queue, make_agent, test_clock, run_jobs):
    agent = make_agent()
    item = submit(call(queue))
    accept_offer(item.pk, actor=as_agent(agent))
    complete_work_item(item.pk, actor=as_agent(agent))
    set_presence(agent.pk, "break", actor=as_agent(agent))

    test_clock.advance(30)
    run_jobs()

    assert AgentStatus.objects.get(agent=agent).presence_id == "break"


def test_agents_cannot_choose_states_the_system_sets(db):
    agent = AgentFactory()
    with pytest.raises(PresenceNotSelectable) as error:
        set_presence(agent.pk, "busy", actor=as_agent(agent))
    assert error.value.code == "presence_not_selectable"


def test_an_agent_cannot_set_a_colleagues_presence_but_a_supervisor_can(db):
    agent, colleague = AgentFactory(), AgentFactory()
    supervisor = AgentFactory(role="supervisor")

    with pytest.raises(PermissionDenied):
        set_presence(colleague.pk, "offline", actor=as_agent(agent))
    assert set_presence(colleague.pk, "break", actor=as_agent(supervisor)).presence_id == "break"


def test_unknown_agent_and_unknown_state_are_precise_errors(db):
    agent = AgentFactory()
    with pytest.raises(UnknownAgent) as missing:
        set_presence(999_999, "available", actor=SYSTEM)
    with pytest.raises(UnknownPresenceState) as unknown:
        set_presence(agent.pk, "napping", actor=SYSTEM)

    assert (missing.value.code, missing.value.status) == ("unknown_agent", 404)
    assert (unknown.value.code, unknown.value.status) == ("unknown_presence_state", 422)
    assert not PresenceLog.objects.filter(presence_id="napping").exists()

"""The single-writer router (`routing.engine`): it decides as the transactional router
does, writes the same rows and events behind, survives a crash by reloading the tables,
and keeps what a failed flush could not write."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import random
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casework.events.models import Event
from casework.events.services import verify_chain
from casework.kernel import jobs, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import PermissionDenied
from casework.routing import decisions
from casework.routing import engine as engine_module
from casework.routing.engine import RouterEngine
from casework.routing.errors import (
    NoPendingOffer,
    OfferExpired,
    PresenceNotSelectable,
    UnknownAgent,
    UnknownWorkItem,
    WorkItemNotActive,
)
from casework.routing.models import (
    Agent,
    AgentStatus,
    Offer,
    OfferStatus,
    PresenceLog,
    RouterLease,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.presence import set_presence
from casework.routing.router import (
    accept_offer,
    complete_work_item,
    decline_offer,
    submit_work_item,
    take_work_item,
    withdraw_work_item,
)
from tests.factories import CustomerFactory, RoutingRuleFactory, SkillFactory
from tests.routing.conftest import SYSTEM, as_agent, call
from tests.routing.conftest import TestClock as MovingClock

pytestmark = pytest.mark.django_db


@pytest.fixture
def skills(db):  # noqa: ANN001, ANN201
    return {code: SkillFactory(code=code) for code in ("german", "english", "billing", "tariffs")}


def make_agents(make_agent, skills, count: int, seed: int) -> list[Agent]:  # noqa: ANN001
    rng = random.Random(seed)
    agents = []
    for _ in range(count):
        owned = {skills["german"]: rng.randint(3, 10)}
        for code in ("english", "billing", "tariffs"):
            if rng.random() < 0.5:
                owned[skills[code]] = rng.randint(1, 10)
        agents.append(make_agent(owned, presence="offline"))
    return agents


# --- The same decisions as the transactional router ------------------------------------------


class Transactional:
    """The router's functions, one transaction each, timers as jobs."""

    def submit(self, new: Any) -> None:
        submit_work_item(new, actor=SYSTEM)

    def accept(self, item_id: int, agent: Agent) -> None:
        accept_offer(item_id, actor=as_agent(agent))

    def decline(self, item_id: int, agent: Agent) -> None:
        decline_offer(item_id, actor=as_agent(agent))

    def complete(self, item_id: int, agent: Agent) -> None:
        complete_work_item(item_id, actor=as_agent(agent))

    def withdraw(self, item_id: int) -> None:
        withdraw_work_item(item_id, actor=SYSTEM, reason="hung up")

    def take(self, item_id: int, agent: Agent) -> None:
        take_work_item(item_id, agent_id=agent.pk, actor=as_agent(agent))

    def presence(self, agent: Agent, state: str) -> None:
        set_presence(agent.pk, state, actor=SYSTEM)

    def tick(self) -> None:
        jobs.run_due(limit=500)

    def settle(self) -> None:
        pass


class Engine(Transactional):
    """The engine, flushed after every call so the test reads the tables either way."""

    def __init__(self) -> None:
        self.engine = RouterEngine.load()

    def submit(self, new: Any) -> None:
        self.engine.submit(new, actor=SYSTEM)

    def accept(self, item_id: int, agent: Agent) -> None:
        self.engine.accept(item_id, actor=as_agent(agent))

    def decline(self, item_id: int, agent: Agent) -> None:
        self.engine.decline(item_id, actor=as_agent(agent))

    def complete(self, item_id: int, agent: Agent) -> None:
        self.engine.complete(item_id, actor=as_agent(agent))

    def withdraw(self, item_id: int) -> None:
        self.engine.withdraw(item_id, actor=SYSTEM, reason="hung up")

    def take(self, item_id: int, agent: Agent) -> None:
        self.engine.take(item_id, agent_id=agent.pk, actor=as_agent(agent))

    def presence(self, agent: Agent, state: str) -> None:
        self.engine.set_presence(agent.pk, state, actor=SYSTEM)

    def tick(self) -> None:
        self.engine.run_timers()

    def settle(self) -> None:
        self.engine.flush()


def play(router: Transactional, agents: list[Agent], test_clock: MovingClock, seed: int) -> dict:
    """A random stretch of a contact centre's day: contacts with skills arrive, agents log
    in and out, answer, decline or miss offers, finish their work; customers hang up.
    Choices depend only on what the tables show, so two routers that decide alike are
    driven alike. Returns the offers in the order they were made, and the final state."""
    rng = random.Random(seed)
    customers = [CustomerFactory().pk for _ in range(6)]
    by_pk = {agent.pk: agent for agent in agents}
    for agent in agents[: len(agents) // 2]:
        router.presence(agent, "available")
        router.settle()
        test_clock.advance(1)
    counter = 0
    for _step in range(120):
        test_clock.advance(rng.choice([0.5, 1, 2, 3, 7, 13]))
        router.tick()
        router.settle()
        pending = list(
            Offer.objects.filter(status=OfferStatus.PENDING).order_by("item__external_id")
        )
        accepted = list(
            WorkItem.objects.filter(status=WorkItemStatus.ACCEPTED).order_by("external_id")
        )
        waiting = list(
            WorkItem.objects.filter(status=WorkItemStatus.QUEUED).order_by("external_id")
        )
        roll = rng.random()
        if roll < 0.35:
            counter += 1
            wanted = {"german": 1}
            if rng.random() < 0.3:
                wanted["english"] = 1
            channel = rng.choice(["phone", "phone", "chat"])
            router.submit(
                call(
                    channel=channel,
                    external_id=f"c{counter:03d}",
                    customer_id=rng.choice(customers),
                    required_skills=wanted,
                    desired_skills={rng.choice(["billing", "tariffs"]): 6},
                )
            )
        elif roll < 0.55 and pending:
            offer = rng.choice(pending)
            with contextlib.suppress(OfferExpired):  # expired in the same instant
                router.accept(offer.item_id, by_pk[offer.agent_id])
        elif roll < 0.6 and pending:
            offer = rng.choice(pending)
            router.decline(offer.item_id, by_pk[offer.agent_id])
        elif roll < 0.78 and accepted:
            item = rng.choice(accepted)
            router.complete(item.pk, by_pk[item.agent_id])
        elif roll < 0.84 and (waiting or pending):
            item_id = rng.choice([*(i.pk for i in waiting), *(o.item_id for o in pending)])
            if rng.random() < 0.3:  # a colleague picks it up instead
                router.take(item_id, rng.choice(agents))
            else:
                router.withdraw(item_id)
        elif roll < 0.95:
            agent = rng.choice(agents)
            router.presence(agent, rng.choice(["available", "available", "break", "offline"]))
        router.settle()
    offers = [
        (o.item.external_id, o.agent_id, o.is_affinity, o.status)
        for o in Offer.objects.select_related("item").order_by("offered_at", "item__external_id")
    ]
    items = {
        i.external_id: (i.status, i.agent_id, i.preferred_agent_id, i.required_key)
        for i in WorkItem.objects.all()
    }
    statuses = {
        s.agent_id: (s.presence_id, s.used_units, s.is_routable)
        for s in AgentStatus.objects.filter(agent__in=agents)
    }
    events = sorted(
        (e.code, e.occurred_at) for e in Event.objects.filter(code__startswith="work_item.")
    )
    taken = sorted(
        e.payload["agent_id"]
        for e in Event.objects.filter(
            code="work_item.accepted", payload__has_key="taken_without_offer"
        )
    )
    return {
        "offers": offers,
        "items": items,
        "statuses": statuses,
        "events": events,
        "taken": taken,
    }


class _Undo(Exception):
    pass


@pytest.mark.parametrize(
    ("seed", "waits_while_busy", "service_level_seconds"),
    [(1, False, None), (2, True, None), (3, False, 8), (4, True, 8)],
)
def test_the_engine_decides_as_the_transactional_router(
    seed, waits_while_busy, service_level_seconds, make_agent, skills, test_clock, queue
):  # noqa: ANN001
    RoutingRuleFactory(
        channel="",
        queue=queue,
        affinity_wait_seconds=10,
        affinity_waits_while_busy=waits_while_busy,
        relax_after_seconds=5,
        relax_levels=3,
        service_level_seconds=service_level_seconds,
    )
    agents = make_agents(make_agent, skills, 8, seed)
    start = test_clock.at
    results: dict[str, dict] = {}
    try:
        with transaction.atomic():
            results["transactional"] = play(Transactional(), agents, test_clock, seed)
            raise _Undo
    except _Undo:
        pass
    test_clock.at = start
    results["engine"] = play(Engine(), agents, test_clock, seed)

    transactional, engine = results["transactional"], results["engine"]
    assert len(transactional["offers"]) > 15  # the day did route work
    assert engine["offers"] == transactional["offers"]
    assert engine["items"] == transactional["items"]
    assert engine["statuses"] == transactional["statuses"]
    assert engine["events"] == transactional["events"]
    assert engine["taken"] == transactional["taken"]
    assert verify_chain().is_intact


def test_the_engine_finds_a_caller_within_the_target_behind_many_who_missed_it(
    make_agent, skills, queue, test_clock
):  # noqa: ANN001
    RoutingRuleFactory(channel="phone", queue=queue, service_level_seconds=20)
    agent = make_agent({skills["german"]: 5}, presence="break")
    engine = RouterEngine.load()
    for n in range(45):  # more than a freed agent looks at from the oldest on
        engine.submit(call(queue, external_id=f"call-{n}"), actor=SYSTEM)
    test_clock.advance(30)
    in_time = engine.submit(call(queue, external_id="call-in-time"), actor=SYSTEM)
    test_clock.advance(5)

    engine.set_presence(agent.pk, "available", actor=as_agent(agent))

    assert in_time.agent_id == agent.pk


# --- Writing behind ---------------------------------------------------------------------------


def test_nothing_is_written_until_the_flush_then_everything_in_one_go(
    make_agent, skills, queue, test_clock
):  # noqa: ANN001
    agent = make_agent({skills["german"]: 5}, presence="offline")
    engine = RouterEngine.load()
    events_before = Event.objects.count()

    engine.set_presence(agent.pk, "available", actor=SYSTEM)
    item = engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)
    test_clock.advance(2)
    engine.accept(item.id, actor=as_agent(agent))

    assert item.status == WorkItemStatus.ACCEPTED and item.agent_id == agent.pk
    assert not WorkItem.objects.exists() and Event.objects.count() == events_before
    assert engine.unflushed > 0

    engine.flush()

    stored = WorkItem.objects.get()
    assert (stored.pk, stored.status, stored.agent_id) == (item.id, "accepted", agent.pk)
    offer = Offer.objects.get()
    assert offer.status == OfferStatus.ACCEPTED and offer.answered_at == test_clock.at
    status = AgentStatus.objects.get(agent=agent)
    assert (status.presence_id, status.used_units, status.is_routable) == ("busy", 100, False)
    assert list(
        PresenceLog.objects.filter(agent=agent)
        .order_by("started_at")
        .values_list("presence_id", "ended_at")
    )[-2:] == [("available", test_clock.at), ("busy", None)]
    codes = list(Event.objects.order_by("seq").values_list("code", flat=True))[-4:]
    assert codes == [
        "presence.changed",  # available (the agent's switch to busy is in the presence log)
        "work_item.queued",
        "work_item.offered",
        "work_item.accepted",
    ]
    # The events carry the times things happened, not the time of the flush.
    queued = Event.objects.get(code="work_item.queued")
    assert queued.occurred_at == stored.queued_at == test_clock.at - dt.timedelta(seconds=2)
    assert verify_chain().is_intact
    assert engine.unflushed == 0 and engine.flush() == 0


def test_submitting_again_before_the_flush_gives_the_finished_item(make_agent, skills, queue):  # noqa: ANN001
    agent = make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    item = engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)
    engine.accept(item.id, actor=as_agent(agent))
    engine.complete(item.id, actor=as_agent(agent))  # done, out of memory, not written

    again = engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)
    engine.flush()

    assert again.id == item.id and again.status == WorkItemStatus.COMPLETED
    assert WorkItem.objects.get().pk == item.id


def test_a_submission_with_what_the_channel_knows_asks_the_tables_nothing(
    make_agent, skills, queue
):  # noqa: ANN001
    RoutingRuleFactory(channel="phone", queue=queue, affinity_wait_seconds=30)
    make_agent({skills["german"]: 5})
    owner = make_agent({skills["german"]: 5})
    customer = CustomerFactory()
    engine = RouterEngine.load()
    engine.submit(call(external_id="call-0"), actor=SYSTEM)  # the routing table is loaded
    new = call(
        external_id="call-1",
        customer_id=customer.pk,
        first_submission=True,  # the channel has just stored call 1
        open_case_owner=owner.pk,  # found with the caller
    )

    with CaptureQueriesContext(connection) as queries:
        item = engine.submit(new, actor=SYSTEM)

    assert len(queries) == 0
    assert item.agent_id == owner.pk and item.preferred_agent_id == owner.pk
    # Without them the engine asks, in one round trip.
    other = CustomerFactory()
    with CaptureQueriesContext(connection) as queries:
        engine.submit(call(external_id="call-2", customer_id=other.pk), actor=SYSTEM)
    assert len(queries) == 1


def test_a_failed_flush_writes_nothing_and_keeps_its_notes(make_agent, skills, queue, monkeypatch):  # noqa: ANN001
    agent = make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)
    real_update_many = sql.update_many

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(sql, "update_many", broken)
    with pytest.raises(RuntimeError, match="went away"):
        engine.flush()
    assert not WorkItem.objects.exists() and not Offer.objects.exists()

    monkeypatch.setattr(sql, "update_many", real_update_many)
    engine.submit(call(queue, external_id="call-2"), actor=SYSTEM)  # noted meanwhile
    engine.flush()

    assert set(WorkItem.objects.values_list("external_id", "status")) == {
        ("call-1", "offered"),
        ("call-2", "queued"),
    }
    assert Offer.objects.get().agent_id == agent.pk
    assert Event.objects.filter(code="work_item.queued").count() == 2
    assert verify_chain().is_intact


def test_reserved_keys_do_not_collide_with_rows_others_insert(make_agent, skills, queue):  # noqa: ANN001
    make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    from_engine = engine.submit(call(queue, external_id="engine"), actor=SYSTEM)
    elsewhere = submit_work_item(call(queue, external_id="elsewhere"), actor=SYSTEM)
    engine.flush()

    assert from_engine.id != elsewhere.pk
    assert WorkItem.objects.count() == 2


# --- A crash: the next engine starts from the tables ------------------------------------------


def test_after_a_crash_the_state_comes_back_from_the_tables(make_agent, skills, queue, test_clock):  # noqa: ANN001
    german = skills["german"]
    first, second = make_agent({german: 5}), make_agent({german: 5})
    crashed = RouterEngine.load()
    offered = crashed.submit(call(queue, external_id="offered"), actor=SYSTEM)
    crashed.flush()
    assert offered.agent_id == first.pk
    # Not flushed when the process dies: lost, as the flush interval allows.
    crashed.submit(call(queue, external_id="lost"), actor=SYSTEM)

    test_clock.advance(25)  # the offer's 20 s are over while nobody runs its timer
    engine = RouterEngine.load()
    assert engine.next_timer_at() is not None and engine.next_timer_at() <= test_clock.at
    engine.run_timers()
    engine.flush()

    assert not WorkItem.objects.filter(external_id="lost").exists()
    item = WorkItem.objects.get(external_id="offered")
    assert (item.status, item.agent_id) == ("offered", second.pk)  # moved on, not to `first`
    assert Offer.objects.get(agent=first).status == OfferStatus.EXPIRED
    assert AgentStatus.objects.get(agent=first).presence_id == "not_responding"
    assert AgentStatus.objects.get(agent=second).used_units == 100
    assert verify_chain().is_intact


def test_with_a_decision_log_a_crash_loses_nothing_it_answered(make_agent, skills, queue, tmp_path):  # noqa: ANN001
    german = skills["german"]
    first, second = make_agent({german: 5}), make_agent({german: 5})
    RouterLease.objects.create(owner="", address="", started_at=dt.datetime.now(dt.UTC),
                               renewed_at=dt.datetime.now(dt.UTC))  # fmt: skip
    crashed = RouterEngine.load()
    crashed.log_decisions(decisions.DecisionLog(tmp_path, first=1))
    written = crashed.submit(call(queue, external_id="written"), actor=SYSTEM)
    crashed.flush()
    # Answered, logged, never flushed: the process dies here.
    answered = crashed.submit(call(queue, external_id="answered"), actor=SYSTEM)
    crashed.accept(written.id, actor=as_agent(first))
    with pytest.raises(NoPendingOffer):  # an error, and nothing changed: nothing logged
        crashed.decline(written.id, actor=as_agent(second))
    assert not WorkItem.objects.filter(external_id="answered").exists()
    events_before = Event.objects.count()

    assert decisions.replay(tmp_path) == (2, 3)
    assert decisions.replay(tmp_path) == (0, 3)  # the log is empty now: nothing twice
    item = WorkItem.objects.get(external_id="answered")
    assert (item.pk, item.status, item.agent_id) == (answered.id, "offered", second.pk)
    assert Offer.objects.get(item=item).status == OfferStatus.PENDING
    assert WorkItem.objects.get(pk=written.id).status == WorkItemStatus.ACCEPTED
    assert AgentStatus.objects.get(agent=second).used_units == 100
    codes = list(Event.objects.order_by("seq").values_list("code", flat=True)[events_before:])
    assert codes == ["work_item.queued", "work_item.offered", "work_item.accepted"]
    assert verify_chain().is_intact

    engine = RouterEngine.load()  # the next process starts from what was answered
    assert engine.item(answered.id).agent_id == second.pk  # type: ignore[union-attr]


def test_a_flush_records_how_far_the_log_is_written_and_forgets_it(
    make_agent, skills, queue, tmp_path, monkeypatch
):  # noqa: ANN001
    make_agent({skills["german"]: 5})
    RouterLease.objects.create(owner="", address="", started_at=dt.datetime.now(dt.UTC),
                               renewed_at=dt.datetime.now(dt.UTC))  # fmt: skip
    monkeypatch.setattr(decisions, "_SEGMENT_BYTES", 1)  # a segment per record
    engine = RouterEngine.load()
    engine.log_decisions(decisions.DecisionLog(tmp_path, first=1))
    for number in range(3):
        engine.submit(call(queue, external_id=f"c{number}"), actor=SYSTEM)
    assert len(list(tmp_path.iterdir())) == 4  # three records, and the next segment
    engine.flush()

    assert decisions.decided_through() == 3
    assert len(list(tmp_path.iterdir())) == 1  # only the segment being written
    assert decisions.replay(tmp_path) == (0, 3)


def test_a_reloaded_engine_routes_waiting_items_and_knows_who_served_whom(
    make_agent, skills, queue, test_clock
):  # noqa: ANN001
    RoutingRuleFactory(channel="phone", queue=queue, affinity_wait_seconds=30)
    customer = CustomerFactory()
    served_by = make_agent({skills["german"]: 5})
    first = RouterEngine.load()
    item = first.submit(call(external_id="one", customer_id=customer.pk), actor=SYSTEM)
    first.accept(item.id, actor=as_agent(served_by))
    first.complete(item.id, actor=as_agent(served_by))
    waiting = first.submit(call(external_id="two"), actor=SYSTEM)  # served_by wraps up
    assert waiting.status == WorkItemStatus.QUEUED
    first.flush()

    engine = RouterEngine.load()
    newcomer = make_agent({skills["german"]: 5}, presence="offline")
    engine.set_presence(newcomer.pk, "available", actor=SYSTEM)
    engine.accept(waiting.id, actor=as_agent(newcomer))  # offered to them at once
    test_clock.advance(40)  # served_by's after-call work is over
    engine.run_timers()
    repeat = engine.submit(call(external_id="three", customer_id=customer.pk), actor=SYSTEM)
    engine.flush()

    assert WorkItem.objects.get(external_id="two").agent_id == newcomer.pk
    assert repeat.agent_id == served_by.pk and repeat.preferred_agent_id == served_by.pk


# --- Bad input ------------------------------------------------------------------------------


def test_answers_to_wrong_calls_are_the_routers_errors(make_agent, skills, queue):  # noqa: ANN001
    agent, other = make_agent({skills["german"]: 5}), make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    item = engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)

    with pytest.raises(UnknownWorkItem):
        engine.accept(987654, actor=as_agent(agent))
    with pytest.raises(PermissionDenied):
        engine.accept(item.id, actor=Actor.system("bot"))
    with pytest.raises(NoPendingOffer):
        engine.accept(item.id, actor=as_agent(other))
    with pytest.raises(WorkItemNotActive):
        engine.complete(item.id, actor=as_agent(agent))
    with pytest.raises(UnknownAgent):
        engine.set_presence(987654, "available", actor=SYSTEM)
    with pytest.raises(PresenceNotSelectable):
        engine.set_presence(agent.pk, "busy", actor=as_agent(agent))
    with pytest.raises(PermissionDenied):
        engine.set_presence(other.pk, "break", actor=as_agent(agent))

    assert engine.submit(call(queue, external_id="call-1"), actor=SYSTEM) is item
    engine.accept(item.id, actor=as_agent(agent))
    engine.complete(item.id, actor=as_agent(agent))
    with pytest.raises(WorkItemNotActive):
        engine.complete(item.id, actor=as_agent(agent))  # finished, not flushed yet
    engine.flush()
    with pytest.raises(WorkItemNotActive):
        engine.complete(item.id, actor=as_agent(agent))  # only in the table now
    assert engine.submit(call(queue, external_id="call-1"), actor=SYSTEM).id == item.id
    assert WorkItem.objects.count() == 1


def test_an_answer_after_the_offers_time_expires_it_and_routes_on(
    make_agent, skills, queue, test_clock
):  # noqa: ANN001
    late, next_one = make_agent({skills["german"]: 5}), make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    item = engine.submit(call(queue, external_id="call-1"), actor=SYSTEM)
    test_clock.advance(21)

    with pytest.raises(OfferExpired):
        engine.accept(item.id, actor=as_agent(late))

    assert item.agent_id == next_one.pk
    engine.flush()
    # At the desk after all: not set to not responding.
    assert AgentStatus.objects.get(agent=late).presence_id == "available"


def test_an_agent_never_gets_more_than_their_capacity(make_agent, skills, queue):  # noqa: ANN001
    agent = make_agent({skills["german"]: 5})
    engine = RouterEngine.load()
    chats = [
        engine.submit(call(queue, channel="chat", external_id=f"chat-{i}"), actor=SYSTEM)
        for i in range(4)
    ]
    engine.flush()

    assert [c.status for c in chats] == ["offered"] * 3 + ["queued"]
    assert AgentStatus.objects.get(agent=agent).used_units == 99


# --- The writer thread ----------------------------------------------------------------------


def thirty_chats(engine: RouterEngine, agents: list[Agent], queue, test_clock) -> None:  # noqa: ANN001
    """Thirty chats submitted, accepted and completed, with pauses that let the writer
    flush several times in between."""
    for n in range(30):
        item = engine.submit(call(queue, channel="chat", external_id=f"c{n}"), actor=SYSTEM)
        test_clock.advance(1)
        agent = next(a for a in agents if a.pk == item.agent_id)
        engine.accept(item.id, actor=as_agent(agent))
        engine.complete(item.id, actor=as_agent(agent))
        time.sleep(0.002)


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_writes_behind_while_the_engine_decides(
    make_agent, skills, queue, test_clock, monkeypatch, caplog
):  # noqa: ANN001
    agents = [make_agent({skills["german"]: 5}) for _ in range(3)]
    engine = RouterEngine.load()
    real_write, failures = engine_module._write, []

    def fails_once(journal: Any) -> None:
        if not failures:
            failures.append(1)
            raise RuntimeError("database went away")
        real_write(journal)

    monkeypatch.setattr(engine_module, "_write", fails_once)
    with engine.writing_behind(0.005):
        thirty_chats(engine, agents, queue, test_clock)

    assert failures and "routing changes not written yet" in caplog.text
    assert WorkItem.objects.filter(status="completed").count() == 30
    assert Event.objects.filter(code="work_item.completed").count() == 30
    assert not AgentStatus.objects.filter(used_units__gt=0).exists()
    assert len(engine.flushes) >= 2 and engine.unflushed == 0
    assert verify_chain().is_intact


def test_a_writer_process_ends_when_its_parent_is_gone(db):  # noqa: ANN001
    writer = engine_module._WriterProcess()
    writer.start()
    assert writer._pipe is not None and writer._process is not None
    writer._pipe.close()  # as when the router process is killed
    writer._process.join(timeout=10)
    assert writer._process.exitcode == 0


def _writer_dying(when: str, after_writes: int):  # noqa: ANN202
    """The writer process's loop, dying (as if killed) once, before or after it commits."""
    real_loop, real_write = engine_module._write_from_pipe, engine_module.write_journal
    died = multiprocessing.get_context("fork").Event()

    def write_then_maybe_die(journal: Any, wanted: Any) -> Any:
        write_then_maybe_die.writes += 1  # type: ignore[attr-defined]
        dies = not died.is_set() and write_then_maybe_die.writes > after_writes  # type: ignore[attr-defined]
        if dies and when == "before_commit":
            died.set()
            os._exit(1)
        reserved = real_write(journal, wanted)
        if dies:  # committed; the answer never leaves
            died.set()
            os._exit(1)
        return reserved

    write_then_maybe_die.writes = 0  # type: ignore[attr-defined]

    def loop(pipe: Any, parent_end: Any) -> None:
        engine_module.write_journal = write_then_maybe_die
        real_loop(pipe, parent_end)

    return loop, died


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_a_writer_process_writes_behind_and_one_that_dies_loses_nothing_twice(
    when, make_agent, skills, queue, test_clock, monkeypatch, caplog
):  # noqa: ANN001
    agents = [make_agent({skills["german"]: 5}) for _ in range(3)]
    engine = RouterEngine.load()
    loop, died = _writer_dying(when, after_writes=2)
    monkeypatch.setattr(engine_module, "_write_from_pipe", loop)

    with engine.writing_behind(0.005, in_process=True):
        thirty_chats(engine, agents, queue, test_clock)

    assert died.is_set() and "writer process died" in caplog.text
    assert WorkItem.objects.filter(status="completed").count() == 30
    for code in ("work_item.queued", "work_item.offered", "work_item.completed"):
        assert Event.objects.filter(code=code).count() == 30, code
    assert not AgentStatus.objects.filter(used_units__gt=0).exists()
    assert engine.unflushed == 0
    assert verify_chain().is_intact

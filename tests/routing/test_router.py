"""Push routing: skills, relaxation, affinity, offers that are declined or expire, and the
errors a caller gets for bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from casework.cases.models import CaseStatus
from casework.events.models import Event
from casework.events.services import verify_chain
from casework.kernel.actors import Actor
from casework.routing.errors import (
    NoPendingOffer,
    NoRoute,
    OfferExpired,
    UnknownChannel,
    UnknownWorkItem,
    WorkItemNotActive,
)
from casework.routing.models import (
    AgentStatus,
    Offer,
    OfferStatus,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.presence import set_presence
from casework.routing.router import (
    NewWorkItem,
    accept_offer,
    complete_work_item,
    decline_offer,
    withdraw_work_item,
)
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    QueueFactory,
    RoutingRuleFactory,
    RoutingRuleSkillFactory,
    SkillFactory,
)
from tests.routing.conftest import SYSTEM, as_agent, call, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def german(db):  # noqa: ANN001, ANN201
    return SkillFactory(code="german", kind="language")


@pytest.fixture
def billing(db):  # noqa: ANN001, ANN201
    return SkillFactory(code="billing")


def test_an_item_goes_only_to_agents_with_its_required_skills(queue, make_agent, german, billing):
    queue.required_skills.add(german)
    make_agent({billing: 10})  # idle longest, but cannot speak German
    speaker = make_agent({german: 3})

    item = submit(call(queue))

    assert item.status == WorkItemStatus.OFFERED and item.agent_id == speaker.pk
    offered = Event.objects.get(code="work_item.offered", object_id=item.pk)
    assert offered.payload["agent_id"] == speaker.pk and offered.payload["is_affinity"] is False


def test_the_items_own_skills_are_required_too(queue, make_agent, german, billing):
    make_agent({german: 9})
    expert = make_agent({german: 9, billing: 6})

    item = submit(call(queue, required_skills={"billing": 5}))

    assert item.agent_id == expert.pk


def test_desired_skills_relax_after_the_configured_wait(
    queue, make_agent, german, billing, test_clock, run_jobs
):
    rule = RoutingRuleFactory(queue=queue, channel="phone", relax_after_seconds=20, relax_levels=3)
    RoutingRuleSkillFactory(rule=rule, skill=billing, min_level=8, is_required=False)
    novice = make_agent({billing: 5})

    item = submit(call())  # the routing table sends it to `queue`, wanting billing ≥ 8
    assert item.status == WorkItemStatus.QUEUED

    test_clock.advance(19)
    run_jobs()
    item.refresh_from_db()
    assert item.status == WorkItemStatus.QUEUED

    test_clock.advance(1)  # 20 s: billing ≥ 5 will do
    run_jobs()
    item.refresh_from_db()
    assert item.status == WorkItemStatus.OFFERED and item.agent_id == novice.pk
    assert Event.objects.get(code="work_item.offered").payload["waited_seconds"] == 20.0


def test_an_expert_gets_the_item_before_relaxation(queue, make_agent, billing):
    rule = RoutingRuleFactory(queue=queue, channel="phone")
    RoutingRuleSkillFactory(rule=rule, skill=billing, min_level=8, is_required=False)
    make_agent({billing: 5})
    expert = make_agent({billing: 9})

    assert submit(call()).agent_id == expert.pk


def test_overflow_sends_the_item_to_the_next_tier(
    make_agent, german, billing, test_clock, run_jobs
):
    first, second = QueueFactory(code="first-level"), QueueFactory(code="second-level")
    first.required_skills.add(german)
    second.required_skills.add(billing)
    RoutingRuleFactory(
        queue=first, channel="phone", overflow_queue=second, overflow_after_seconds=60
    )
    specialist = make_agent({billing: 7})

    item = submit(call())
    assert item.status == WorkItemStatus.QUEUED

    test_clock.advance(60)
    run_jobs()
    item.refresh_from_db()
    assert item.status == WorkItemStatus.OFFERED and item.agent_id == specialist.pk


def test_a_freed_agent_gets_the_most_urgent_waiting_item(queue, make_agent, test_clock):
    agent = make_agent(presence="break")
    low = submit(call(queue, priority=1))
    test_clock.advance(10)
    high = submit(call(queue, priority=3))

    set_presence(agent.pk, "available", actor=as_agent(agent))

    low.refresh_from_db()
    high.refresh_from_db()
    assert high.agent_id == agent.pk and low.status == WorkItemStatus.QUEUED


def test_waiting_long_lifts_a_low_priority_item_above_new_urgent_ones(
    queue, make_agent, test_clock
):
    agent = make_agent(presence="break")
    old = submit(call(queue, priority=1))
    test_clock.advance(200)  # 1 + 200/60 > 4
    submit(call(queue, priority=4))

    set_presence(agent.pk, "available", actor=as_agent(agent))

    old.refresh_from_db()
    assert old.agent_id == agent.pk


def test_a_service_level_target_serves_callers_who_can_still_make_it_first(
    queue, make_agent, test_clock
):
    RoutingRuleFactory(channel="phone", queue=queue, service_level_seconds=20)
    agent = make_agent(presence="break")
    missed = submit(call(queue))
    test_clock.advance(15)
    in_time = submit(call(queue))
    test_clock.advance(10)  # the first waited 25 s, the second 10 s

    set_presence(agent.pk, "available", actor=as_agent(agent))

    in_time.refresh_from_db()
    missed.refresh_from_db()
    assert in_time.agent_id == agent.pk and missed.status == WorkItemStatus.QUEUED
    assert in_time.requirements["service_level_seconds"] == 20


def test_a_caller_within_the_target_is_found_behind_many_who_missed_it(
    queue, make_agent, test_clock
):
    RoutingRuleFactory(channel="phone", queue=queue, service_level_seconds=20)
    agent = make_agent(presence="break")
    for _ in range(45):  # more than a freed agent's look at the oldest and the most urgent
        submit(call(queue))
    test_clock.advance(30)
    in_time = submit(call(queue))
    test_clock.advance(5)

    set_presence(agent.pk, "available", actor=as_agent(agent))

    in_time.refresh_from_db()
    assert in_time.agent_id == agent.pk


def test_without_a_target_the_longest_waiting_caller_goes_first(queue, make_agent, test_clock):
    RoutingRuleFactory(channel="phone", queue=queue)
    agent = make_agent(presence="break")
    first = submit(call(queue))
    test_clock.advance(15)
    submit(call(queue))
    test_clock.advance(10)

    set_presence(agent.pk, "available", actor=as_agent(agent))

    first.refresh_from_db()
    assert first.agent_id == agent.pk


# --- Affinity: Helmut's second call -----------------------------------------------------------


def helmut_first_call(queue, make_agent):  # noqa: ANN001, ANN201
    helmut = CustomerFactory(first_name="Helmut", last_name="Berger")
    first_agent, other_agent = make_agent(username="anna"), make_agent(username="ben")
    item = submit(call(queue, customer_id=helmut.pk, external_id="call-1"))
    assert item.agent_id == first_agent.pk  # idle longest
    accept_offer(item.pk, actor=as_agent(first_agent))
    complete_work_item(item.pk, actor=as_agent(first_agent))
    set_presence(first_agent.pk, "available", actor=as_agent(first_agent))  # skips after-call work
    return helmut, first_agent, other_agent


def anna_on_another_call(queue, anna, ben):  # noqa: ANN001, ANN201
    set_presence(ben.pk, "break", actor=as_agent(ben))
    other = submit(call(queue, external_id="someone-else"))
    assert other.agent_id == anna.pk
    accept_offer(other.pk, actor=as_agent(anna))
    set_presence(ben.pk, "available", actor=as_agent(ben))
    return other


def test_helmuts_second_call_goes_to_the_agent_who_served_him(queue, make_agent, test_clock):
    helmut, anna, ben = helmut_first_call(queue, make_agent)
    test_clock.advance(600)
    AgentStatus.objects.filter(agent=ben).update(
        idle_since_at=test_clock.at - dt.timedelta(hours=1)
    )

    second = submit(call(queue, customer_id=helmut.pk, external_id="call-2"))

    assert second.preferred_agent_id == anna.pk
    assert second.agent_id == anna.pk  # although Ben has been idle longer
    assert Offer.objects.get(item=second).is_affinity


def test_helmut_waits_for_his_agent_then_someone_else_takes_the_call(
    queue, make_agent, test_clock, run_jobs
):
    helmut, anna, ben = helmut_first_call(queue, make_agent)
    anna_on_another_call(queue, anna, ben)

    second = submit(call(queue, customer_id=helmut.pk, external_id="call-2"))
    assert second.status == WorkItemStatus.QUEUED  # Ben is free, but Helmut waits for Anna

    test_clock.advance(30)  # the default wait for the last agent
    run_jobs()
    second.refresh_from_db()
    assert second.agent_id == ben.pk and not Offer.objects.get(item=second).is_affinity


def test_helmuts_agent_freeing_up_within_the_wait_gets_his_call(queue, make_agent, test_clock):
    helmut, anna, ben = helmut_first_call(queue, make_agent)
    busy_with = anna_on_another_call(queue, anna, ben)
    second = submit(call(queue, customer_id=helmut.pk, external_id="call-2"))

    test_clock.advance(10)
    complete_work_item(busy_with.pk, actor=as_agent(anna))
    set_presence(anna.pk, "available", actor=as_agent(anna))

    second.refresh_from_db()
    assert second.agent_id == anna.pk


def waiting_only_for_a_free_agent(queue):  # noqa: ANN001, ANN201
    """A routing table whose phone rule waits for the last agent only if they are free or
    wrapping up."""
    RoutingRuleFactory(channel="phone", queue=queue, affinity_waits_while_busy=False)


def test_a_rule_may_skip_the_wait_while_the_last_agent_is_on_another_call(queue, make_agent):
    helmut, anna, ben = helmut_first_call(queue, make_agent)
    anna_on_another_call(queue, anna, ben)
    waiting_only_for_a_free_agent(queue)

    second = submit(NewWorkItem(channel="phone", customer_id=helmut.pk, external_id="call-2"))

    assert second.preferred_agent_id == anna.pk
    assert second.agent_id == ben.pk and not Offer.objects.get(item=second).is_affinity


def test_such_a_rule_still_waits_for_an_agent_in_after_call_work(queue, make_agent, test_clock):
    helmut, anna, ben = helmut_first_call(queue, make_agent)
    busy_with = anna_on_another_call(queue, anna, ben)
    complete_work_item(busy_with.pk, actor=as_agent(anna))
    assert AgentStatus.objects.get(agent=anna).presence_id == "after_call_work"
    waiting_only_for_a_free_agent(queue)

    second = submit(NewWorkItem(channel="phone", customer_id=helmut.pk, external_id="call-2"))
    assert second.status == WorkItemStatus.QUEUED  # Ben is free, but Anna is nearly done

    test_clock.advance(5)
    set_presence(anna.pk, "available", actor=as_agent(anna))
    second.refresh_from_db()
    assert second.agent_id == anna.pk and Offer.objects.get(item=second).is_affinity


def test_the_owner_of_the_customers_open_case_is_preferred(queue, make_agent):
    owner = make_agent()
    make_agent()
    case = CaseFactory(owner=owner, status=CaseStatus.OPEN)

    item = submit(call(queue, case_id=case.pk))

    assert item.customer_id == case.customer_id and item.agent_id == owner.pk


def test_the_open_case_owner_the_channel_found_is_preferred_without_asking(queue, make_agent):
    make_agent()
    owner = make_agent()
    customer = CustomerFactory()  # no case in the tables: the channel's word counts

    item = submit(call(queue, customer_id=customer.pk, open_case_owner=owner.pk))
    nobodys = submit(call(queue, customer_id=CustomerFactory().pk, open_case_owner=None))

    assert item.agent_id == owner.pk and item.preferred_agent_id == owner.pk
    assert nobodys.preferred_agent_id is None


def test_a_first_submission_is_not_looked_up_and_a_wrong_one_gives_the_stored_item(
    queue, make_agent
):
    make_agent()
    first = submit(call(queue, external_id="call-1"))

    # As two submissions at once: the insert fails on the unique key, the winner's is found.
    again = submit(call(queue, external_id="call-1", first_submission=True))

    assert again.pk == first.pk
    assert WorkItem.objects.filter(external_id="call-1").count() == 1


# --- Offers: decline, expiry, one at a time --------------------------------------------------


def test_a_declined_item_goes_to_the_next_agent_and_never_back(queue, make_agent):
    anna, ben = make_agent(), make_agent()
    item = submit(call(queue))

    decline_offer(item.pk, actor=as_agent(anna))

    item.refresh_from_db()
    assert item.agent_id == ben.pk
    decline_offer(item.pk, actor=as_agent(ben))
    item.refresh_from_db()
    assert item.status == WorkItemStatus.QUEUED  # nobody else: it waits
    assert AgentStatus.objects.get(agent=anna).used_units == 0
    assert list(Offer.objects.filter(item=item).values_list("status", flat=True)) == [
        "declined",
        "declined",
    ]
    assert Event.objects.filter(code="work_item.declined", object_id=item.pk).count() == 2


def test_an_offer_that_times_out_goes_to_the_next_agent(queue, make_agent, test_clock, run_jobs):
    anna, ben = make_agent(), make_agent()
    item = submit(call(queue))

    test_clock.advance(19)
    run_jobs()
    item.refresh_from_db()
    assert item.agent_id == anna.pk

    test_clock.advance(1)  # the phone channel's offer timeout
    run_jobs()
    item.refresh_from_db()
    assert item.status == WorkItemStatus.OFFERED and item.agent_id == ben.pk
    anna_status = AgentStatus.objects.get(agent=anna)
    assert anna_status.presence_id == "not_responding" and anna_status.used_units == 0
    assert Event.objects.filter(code="work_item.offer_expired", object_id=item.pk).exists()


def test_accepting_an_expired_offer_says_so_and_the_item_moves_on(queue, make_agent, test_clock):
    anna, ben = make_agent(), make_agent()
    item = submit(call(queue))
    test_clock.advance(25)  # past the timeout, before the worker ran the job

    with pytest.raises(OfferExpired) as error:
        accept_offer(item.pk, actor=as_agent(anna))

    assert (error.value.code, error.value.status) == ("offer_expired", 409)
    item.refresh_from_db()
    assert item.agent_id == ben.pk  # the expiry was committed before the error
    assert Offer.objects.get(item=item, agent=anna).status == OfferStatus.EXPIRED
    assert AgentStatus.objects.get(agent=anna).presence_id == "available"  # she is there


def test_only_the_agent_it_is_offered_to_can_answer(queue, make_agent):
    anna, ben = make_agent(), make_agent()
    item = submit(call(queue))

    with pytest.raises(NoPendingOffer) as error:
        accept_offer(item.pk, actor=as_agent(ben))
    assert error.value.code == "no_pending_offer"
    accept_offer(item.pk, actor=as_agent(anna))
    with pytest.raises(NoPendingOffer):
        decline_offer(item.pk, actor=as_agent(anna))  # already accepted


def test_the_database_refuses_a_second_pending_offer_of_an_item(queue, make_agent, test_clock):
    make_agent()
    ben = make_agent()
    item = submit(call(queue))

    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            item=item, agent=ben, offered_at=test_clock.at, expires_at=test_clock.at
        )


def test_a_caller_who_hangs_up_frees_the_agent(queue, make_agent):
    anna = make_agent()
    item = submit(call(queue))

    withdraw_work_item(item.pk, actor=SYSTEM, reason="caller hung up")

    item.refresh_from_db()
    assert item.status == WorkItemStatus.WITHDRAWN
    assert AgentStatus.objects.get(agent=anna).used_units == 0
    assert Offer.objects.get(item=item).status == OfferStatus.WITHDRAWN
    with pytest.raises(WorkItemNotActive):
        withdraw_work_item(item.pk, actor=SYSTEM)


# --- The routing table and bad input ----------------------------------------------------------


def test_the_routing_table_decides_by_channel_language_segment_and_time(make_agent, test_clock):
    english = QueueFactory(code="english")
    vip = QueueFactory(code="vip")
    evening = QueueFactory(code="evening")
    general = QueueFactory(code="general")
    RoutingRuleFactory(order=1, queue=english, channel="phone", language="en")
    RoutingRuleFactory(order=2, queue=vip, customer_segment="premium")
    RoutingRuleFactory(
        order=3, queue=evening, active_from=dt.time(18, 0), active_until=dt.time(8, 0)
    )
    RoutingRuleFactory(order=9, queue=general)
    RoutingRuleFactory(order=0, queue=vip, is_active=False)
    premium = CustomerFactory(segment="premium")

    assert submit(call(language="en")).queue == english
    assert submit(call(language="en", channel="chat")).queue == general
    assert submit(call(customer_id=premium.pk)).queue == vip
    assert submit(call()).queue == general  # 10:00 in Berlin
    test_clock.at = dt.datetime(2026, 11, 30, 19, 30, tzinfo=dt.UTC)  # 20:30 in Berlin
    assert submit(call()).queue == evening


def test_submitting_the_same_call_twice_gives_one_item(queue, make_agent):
    make_agent()
    first = submit(call(queue, external_id="cti-4711"))
    again = submit(call(queue, external_id="cti-4711"))

    assert first.pk == again.pk and WorkItem.objects.count() == 1


def test_bad_input_gets_precise_errors(queue, make_agent):
    agent = make_agent()
    with pytest.raises(UnknownWorkItem) as unknown_item:
        accept_offer(999_999, actor=as_agent(agent))
    with pytest.raises(NoRoute) as no_route:
        submit(call())  # no rule, no queue
    with pytest.raises(NoRoute):
        submit(NewWorkItem(channel="phone", queue="nope"))
    with pytest.raises(NoRoute):
        submit(call(queue, required_skills={"klingon": 5}))
    with pytest.raises(UnknownChannel) as channel:
        submit(call(queue, channel="pigeon"))
    item = submit(call(queue))
    with pytest.raises(WorkItemNotActive):
        complete_work_item(item.pk, actor=as_agent(agent))  # offered, not accepted yet

    assert (unknown_item.value.code, unknown_item.value.status) == ("unknown_work_item", 404)
    assert no_route.value.code == "no_route" and channel.value.code == "unknown_channel"
    assert WorkItem.objects.count() == 1


def test_every_routing_change_is_in_the_chain(queue, make_agent):
    agent = make_agent()
    item = submit(call(queue))
    accept_offer(item.pk, actor=as_agent(agent))
    complete_work_item(item.pk, actor=as_agent(agent))

    codes = list(
        Event.objects.filter(object_type="work_item", object_id=item.pk)
        .order_by("seq")
        .values_list("code", flat=True)
    )
    assert codes == [
        "work_item.queued",
        "work_item.offered",
        "work_item.accepted",
        "work_item.completed",
    ]
    assert verify_chain().is_intact
    assert Event.objects.get(code="work_item.accepted").actor_label == as_agent(agent).label
    assert Actor.system("routing").label == "system:routing"


def test_the_items_desired_skills_prefer_experts_and_relax(
    queue, make_agent, billing, test_clock, run_jobs
):
    novice = make_agent({billing: 2})

    item = submit(call(queue, desired_skills={"billing": 7}))
    assert item.status == WorkItemStatus.QUEUED

    test_clock.advance(60)  # 7 → 4 → 1: a level-2 agent will do
    run_jobs()
    item.refresh_from_db()
    assert item.agent_id == novice.pk

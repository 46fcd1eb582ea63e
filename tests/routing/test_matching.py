"""The pure rules of matching: no database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from casework.routing.matching import (
    RoutingPlan,
    _needs_at,
    needs_at,
    parse_requirement_key,
    qualifies,
    rank,
    requirement_key,
    urgency,
)

GERMAN, BILLING, SECOND_LEVEL = 1, 2, 3
plan = RoutingPlan(
    required=((GERMAN, 1),),
    desired=((BILLING, 8),),
    relax_after_seconds=20,
    relax_levels=3,
)


def test_desired_levels_relax_step_by_step_until_they_vanish():
    assert needs_at(plan, 0).skills == ((GERMAN, 1), (BILLING, 8))
    assert needs_at(plan, 19.9).skills == ((GERMAN, 1), (BILLING, 8))
    assert needs_at(plan, 20).skills == ((GERMAN, 1), (BILLING, 5))
    assert needs_at(plan, 40).skills == ((GERMAN, 1), (BILLING, 2))
    assert needs_at(plan, 60).skills == ((GERMAN, 1),)
    assert [needs_at(plan, t).changes_after for t in (0, 20, 40, 60)] == [20, 40, 60, None]


def test_required_skills_never_relax():
    assert needs_at(plan, 10_000).skills == ((GERMAN, 1),)
    assert not qualifies(7, {BILLING: 10}, needs_at(plan, 10_000))


def test_affinity_waits_for_the_preferred_agent_then_routes_normally():
    helmut = RoutingPlan(required=((GERMAN, 1),), preferred_agent_id=42, affinity_wait_seconds=30)

    during = needs_at(helmut, 29)
    after = needs_at(helmut, 30)

    assert during.only_agent_id == 42 and during.changes_after == 30
    assert qualifies(42, {GERMAN: 3}, during) and not qualifies(7, {GERMAN: 10}, during)
    assert not qualifies(42, {}, during)  # the hard skills hold for the preferred agent too
    assert after.only_agent_id is None and qualifies(7, {GERMAN: 10}, after)


def test_overflow_hands_the_item_to_the_next_tier():
    tiered = RoutingPlan(
        required=((GERMAN, 1), (BILLING, 1)),
        overflow_required=((GERMAN, 1), (SECOND_LEVEL, 1)),
        overflow_after_seconds=120,
    )

    assert needs_at(tiered, 119).skills == ((GERMAN, 1), (BILLING, 1))
    assert needs_at(tiered, 120).skills == ((GERMAN, 1), (SECOND_LEVEL, 1))
    assert needs_at(tiered, 120).is_overflow


def test_plans_and_keys_round_trip():
    full = RoutingPlan(
        required=((GERMAN, 1),),
        desired=((BILLING, 8),),
        overflow_required=((SECOND_LEVEL, 1),),
        preferred_agent_id=5,
        affinity_wait_seconds=10,
        overflow_after_seconds=90,
    )
    assert RoutingPlan.from_json(full.to_json()) == full
    assert requirement_key([(12, 1), (4, 5), (12, 3)]) == "4:5,12:3"
    assert parse_requirement_key("4:5,12:3") == ((4, 5), (12, 3))
    assert parse_requirement_key("") == ()


def test_waiting_ages_the_priority():
    assert urgency(1, 180, 60) == 4.0  # a low item that waited three minutes beats a new high
    assert urgency(3, 0, 60) == 3.0
    assert urgency(2, 1000, 0) == 2.0


def test_items_that_can_still_make_their_target_rank_first():
    target = RoutingPlan(service_level_seconds=20)
    missed, in_time = rank(2, 25, target), rank(2, 5, target)
    assert in_time > missed  # though the other waited longer
    assert rank(2, 19.9, target) > rank(4, 20, target)  # and above higher priorities
    assert rank(2, 10, target) > rank(2, 5, target)  # among them, the longest waiting
    no_target = RoutingPlan()
    assert rank(2, 25, no_target) > rank(2, 5, no_target)
    assert RoutingPlan.from_json(target.to_json()) == target


@given(
    level=st.integers(min_value=1, max_value=10),
    step=st.integers(min_value=1, max_value=10),
    relax_after=st.integers(min_value=1, max_value=600),
    early=st.floats(min_value=0, max_value=5000),
    extra=st.floats(min_value=0, max_value=5000),
)
def test_waiting_longer_never_asks_more(level, step, relax_after, early, extra):  # noqa: ANN001
    relaxing = RoutingPlan(
        required=((GERMAN, 1),),
        desired=((BILLING, level),),
        relax_after_seconds=relax_after,
        relax_levels=step,
    )
    before = dict(needs_at(relaxing, early).skills)
    later = dict(needs_at(relaxing, early + extra).skills)
    assert set(later) <= set(before)
    assert all(later[skill] <= before[skill] for skill in later)


@given(
    levels=st.lists(st.integers(min_value=1, max_value=10), max_size=3),
    step=st.integers(min_value=0, max_value=4),
    relax_after=st.integers(min_value=0, max_value=120),
    affinity=st.integers(min_value=0, max_value=60),
    overflow_after=st.none() | st.integers(min_value=0, max_value=300),
    waits=st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=8),
)
def test_the_needs_kept_with_a_plan_are_those_worked_out_afresh(
    levels, step, relax_after, affinity, overflow_after, waits
):  # noqa: ANN001
    def plan() -> RoutingPlan:
        return RoutingPlan(
            required=((GERMAN, 1),),
            desired=tuple((BILLING + i, level) for i, level in enumerate(levels)),
            overflow_required=None if overflow_after is None else ((SECOND_LEVEL, 1),),
            preferred_agent_id=7 if affinity else None,
            affinity_wait_seconds=affinity,
            relax_after_seconds=relax_after,
            relax_levels=step,
            overflow_after_seconds=overflow_after,
        )

    kept = plan()
    for waited in waits:
        assert needs_at(kept, waited) == _needs_at(plan(), waited)

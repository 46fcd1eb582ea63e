"""Workforce planning math: Erlang C and A, the contact forecast, the staffing plan.

Plain functions, no database. Queueing results are checked against published values and
against independent computations written here: Erlang C from its closed form with
factorials in exact rational arithmetic, Erlang A from a truncated birth-death chain
plus numerical integration of the offered-wait density.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest
from scipy.integrate import quad

from casework.analytics.workforce import (
    BERLIN,
    IntervalForecast,
    average_speed_of_answer,
    backtest_last_week,
    compare_with_planned,
    erlang_a,
    erlang_c,
    forecast_contacts,
    local_quarter_hours,
    occupancy,
    required_agents,
    required_agents_erlang_a,
    service_level,
    staffing_plan,
)

# --- Erlang C ------------------------------------------------------------------------


def exact_erlang_c(traffic: Fraction, agents: int) -> Fraction:
    """The textbook closed form, A^N/N! * N/(N-A) over the same plus sum_{k<N} A^k/k!."""
    waiting = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    no_wait = sum(traffic**k / math.factorial(k) for k in range(agents))
    return waiting / (no_wait + waiting)


def test_erlang_c_matches_the_published_worked_example() -> None:
    # callcentrehelper.com, "Erlang C Formula - Made Simple With an Easy Worked Example":
    # 100 calls in 30 minutes with an AHT of 180 s are 10 Erlangs; with 11 agents a call
    # waits with probability 68.21 %, and 14 agents are the fewest for 80 % within 20 s.
    traffic = 100 * 180 / 1800
    assert traffic == 10
    assert erlang_c(traffic, 11) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(traffic, 13, 180, 20) < 0.8 <= service_level(traffic, 14, 180, 20)
    assert service_level(traffic, 14, 180, 20) == pytest.approx(0.8884, abs=5e-5)


def test_erlang_c_matches_textbook_closed_forms() -> None:
    # M/M/1: a contact waits whenever the one agent is busy, C = rho (Kleinrock, Queueing
    # Systems I, 3.2). M/M/2 and M/M/3 worked by hand: C(A=1, N=2) = 1/3, C(A=2, N=3) = 4/9.
    for load in (0.1, 0.5, 0.9, 0.99):
        assert erlang_c(load, 1) == pytest.approx(load, rel=1e-14)
    assert erlang_c(1, 2) == pytest.approx(1 / 3, rel=1e-14)
    assert erlang_c(2, 3) == pytest.approx(4 / 9, rel=1e-14)


@pytest.mark.parametrize(
    ("traffic", "agents"),
    [
        (Fraction(1, 2), 1),
        (Fraction(5, 2), 4),
        (Fraction(10), 11),
        (Fraction(10), 12),
        (Fraction(10), 14),
        (Fraction(273, 10), 33),
        (Fraction(100), 110),
        (Fraction(1000), 1040),
    ],
)
def test_erlang_c_agrees_with_the_exact_factorial_formula(traffic: Fraction, agents: int) -> None:
    expected = float(exact_erlang_c(traffic, agents))
    assert erlang_c(float(traffic), agents) == pytest.approx(expected, rel=1e-12)


def test_erlang_c_stays_finite_for_thousands_of_agents() -> None:
    # A**N / N! overflows floats beyond about 170 agents; the recursion does not.
    waiting = erlang_c(5000.0, 5100)
    assert 0 < waiting < 1
    assert erlang_c(5000.0, 6000) < 1e-30


def test_service_level_and_speed_of_answer_follow_their_formulas() -> None:
    waiting = float(exact_erlang_c(Fraction(10), 12))
    assert service_level(10, 12, 180, 20) == pytest.approx(1 - waiting * math.exp(-2 * 20 / 180))
    assert average_speed_of_answer(10, 12, 180) == pytest.approx(waiting * 180 / 2)
    assert service_level(10, 12, 180, 0) == pytest.approx(1 - waiting)
    assert occupancy(10, 12) == pytest.approx(10 / 12)


def test_an_unstable_queue_waits_always_and_forever() -> None:
    for agents in (5, 10):
        assert erlang_c(10, agents) == 1.0
        assert service_level(10, agents, 180, 20) == 0.0
        assert average_speed_of_answer(10, agents, 180) == math.inf
        assert occupancy(10, agents) == 1.0


def test_no_traffic_never_waits() -> None:
    assert erlang_c(0, 3) == 0.0
    assert service_level(0, 0, 180, 20) == 1.0
    assert average_speed_of_answer(0, 1, 180) == 0.0


def test_required_agents_for_the_worked_example() -> None:
    requirement = required_agents(100, 1800, 180, 0.8, 20)
    assert requirement.agents == 14
    assert requirement.traffic_erlangs == pytest.approx(10)
    assert requirement.service_level == pytest.approx(0.8884, abs=5e-5)
    assert requirement.average_speed_of_answer == pytest.approx(7.84, abs=5e-3)
    assert requirement.occupancy == pytest.approx(10 / 14)
    assert requirement.abandonment is None


def test_required_agents_respects_a_maximum_occupancy() -> None:
    # 10 / 14 = 71.4 % is too busy for a 70 % cap; 15 agents are at 66.7 %.
    assert required_agents(100, 1800, 180, 0.8, 20, max_occupancy=0.7).agents == 15


def test_required_agents_is_the_smallest_number_for_a_thousand_erlangs() -> None:
    requirement = required_agents(4000, 900, 225, 0.8, 20)
    assert requirement.traffic_erlangs == pytest.approx(1000)
    assert service_level(1000, requirement.agents, 225, 20) >= 0.8
    assert service_level(1000, requirement.agents - 1, 225, 20) < 0.8


def test_no_contacts_need_no_agents() -> None:
    requirement = required_agents(0, 900, 180, 0.8, 20)
    assert (requirement.agents, requirement.service_level) == (0, 1.0)


@pytest.mark.parametrize(
    "arguments",
    [
        (10, 900, 0, 0.8, 20),  # no handling time
        (10, 900, 180, 1.0, 20),  # a target no finite staffing reaches
        (10, 900, 180, 0.8, -1),
        (-1, 900, 180, 0.8, 20),
    ],
)
def test_required_agents_refuses_meaningless_input(arguments: tuple) -> None:
    with pytest.raises(ValueError):
        required_agents(*arguments)


# --- Erlang A ------------------------------------------------------------------------


def brute_force_erlang_a(
    traffic: float, agents: int, aht: float, patience: float, target: float
) -> tuple[float, float, float, float]:
    """P(wait), P(abandon), service level and ASA, computed another way: the chain's
    stationary distribution by its balance equations (truncated far out), abandonment by
    Little's law (rate theta times the mean queue), and the waits by integrating the
    offered-wait density lambda * pi_{N-1} * exp(lambda * H(x) - N mu x) with
    H(x) = (1 - exp(-theta x)) / theta (Baccelli & Hebuterne 1981; Zeltyn & Mandelbaum 2005)."""
    arrival, service, abandon = traffic / aht, 1 / aht, 1 / patience
    states = agents + 2000
    log_weights = np.zeros(states + 1)
    for state in range(1, states + 1):
        departures = min(state, agents) * service + max(state - agents, 0) * abandon
        log_weights[state] = log_weights[state - 1] + math.log(arrival / departures)
    stationary = np.exp(log_weights - log_weights.max())
    stationary /= stationary.sum()
    waiting = stationary[agents:].sum()
    mean_queue = float(np.arange(states - agents + 1) @ stationary[agents:])
    abandoning = abandon * mean_queue / arrival

    def answered_density(wait: float) -> float:
        offered = (1 - math.exp(-abandon * wait)) / abandon
        density = (
            arrival * stationary[agents - 1] * math.exp(arrival * offered - agents * service * wait)
        )
        return density * math.exp(-abandon * wait)

    within_target = (1 - waiting) + quad(answered_density, 0, target)[0]
    wait_of_answered = quad(lambda wait: wait * answered_density(wait), 0, math.inf, limit=200)[0]
    return waiting, abandoning, within_target, wait_of_answered / (1 - abandoning)


@pytest.mark.parametrize(
    ("traffic", "agents", "aht", "patience", "target"),
    [
        (10, 11, 180, 120, 20),
        (10, 8, 180, 60, 20),  # overloaded: Erlang A stays stable
        (2, 1, 300, 30, 10),
        (30, 28, 240, 90, 30),
    ],
)
def test_erlang_a_agrees_with_an_independent_computation(
    traffic: float, agents: int, aht: float, patience: float, target: float
) -> None:
    performance = erlang_a(traffic, agents, aht, patience, target)
    waiting, abandoning, within_target, speed = brute_force_erlang_a(
        traffic, agents, aht, patience, target
    )
    assert performance.probability_of_waiting == pytest.approx(waiting, rel=1e-9)
    assert performance.probability_of_abandoning == pytest.approx(abandoning, rel=1e-9)
    assert performance.service_level == pytest.approx(within_target, rel=1e-9)
    assert performance.average_speed_of_answer == pytest.approx(speed, rel=1e-8)


@pytest.mark.parametrize("agents", [11, 12, 14, 16])
def test_erlang_a_becomes_erlang_c_as_patience_grows(agents: int) -> None:
    performance = erlang_a(10, agents, 180, 1e7, 20)
    assert performance.probability_of_waiting == pytest.approx(erlang_c(10, agents), abs=1e-4)
    assert performance.service_level == pytest.approx(service_level(10, agents, 180, 20), abs=1e-4)
    assert performance.average_speed_of_answer == pytest.approx(
        average_speed_of_answer(10, agents, 180), rel=1e-3
    )
    assert performance.probability_of_abandoning < 1e-4


def test_less_patience_means_more_abandonment_and_shorter_waits() -> None:
    results = [erlang_a(10, 11, 180, patience, 20) for patience in (1800, 600, 300, 120, 60, 10)]
    abandonment = [result.probability_of_abandoning for result in results]
    waiting = [result.probability_of_waiting for result in results]
    speed = [result.average_speed_of_answer for result in results]
    assert abandonment == sorted(abandonment) and len(set(abandonment)) == len(abandonment)
    assert waiting == sorted(waiting, reverse=True)
    assert speed == sorted(speed, reverse=True)


def test_erlang_a_sanity() -> None:
    # 10 Erlangs on 8 agents: at most 8 Erlangs can be answered, so at least 20 % abandon.
    overloaded = erlang_a(10, 8, 180, 60, 20)
    assert overloaded.probability_of_abandoning >= 0.2
    assert overloaded.occupancy <= 1
    # Abandoning relieves the queue: Erlang A answers faster than Erlang C on 11 agents.
    relieved = erlang_a(10, 11, 180, 120, 20)
    assert 0 < relieved.probability_of_abandoning < relieved.probability_of_waiting
    assert relieved.probability_of_waiting < erlang_c(10, 11)
    assert relieved.average_speed_of_answer < average_speed_of_answer(10, 11, 180)
    assert service_level(10, 11, 180, 20) < relieved.service_level < 1
    assert erlang_a(0, 1, 180, 60, 20).service_level == 1.0


@pytest.mark.parametrize("patience", [10, 30, 60, 120, 300, 600, 1800])
@pytest.mark.parametrize("arrivals", [5, 50, 400, 4000])
def test_erlang_a_needs_no_more_agents_than_erlang_c(patience: float, arrivals: float) -> None:
    erlang_a_requirement = required_agents_erlang_a(arrivals, 900, 180, 0.8, 20, patience)
    erlang_c_requirement = required_agents(arrivals, 900, 180, 0.8, 20)
    assert erlang_a_requirement.agents <= erlang_c_requirement.agents
    assert erlang_a_requirement.service_level >= 0.8
    if erlang_a_requirement.agents > 1:
        fewer = erlang_a(
            erlang_a_requirement.traffic_erlangs, erlang_a_requirement.agents - 1, 180, patience, 20
        )
        assert fewer.service_level < 0.8


def test_required_agents_erlang_a_for_the_worked_example() -> None:
    # With two minutes' mean patience, 6 % hang up and 12 agents reach 80/20 instead of 14.
    requirement = required_agents_erlang_a(100, 1800, 180, 0.8, 20, 120)
    assert requirement.agents == 12
    assert requirement.abandonment == pytest.approx(0.0616, abs=5e-4)
    assert required_agents_erlang_a(0, 900, 180, 0.8, 20, 120).agents == 0


# --- Forecast ------------------------------------------------------------------------

# Weekdays with a morning peak around 09:30 and an early-afternoon one around 14:00,
# Saturdays at 40 %, Sundays at 10 % with a flat night; all in Berlin wall-clock time.
DAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.0, 0.4, 0.1)


def expected_rate(start: datetime) -> float:
    local = start.astimezone(BERLIN)
    hour = local.hour + local.minute / 60
    shape = (
        1.5
        + 120 * math.exp(-(((hour - 9.5) / 1.2) ** 2))
        + 84 * math.exp(-(((hour - 14) / 1.5) ** 2))
    )
    return 4.0 if local.weekday() == 6 and hour < 6 else DAY_FACTOR[local.weekday()] * shape


def make_history(
    first_day: date,
    last_day: date,
    *,
    seed: int | None = None,
    growth_per_week: float = 0.0,
    holiday_days: frozenset[date] = frozenset(),
) -> list[tuple[datetime, float]]:
    """Contacts per quarter-hour: exactly the expected rate, or Poisson around it."""
    generator = np.random.default_rng(seed)
    history = []
    for start in local_quarter_hours(first_day, last_day):
        day = start.astimezone(BERLIN).date()
        rate = expected_rate(start) * (1 + growth_per_week * ((day - first_day).days // 7))
        if day in holiday_days:
            rate *= 0.05
        contacts = float(generator.poisson(rate)) if seed is not None else rate
        history.append((start, contacts))
    return history


def wape(forecast: list[IntervalForecast], truth: list[float]) -> float:
    return sum(abs(row.contacts - value) for row, value in zip(forecast, truth, strict=True)) / sum(
        truth
    )


def test_local_days_have_92_and_100_quarter_hours_on_the_changes() -> None:
    # Summer time 2026 begins on Sunday 29 March and ends on Sunday 25 October.
    assert len(local_quarter_hours(date(2026, 3, 28), date(2026, 3, 28))) == 96
    spring = local_quarter_hours(date(2026, 3, 29), date(2026, 3, 29))
    autumn = local_quarter_hours(date(2026, 10, 25), date(2026, 10, 25))
    assert len(spring) == 92
    assert len(autumn) == 100
    assert all(start.astimezone(BERLIN).hour != 2 for start in spring)
    assert sum(start.astimezone(BERLIN).hour == 2 for start in autumn) == 8


def test_forecast_recovers_a_weekly_pattern_from_six_noisy_weeks() -> None:
    history = make_history(date(2026, 8, 3), date(2026, 9, 13), seed=7)
    week = local_quarter_hours(date(2026, 9, 14), date(2026, 9, 20))
    forecast = forecast_contacts(history, week)
    truth = [expected_rate(start) for start in week]
    assert [row.start for row in forecast] == week
    assert wape(forecast, truth) < 0.09  # Poisson noise alone leaves about 0.065
    for day in range(7):
        day_forecast = sum(row.contacts for row in forecast[day * 96 : (day + 1) * 96])
        day_truth = sum(truth[day * 96 : (day + 1) * 96])
        assert day_forecast == pytest.approx(day_truth, rel=0.05)
    monday = [row.contacts for row in forecast[:96]]
    assert monday.index(max(monday)) in range(36, 40)  # the peak stays at 09:00-09:45


def test_forecast_follows_a_trend() -> None:
    # 5 % more contacts every week: the seventh week is 30 % above the first, not at the
    # recency-weighted average, which lags behind.
    history = make_history(date(2026, 8, 3), date(2026, 9, 13), growth_per_week=0.05)
    week = local_quarter_hours(date(2026, 9, 14), date(2026, 9, 20))
    forecast = forecast_contacts(history, week)
    truth = sum(expected_rate(start) * (1 + 0.05 * 6) for start in week)
    assert sum(row.contacts for row in forecast) == pytest.approx(truth, rel=0.01)


def test_forecast_keeps_wall_clock_times_across_the_spring_change() -> None:
    # History in winter time (UTC+1), forecast in summer time (UTC+2): the peak stays at
    # 09:30 local; a forecast by UTC slot would move it to 10:30.
    history = make_history(date(2026, 2, 16), date(2026, 3, 28))
    days = local_quarter_hours(date(2026, 3, 29), date(2026, 3, 30))
    forecast = forecast_contacts(history, days)
    assert len(forecast) == 92 + 96
    for row in forecast:
        assert row.contacts == pytest.approx(expected_rate(row.start), rel=1e-9)


def test_forecast_learns_from_change_days_without_distortion() -> None:
    # The spring Sunday lacks 02:00-02:59 and the autumn one has it twice; neither may
    # pull the Sunday night profile down or up.
    for first_day, last_day in [
        (date(2026, 3, 2), date(2026, 4, 12)),
        (date(2026, 9, 28), date(2026, 11, 8)),
    ]:
        history = make_history(first_day, last_day)
        sunday = local_quarter_hours(last_day + timedelta(days=7), last_day + timedelta(days=7))
        forecast = forecast_contacts(history, sunday, federal_state="BY")
        assert [row.contacts for row in forecast] == pytest.approx(
            [expected_rate(row.start) for row in forecast], rel=1e-9
        )


def test_forecast_of_the_autumn_change_gives_both_repeated_quarter_hours() -> None:
    history = make_history(date(2026, 9, 7), date(2026, 10, 18))
    autumn = local_quarter_hours(date(2026, 10, 25), date(2026, 10, 25))
    forecast = forecast_contacts(history, autumn)
    repeated = [row for row in forecast if row.start.astimezone(BERLIN).hour == 2]
    assert len(forecast) == 100
    assert [row.contacts for row in repeated] == pytest.approx([4.0] * 8)


def test_holidays_are_left_out_of_the_history() -> None:
    # Good Friday and Easter Monday 2026 had almost no contacts; the Monday after Easter
    # week is forecast like any Monday.
    holidays_with_few_contacts = frozenset({date(2026, 4, 3), date(2026, 4, 6)})
    history = make_history(
        date(2026, 3, 2), date(2026, 4, 12), holiday_days=holidays_with_few_contacts
    )
    monday = local_quarter_hours(date(2026, 4, 13), date(2026, 4, 13))
    forecast = forecast_contacts(history, monday)
    assert [row.contacts for row in forecast] == pytest.approx(
        [expected_rate(start) for start in monday], rel=1e-9
    )


def test_holidays_are_forecast_like_sundays() -> None:
    history = make_history(date(2026, 3, 30), date(2026, 5, 31))
    labour_day = local_quarter_hours(date(2026, 5, 1), date(2026, 5, 1))
    sunday = local_quarter_hours(date(2026, 5, 3), date(2026, 5, 3))
    assert [row.contacts for row in forecast_contacts(history, labour_day)] == pytest.approx(
        [row.contacts for row in forecast_contacts(history, sunday)]
    )
    # Corpus Christi (Thursday 4 June 2026) is a holiday in Bavaria, not in Berlin.
    corpus_christi = local_quarter_hours(date(2026, 6, 4), date(2026, 6, 4))
    in_bavaria = forecast_contacts(history, corpus_christi, federal_state="BY")
    in_berlin = forecast_contacts(history, corpus_christi, federal_state="BE")
    sunday_rates = [expected_rate(start + timedelta(days=3)) for start in corpus_christi]
    assert [row.contacts for row in in_bavaria] == pytest.approx(sunday_rates, rel=1e-9)
    assert [row.contacts for row in in_berlin] == pytest.approx(
        [expected_rate(start) for start in corpus_christi], rel=1e-9
    )


def test_backtest_measures_the_error_on_the_last_week() -> None:
    exact = backtest_last_week(make_history(date(2026, 8, 3), date(2026, 9, 20)))
    assert exact.intervals == 7 * 96
    assert exact.wape == pytest.approx(0, abs=1e-9)
    assert exact.mape == pytest.approx(0, abs=1e-9)
    noisy = backtest_last_week(make_history(date(2026, 8, 3), date(2026, 9, 20), seed=11))
    assert 0.1 < noisy.wape < 0.2  # the held-out week's own noise is most of it
    assert noisy.mape > noisy.wape  # quiet quarter-hours weigh heavily in MAPE


def test_forecast_refuses_naive_or_misaligned_times() -> None:
    history = make_history(date(2026, 8, 3), date(2026, 9, 13))
    with pytest.raises(ValueError, match="aware"):
        forecast_contacts(history, [datetime(2026, 9, 14, 9, 0)])
    with pytest.raises(ValueError, match="quarter-hour"):
        forecast_contacts(history, [datetime(2026, 9, 14, 9, 5, tzinfo=UTC)])
    with pytest.raises(ValueError, match="one week"):
        forecast_contacts(history[:96], [datetime(2026, 9, 14, 9, 0, tzinfo=UTC)])


# --- Plan ----------------------------------------------------------------------------

MONDAY_NINE = datetime(2026, 9, 14, 9, 0, tzinfo=BERLIN)


def test_plan_for_the_worked_example_with_shrinkage() -> None:
    # 50 contacts in a quarter-hour with an AHT of 180 s are 10 Erlangs, as above.
    [row] = staffing_plan([IntervalForecast(MONDAY_NINE, 50)], 180, 0.8, 20, shrinkage=0.3)
    assert row.start == MONDAY_NINE and row.start.tzinfo is UTC
    assert row.traffic_erlangs == pytest.approx(10)
    assert row.required_agents == 14
    assert row.required_agents_with_shrinkage == 20  # 14 / 0.7, not 21 by rounding
    assert row.service_level == pytest.approx(0.8884, abs=5e-5)
    assert row.abandonment is None


@pytest.mark.parametrize("patience", [None, 90])
def test_more_contacts_never_need_fewer_agents(patience: float | None) -> None:
    forecast = [
        IntervalForecast(MONDAY_NINE + index * timedelta(minutes=15), contacts)
        for index, contacts in enumerate(np.arange(0, 300, 7.5))
    ]
    plan = staffing_plan(forecast, 240, 0.8, 20, patience_seconds=patience, shrinkage=0.25)
    required = [row.required_agents for row in plan]
    scheduled = [row.required_agents_with_shrinkage for row in plan]
    assert required == sorted(required) and required[0] == 0 and required[-1] > 70
    assert scheduled == sorted(scheduled)
    assert all(need >= agents for need, agents in zip(scheduled, required, strict=True))
    assert all(row.service_level >= 0.8 for row in plan)


def test_erlang_a_plan_needs_no_more_agents_and_reports_abandonment() -> None:
    forecast = [IntervalForecast(MONDAY_NINE, contacts) for contacts in (10, 50, 200)]
    with_patience = staffing_plan(forecast, 180, 0.8, 20, patience_seconds=60)
    without = staffing_plan(forecast, 180, 0.8, 20)
    for erlang_a_row, erlang_c_row in zip(with_patience, without, strict=True):
        assert erlang_a_row.required_agents <= erlang_c_row.required_agents
        assert 0 < erlang_a_row.abandonment < 0.2


def test_plan_refuses_impossible_shrinkage() -> None:
    with pytest.raises(ValueError):
        staffing_plan([IntervalForecast(MONDAY_NINE, 50)], 180, 0.8, 20, shrinkage=1.0)


def test_comparison_with_the_planned_agents_keeps_the_repeated_autumn_hour_apart() -> None:
    two_oclock = [
        start
        for start in local_quarter_hours(date(2026, 10, 25), date(2026, 10, 25))
        if start.astimezone(BERLIN).hour == 2
    ]
    plan = staffing_plan([IntervalForecast(start, 50) for start in two_oclock], 180, 0.8, 20)
    planned = {start: 12 + index for index, start in enumerate(two_oclock)}
    gaps = compare_with_planned(plan, planned)
    assert [gap.planned_agents for gap in gaps] == [12, 13, 14, 15, 16, 17, 18, 19]
    assert [gap.gap for gap in gaps] == [-2, -1, 0, 1, 2, 3, 4, 5]
    assert all(gap.required_agents == 14 for gap in gaps)
    assert compare_with_planned(plan, {})[0].gap == -14


def test_comparison_accepts_planned_intervals_in_local_time() -> None:
    plan = staffing_plan([IntervalForecast(MONDAY_NINE, 50)], 180, 0.8, 20, shrinkage=0.3)
    [gap] = compare_with_planned(plan, {MONDAY_NINE: 18})
    assert (gap.required_agents, gap.planned_agents, gap.gap) == (20, 18, -2)

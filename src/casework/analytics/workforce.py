"""Workforce planning: how many agents each quarter-hour needs, from a forecast of contacts.

Pure code (no Django, no database), in three parts:

- queueing formulas: Erlang C (contacts wait as long as it takes) and Erlang A (contacts
  give up after an exponentially distributed patience), each with the smallest number of
  agents that meets a service-level target;
- a forecast of contacts per 15-minute interval for one channel: seasonal by weekday and
  wall-clock time of day in Europe/Berlin, weighted towards recent weeks, with a trend;
- a staffing plan that turns the forecast into agents per interval, with shrinkage, and
  its comparison with the agents planned.

Times: interval starts are aware datetimes; results carry them in UTC, because two
Europe/Berlin datetimes in the repeated hour of the autumn change compare equal although
they are an hour apart. docs/workforce-planning.md gives the formulas and references.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from scipy.special import betainc, digamma, gammaln, logsumexp

BERLIN = ZoneInfo("Europe/Berlin")
INTERVAL = timedelta(minutes=15)
INTERVAL_SECONDS = 900
_SUNDAY = 6

# Erlang A sums over queue lengths whose stationary probability is at least e**-50 times
# that of the most likely one: the rest changes no result in the 16th digit.
_NEGLIGIBLE_LOG_RATIO = 50.0

# Agents needed with shrinkage are rounded up; the tolerance keeps 14 / (1 - 0.3), which
# is 20.000000000000004 in floating point, at 20.
_ROUNDING_TOLERANCE = 1e-9


# --- Queueing ------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingRequirement:
    """The fewest agents meeting a target, and what they achieve. `abandonment` is None
    under Erlang C, which assumes that nobody hangs up."""

    agents: int
    traffic_erlangs: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float
    abandonment: float | None


@dataclass(frozen=True)
class ErlangAPerformance:
    """What N agents achieve when contacts abandon (M/M/N+M). The service level is the
    share of all arrivals answered within the target time: contacts that abandon count
    against it, also those abandoning before the target time. The average speed of answer
    is the mean wait of the answered contacts."""

    probability_of_waiting: float
    probability_of_abandoning: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a contact has to wait (M/M/N), via the Erlang B recursion.

    The closed form needs A**N / N!, which overflows floats beyond about 170 agents; the
    recursion stays within [0, 1] for any number. With N <= A the queue grows without
    bound and every contact waits: 1.0."""
    _check_load(traffic_erlangs, agents)
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    blocking = _erlang_b(traffic_erlangs, agents)
    return agents * blocking / (agents - traffic_erlangs * (1 - blocking))


def service_level(
    traffic_erlangs: float, agents: int, aht_seconds: float, target_seconds: float
) -> float:
    """Share of contacts answered within `target_seconds`: 1 - C * exp(-(N - A) * t / AHT).
    0.0 when N <= A (an unstable queue answers ever later)."""
    _check_positive("aht_seconds", aht_seconds)
    _check_not_negative("target_seconds", target_seconds)
    waiting = erlang_c(traffic_erlangs, agents)
    if waiting == 0:
        return 1.0
    if agents <= traffic_erlangs:
        return 0.0
    spare_agents = agents - traffic_erlangs
    return 1 - waiting * math.exp(-spare_agents * target_seconds / aht_seconds)


def average_speed_of_answer(traffic_erlangs: float, agents: int, aht_seconds: float) -> float:
    """Mean wait in seconds over all contacts: C * AHT / (N - A); infinite when N <= A."""
    _check_positive("aht_seconds", aht_seconds)
    waiting = erlang_c(traffic_erlangs, agents)
    if waiting == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return math.inf
    return waiting * aht_seconds / (agents - traffic_erlangs)


def occupancy(traffic_erlangs: float, agents: int) -> float:
    """Share of the agents' time spent handling contacts: A / N, at most 1 (when N <= A
    the agents are always busy)."""
    _check_load(traffic_erlangs, agents)
    if agents == 0:
        raise ValueError("occupancy needs at least one agent")
    return min(traffic_erlangs / agents, 1.0)


def required_agents(
    arrivals_per_interval: float,
    interval_seconds: float,
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    max_occupancy: float | None = None,
) -> StaffingRequirement:
    """The fewest agents reaching the service level under Erlang C (and, if given, at most
    `max_occupancy`), because agents cost money and the formula is monotone in N.

    Only N > A can reach a target: with N <= A the queue is unstable. No contacts need no
    agents."""
    traffic = _traffic(arrivals_per_interval, interval_seconds, aht_seconds)
    _check_targets(target_service_level, target_seconds, max_occupancy)
    if traffic == 0:
        return StaffingRequirement(0, 0.0, 1.0, 0.0, 0.0, None)
    fewest = math.floor(traffic) + 1
    if max_occupancy is not None:
        fewest = max(fewest, math.ceil(traffic / max_occupancy - _ROUNDING_TOLERANCE))
    agents = _fewest_agents(
        fewest,
        lambda agents: (
            service_level(traffic, agents, aht_seconds, target_seconds) >= target_service_level
        ),
    )
    return StaffingRequirement(
        agents=agents,
        traffic_erlangs=traffic,
        service_level=service_level(traffic, agents, aht_seconds, target_seconds),
        average_speed_of_answer=average_speed_of_answer(traffic, agents, aht_seconds),
        occupancy=occupancy(traffic, agents),
        abandonment=None,
    )


def erlang_a(
    traffic_erlangs: float,
    agents: int,
    aht_seconds: float,
    patience_seconds: float,
    target_seconds: float,
) -> ErlangAPerformance:
    """Performance of N agents when each waiting contact abandons after an exponentially
    distributed patience with mean `patience_seconds` (Palm's M/M/N+M, "Erlang A").

    Solved exactly from the birth-death chain: pi_n is proportional to A**n / n! up to N,
    and pi_{N+j} = pi_N * prod_{k=1..j} lambda / (N mu + k theta) above. An arrival that
    finds j contacts waiting is answered when its patience outlasts the time until an agent
    is free for it; that time is a sum of exponential stages with rates N mu + i theta, so
    the answered share within t is a regularized incomplete beta function and the mean wait
    of the answered ones a difference of digammas (derivation in the docs). Queue lengths
    with negligible probability are left out, which keeps any N and patience finite.
    """
    _check_load(traffic_erlangs, agents)
    _check_positive("aht_seconds", aht_seconds)
    _check_positive("patience_seconds", patience_seconds)
    _check_not_negative("target_seconds", target_seconds)
    if agents == 0:
        raise ValueError("Erlang A needs at least one agent")
    blocking = _erlang_b(traffic_erlangs, agents)
    if traffic_erlangs == 0 or blocking == 0:
        return ErlangAPerformance(0.0, 0.0, 1.0, 0.0, traffic_erlangs / agents)

    # Rates in units of the abandonment rate theta = 1 / patience: N mu / theta and lambda / theta.
    service_rate = agents * patience_seconds / aht_seconds
    arrival_rate = traffic_erlangs * patience_seconds / aht_seconds
    queue_lengths, log_queue_weights = _likely_queue_lengths(service_rate, arrival_rate)
    # log of sum_{n < N} pi_n / pi_N, which is 1 / B - 1 with B the Erlang B probability.
    log_idle_weight = math.log1p(-blocking) - math.log(blocking)
    log_all_busy = -np.logaddexp(log_idle_weight, logsumexp(log_queue_weights))
    # PASTA: an arrival finds all agents busy and j contacts waiting with probability pi_{N+j}.
    finds_queue = np.exp(log_all_busy + log_queue_weights)
    probability_of_waiting = float(finds_queue.sum())
    answered_share = service_rate / (service_rate + queue_lengths + 1)
    answered_after_waiting = finds_queue * answered_share
    probability_of_abandoning = float((finds_queue - answered_after_waiting).sum())

    within_target = betainc(
        queue_lengths + 1, service_rate + 1, -math.expm1(-target_seconds / patience_seconds)
    )
    answered_in_time = 1 - probability_of_waiting + float(answered_after_waiting @ within_target)
    mean_wait_in_patiences = digamma(service_rate + queue_lengths + 2) - digamma(service_rate + 1)
    total_wait_of_answered = patience_seconds * float(
        answered_after_waiting @ mean_wait_in_patiences
    )
    answered = 1 - probability_of_abandoning
    # Shares are clipped to [0, 1]: with a very long patience, rounding can pass 1 by 1e-9.
    return ErlangAPerformance(
        probability_of_waiting=_share(probability_of_waiting),
        probability_of_abandoning=_share(probability_of_abandoning),
        service_level=_share(answered_in_time),
        average_speed_of_answer=total_wait_of_answered / answered,
        occupancy=_share(traffic_erlangs * answered / agents),
    )


def required_agents_erlang_a(
    arrivals_per_interval: float,
    interval_seconds: float,
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    patience_seconds: float,
    max_occupancy: float | None = None,
) -> StaffingRequirement:
    """The fewest agents reaching the service level under Erlang A (and, if given, at most
    `max_occupancy` of carried load per agent).

    Erlang A is stable for any N, but a service level s needs N >= s * A: only N agents'
    worth of load can be answered at all. No contacts need no agents."""
    traffic = _traffic(arrivals_per_interval, interval_seconds, aht_seconds)
    _check_targets(target_service_level, target_seconds, max_occupancy)
    _check_positive("patience_seconds", patience_seconds)
    if traffic == 0:
        return StaffingRequirement(0, 0.0, 1.0, 0.0, 0.0, 0.0)

    def performance(agents: int) -> ErlangAPerformance:
        return erlang_a(traffic, agents, aht_seconds, patience_seconds, target_seconds)

    def is_enough(agents: int) -> bool:
        achieved = performance(agents)
        return achieved.service_level >= target_service_level and (
            max_occupancy is None or achieved.occupancy <= max_occupancy
        )

    agents = _fewest_agents(max(1, math.ceil(target_service_level * traffic)), is_enough)
    achieved = performance(agents)
    return StaffingRequirement(
        agents=agents,
        traffic_erlangs=traffic,
        service_level=achieved.service_level,
        average_speed_of_answer=achieved.average_speed_of_answer,
        occupancy=achieved.occupancy,
        abandonment=achieved.probability_of_abandoning,
    )


def _erlang_b(traffic: float, agents: int) -> float:
    blocking = 1.0
    for servers in range(1, agents + 1):
        blocking = traffic * blocking / (servers + traffic * blocking)
    return blocking


def _likely_queue_lengths(
    service_rate: float, arrival_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Queue lengths j worth summing over, with log(pi_{N+j} / pi_N).

    The weights rise while arrival_rate > service_rate + j and fall after, so the likely
    lengths form one window around the peak; its edges are found by doubling steps. Inside
    the window the logs are running sums of log(arrival_rate / (service_rate + k)): log-gamma
    differences lose digits when the patience is long, the sums do not. The window's first
    weight comes from log-gamma only when the window does not start at 0, and then the
    weights below it (the idle states included) are negligible anyway."""

    def approximate_log_weight(length: int) -> float:
        return length * math.log(arrival_rate) - float(
            gammaln(service_rate + length + 1) - gammaln(service_rate + 1)
        )

    peak_length = max(0, math.floor(arrival_rate - service_rate))
    negligible_below = approximate_log_weight(peak_length) - _NEGLIGIBLE_LOG_RATIO
    above = _doubling_steps(
        lambda step: approximate_log_weight(peak_length + step) < negligible_below
    )
    below = _doubling_steps(
        lambda step: step > peak_length
        or approximate_log_weight(peak_length - step) < negligible_below
    )
    first = max(0, peak_length - below)
    lengths = np.arange(first, peak_length + above + 1)
    steps = np.log(arrival_rate / (service_rate + lengths[1:]))
    first_log_weight = approximate_log_weight(first) if first else 0.0
    return lengths, first_log_weight + np.concatenate(([0.0], np.cumsum(steps)))


def _share(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _doubling_steps(is_far_enough: Callable[[int], bool]) -> int:
    step = 1
    while not is_far_enough(step):
        step *= 2
    return step


def _fewest_agents(fewest: int, is_enough: Callable[[int], bool]) -> int:
    """Smallest N >= `fewest` with is_enough(N), for a monotone test: gallop up, then bisect,
    so a thousand agents cost a few dozen evaluations."""
    if is_enough(fewest):
        return fewest
    too_few, step = fewest, 1
    while not is_enough(too_few + step):
        too_few += step
        step *= 2
    enough = too_few + step
    while enough - too_few > 1:
        middle = (too_few + enough) // 2
        if is_enough(middle):
            enough = middle
        else:
            too_few = middle
    return enough


def _traffic(arrivals_per_interval: float, interval_seconds: float, aht_seconds: float) -> float:
    _check_not_negative("arrivals_per_interval", arrivals_per_interval)
    _check_positive("interval_seconds", interval_seconds)
    _check_positive("aht_seconds", aht_seconds)
    return arrivals_per_interval * aht_seconds / interval_seconds


def _check_load(traffic_erlangs: float, agents: int) -> None:
    _check_not_negative("traffic_erlangs", traffic_erlangs)
    if agents < 0:
        raise ValueError(f"agents must not be negative: {agents}")


def _check_targets(
    target_service_level: float, target_seconds: float, max_occupancy: float | None
) -> None:
    if not 0 < target_service_level < 1:
        raise ValueError(f"the target service level must lie in (0, 1): {target_service_level}")
    _check_not_negative("target_seconds", target_seconds)
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"the maximum occupancy must lie in (0, 1]: {max_occupancy}")


def _check_positive(name: str, value: float) -> None:
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be positive and finite: {value}")


def _check_not_negative(name: str, value: float) -> None:
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be zero or more and finite: {value}")


# --- Forecast ------------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalForecast:
    """Contacts expected in the quarter-hour starting at `start` (UTC)."""

    start: datetime
    contacts: float


@dataclass(frozen=True)
class ForecastAccuracy:
    """How far a forecast of a held-out week was off. WAPE (sum of absolute errors over
    the sum of contacts) is the one to watch: MAPE averages the relative error of every
    quarter-hour with contacts, so a quiet quarter-hour with one contact weighs as much
    as the busiest."""

    wape: float
    mape: float
    intervals: int


@dataclass(frozen=True)
class _DayVolumes:
    """One local day of history: contacts per occurrence of each wall-clock slot (slots
    8-11, 02:00-02:59, occur twice on the autumn change and not at all in spring)."""

    per_slot: dict[int, float]
    occurrences: Counter[int]
    total: float


def local_quarter_hours(first_day: date, last_day: date) -> list[datetime]:
    """Starts (UTC) of all quarter-hours of the Europe/Berlin days from `first_day` to
    `last_day`: 96 a day, 92 on the last Sunday in March, 100 on the last in October."""
    start = datetime.combine(first_day, time(), BERLIN).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), BERLIN).astimezone(UTC)
    return [start + index * INTERVAL for index in range((end - start) // INTERVAL)]


def forecast_contacts(
    history: Iterable[tuple[datetime, float]],
    intervals: Iterable[datetime],
    *,
    weeks: int = 6,
    recency_decay: float = 0.75,
    federal_state: str | None = None,
) -> list[IntervalForecast]:
    """Forecast one channel's contacts for each requested quarter-hour.

    `history` holds (interval start, contacts) for whole local days; a quarter-hour of
    those days without an entry had no contacts. The forecast for a weekday and wall-clock
    slot is the average of that slot over the same weekday in the last `weeks` weeks,
    weighted `recency_decay ** age_in_weeks`, times a trend factor fitted to the weekly
    volumes. Public holidays (national and of `federal_state`) are left out of the history
    and forecast like Sundays: their own volume would distort their weekday."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1: {weeks}")
    if not 0 < recency_decay <= 1:
        raise ValueError(f"recency_decay must lie in (0, 1]: {recency_decay}")
    days = _daily_volumes(history)
    last_day = max(days)
    if (last_day - min(days)).days < 6:
        raise ValueError("the forecast needs at least one week of history")
    recent = {
        day: volumes
        for day, volumes in days.items()
        if (last_day - day).days < 7 * weeks and not _is_public_holiday(day, federal_state)
    }
    profile = _weekday_profile(recent, last_day, recency_decay)
    trend = _trend_factor(_weekly_levels(recent, profile, last_day), recency_decay)

    forecast = []
    for start in intervals:
        local = _local_start(start)
        day = local.date()
        weekday = _SUNDAY if _is_public_holiday(day, federal_state) else day.weekday()
        weeks_ahead = -((last_day - day).days // 7)
        contacts = profile.get((weekday, _slot(local)), 0.0) * trend(weeks_ahead)
        forecast.append(IntervalForecast(start.astimezone(UTC), contacts))
    return forecast


def backtest_last_week(
    history: Iterable[tuple[datetime, float]],
    *,
    weeks: int = 6,
    recency_decay: float = 0.75,
    federal_state: str | None = None,
) -> ForecastAccuracy:
    """Forecast the last seven local days of `history` from the days before them and
    measure the error, so a planner can see whether the forecast deserves trust."""
    entries = [(start.astimezone(UTC), contacts) for start, contacts in history]
    if not entries:
        raise ValueError("the backtest needs history")
    last_day = max(_local_start(start).date() for start, _ in entries)
    first_held_out = last_day - timedelta(days=6)
    held_out_from = datetime.combine(first_held_out, time(), BERLIN).astimezone(UTC)
    actual: defaultdict[datetime, float] = defaultdict(float)
    for start, contacts in entries:
        if start >= held_out_from:
            actual[start] += contacts
    forecast = forecast_contacts(
        [(start, contacts) for start, contacts in entries if start < held_out_from],
        local_quarter_hours(first_held_out, last_day),
        weeks=weeks,
        recency_decay=recency_decay,
        federal_state=federal_state,
    )
    errors = [(abs(row.contacts - actual[row.start]), actual[row.start]) for row in forecast]
    total_contacts = sum(contacts for _, contacts in errors)
    if total_contacts == 0:
        raise ValueError("the held-out week has no contacts to measure against")
    relative_errors = [error / contacts for error, contacts in errors if contacts > 0]
    return ForecastAccuracy(
        wape=sum(error for error, _ in errors) / total_contacts,
        mape=sum(relative_errors) / len(relative_errors),
        intervals=len(errors),
    )


def _daily_volumes(history: Iterable[tuple[datetime, float]]) -> dict[date, _DayVolumes]:
    counts: defaultdict[tuple[date, int], float] = defaultdict(float)
    for start, contacts in history:
        _check_not_negative("contacts", contacts)
        local = _local_start(start)
        counts[(local.date(), _slot(local))] += contacts
    if not counts:
        raise ValueError("the forecast needs history")
    first_day = min(day for day, _ in counts)
    last_day = max(day for day, _ in counts)
    days = {}
    for offset in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        occurrences = Counter(_slot(_local_start(start)) for start in local_quarter_hours(day, day))
        days[day] = _DayVolumes(
            per_slot={slot: counts[(day, slot)] / times for slot, times in occurrences.items()},
            occurrences=occurrences,
            total=sum(counts[(day, slot)] for slot in occurrences),
        )
    return days


def _weekday_profile(
    days: Mapping[date, _DayVolumes], last_day: date, recency_decay: float
) -> dict[tuple[int, int], float]:
    """(weekday, slot) -> contacts, averaged over the days that have the slot: a spring
    change day lacks 02:00-02:59 and does not pull that slot of its weekday down."""
    weighted_contacts: defaultdict[tuple[int, int], float] = defaultdict(float)
    weights: defaultdict[tuple[int, int], float] = defaultdict(float)
    for day, volumes in days.items():
        weight = recency_decay ** ((last_day - day).days // 7)
        for slot, contacts in volumes.per_slot.items():
            weighted_contacts[(day.weekday(), slot)] += weight * contacts
            weights[(day.weekday(), slot)] += weight
    return {key: weighted_contacts[key] / weights[key] for key in weights}


def _weekly_levels(
    days: Mapping[date, _DayVolumes], profile: Mapping[tuple[int, int], float], last_day: date
) -> dict[int, float]:
    """Age in weeks (0: the last seven days) -> contacts seen / contacts the profile
    expects on the same days. Comparing like with like keeps a week with a holiday left
    out, or a short first week, from looking like a drop."""
    seen: defaultdict[int, float] = defaultdict(float)
    expected: defaultdict[int, float] = defaultdict(float)
    for day, volumes in days.items():
        age = (last_day - day).days // 7
        seen[age] += volumes.total
        expected[age] += sum(
            profile.get((day.weekday(), slot), 0.0) * times
            for slot, times in volumes.occurrences.items()
        )
    return {age: seen[age] / expected[age] for age in seen if expected[age] > 0}


def _trend_factor(levels: Mapping[int, float], recency_decay: float) -> Callable[[int], float]:
    """weeks ahead -> factor on the profile: a straight line through the weekly levels,
    projected to the week, divided by the level the recency-weighted profile reflects."""
    if not levels:
        return lambda weeks_ahead: 1.0
    ages = np.array(sorted(levels))
    level_values = np.array([levels[age] for age in ages])
    weights = recency_decay ** ages.astype(float)
    profile_level = float(weights @ level_values / weights.sum())
    if len(ages) < 2 or profile_level == 0:
        return lambda weeks_ahead: 1.0
    slope, intercept = np.polyfit(-ages, level_values, 1)
    return lambda weeks_ahead: max(0.0, float(intercept + slope * weeks_ahead)) / profile_level


def _local_start(start: datetime) -> datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"interval starts must be aware datetimes (with a time zone): {start}")
    local = start.astimezone(BERLIN)
    if local.minute % 15 or local.second or local.microsecond:
        raise ValueError(f"interval starts must fall on a quarter-hour: {start}")
    return local


def _slot(local: datetime) -> int:
    """Wall-clock quarter-hour of the day, 0 (00:00) to 95 (23:45)."""
    return (local.hour * 60 + local.minute) // 15


def _is_public_holiday(day: date, federal_state: str | None) -> bool:
    return day in _public_holidays(federal_state, day.year)


@functools.lru_cache(maxsize=64)
def _public_holidays(federal_state: str | None, year: int) -> frozenset[date]:
    # Immutable data per (state, year); the cache only saves rebuilding it per interval.
    return frozenset(holidays.country_holidays("DE", subdiv=federal_state, years=year))


# --- Plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInterval:
    """One row of a staffing plan. `required_agents` must be handling contacts;
    `required_agents_with_shrinkage` must be scheduled, since breaks, training, meetings
    and absence take the shrinkage share of scheduled time. `abandonment` is None under
    Erlang C."""

    start: datetime
    contacts: float
    traffic_erlangs: float
    required_agents: int
    required_agents_with_shrinkage: int
    service_level: float
    average_speed_of_answer: float
    occupancy: float
    abandonment: float | None


@dataclass(frozen=True)
class StaffingGap:
    """Planned against required (scheduled) agents in one interval; a negative gap means
    too few agents."""

    start: datetime
    required_agents: int
    planned_agents: int
    gap: int


def staffing_plan(
    forecast: Iterable[IntervalForecast],
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    patience_seconds: float | None = None,
    shrinkage: float = 0.0,
) -> list[PlanInterval]:
    """Agents per quarter-hour for a forecast: Erlang C, or Erlang A when a mean patience
    is given (then abandonment relieves the queue and fewer agents may do)."""
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must lie in [0, 1): {shrinkage}")
    plan = []
    for interval in forecast:
        if patience_seconds is None:
            requirement = required_agents(
                interval.contacts,
                INTERVAL_SECONDS,
                aht_seconds,
                target_service_level,
                target_seconds,
            )
        else:
            requirement = required_agents_erlang_a(
                interval.contacts,
                INTERVAL_SECONDS,
                aht_seconds,
                target_service_level,
                target_seconds,
                patience_seconds,
            )
        plan.append(
            PlanInterval(
                start=interval.start.astimezone(UTC),
                contacts=interval.contacts,
                traffic_erlangs=requirement.traffic_erlangs,
                required_agents=requirement.agents,
                required_agents_with_shrinkage=math.ceil(
                    requirement.agents / (1 - shrinkage) - _ROUNDING_TOLERANCE
                ),
                service_level=requirement.service_level,
                average_speed_of_answer=requirement.average_speed_of_answer,
                occupancy=requirement.occupancy,
                abandonment=requirement.abandonment,
            )
        )
    return plan


def compare_with_planned(
    plan: Sequence[PlanInterval], planned_agents_per_interval: Mapping[datetime, int]
) -> list[StaffingGap]:
    """Gap per interval of the plan between the agents planned (keyed by interval start,
    any zone; an interval without an entry has none planned) and those required."""
    planned = {
        _local_start(start).astimezone(UTC): agents
        for start, agents in planned_agents_per_interval.items()
    }
    gaps = []
    for interval in plan:
        planned_agents = planned.get(interval.start, 0)
        gaps.append(
            StaffingGap(
                start=interval.start,
                required_agents=interval.required_agents_with_shrinkage,
                planned_agents=planned_agents,
                gap=planned_agents - interval.required_agents_with_shrinkage,
            )
        )
    return gaps

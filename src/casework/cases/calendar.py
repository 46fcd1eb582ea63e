"""Business hours: opening hours per weekday, German public holidays per federal state.

SLA deadlines count business time: a first response due in 8 business hours, asked for on a
Friday at 16:00 with hours of 08:00–18:00, is due on Monday at 14:00 (or Tuesday, when
Monday is Whit Monday). Pure code: no Django, no database.

All arithmetic runs on UTC instants, never on wall-clock times: in Python, adding a
`timedelta` to an aware datetime adds wall-clock time, which is an hour off across a change
to or from summer time. Opening hours are wall-clock times in the calendar's zone
(Europe/Berlin by default), so a day with opening hours 00:00–24:00 has 23 business hours
on the last Sunday in March and 25 on the last Sunday in October.

Public holidays come from the `holidays` package: the national ones, plus those of the
calendar's federal state (`BY`, `BE`, … as in ISO 3166-2:DE), e.g. Reformation Day on
31 October in Brandenburg or Saxony but not in Bavaria.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
FEDERAL_STATES = frozenset(
    {"BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH"}
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_PER_DAY = 24 * 60

# A calendar open one minute a year still ends the search; one with no opening at all is
# refused when it is made. The bound only guards against an endless loop.
_MAX_DAYS_SEARCHED = 366 * 10


@dataclass(frozen=True)
class OpeningHours:
    """One stretch of opening on a day, in minutes after midnight; `end` may be 24:00."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < self.end_minute <= _MINUTES_PER_DAY:
            raise ValueError(f"opening hours must lie within one day: {self}")

    def __str__(self) -> str:
        return f"{_clock(self.start_minute)}-{_clock(self.end_minute)}"


@dataclass(frozen=True)
class BusinessCalendar:
    """When the business works. `hours[0]` is Monday's opening hours, `hours[6]` Sunday's;
    a day without hours is closed, and so are public holidays and `closed_days`."""

    hours: tuple[tuple[OpeningHours, ...], ...]
    federal_state: str | None = None
    time_zone: ZoneInfo = BERLIN
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("opening hours are needed for each of the seven weekdays")
        if not any(self.hours):
            raise ValueError("a business calendar needs opening hours on at least one weekday")
        for day in self.hours:
            ordered = sorted(day, key=lambda stretch: stretch.start_minute)
            for first, second in zip(ordered, ordered[1:], strict=False):
                if second.start_minute < first.end_minute:
                    raise ValueError(f"opening hours overlap: {first} and {second}")
        if self.federal_state is not None and self.federal_state not in FEDERAL_STATES:
            raise ValueError(
                f"unknown federal state {self.federal_state!r} "
                f"(known: {', '.join(sorted(FEDERAL_STATES))})"
            )

    @classmethod
    def from_hours(
        cls,
        hours: Mapping[str, str | Iterable[str]],
        *,
        federal_state: str | None = None,
        time_zone: ZoneInfo = BERLIN,
        closed_days: Iterable[date] = (),
    ) -> BusinessCalendar:
        """A calendar from readable hours: `{"mon-fri": "08:00-18:00", "sat": "09:00-13:00"}`.

        Keys are weekdays (`mon` … `sun`) or ranges of them; values one stretch or a list of
        stretches (`["08:00-12:00", "13:00-17:00"]`). Later keys add to earlier ones.
        """
        days: list[list[OpeningHours]] = [[] for _ in range(7)]
        for weekdays, stretches in hours.items():
            texts = [stretches] if isinstance(stretches, str) else list(stretches)
            for weekday in _weekday_range(weekdays):
                days[weekday].extend(_parse_stretch(text) for text in texts)
        return cls(
            hours=tuple(tuple(sorted(day, key=lambda s: s.start_minute)) for day in days),
            federal_state=federal_state,
            time_zone=time_zone,
            closed_days=frozenset(closed_days),
        )

    def is_holiday(self, day: date) -> bool:
        return day in self.closed_days or day in _public_holidays(self.federal_state, day.year)

    def openings(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening stretches as (start, end) UTC instants; empty when closed."""
        if self.is_holiday(day):
            return []
        return [
            (self._instant(day, stretch.start_minute), self._instant(day, stretch.end_minute))
            for stretch in self.hours[day.weekday()]
        ]

    def _instant(self, day: date, minute: int) -> datetime:
        if minute == _MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.time_zone)
        return local.astimezone(UTC)


STANDARD_HOURS = {"mon-fri": "08:00-18:00"}


def standard_calendar(federal_state: str | None = None) -> BusinessCalendar:
    """Monday to Friday, 08:00–18:00, Europe/Berlin, with the state's holidays."""
    return BusinessCalendar.from_hours(STANDARD_HOURS, federal_state=federal_state)


def is_business_time(moment: datetime, calendar: BusinessCalendar) -> bool:
    instant = _utc(moment)
    local_day = instant.astimezone(calendar.time_zone).date()
    return any(
        start <= instant < end
        for day in (local_day - timedelta(days=1), local_day)
        for start, end in calendar.openings(day)
    )


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The moment `duration` of business time after `start`, in the calendar's zone.

    A start outside opening hours counts from the next opening; a zero duration therefore
    gives the next moment of business time (or `start` itself during opening hours).
    """
    if duration < timedelta(0):
        raise ValueError("the duration must not be negative")
    remaining = duration
    cursor = _utc(start)
    for start_at, end_at in _stretches_from(cursor, calendar):
        begin = max(start_at, cursor)
        if end_at <= begin:
            continue
        available = end_at - begin
        if remaining <= available:
            return (begin + remaining).astimezone(calendar.time_zone)
        remaining -= available
    raise ValueError("no business time found within ten years")  # pragma: no cover


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """The business time from `a` to `b`; negative when `b` is before `a`."""
    start, end = _utc(a), _utc(b)
    if end < start:
        return -business_time_between(b, a, calendar)
    total = timedelta(0)
    for start_at, end_at in _stretches_from(start, calendar):
        if start_at >= end:
            break
        overlap = min(end_at, end) - max(start_at, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def _stretches_from(
    instant: datetime, calendar: BusinessCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """Opening stretches in time order, from the local day before `instant` (a stretch to
    24:00 of the day before may still be open) onwards."""
    day = instant.astimezone(calendar.time_zone).date() - timedelta(days=1)
    for offset in range(_MAX_DAYS_SEARCHED):
        yield from calendar.openings(day + timedelta(days=offset))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business time needs an aware datetime (with a time zone)")
    return moment.astimezone(UTC)


@functools.lru_cache(maxsize=256)
def _public_holidays(federal_state: str | None, year: int) -> frozenset[date]:
    # Immutable data per (state, year); the cache is a speed-up, not shared state.
    return frozenset(holidays.Germany(subdiv=federal_state, years=year))


def _weekday_range(text: str) -> list[int]:
    parts = [part.strip().lower() for part in text.split("-")]
    if not all(part in _WEEKDAYS for part in parts) or len(parts) > 2:
        raise ValueError(f"unknown weekday or range {text!r} (e.g. 'mon' or 'mon-fri')")
    first, last = _WEEKDAYS.index(parts[0]), _WEEKDAYS.index(parts[-1])
    if last < first:
        raise ValueError(f"weekday range runs backwards: {text!r}")
    return list(range(first, last + 1))


_STRETCH = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_stretch(text: str) -> OpeningHours:
    match = _STRETCH.match(text)
    if match is None:
        raise ValueError(f"opening hours must look like 08:00-18:00, not {text!r}")
    start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
    if start_minute > 59 or end_minute > 59 or start_hour > 23 or end_hour > 24:
        raise ValueError(f"not a time of day in {text!r}")
    return OpeningHours(start_hour * 60 + start_minute, end_hour * 60 + end_minute)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.cases.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    is_business_time,
    standard_calendar,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def hours(count: float) -> timedelta:
    return timedelta(hours=count)


def test_friday_afternoon_plus_eight_hours_is_monday():
    calendar = standard_calendar("BE")
    due = add_business_time(berlin("2025-03-07 16:00"), hours(8), calendar)  # a Friday
    assert due == berlin("2025-03-10 14:00")  # 2 h Friday + 6 h Monday
    assert due.tzinfo == BERLIN


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2025-03-08 10:00", "2025-03-10 09:00"),  # Saturday: counts from Monday's opening
        ("2025-03-10 06:00", "2025-03-10 09:00"),  # before opening
        ("2025-03-10 19:30", "2025-03-11 09:00"),  # after closing
        ("2025-03-10 17:30", "2025-03-11 08:30"),
    ],
)
def test_starts_outside_opening_hours(start, expected):
    assert add_business_time(berlin(start), hours(1), standard_calendar()) == berlin(expected)


def test_reformation_day_is_a_holiday_in_brandenburg_but_not_in_bavaria():
    start = berlin("2025-10-30 17:00")  # Thursday; 31 October is a Friday
    assert add_business_time(start, hours(2), standard_calendar("BB")) == berlin("2025-11-03 09:00")
    assert add_business_time(start, hours(2), standard_calendar("BY")) == berlin("2025-10-31 09:00")


def test_corpus_christi_is_a_holiday_in_bavaria_but_not_in_berlin():
    thursday = berlin("2025-06-19 09:00")
    assert is_business_time(thursday, standard_calendar("BE"))
    assert not is_business_time(thursday, standard_calendar("BY"))


def test_christmas_is_closed_christmas_eve_is_not():
    due = add_business_time(berlin("2025-12-24 17:00"), hours(2), standard_calendar())
    assert due == berlin("2025-12-29 09:00")  # 25th, 26th holidays, then the weekend


def test_closed_days_of_the_business_count_as_holidays():
    calendar = BusinessCalendar.from_hours(
        {"mon-fri": "08:00-18:00"}, closed_days=[date(2025, 12, 24)]
    )
    due = add_business_time(berlin("2025-12-23 17:00"), hours(2), calendar)
    assert due == berlin("2025-12-29 09:00")


def test_spring_forward_is_counted_in_real_time():
    around_the_clock = BusinessCalendar.from_hours({"mon-sun": "00:00-24:00"})
    sunday = berlin("2025-03-30 00:00")  # clocks go from 02:00 to 03:00
    assert business_time_between(sunday, berlin("2025-03-31 00:00"), around_the_clock) == hours(23)
    due = add_business_time(sunday, hours(3), around_the_clock)
    assert due == berlin("2025-03-30 04:00")
    assert due.utcoffset() == hours(2)


def test_fall_back_is_counted_in_real_time():
    around_the_clock = BusinessCalendar.from_hours({"mon-sun": "00:00-24:00"})
    sunday = berlin("2025-10-26 00:00")  # clocks go from 03:00 back to 02:00
    assert business_time_between(sunday, berlin("2025-10-27 00:00"), around_the_clock) == hours(25)
    assert add_business_time(sunday, hours(24), around_the_clock) == berlin("2025-10-26 23:00")


def test_a_deadline_across_the_change_keeps_office_hours():
    due = add_business_time(berlin("2025-03-28 17:00"), hours(2), standard_calendar())
    assert due == berlin("2025-03-31 09:00")
    assert due.utcoffset() == hours(2)  # summer time now
    assert business_time_between(berlin("2025-03-28 17:00"), due, standard_calendar()) == hours(2)


def test_split_opening_hours_and_saturdays():
    calendar = BusinessCalendar.from_hours(
        {"mon-fri": ["08:00-12:00", "13:00-17:00"], "sat": "09:00-13:00"}
    )
    assert add_business_time(berlin("2025-03-07 11:00"), hours(2), calendar) == berlin(
        "2025-03-07 14:00"
    )
    assert add_business_time(berlin("2025-03-07 16:00"), hours(2), calendar) == berlin(
        "2025-03-08 10:00"
    )
    assert business_time_between(
        berlin("2025-03-07 00:00"), berlin("2025-03-10 00:00"), calendar
    ) == hours(12)


def test_business_time_between_is_signed():
    calendar = standard_calendar()
    a, b = berlin("2025-03-07 16:00"), berlin("2025-03-10 10:00")
    assert business_time_between(a, b, calendar) == hours(4)
    assert business_time_between(b, a, calendar) == -hours(4)
    assert business_time_between(a, a, calendar) == timedelta(0)


def test_zero_duration_inside_and_outside_opening_hours():
    calendar = standard_calendar()
    assert add_business_time(berlin("2025-03-07 10:00"), timedelta(0), calendar) == berlin(
        "2025-03-07 10:00"
    )
    assert add_business_time(berlin("2025-03-08 10:00"), timedelta(0), calendar) == berlin(
        "2025-03-10 08:00"
    )


def test_other_time_zones_in_and_out():
    start = datetime(2025, 3, 7, 15, 0, tzinfo=ZoneInfo("UTC"))  # 16:00 in Berlin
    assert add_business_time(start, hours(8), standard_calendar()) == berlin("2025-03-10 14:00")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: add_business_time(datetime(2025, 3, 7, 16), hours(1), standard_calendar()),
            "aware",
        ),
        (
            lambda: add_business_time(berlin("2025-03-07 16:00"), -hours(1), standard_calendar()),
            "negative",
        ),
        (lambda: BusinessCalendar.from_hours({}), "at least one weekday"),
        (lambda: BusinessCalendar.from_hours({"mon": "18:00-08:00"}), "within one day"),
        (lambda: BusinessCalendar.from_hours({"mon": "8-18"}), "must look like"),
        (lambda: BusinessCalendar.from_hours({"fri-mon": "08:00-18:00"}), "backwards"),
        (lambda: BusinessCalendar.from_hours({"mo": "08:00-18:00"}), "unknown weekday"),
        (lambda: BusinessCalendar.from_hours({"mon": ["08:00-12:00", "11:00-13:00"]}), "overlap"),
        (lambda: standard_calendar("XX"), "unknown federal state"),
    ],
)
def test_bad_calendars_and_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


_STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(BERLIN)
)


@settings(max_examples=300, deadline=None)
@given(
    start=_STARTS,
    minutes=st.integers(min_value=1, max_value=60 * 200),
    state=st.sampled_from([None, "BB", "BY", "NW"]),
)
def test_a_due_time_is_business_time_and_measures_back_to_the_duration(start, minutes, state):
    calendar = standard_calendar(state)
    duration = timedelta(minutes=minutes)
    due = add_business_time(start, duration, calendar)
    assert not calendar.is_holiday(due.date())
    assert due.weekday() < 5
    assert berlin(f"{due.date()} 08:00") < due <= berlin(f"{due.date()} 18:00")
    assert business_time_between(start, due, calendar) == duration

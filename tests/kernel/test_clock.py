"""The clock: real time by default; a pinned time inside `running_at()`, moved on by its
holder, seen by the services (events, jobs) and by nobody outside the block."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from casework.events.models import Event
from casework.events.services import record, recording_transaction
from casework.kernel import clock, jobs
from casework.kernel.actors import Actor
from casework.kernel.models import Job

MOMENT = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


def test_now_is_the_real_time_unless_pinned():
    before = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= clock.now() <= datetime.now(UTC) + timedelta(seconds=1)
    assert not clock.is_pinned()


def test_a_pinned_time_is_moved_on_by_its_holder_and_ends_with_the_block():
    with clock.running_at(MOMENT) as pinned:
        assert clock.is_pinned() and clock.now() == MOMENT
        assert clock.advance(90) == MOMENT + timedelta(seconds=90) == clock.now()
        pinned.advance(10)
        assert clock.now() == MOMENT + timedelta(seconds=100)
        later = MOMENT + timedelta(days=2)
        assert clock.move_to(later) == later == clock.now()
        with clock.running_at(MOMENT - timedelta(days=1)):
            assert clock.now() == MOMENT - timedelta(days=1)
        assert clock.now() == later
    assert not clock.is_pinned()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_only_the_block_sees_the_pinned_time():
    seen: list[datetime] = []
    with clock.running_at(MOMENT):
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
    assert seen[0] > MOMENT + timedelta(days=365)


def test_a_pinned_time_is_kept_in_utc_like_the_real_time():
    berlin = ZoneInfo("Europe/Berlin")
    with clock.running_at(datetime(2024, 3, 30, 23, 30, tzinfo=berlin)):
        assert clock.now() == datetime(2024, 3, 30, 22, 30, tzinfo=UTC)
        assert clock.now().utcoffset() == timedelta(0)
        clock.move_to(datetime(2024, 3, 31, 3, 30, tzinfo=berlin))  # summer time began
        assert clock.now() == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
        assert clock.now().utcoffset() == timedelta(0)


def test_moving_needs_a_pinned_time_and_a_time_zone():
    with pytest.raises(RuntimeError):
        clock.advance(1)
    with pytest.raises(ValueError), clock.running_at(datetime(2024, 3, 4, 9, 30)):
        pass


@pytest.mark.django_db
def test_events_and_jobs_happen_at_the_pinned_time():
    actor = Actor.system("test")
    with clock.running_at(MOMENT):
        with recording_transaction():
            record("presence.changed", actor=actor, object_type="agent", object_id=1)
            job = jobs.enqueue("test.never_registered", {}, key="clock-test")
        clock.advance(60)
        with recording_transaction():
            record("presence.changed", actor=actor, object_type="agent", object_id=2)
    times = list(Event.objects.order_by("seq").values_list("occurred_at", flat=True))
    assert times[-2:] == [MOMENT, MOMENT + timedelta(seconds=60)]
    assert Job.objects.get(pk=job.pk).next_attempt_at == MOMENT

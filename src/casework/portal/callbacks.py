"""A customer books a callback in the portal: one of their phone numbers (or another), a
two-hour slot on one of the next business days, a note. The request itself is the phone
channel's (`channels.phone.callbacks`): routed when the slot begins, urgent when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _

from casework.channels.phone import callbacks
from casework.channels.phone.models import CallbackRequest, CallbackSource
from casework.customers.identifiers import format_phone_national
from casework.customers.models import Customer
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput

# The slots offered (local time); the service calls back on business days.
SLOT_STARTS = (time(8), time(10), time(12), time(14), time(16))
SLOT_LENGTH = timedelta(hours=2)
DAYS_OFFERED = 5


@dataclass(frozen=True)
class Slot:
    value: str  # "2026-11-27T08:00"
    label: str
    start: datetime
    end: datetime


def slots(now: datetime | None = None) -> list[Slot]:
    """The slots not yet over, on today and the next business days (Monday to Friday)."""
    local_now = clock.localtime(now or clock.now())
    found: list[Slot] = []
    day = local_now.date()
    while len({slot.start.date() for slot in found}) < DAYS_OFFERED:
        if day.weekday() < 5:
            for start_time in SLOT_STARTS:
                start = datetime.combine(day, start_time, tzinfo=ZoneInfo(settings.TIME_ZONE))
                if start + SLOT_LENGTH > local_now:
                    found.append(_slot(start))
        day += timedelta(days=1)
    return found


def _slot(start: datetime) -> Slot:
    end = start + SLOT_LENGTH
    day = f"{formats.date_format(start, 'D')}, {formats.date_format(start, 'SHORT_DATE_FORMAT')}"
    label = f"{day}, {formats.time_format(start, 'H:i')}–{formats.time_format(end, 'H:i')}"
    return Slot(value=start.strftime("%Y-%m-%dT%H:%M"), label=label, start=start, end=end)


def phone_numbers(customer: Customer) -> list[tuple[str, str]]:
    """The customer's numbers we know: (E.164, as they read it)."""
    return [
        (value, format_phone_national(value))
        for value in customer.identifiers.filter(kind="phone").values_list("value", flat=True)
    ]


def book(customer: Customer, *, number: str, slot: str, note: str = "") -> CallbackRequest:
    chosen = next((offered for offered in slots() if offered.value == slot), None)
    if chosen is None:
        raise InvalidInput(_("choose one of the times offered"), field="slot")
    if not number.strip():
        raise InvalidInput(_("which number should we call?"), field="number")
    return callbacks.request_callback(
        callbacks.NewCallback(
            number=number,
            source=CallbackSource.PORTAL,
            queue=settings.CASEWORK_CALLBACK_QUEUE,
            window_start=chosen.start,
            window_end=chosen.end,
            customer_id=customer.pk,
            language=customer.language or "de",
            note=note,
        ),
        actor=Actor.customer(customer.pk),
    )


def cancel(customer: Customer, callback_id: int) -> None:
    callbacks.cancel_callback(
        callback_id, actor=Actor.customer(customer.pk), customer_id=customer.pk
    )


def open_callbacks(customer: Customer) -> list[CallbackRequest]:
    return callbacks.open_callbacks_of(customer.pk)

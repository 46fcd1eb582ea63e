"""Booking a callback in the portal: a number and a two-hour slot; routed when the slot
begins; only the customer's own callbacks can be cancelled."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.channels.phone.models import CallbackRequest, CallbackStatus
from casework.kernel import clock
from casework.portal.callbacks import slots
from tests.factories import IdentifierFactory, QueueFactory

pytestmark = pytest.mark.django_db

BERLIN = dt.timezone(dt.timedelta(hours=1))


@pytest.fixture
def service_queue(db, settings):  # noqa: ANN001, ANN201
    settings.CASEWORK_CALLBACK_QUEUE = "service"
    return QueueFactory(code="service")


def test_the_slots_are_two_hours_on_business_days_and_not_yet_over(monkeypatch):
    friday_noon = dt.datetime(2026, 11, 27, 12, 30, tzinfo=BERLIN)
    monkeypatch.setattr(clock, "now", lambda: friday_noon)

    offered = slots()

    assert offered[0].value == "2026-11-27T12:00"  # the slot running now is still offered
    assert {slot.start.weekday() for slot in offered} <= {0, 1, 2, 3, 4}
    assert offered[3].value == "2026-11-30T08:00"  # Monday after the weekend
    assert len({slot.start.date() for slot in offered}) == 5
    assert offered[0].label.endswith("12:00–14:00")


def test_a_customer_books_and_cancels_a_callback(portal, customer, service_queue):  # noqa: ANN001
    IdentifierFactory(customer=customer, kind="phone", value="+4915234567890")
    page = portal.get("/portal/callback/").content.decode()
    assert "01523 4567890" in page  # his known number, as he reads it
    slot = slots()[1]

    response = portal.post(
        "/portal/callback/", {"number": "0152 34567890", "slot": slot.value, "note": "Tarif"}
    )

    assert response.status_code == 302
    callback = CallbackRequest.objects.get()
    assert (callback.customer, callback.number, callback.source) == (
        customer,
        "+4915234567890",
        "portal",
    )
    assert (callback.window_start, callback.window_end) == (slot.start, slot.end)
    assert callback.note == "Tarif"
    assert "between" in portal.get("/portal/callback/").content.decode()

    portal.post(f"/portal/callback/{callback.pk}/cancel/")
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.CANCELLED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"number": "0152 34567890", "slot": "2020-01-01T08:00"}, "times offered"),
        ({"number": "", "slot": None}, "which number"),
        ({"number": "12", "slot": None}, "not a"),
    ],
)
def test_bad_bookings_are_answered_on_the_page(portal, service_queue, fields, message):  # noqa: ANN001
    data = {**fields, "slot": fields["slot"] or slots()[1].value}

    response = portal.post("/portal/callback/", data)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not CallbackRequest.objects.exists()


def test_another_customers_callback_cannot_be_cancelled(portal, other, service_queue):  # noqa: ANN001
    from casework.channels.phone import callbacks
    from casework.kernel.actors import Actor

    theirs = callbacks.request_callback(
        callbacks.NewCallback(number="0171 5550000", source="portal", queue="service",
                              customer_id=other.pk),
        actor=Actor.customer(other.pk),
    )  # fmt: skip

    response = portal.post(f"/portal/callback/{theirs.pk}/cancel/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status != CallbackStatus.CANCELLED

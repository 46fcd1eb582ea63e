"""Responses accepted now and received by the worker in batches (`retention.queue`, ADR
18): everything accepted is received exactly once, repeats find the first, a batch that
breaks falls back to one at a time, and partners follow their orders through the API."""

from __future__ import annotations

import pytest

from casework.kernel import clock
from casework.kernel.errors import Conflict, InvalidInput
from casework.partners.models import CommissionEntry
from casework.retention import queue, responses
from casework.retention.models import PendingResponse, PendingStatus, Response, ResponseChannel
from casework.retention.responses import IncomingResponse
from tests.engine import ADMIN, run_jobs
from tests.partners.factories import PartnerFactory
from tests.retention.factories import code_of
from tests.retention.test_partner_api import caller_for
from tests.retention.test_responses import customer_ending_in, recipient_for

pytestmark = pytest.mark.django_db


def partner_order(partner, customer, reference: str, offer: str = "international-option"):  # noqa: ANN001, ANN201
    return IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=customer,
        offer_code=offer,
        partner=partner,
        partner_reference=reference,
    )


def test_accepted_responses_are_received_by_the_worker_in_one_batch(international):
    web, letter = recipient_for(international), recipient_for(international)
    partner, customer = PartnerFactory(), customer_ending_in()
    accepted = [
        queue.accept(IncomingResponse(channel=ResponseChannel.WEB, code=code_of(web)), actor=ADMIN),
        queue.accept(
            IncomingResponse(channel=ResponseChannel.LETTER, code=code_of(letter)), actor=ADMIN
        ),
        queue.accept(partner_order(partner, customer, "Q-1"), actor=ADMIN),
        queue.accept(IncomingResponse(channel=ResponseChannel.WEB, code=code_of(web)), actor=ADMIN),
    ]
    assert not Response.objects.exists()  # accepted, not received yet

    assert queue.run_once() == 4
    run_jobs()

    entries = [PendingResponse.objects.get(pk=one.entry.pk) for one in accepted]
    assert [entry.status for entry in entries] == [PendingStatus.RECEIVED] * 4
    assert [(e.response.outcome, e.response.reason) for e in entries] == [
        ("ordered", ""),
        ("ordered", ""),
        ("ordered", ""),
        ("exception", "code_used"),  # the same link clicked twice: one order
    ]
    assert entries[0].response.recorded_by == ADMIN.label
    assert CommissionEntry.objects.get().order_reference == "Q-1"
    assert queue.run_once() == 0


def test_bad_input_is_refused_at_once_and_nothing_is_stored(international):
    with pytest.raises(InvalidInput):
        queue.accept(
            IncomingResponse(channel=ResponseChannel.WEB, code="x", choice="maybe"), actor=ADMIN
        )
    assert not PendingResponse.objects.exists()


def test_a_partner_order_is_stored_once_and_a_changed_one_is_refused(international):
    partner, customer = PartnerFactory(), customer_ending_in()
    first = queue.accept(partner_order(partner, customer, "Q-2"), actor=ADMIN)
    again = queue.accept(partner_order(partner, customer, "Q-2"), actor=ADMIN)
    assert again.entry.pk == first.entry.pk
    with pytest.raises(Conflict, match="Q-2"):
        queue.accept(partner_order(partner, customer, "Q-2", offer="discount-10"), actor=ADMIN)

    queue.run_once()
    placed = queue.accept(partner_order(partner, customer, "Q-2"), actor=ADMIN)

    assert placed.entry is None and placed.earlier.is_repeat
    assert placed.earlier.response.pk == PendingResponse.objects.get().response_id
    assert Response.objects.count() == 1


def test_a_broken_batch_is_received_one_at_a_time(international, monkeypatch):
    recipients = [recipient_for(international) for _ in range(3)]
    for recipient in recipients:
        queue.accept(
            IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), actor=ADMIN
        )
    real = responses.receive_batch

    def breaks_with_more_than_one(items):  # noqa: ANN001, ANN202
        if len(items) > 1:
            raise RuntimeError("a bug in the batch")
        return real(items)

    monkeypatch.setattr(responses, "receive_batch", breaks_with_more_than_one)

    assert queue.run_once() == 3

    assert list(PendingResponse.objects.values_list("status", flat=True)) == ["received"] * 3
    assert Response.objects.filter(outcome="ordered").count() == 3


def test_an_entry_that_keeps_failing_is_tried_later_and_refused_at_last(
    international, monkeypatch, settings
):
    settings.CASEWORK_RETENTION_MAX_ATTEMPTS = 2
    recipient = recipient_for(international)
    entry = queue.accept(
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), actor=ADMIN
    ).entry

    def broken(items):  # noqa: ANN001, ANN202
        raise RuntimeError("the database went away")

    monkeypatch.setattr(responses, "receive_batch", broken)
    assert queue.run_once() == 1
    entry.refresh_from_db()
    assert entry.status == PendingStatus.QUEUED and entry.attempts == 1
    assert queue.run_once() == 0  # not due before its retry time

    PendingResponse.objects.update(next_attempt_at=clock.now())
    assert queue.run_once() == 1

    entry.refresh_from_db()
    assert entry.status == PendingStatus.REFUSED and entry.attempts == 2
    assert entry.error["code"] == "processing_failed"
    assert entry.code == code_of(recipient)  # kept as it came, for a person to look at
    assert not Response.objects.exists()


def test_a_partner_follows_an_order_sent_with_respond_async(international):
    partner, customer = PartnerFactory(code="shop-leipzig"), customer_ending_in()
    api = caller_for(partner)
    order = {
        "order": "L-1",
        "customer_number": customer.customer_number,
        "offer": "international-option",
    }

    answer = api.post("/partner/orders", order, Prefer="respond-async")

    assert answer.status_code == 202, answer.content
    assert answer["Preference-Applied"] == "respond-async"
    assert answer["Location"] == "/api/v1/partner/orders/L-1"
    assert answer.json()["status"] == "pending"
    assert api.get("/partner/orders/L-1").status_code == 202
    assert api.post("/partner/orders", order, Prefer="respond-async").status_code == 202
    changed = api.post("/partner/orders", {**order, "offer": "discount-10"}, Prefer="respond-async")
    assert changed.status_code == 409

    queue.run_once()
    run_jobs()

    placed = api.get("/partner/orders/L-1")
    assert placed.status_code == 200 and placed.json()["outcome"] == "ordered"
    repeat = api.post("/partner/orders", order, Prefer="respond-async")
    assert repeat.status_code == 200 and repeat.json()["case_reference"]
    assert CommissionEntry.objects.get().order_reference == "L-1"


def test_a_partner_reads_why_the_worker_refused_an_order(international):
    partner, customer = PartnerFactory(code="shop-dresden"), customer_ending_in()
    api = caller_for(partner)
    order = {"order": "D-1", "customer_number": customer.customer_number, "offer": "discount-10"}
    # Placed at once, then the same number with other content through the queue: the
    # check for an earlier order happens when it is accepted…
    assert api.post("/partner/orders", order).status_code == 201
    changed = {**order, "offer": "international-option"}
    assert api.post("/partner/orders", changed, Prefer="respond-async").status_code == 409
    # …and again when the worker receives it (an order placed in between).
    entry = queue.accept(
        partner_order(partner, customer, "D-2", offer="international-option"), actor=ADMIN
    ).entry
    responses.receive(partner_order(partner, customer, "D-2", offer="discount-10"), actor=ADMIN)

    queue.run_once()

    entry.refresh_from_db()
    assert entry.status == PendingStatus.REFUSED and entry.error["code"] == "conflict"
    answer = api.get("/partner/orders/D-2")
    assert answer.status_code == 200  # the order placed under that number
    assert api.get("/partner/orders/D-1").json()["outcome"] in ("ordered", "exception")


def test_an_order_the_worker_gave_up_on_answers_why(international, monkeypatch, settings):
    settings.CASEWORK_RETENTION_MAX_ATTEMPTS = 1
    partner, customer = PartnerFactory(code="shop-bonn"), customer_ending_in()
    api = caller_for(partner)
    order = {"order": "B-9", "customer_number": customer.customer_number, "offer": "discount-10"}
    assert api.post("/partner/orders", order, Prefer="respond-async").status_code == 202

    def broken(items):  # noqa: ANN001, ANN202
        raise RuntimeError("the database went away")

    monkeypatch.setattr(responses, "receive_batch", broken)
    queue.run_once()

    answer = api.get("/partner/orders/B-9")
    assert answer.status_code == 422 and answer.json()["code"] == "processing_failed"
    # Sent again, it is accepted anew (and placed by a worker that works again).
    monkeypatch.undo()
    assert api.post("/partner/orders", order, Prefer="respond-async").status_code == 202
    queue.run_once()
    assert api.get("/partner/orders/B-9").json()["outcome"] == "ordered"

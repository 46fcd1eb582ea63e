"""Two workers' batches run side by side on PostgreSQL: a batch locks its own customers
and recipients and takes the shared rows — the case reference counter, the event chain's
head, the commission ledger's head — only before it starts or at its end (ADR 18)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from casework.cases import process
from casework.cases.models import Case
from casework.events.services import verify_chain
from casework.partners.services import verify_ledger
from casework.retention import responses
from casework.retention.models import ResponseChannel
from casework.retention.responses import IncomingResponse, receive_batch
from tests.engine import ADMIN
from tests.partners.factories import PartnerFactory
from tests.retention.factories import code_of
from tests.retention.test_responses import customer_ending_in, recipient_for

pytestmark = pytest.mark.django_db(transaction=True)


def partner_order(partner, number: int) -> IncomingResponse:  # noqa: ANN001
    return IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=customer_ending_in(),
        offer_code="international-option",
        partner=partner,
        partner_reference=f"S-{number}",
    )


def test_a_batch_does_not_wait_for_another_batch_still_running(international, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by its database lock")
    process.reload_definitions()
    partner = PartnerFactory(code="shop-side")
    first = [
        (
            IncomingResponse(
                channel=ResponseChannel.WEB, code=code_of(recipient_for(international))
            ),
            ADMIN,
        ),
        (partner_order(partner, 1), ADMIN),
    ]
    second = [
        (
            IncomingResponse(
                channel=ResponseChannel.WEB, code=code_of(recipient_for(international))
            ),
            ADMIN,
        ),
        (partner_order(partner, 2), ADMIN),
    ]
    # The first batch stops after its last response, its transaction still open.
    received_all = threading.Event()
    go_on = threading.Event()
    receive_one = responses._receive

    def pausing(incoming, actor, lookups):  # noqa: ANN001, ANN202
        received = receive_one(incoming, actor, lookups)
        if threading.current_thread().name == "first" and incoming is first[-1][0]:
            received_all.set()
            go_on.wait(timeout=30)
        return received

    monkeypatch.setattr(responses, "_receive", pausing)
    results: dict[str, list] = {}

    def run_first() -> None:
        try:
            results["first"] = receive_batch(first)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run_first, name="first")
    thread.start()
    try:
        assert received_all.wait(timeout=30)
        with connection.cursor() as cursor:
            # Waiting for a lock the first batch holds would fail this one at once.
            cursor.execute("SET lock_timeout = '2s'")
        try:
            results["second"] = receive_batch(second)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        go_on.set()
        thread.join(timeout=30)

    for name in ("first", "second"):
        assert [answer.response.outcome for answer in results[name]] == ["ordered", "ordered"]
    # The second batch committed first: its case references, commission and events come
    # before the first's, and both chains are whole.
    assert Case.objects.count() == 4
    assert len(set(Case.objects.values_list("reference", flat=True))) == 4
    assert verify_chain().is_intact
    assert verify_ledger().is_intact


def test_a_response_ended_by_a_deadlock_is_received_on_the_next_attempt(international, monkeypatch):
    """A change that took the chain head first (as every service does) and then waits for
    the customer a response has locked, while the response waits for the chain head: the
    database ends one of them; the response is received all the same, once."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by its database lock")
    from casework.customers.models import Customer
    from casework.events.services import recording_transaction
    from casework.retention.models import Response

    process.reload_definitions()
    recipient = recipient_for(international)
    holds_customer = threading.Event()
    receive_one = responses._receive

    def signalling(incoming, actor, lookups):  # noqa: ANN001, ANN202
        received = receive_one(incoming, actor, lookups)
        holds_customer.set()
        return received

    monkeypatch.setattr(responses, "_receive", signalling)
    head_taken = threading.Event()
    outcome: dict[str, object] = {}

    def other_change() -> None:
        try:
            with recording_transaction():  # the chain head, first
                head_taken.set()
                assert holds_customer.wait(timeout=30)
                time.sleep(0.3)  # the response now waits for the head
                Customer.objects.select_for_update().get(pk=recipient.customer_id)
        except Exception as error:  # noqa: BLE001  (the database may end this side)
            outcome["other"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_change)
    thread.start()
    assert head_taken.wait(timeout=30)
    received = responses.receive(
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), actor=ADMIN
    )
    thread.join(timeout=30)

    assert received.response.outcome == "ordered"
    assert Response.objects.filter(recipient=recipient).count() == 1
    assert Case.objects.count() == 1
    assert verify_chain().is_intact

"""`receive_batch()`: many responses, a chunk per transaction, each answered exactly as
`receive()` answers it one after the other — conflicts within a chunk included — with
what the checks need read once per chunk."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.cases import notifications, process
from casework.cases.models import Case, CaseSla
from casework.channels.email.models import OutboundEmail
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, DomainError, InvalidInput
from casework.kernel.models import Job
from casework.offers import services as offer_services
from casework.partners.models import CommissionEntry
from casework.partners.services import verify_ledger
from casework.retention import responses
from casework.retention.models import Recipient, Response, ResponseChannel
from casework.retention.responses import IncomingResponse, Received, receive, receive_batch
from tests.engine import ADMIN, run_jobs
from tests.partners.factories import PartnerFactory
from tests.retention.factories import OfferFactory, code_of
from tests.retention.test_responses import customer_ending_in, recipient_for, web

pytestmark = pytest.mark.django_db

Answer = Received | DomainError


def one_by_one(items: list[IncomingResponse]) -> list[Answer]:
    answers: list[Answer] = []
    for incoming in items:
        try:
            answers.append(receive(incoming, actor=ADMIN))
        except DomainError as error:
            answers.append(error)
    return answers


def in_one_batch(items: list[IncomingResponse]) -> list[Answer]:
    return receive_batch([(incoming, ADMIN) for incoming in items])


def in_chunks_of_two(items: list[IncomingResponse]) -> list[Answer]:
    chunk = responses.BATCH_CHUNK
    responses.BATCH_CHUNK = 2
    try:
        return receive_batch([(incoming, ADMIN) for incoming in items])
    finally:
        responses.BATCH_CHUNK = chunk


def summary(answer: Answer) -> tuple[str, ...]:
    if isinstance(answer, DomainError):
        return ("refused", type(answer).__name__)
    response = answer.response
    return ("repeat" if answer.is_repeat else "new", str(response.outcome), response.reason)


@pytest.mark.parametrize("way", [one_by_one, in_one_batch, in_chunks_of_two])
def test_a_batch_answers_every_response_as_one_after_the_other_would(
    international, way: Callable[[list[IncomingResponse]], list[Answer]]
):
    process.reload_definitions()
    first, declining, remarked = (recipient_for(international) for _ in range(3))
    # The remarked card's customer also answers a second campaign: that order conflicts.
    second_offer = recipient_for(OfferFactory(code="discount-10"), remarked.customer)
    partner = PartnerFactory(code="shop-hamburg")
    partner_customer = customer_ending_in()
    order = IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=partner_customer,
        offer_code="international-option",
        partner=partner,
        partner_reference="H-1",
        idempotency_key="h-1",
    )
    forged = code_of(first)[:-2] + ("AA" if not code_of(first).endswith("AA") else "BB")
    items = [
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(first)),
        IncomingResponse(channel=ResponseChannel.WEB, code=forged),
        IncomingResponse(channel=ResponseChannel.LETTER, code=code_of(first)),
        order,
        order,
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=partner_customer,
            offer_code="discount-10",
            partner=partner,
            partner_reference="H-1",
        ),
        IncomingResponse(
            channel=ResponseChannel.PHONE, customer=partner_customer, offer_code="no-such-offer"
        ),
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(declining), choice="decline"),
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(first), choice="maybe"),
        IncomingResponse(
            channel=ResponseChannel.LETTER, code=code_of(remarked), remarks="Bitte anrufen"
        ),
        IncomingResponse(channel=ResponseChannel.WEB, code=code_of(second_offer)),
        # The partner's customer ordered a minute ago: the contract ends later now.
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=partner_customer,
            offer_code="international-option",
            partner=partner,
            partner_reference="H-2",
        ),
    ]

    answers = way(items)

    assert [summary(answer) for answer in answers] == [
        ("new", "ordered", ""),
        ("new", "exception", "code_forged"),
        ("new", "exception", "code_used"),
        ("new", "ordered", ""),
        ("repeat", "ordered", ""),
        ("refused", Conflict.__name__),
        ("new", "exception", "offer_unknown"),
        ("new", "declined", ""),
        ("refused", InvalidInput.__name__),
        ("new", "exception", "remark"),
        ("new", "exception", "conflicting_order"),
        ("new", "exception", "not_eligible"),
    ]
    assert answers[4].response.pk == answers[3].response.pk  # type: ignore[union-attr]
    # Nothing of the refused ones was written; every response opened its own case.
    assert Response.objects.count() == 9
    assert Case.objects.count() == 9
    assert CommissionEntry.objects.get().order_reference == "H-1"


def test_a_batch_reads_what_the_checks_need_once(international):
    process.reload_definitions()
    singles = [recipient_for(international) for _ in range(6)]
    batched = [recipient_for(international) for _ in range(6)]
    receive(IncomingResponse(channel=ResponseChannel.WEB, code=code_of(singles.pop())), actor=ADMIN)

    run_jobs()
    # Until each order's confirmation is queued: by the notification job one at a time.
    with CaptureQueriesContext(connection) as one_at_a_time:
        for recipient in singles:
            receive(
                IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), actor=ADMIN
            )
        run_jobs()
    with CaptureQueriesContext(connection) as together:
        answers = receive_batch(
            [
                (IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), ADMIN)
                for recipient in batched[:5]
            ]
        )
        run_jobs()

    assert [summary(answer) for answer in answers] == [("new", "ordered", "")] * 5
    per_order_alone = len(one_at_a_time.captured_queries) / 5
    per_order_together = len(together.captured_queries) / 5
    # The lookups of the checks (recipient, customer, codes used, open orders, the
    # customer's facts, the case type, the chain head) once per chunk, not per order, and
    # the confirmation without a job of its own.
    assert per_order_together <= per_order_alone - 12, (per_order_alone, per_order_together)


def test_a_batch_queues_each_confirmation_with_its_order(international):
    process.reload_definitions()
    recipients = [recipient_for(international) for _ in range(3)]

    answers = receive_batch(
        [
            (IncomingResponse(channel=ResponseChannel.WEB, code=code_of(r)), ADMIN)
            for r in recipients
        ]
    )

    cases = [answer.response.case_id for answer in answers]  # type: ignore[union-attr]
    mails = OutboundEmail.objects.filter(kind="notification", case_id__in=cases)
    assert sorted(mails.values_list("case_id", flat=True)) == sorted(cases)
    assert all("[CW-" in mail.subject for mail in mails)
    # Each to its customer's address, from the retention case type's mailbox.
    for mail in mails:
        assert mail.to_address == mail.case.customer.identifiers.get(kind="email").value
    assert not Job.objects.filter(kind="cases.notify").exists()
    # The responses name their cases, the recipients' answers are noted (both written for
    # the chunk at its end).
    assert sorted(Response.objects.values_list("case_id", flat=True)) == sorted(cases)
    for recipient in recipients:
        recipient.refresh_from_db()
        assert recipient.responded_at is not None


def test_a_confirmation_that_cannot_be_written_at_once_is_left_to_a_job(international, monkeypatch):
    process.reload_definitions()
    recipient = recipient_for(international)

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a template with a mistake")

    monkeypatch.setattr(notifications, "render", broken)
    (answer,) = receive_batch(
        [(IncomingResponse(channel=ResponseChannel.WEB, code=code_of(recipient)), ADMIN)]
    )

    assert answer.response.outcome == "ordered"  # type: ignore[union-attr]
    assert not OutboundEmail.objects.exists()
    assert Job.objects.get(kind="cases.notify").payload["case_id"] == answer.response.case_id  # type: ignore[union-attr]
    monkeypatch.undo()
    run_jobs()
    assert OutboundEmail.objects.get(kind="notification").case_id == answer.response.case_id  # type: ignore[union-attr]


def _statements(captured: CaptureQueriesContext, prefix: str) -> int:
    """Statements that begin so (one `executemany` counts once: "4 times: INSERT …")."""
    statements = (query["sql"].replace('"', "") for query in captured.captured_queries)
    return sum(1 for sql in statements if re.sub(r"^\d+ times: ", "", sql).startswith(prefix))


def _answered_together(recipients: list[Recipient]) -> tuple[list[Answer], CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as captured:
        answers = receive_batch(
            [
                # Each answer from its own customer, as on the response page.
                (
                    IncomingResponse(channel=ResponseChannel.WEB, code=code_of(r)),
                    Actor.system(f"c{n}"),
                )
                for n, r in enumerate(recipients)
            ]
        )
    return answers, captured


def test_a_chunk_runs_straight_through_writing_each_kind_of_row_once(international):
    process.reload_definitions()
    web(code_of(recipient_for(international)))  # the first order creates its resolution code
    _few, with_two = _answered_together([recipient_for(international) for _ in range(2)])

    answers, captured = _answered_together([recipient_for(international) for _ in range(4)])

    assert [summary(answer) for answer in answers] == [("new", "ordered", "")] * 4
    # Neither per response nor per process advance: as many for four as for two (the
    # chunk's own, the reservations of references and keys).
    assert _statements(captured, "SAVEPOINT") == _statements(with_two, "SAVEPOINT")
    # The responses written together, with their cases; the cases too, as their first
    # advance left them.
    assert _statements(captured, "INSERT INTO retention_response") == 1
    assert _statements(captured, "UPDATE retention_response") == 0
    assert _statements(captured, "INSERT INTO cases_case ") == 1
    assert _statements(captured, "UPDATE cases_case ") == 0
    # The contracts changed and the answers learnt from, together.
    assert _statements(captured, "UPDATE customers_contract") == 1
    assert _statements(captured, "INSERT INTO offers_offerdecision") == 1
    # The answers and their confirmations written together at the chunk's end.
    assert _statements(captured, "INSERT INTO interactions_interaction") == 2
    assert _statements(captured, "INSERT INTO email_channel_outboundemail") == 1
    # The cases' clocks written once, met.
    assert _statements(captured, "INSERT INTO cases_casesla") == 1
    assert _statements(captured, "UPDATE cases_casesla") == 0
    assert not CaseSla.objects.filter(met_at=None).exists()
    for answer in answers:
        case = answer.response.case  # type: ignore[union-attr]
        contacts = {c.channel: c for c in case.interactions.all()}
        assert sorted((c.channel, c.direction) for c in contacts.values()) == [
            ("email", "outbound"),
            ("portal", "inbound"),
        ]
        assert OutboundEmail.objects.get(case=case).interaction == contacts["email"]


@pytest.mark.parametrize("way", [one_by_one, in_one_batch])
def test_a_customers_second_order_in_a_chunk_sees_the_first_ones_contact(
    international, way: Callable[[list[IncomingResponse]], list[Answer]]
):
    process.reload_definitions()
    # Only for customers not in touch yet: the first order is a contact of today.
    OfferFactory(code="first-contact", eligibility="contact.days_since_last == null")
    partner = PartnerFactory(code="shop-kiel")
    customer = customer_ending_in()

    answers = way(
        [
            IncomingResponse(
                channel=ResponseChannel.PARTNER,
                customer=customer,
                offer_code="first-contact",
                partner=partner,
                partner_reference=reference,
            )
            for reference in ("K-1", "K-2")
        ]
    )

    assert [summary(answer) for answer in answers] == [
        ("new", "ordered", ""),
        ("new", "exception", "not_eligible"),
    ]


def test_a_refusal_runs_the_chunk_again_with_a_savepoint_each_and_loses_no_reference(
    international, caplog
):
    process.reload_definitions()
    partner = PartnerFactory(code="shop-kiel")
    customer = customer_ending_in()
    before, after = recipient_for(international), recipient_for(international)
    first = IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=customer,
        offer_code="international-option",
        partner=partner,
        partner_reference="K-1",
    )
    receive(first, actor=ADMIN)
    changed = IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=customer,
        offer_code="discount-10",
        partner=partner,
        partner_reference="K-1",
    )

    with caplog.at_level("INFO", logger="casework.retention.responses"):
        answers = in_one_batch(
            [
                IncomingResponse(channel=ResponseChannel.WEB, code=code_of(before)),
                changed,  # the same order number with other content: refused
                IncomingResponse(channel=ResponseChannel.WEB, code=code_of(after)),
            ]
        )

    assert [summary(answer) for answer in answers] == [
        ("new", "ordered", ""),
        ("refused", Conflict.__name__),
        ("new", "ordered", ""),
    ]
    assert "runs again response by response" in caplog.text
    # The first attempt's cases were rolled back with their references, which the second
    # took again: no gap, no double.
    numbers = sorted(
        int(ref.rsplit("-", 1)[1]) for ref in Case.objects.values_list("reference", flat=True)
    )
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert Response.objects.count() == 3
    ordered = [answers[0].response.case_id, answers[2].response.case_id]  # type: ignore[union-attr]
    mails = OutboundEmail.objects.filter(kind="notification")
    assert sorted(mails.values_list("case_id", flat=True)) == sorted(ordered)


def test_a_step_failing_unforeseen_leaves_that_order_to_the_advance_job(international, monkeypatch):
    process.reload_definitions()
    recipients = [recipient_for(international) for _ in range(3)]
    unlucky = recipients[1].customer_id
    real = offer_services.apply_offer_to_contract

    def fails_for_one(contract, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if contract.customer_id == unlucky:
            raise RuntimeError("the contract's tariff table is broken")
        return real(contract, *args, **kwargs)

    monkeypatch.setattr(offer_services, "apply_offer_to_contract", fails_for_one)
    answers = in_one_batch(
        [IncomingResponse(channel=ResponseChannel.WEB, code=code_of(r)) for r in recipients]
    )

    assert [summary(answer) for answer in answers] == [("new", "ordered", "")] * 3
    cases = [answer.response.case for answer in answers]  # type: ignore[union-attr]
    assert [case.is_open for case in cases] == [False, True, False]
    job = Job.objects.get(kind="cases.advance")
    assert job.payload["case_id"] == cases[1].pk
    # Exactly one order's contract change, answer and confirmation each for the others.
    assert OutboundEmail.objects.filter(kind="notification").count() == 2


def test_a_chunks_commissions_are_chained_together(international):
    process.reload_definitions()
    partner = PartnerFactory(code="shop-kiel")
    orders = [
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=customer_ending_in(),
            offer_code="international-option",
            partner=partner,
            partner_reference=f"K-{n}",
        )
        for n in range(3)
    ]

    with CaptureQueriesContext(connection) as captured:
        answers = in_one_batch(orders)

    assert [summary(answer) for answer in answers] == [("new", "ordered", "")] * 3
    assert _statements(captured, "INSERT INTO partners_commissionentry") == 1
    entries = list(CommissionEntry.objects.order_by("seq"))
    assert [entry.order_reference for entry in entries] == ["K-0", "K-1", "K-2"]
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert verify_ledger().is_intact

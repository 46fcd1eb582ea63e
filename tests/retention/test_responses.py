"""Responses from every entry channel become retention orders: straight through when all is
well, an exception task with the reason when not, and never a second order or commission
for the same code or partner order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from casework.cases import process
from casework.cases.models import Case, CaseStatus, ProcessStatus, Task, TaskKind, TaskStatus
from casework.channels.email.models import OutboundEmail
from casework.customers.models import Interest
from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.kernel.errors import Conflict, InvalidInput
from casework.offers.models import OfferDecision
from casework.partners.models import CommissionEntry
from casework.retention import codes
from casework.retention.models import Response, ResponseChannel, ResponseOutcome
from casework.retention.responses import IncomingResponse, receive
from tests.engine import ADMIN, run_jobs
from tests.factories import ContractFactory, CustomerFactory, IdentifierFactory
from tests.partners.factories import PartnerFactory
from tests.retention.factories import CampaignFactory, OfferFactory, RecipientFactory, code_of

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return clock.localtime(clock.now()).date()


def customer_ending_in(days: int = 45, *, segment: str = "gold", language: str = "de"):  # noqa: ANN201
    customer = CustomerFactory(segment=segment, language=language)
    IdentifierFactory(customer=customer, value=f"{customer.customer_number.lower()}@example.de")
    ContractFactory(
        customer=customer,
        start_date=today() - dt.timedelta(days=800),
        end_date=today() + dt.timedelta(days=days),
        monthly_fee=Decimal("30.00"),
    )
    return customer


def recipient_for(offer, customer=None):  # noqa: ANN001, ANN201
    campaign = CampaignFactory(offer=offer)
    return RecipientFactory(campaign=campaign, customer=customer or customer_ending_in())


def web(code: str, choice: str = "accept") -> Response:
    return receive(
        IncomingResponse(channel=ResponseChannel.WEB, code=code, choice=choice), actor=ADMIN
    ).response


def exception_reason(case: Case) -> str:
    task = Task.objects.get(case=case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    return task.details["reason"]


def test_a_web_response_is_ordered_booked_and_confirmed_without_a_person(international):
    recipient = recipient_for(international)

    response = web(code_of(recipient))
    run_jobs()

    assert response.outcome == ResponseOutcome.ORDERED
    case = Case.objects.get(pk=response.case_id)
    assert case.process_status == ProcessStatus.COMPLETED and case.status == CaseStatus.RESOLVED
    assert case.data["offer"] == "international-option"
    assert case.data["campaign"] == recipient.campaign.code
    contract = recipient.customer.contracts.get()
    assert contract.monthly_fee == Decimal("27.00")
    assert contract.end_date == (today() + dt.timedelta(days=45)).replace(
        year=(today() + dt.timedelta(days=45)).year + 2
    )
    confirmation = OutboundEmail.objects.get(case=case, kind="notification")
    assert "Auslandsoption" in confirmation.body_text
    assert not Task.objects.filter(case=case).exclude(status=TaskStatus.DONE).exists()
    assert Interaction.objects.filter(case=case, channel="portal", direction="inbound").exists()
    recipient.refresh_from_db()
    assert recipient.responded_at is not None
    # Learned from the contract the customer accepted on, not the one the offer made.
    decision = OfferDecision.objects.get(customer=recipient.customer, offer=international)
    assert decision.is_accepted and decision.facts["contract"]["ends_in_days"] == 45
    assert decision.facts["contract"]["monthly_fee"] == "30.00"


def test_a_decline_is_recorded_and_changes_nothing(international):
    recipient = recipient_for(international)

    response = web(code_of(recipient), choice="decline")
    run_jobs()

    assert response.outcome == ResponseOutcome.DECLINED
    case = Case.objects.get(customer=recipient.customer)
    # Resolved at once as "offer declined": the churn figures count a customer lost.
    assert case.stage == "offer-declined" and case.status == CaseStatus.RESOLVED
    assert case.resolution_code.code == "offer-declined"
    assert recipient.customer.contracts.get().monthly_fee == Decimal("30.00")
    assert Interaction.objects.filter(case=case, channel="portal").exists()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("not a code", "code_malformed"),
        ("K7M4-9QX2-HT3Q", "code_forged"),
    ],
)
def test_a_wrong_code_becomes_an_exception_for_a_person(international, code, reason):
    response = web(code)

    assert response.outcome == ResponseOutcome.EXCEPTION and response.reason == reason
    case = Case.objects.get(pk=response.case_id)
    assert case.customer_id is None
    assert case.process_status == ProcessStatus.EXCEPTION
    assert exception_reason(case) == response.reason_text


def test_a_genuine_code_nobody_was_sent_is_unknown(international):
    token = codes.new_token()
    response = web(codes.code_for(token))
    assert response.reason == "code_unknown"


def test_a_mistyped_code_is_read_leniently_but_a_wrong_character_fails(international):
    recipient = recipient_for(international)
    typed = code_of(recipient).lower().replace("-", " ")
    assert codes.check(typed).token == recipient.token
    wrong = code_of(recipient)
    wrong = wrong[:-1] + ("A" if wrong[-1] != "A" else "B")
    assert codes.check(wrong).problem == "forged"


def test_the_same_card_twice_opens_one_order_and_one_commission_only(international):
    recipient = recipient_for(international)
    partner = PartnerFactory(code="shop-berlin")

    first = receive(
        IncomingResponse(
            channel=ResponseChannel.LETTER, code=code_of(recipient), details={"page": 1}
        ),
        actor=ADMIN,
    ).response
    run_jobs()
    second = receive(
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            code=code_of(recipient),
            partner=partner,
            partner_reference="SB-1",
            customer=recipient.customer,
        ),
        actor=ADMIN,
    ).response
    run_jobs()

    assert first.outcome == ResponseOutcome.ORDERED
    assert second.outcome == ResponseOutcome.EXCEPTION and second.reason == "code_used"
    assert Response.objects.filter(recipient=recipient, outcome="ordered").count() == 1
    assert not CommissionEntry.objects.exists()  # the partner's order went to a person
    assert exception_reason(Case.objects.get(pk=second.case_id)) == second.reason_text


def test_an_expired_campaign_is_an_exception(international):
    recipient = recipient_for(international)
    recipient.campaign.responses_until = today() - dt.timedelta(days=1)
    recipient.campaign.save()

    assert web(code_of(recipient)).reason == "offer_expired"


def test_a_customer_outside_the_offer_rule_is_not_eligible(international):
    recipient = recipient_for(international, customer_ending_in(days=200))

    assert web(code_of(recipient)).reason == "not_eligible"


def test_a_second_open_order_of_the_customer_conflicts(international):
    customer = customer_ending_in()
    first = recipient_for(international, customer)
    other = recipient_for(OfferFactory(code="discount-10"), customer)
    process.reload_definitions()
    # The first order waits for a person (a remark), so it stays open.
    receive(
        IncomingResponse(
            channel=ResponseChannel.LETTER, code=code_of(first), remarks="Bitte anrufen"
        ),
        actor=ADMIN,
    )

    response = web(code_of(other))

    assert response.reason == "conflicting_order"


def test_a_remark_on_a_card_goes_to_a_person_who_may_let_it_through(international):
    recipient = recipient_for(international)
    response = receive(
        IncomingResponse(
            channel=ResponseChannel.LETTER,
            code=code_of(recipient),
            remarks="Bitte rufen Sie mich vorher an",
        ),
        actor=ADMIN,
    ).response
    run_jobs()
    case = Case.objects.get(pk=response.case_id)
    assert response.reason == "remark" and case.process_status == ProcessStatus.EXCEPTION
    task = Task.objects.get(case=case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    assert task.details["options"] == ["skip", "cancel"]

    process.complete_task(task, actor=ADMIN, option="skip")
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "offer-accepted" and case.data["offer"] == "international-option"


def test_a_partner_order_earns_one_commission_and_a_repeat_delivery_changes_nothing(
    international,
):
    customer = customer_ending_in()
    partner = PartnerFactory(code="shop-koeln")
    order = IncomingResponse(
        channel=ResponseChannel.PARTNER,
        customer=customer,
        offer_code="international-option",
        partner=partner,
        partner_reference="K-1001",
        idempotency_key="key-1",
    )

    first = receive(order, actor=ADMIN)
    run_jobs()
    again = receive(order, actor=ADMIN)
    run_jobs()

    assert not first.is_repeat and again.is_repeat
    assert again.response.pk == first.response.pk
    entry = CommissionEntry.objects.get()
    assert entry.partner == partner and entry.order_reference == "K-1001"
    assert entry.amount == Decimal("30.00")
    assert entry.rule == "partner-commission:international-option"
    assert Case.objects.get(pk=first.response.case_id).stage == "offer-accepted"


def test_a_changed_order_under_an_old_number_is_refused(international):
    customer = customer_ending_in()
    partner = PartnerFactory()
    receive(
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=customer,
            offer_code="international-option",
            partner=partner,
            partner_reference="K-7",
        ),
        actor=ADMIN,
    )
    with pytest.raises(Conflict, match="K-7"):
        receive(
            IncomingResponse(
                channel=ResponseChannel.PARTNER,
                customer=customer,
                offer_code="discount-20",
                partner=partner,
                partner_reference="K-7",
            ),
            actor=ADMIN,
        )


def test_a_sandbox_order_is_answered_but_changes_nothing(international):
    customer = customer_ending_in()
    fee = customer.contracts.get().monthly_fee
    received = receive(
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=customer,
            offer_code="international-option",
            partner=PartnerFactory(),
            partner_reference="TEST-1",
            is_sandbox=True,
        ),
        actor=ADMIN,
    )
    run_jobs()

    assert received.response.outcome == ResponseOutcome.ORDERED
    assert received.response.is_sandbox and received.response.case_id is None
    assert customer.contracts.get().monthly_fee == fee
    assert not CommissionEntry.objects.exists() and not Case.objects.exists()


def test_a_partner_order_for_an_unknown_offer_is_an_exception(international):
    response = receive(
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            customer=customer_ending_in(),
            offer_code="no-such-offer",
            partner=PartnerFactory(),
            partner_reference="X-1",
        ),
        actor=ADMIN,
    ).response
    assert response.reason == "offer_unknown"


def test_bad_input_is_refused_before_anything_is_written(international):
    with pytest.raises(InvalidInput):
        receive(
            IncomingResponse(channel=ResponseChannel.WEB, code="x", choice="maybe"), actor=ADMIN
        )
    with pytest.raises(InvalidInput):
        receive(
            IncomingResponse(channel=ResponseChannel.PARTNER, partner=PartnerFactory()),
            actor=ADMIN,
        )
    assert not Response.objects.exists()


def test_the_exception_reason_is_in_the_customers_language(international):
    recipient = recipient_for(international, customer_ending_in(days=200, language="en"))
    response = web(code_of(recipient))
    assert response.reason_text == "the customer is not eligible for the offer"
    assert not Interest.objects.exists()


def test_a_code_from_another_campaigns_offer_is_an_exception(international):
    recipient = recipient_for(international)
    response = receive(
        IncomingResponse(
            channel=ResponseChannel.PARTNER,
            code=code_of(recipient),
            offer_code="discount-20",
            partner=PartnerFactory(),
            partner_reference="P-9",
        ),
        actor=ADMIN,
    ).response
    assert response.reason == "code_other_campaign"
    assert not CommissionEntry.objects.exists()


def test_a_straight_through_order_writes_no_timers(international):
    from casework.kernel.models import Job

    response = web(code_of(recipient_for(international)))

    # Its clocks were started and met in the opening transaction: no timer was scheduled
    # (nor cancelled), and the history still shows both clocks met in time.
    assert not Job.objects.filter(kind="cases.sla_due").exists()
    met = Event.objects.filter(code="sla.met", object_id=response.case_id)
    assert sorted(event.payload["kind"] for event in met) == ["first_response", "resolution"]
    assert all(event.payload["in_time"] for event in met)


def test_an_order_left_to_a_person_keeps_its_timers(international):
    from casework.kernel.models import Job

    response = web("AAAA-BBBB-CCCC")  # no such code: an exception task

    case = Case.objects.get(pk=response.case_id)
    assert case.status != CaseStatus.RESOLVED
    timers = Job.objects.filter(kind="cases.sla_due", status="queued")
    assert {job.payload["sla_id"] for job in timers} == set(case.slas.values_list("pk", flat=True))

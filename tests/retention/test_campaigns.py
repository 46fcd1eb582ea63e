"""Campaigns choose their audience by rule and consent, send at a throttled pace with a
personal code each, and turn opens and clicks into the customer's interests."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.channels.email.models import Mailbox, OutboundEmail
from casework.channels.email.outbound import compose
from casework.customers.models import Consent, Interest
from casework.kernel import clock
from casework.kernel.errors import InvalidInput
from casework.retention import campaigns, codes
from casework.retention.models import CampaignChannel, CampaignStatus, Recipient
from tests.factories import ContractFactory, CustomerFactory
from tests.retention.factories import CampaignFactory, OfferFactory
from tests.retention.test_responses import customer_ending_in

pytestmark = pytest.mark.django_db


def consenting(customer, purpose: str = "marketing_email", granted: bool = True):  # noqa: ANN001, ANN201
    Consent.objects.create(
        customer=customer, purpose=purpose, is_granted=granted, recorded_at=clock.now()
    )
    return customer


@pytest.fixture
def mailbox(engine):  # noqa: ANN001, ANN201
    return Mailbox.objects.get()


def test_nobody_is_offered_what_the_offers_rule_denies(international):
    consenting(customer_ending_in(45))
    campaign = CampaignFactory(offer=international, audience="contract.ends_in_days <= 300")
    consenting(customer_ending_in(200))  # in the audience, but the offer needs <= 90 days

    assert campaigns.select_recipients(campaign).selected == 1


def test_the_audience_is_the_rule_and_the_consent(international):
    soon = consenting(customer_ending_in(45))
    later = consenting(customer_ending_in(200))
    no_consent = customer_ending_in(45)
    withdrawn = consenting(consenting(customer_ending_in(45)), granted=False)
    campaign = CampaignFactory(
        offer=international, audience="contract.ends_in_days >= 30 and contract.ends_in_days <= 90"
    )

    selection = campaigns.select_recipients(campaign)
    again = campaigns.select_recipients(campaign)

    chosen = set(campaign.recipients.values_list("customer_id", flat=True))
    assert chosen == {soon.pk}
    assert selection.selected == 1 and again.selected == 0
    assert {later.pk, no_consent.pk, withdrawn.pk}.isdisjoint(chosen)


def test_a_rule_with_a_typo_is_refused_with_the_field_named(international):
    campaign = CampaignFactory(offer=international, audience="contract.ends_in_dayz < 90")
    with pytest.raises(InvalidInput, match="ends_in_days"):
        campaigns.check_campaign(campaign)
    campaign.audience = "contract.ends_in_days < 90"
    campaign.body_de = "Hallo {{ kunde.name }}"
    with pytest.raises(InvalidInput, match="kunde.name"):
        campaigns.check_campaign(campaign)


def test_sending_is_throttled_per_hour_and_each_mail_carries_its_code(international, mailbox):
    for _ in range(5):
        consenting(customer_ending_in(45))
    campaign = CampaignFactory(offer=international, per_hour=3)
    campaigns.select_recipients(campaign)
    campaigns.schedule(campaign, actor=campaigns.ACTOR)

    assert campaigns.send_due() == 3
    assert campaigns.send_due() == 0  # the hour's allowance is used up
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    with clock.running_at(clock.now() + dt.timedelta(minutes=61)):
        assert campaigns.send_due() == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT

    mail = OutboundEmail.objects.filter(kind="campaign").order_by("pk").first()
    assert mail.case_id is None
    recipient = Recipient.objects.get(customer__interactions__pk=mail.interaction_id)
    code = codes.code_for(recipient.token)
    message = compose(mail)
    assert message["List-Unsubscribe"].endswith("/unsubscribe>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert code in text and codes.url_for(recipient.token) in html
    assert "/o.gif" in html and "Auslandsoption" in text


def test_a_customer_without_an_address_is_noted_not_retried(international, mailbox):
    customer = consenting(CustomerFactory())
    ContractFactory(
        customer=customer,
        end_date=clock.localtime(clock.now()).date() + dt.timedelta(days=45),
    )
    campaign = CampaignFactory(offer=international, audience="true")
    campaigns.select_recipients(campaign)
    campaigns.schedule(campaign, actor=campaigns.ACTOR)

    campaigns.send_due()

    recipient = campaign.recipients.get(customer=customer)
    assert recipient.sent_at is None and "e-mail" in recipient.send_error
    assert not OutboundEmail.objects.exists()


def test_opening_records_the_offers_interest_once(international):
    customer = consenting(customer_ending_in())
    campaign = CampaignFactory(offer=international)
    campaigns.select_recipients(campaign)
    recipient = campaign.recipients.get()

    campaigns.record_open(recipient)
    campaigns.record_open(recipient)
    campaigns.record_click(recipient)

    interest = Interest.objects.get(customer=customer)
    assert interest.tag == "international-tariffs"
    assert interest.source == f"campaign:{campaign.code}"
    recipient.refresh_from_db()
    assert recipient.opened_at is not None and recipient.clicked_at is not None


def test_a_letter_run_is_one_pdf_with_every_code_and_marks_the_letters_sent(international):
    offer = OfferFactory(code="voice-only", name_de="Sprachtarif", name_en="Voice tariff")
    customers = [consenting(customer_ending_in(45), purpose="marketing_letter") for _ in range(2)]
    campaign = CampaignFactory(offer=offer, channel=CampaignChannel.LETTER)
    campaigns.select_recipients(campaign)

    pdf, count = campaigns.print_letters(campaign)

    assert count == 2 and pdf.startswith(b"%PDF")
    for recipient in campaign.recipients.all():
        assert codes.code_for(recipient.token).encode() in pdf
        assert recipient.sent_at is not None
    assert campaigns.print_letters(campaign) == (b"", 0)
    assert all(c.interactions.filter(channel="letter").exists() for c in customers)


def test_unsubscribing_withdraws_the_consent(international):
    customer = consenting(customer_ending_in())
    campaign = CampaignFactory(offer=international)
    campaigns.select_recipients(campaign)

    campaigns.unsubscribe(campaign.recipients.get())

    latest = Consent.objects.filter(customer=customer, purpose="marketing_email").first()
    assert latest.is_granted is False
    assert campaigns.select_recipients(CampaignFactory(offer=international)).selected == 0

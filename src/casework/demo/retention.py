"""The demo's retention: the offer catalogue, an e-mail campaign to customers whose
contract ends within 90 days (Lisa among them), a letter campaign whose print run has the
response cards to scan, and a sales partner with an API user.

Idempotent like the rest of the demo. The worker sends the campaign's e-mails to the demo
mail sink when `casework demo` runs; Lisa's link is printed so her answer can be given.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from casework.channels.email.models import Mailbox
from casework.customers.models import Consent, Customer
from casework.demo.loading import GENERATED_PREFIX
from casework.kernel import clock
from casework.offers.demo import ensure_demo_offers
from casework.offers.models import Offer
from casework.partners.models import Partner, PartnerAccount
from casework.retention import campaigns, codes
from casework.retention.models import Campaign, CampaignChannel, CampaignStatus

EMAIL_CAMPAIGN = "vertragsende-winter"
LETTER_CAMPAIGN = "vertragsende-brief"
PARTNER_CODE = "shop-muenster"
PARTNER_USER = "shop"
AUDIENCE = "contract.ends_in_days >= 0 and contract.ends_in_days <= 90"

BODY_DE = """Hallo {{ customer.first_name }},

Ihr Vertrag endet am {{ contract.ends_on }}. Bleiben Sie bei uns: Mit unserem Angebot
„{{ offer.name }}“ verlängern Sie um zwei Jahre und zahlen monatlich weniger.

Ein Klick genügt – Ihre Antwort zählt bis zum {{ campaign.responses_until }}."""
BODY_EN = """Hello {{ customer.first_name }},

Your contract ends on {{ contract.ends_on }}. Stay with us: with our offer
“{{ offer.name }}” you extend by two years and pay less each month.

One click is all it takes – you can answer until {{ campaign.responses_until }}."""


def load_retention() -> None:
    ensure_demo_offers()
    today = clock.localtime(clock.now()).date()
    if not Campaign.objects.filter(code=EMAIL_CAMPAIGN).exists():
        _generated_consents()
    offer = Offer.objects.get(code="international-option")
    mailbox = Mailbox.objects.filter(address="kundenservice@demo.casework.test").first()
    email, created = Campaign.objects.get_or_create(
        code=EMAIL_CAMPAIGN,
        defaults={
            "name": "Vertragsende Winter (E-Mail)",
            "offer": offer,
            "channel": CampaignChannel.EMAIL,
            "mailbox": mailbox,
            "audience": f'{AUDIENCE} and customer.segment == "young"',
            "subject_de": "{{ customer.first_name }}, Ihr Vertrag endet bald – unser Angebot",
            "subject_en": "{{ customer.first_name }}, your contract ends soon – our offer",
            "body_de": BODY_DE,
            "body_en": BODY_EN,
            "responses_until": today + timedelta(days=60),
            "per_hour": 200,
        },
    )
    if created:
        campaigns.select_recipients(email, today=today)
        _include_lisa(email)
        campaigns.schedule(email, actor=campaigns.ACTOR)
    letter, created = Campaign.objects.get_or_create(
        code=LETTER_CAMPAIGN,
        defaults={
            "name": "Vertragsende Winter (Brief)",
            "offer": _loyalty_bonus(),
            "channel": CampaignChannel.LETTER,
            "audience": AUDIENCE,
            "subject_de": "Ihr Vertrag endet bald – unser Angebot für Sie",
            "subject_en": "Your contract ends soon – our offer for you",
            "body_de": BODY_DE,
            "body_en": BODY_EN,
            "responses_until": today + timedelta(days=60),
            "status": CampaignStatus.SCHEDULED,
        },
    )
    if created:
        campaigns.select_recipients(letter, today=today)
    _partner()


def _loyalty_bonus() -> Offer:
    """The letter campaign's offer: open to everyone whose contract ends within 120 days."""
    offer, _created = Offer.objects.get_or_create(
        code="loyalty-bonus",
        defaults={
            "name_de": "Treuebonus",
            "name_en": "Loyalty bonus",
            "description_de": "Zwei Jahre mehr, 15 % weniger Grundgebühr.",
            "description_en": "Two more years, 15 % off the monthly fee.",
            "eligibility": "contract.ends_in_days >= 0 and contract.ends_in_days <= 120",
            "value": Decimal("150"),
            "extend_months": 24,
            "discount_percent": Decimal("15"),
        },
    )
    return offer


def _generated_consents() -> None:
    """Generated customers said yes to advertising on the channel they prefer (letters for
    those who prefer the phone or paper), so the campaigns have an audience."""
    now = clock.now()
    consents = []
    for customer in Customer.objects.filter(
        customer_number__startswith=GENERATED_PREFIX, consents__isnull=True
    ).only("pk", "preferred_channel"):
        purpose = (
            Consent.Purpose.MARKETING_LETTER
            if customer.preferred_channel in ("letter", "phone")
            else Consent.Purpose.MARKETING_EMAIL
        )
        consents.append(
            Consent(
                customer=customer,
                purpose=purpose,
                is_granted=True,
                source="Vertragsabschluss",
                recorded_at=now - timedelta(days=400),
            )
        )
    Consent.objects.bulk_create(consents, batch_size=1000)


def _include_lisa(campaign: Campaign) -> None:
    """Lisa's journey starts with this campaign's mail, whatever the generated data says."""
    lisa = Customer.objects.get(customer_number="K10000002")
    if not campaign.recipients.filter(customer=lisa).exists():
        campaigns.add_recipients(campaign, [lisa])


def lisa_link() -> str | None:
    recipient = (
        Customer.objects.get(customer_number="K10000002")
        .campaign_recipients.filter(campaign__code=EMAIL_CAMPAIGN)
        .first()
    )
    return codes.url_for(recipient.token) if recipient else None


def _partner() -> None:
    partner, _created = Partner.objects.get_or_create(
        code=PARTNER_CODE, defaults={"name": "Handyladen Münster"}
    )
    user, _created = get_user_model().objects.get_or_create(
        username=PARTNER_USER, defaults={"first_name": "Shop", "last_name": "Münster"}
    )
    PartnerAccount.objects.get_or_create(user=user, defaults={"partner": partner})

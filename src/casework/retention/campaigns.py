"""Campaigns: choose the audience by a rule, send each customer their personal offer by
e-mail or letter at a throttled pace, and notice who opens and clicks.

The audience rule is an expression over customer facts (`offers.facts`); consent for the
channel is required on top of any rule, so no campaign can write to a customer who said
no. Selection is idempotent (a customer is in a campaign once), and so is sending: the
worker takes unsent recipients in batches, never more per hour than the campaign allows.
An opened mail or a clicked link records the offer's interest in the customer's profile —
the next-best-offer and the bot see it ("international tariffs").
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.channels.email.models import Mailbox
from casework.channels.email.outbound import queue_campaign_email
from casework.customers.models import Channel, Consent, Customer, CustomerIdentifier, Interest
from casework.events.services import record, recording_transaction
from casework.interactions.models import Direction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput
from casework.knowledge.templating import check_template, fill
from casework.offers.facts import FACT_NAMES, customers_in_batches, facts_for
from casework.retention import codes, letters
from casework.retention.models import Campaign, CampaignChannel, CampaignStatus, Recipient
from casework.rules.expressions import ExpressionError, compile_expression

ACTOR = Actor.system("campaigns")
BATCH = 500

# What campaign texts may use (shown to whoever writes them), with an example each.
PLACEHOLDERS = {
    "customer.salutation": "Frau",
    "customer.first_name": "Lisa",
    "customer.last_name": "Neumann",
    "customer.name": "Lisa Neumann",
    "customer.number": "K10000002",
    "offer.name": "Auslandsoption",
    "offer.description": "…",
    "contract.ends_on": "31.01.2027",
    "response.code": "K7M4-9QX2-HT3P",
    "response.url": "https://…/r/K7M49QX2HT3P",
    "campaign.responses_until": "31.12.2026",
}


def check_campaign(campaign: Campaign) -> None:
    """Refuse a campaign whose rule or texts would fail when it is sent."""
    try:
        compile_expression(campaign.audience, FACT_NAMES)
    except ExpressionError as error:
        raise InvalidInput(
            _("the target segment is not a valid rule: %(error)s") % {"error": error.message},
            field="audience",
        ) from error
    for name in ("subject_de", "subject_en", "body_de", "body_en"):
        check_template(getattr(campaign, name), PLACEHOLDERS, field=name)


# -- selecting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    considered: int
    selected: int  # new recipients (customers already in the campaign are not counted)


def select_recipients(campaign: Campaign, *, today: date | None = None) -> Selection:
    """Add every customer the audience rule and their consent admit; safe to run again."""
    check_campaign(campaign)
    today = today or clock.localtime(clock.now()).date()
    rule = compile_expression(campaign.audience, FACT_NAMES)
    # Nobody is offered what they could not get: the offer's own rule narrows the audience.
    eligibility = (
        compile_expression(campaign.offer.eligibility, FACT_NAMES)
        if campaign.offer.eligibility.strip()
        else None
    )
    consent = "marketing_email" if campaign.channel == CampaignChannel.EMAIL else "marketing_letter"
    already = set(campaign.recipients.values_list("customer_id", flat=True))
    candidates = (
        Customer.objects.filter(merged_into__isnull=True, is_provisional=False)
        .exclude(pk__in=already)
        .order_by("pk")
    )
    considered = selected = 0
    for batch in customers_in_batches(candidates.iterator(chunk_size=2000)):
        considered += len(batch)
        facts = facts_for(batch, today)
        chosen = []
        for customer in batch:
            customer_facts = facts[customer.pk]
            if not customer_facts["consent"][consent]:
                continue
            try:
                if rule.is_true(customer_facts) and (
                    eligibility is None or eligibility.is_true(customer_facts)
                ):
                    chosen.append(customer)
            except ExpressionError:
                continue  # facts that do not fit the rule: not in the audience
        selected += add_recipients(campaign, chosen)
    with recording_transaction():
        record(
            "campaign.recipients_selected",
            actor=ACTOR,
            object_type="campaign",
            object_id=campaign.pk,
            payload={"considered": considered, "selected": selected},
        )
    return Selection(considered=considered, selected=selected)


def add_recipients(campaign: Campaign, customers: Sequence[Customer]) -> int:
    now = clock.now()
    added = 0
    for customer in customers:
        # A fresh token per try: two equal random tokens are possible, if unlikely.
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    Recipient.objects.create(
                        campaign=campaign,
                        customer=customer,
                        offer=campaign.offer,
                        token=codes.new_token(),
                        selected_at=now,
                    )
                added += 1
                break
            except IntegrityError:
                if Recipient.objects.filter(campaign=campaign, customer=customer).exists():
                    break
    return added


def schedule(campaign: Campaign, *, actor: Actor) -> None:
    check_campaign(campaign)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.STOPPED):
        raise Conflict(_("the campaign is %(status)s already") % {"status": campaign.status})
    campaign.status = CampaignStatus.SCHEDULED
    campaign.starts_at = campaign.starts_at or clock.now()
    with recording_transaction():
        campaign.save(update_fields=["status", "starts_at", "updated_at"])
        record("campaign.scheduled", actor=actor, object_type="campaign", object_id=campaign.pk)


def stop(campaign: Campaign, *, actor: Actor) -> None:
    campaign.status = CampaignStatus.STOPPED
    with recording_transaction():
        campaign.save(update_fields=["status", "updated_at"])
        record("campaign.stopped", actor=actor, object_type="campaign", object_id=campaign.pk)


# -- sending -------------------------------------------------------------------------------


def send_due(limit: int = BATCH) -> int:
    """The worker's pass: e-mails of running campaigns, within each one's hourly limit.
    Letters are sent by printing them (`print_letters`)."""
    now = clock.now()
    sent = 0
    for campaign in Campaign.objects.filter(
        status__in=[CampaignStatus.SCHEDULED, CampaignStatus.SENDING],
        channel=CampaignChannel.EMAIL,
        starts_at__lte=now,
    ):
        allowed = _allowed_now(campaign, limit - sent)
        batch = list(_unsent(campaign)[:allowed]) if allowed > 0 else []
        for recipient in batch:
            _send_email(recipient)
        sent += len(batch)
        _update_status(campaign)
        if sent >= limit:
            break
    return sent


def _allowed_now(campaign: Campaign, limit: int) -> int:
    if not campaign.per_hour:
        return limit
    last_hour = campaign.recipients.filter(sent_at__gt=clock.now() - timedelta(hours=1)).count()
    return min(limit, campaign.per_hour - last_hour)


def _unsent(campaign: Campaign) -> Any:
    return (
        campaign.recipients.filter(sent_at__isnull=True, send_error="")
        .select_related("customer", "offer", "campaign__mailbox")
        .order_by("pk")
    )


def _update_status(campaign: Campaign) -> None:
    status = CampaignStatus.SENDING if _unsent(campaign).exists() else CampaignStatus.SENT
    if campaign.status != status:
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])


def _send_email(recipient: Recipient) -> None:
    customer = recipient.customer
    address = (
        CustomerIdentifier.objects.filter(customer=customer, kind="email")
        .order_by("pk")
        .values_list("value", flat=True)
        .first()
    )
    mailbox = (
        recipient.campaign.mailbox or Mailbox.objects.filter(is_active=True).order_by("pk").first()
    )
    with recording_transaction():
        recipient = Recipient.objects.select_for_update().get(pk=recipient.pk)
        if recipient.sent_at is not None:
            return  # another worker was faster
        if address is None or mailbox is None:
            recipient.send_error = (
                _("the customer has no e-mail address")
                if address is None
                else _("no mailbox to send from")
            )
            recipient.save(update_fields=["send_error"])
            return
        message = compose_message(recipient)
        queue_campaign_email(
            mailbox=mailbox,
            customer_id=customer.pk,
            to_address=address,
            to_name=customer.display_name,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            unsubscribe_url=f"{message.response_url}/unsubscribe",
            actor=ACTOR,
        )
        recipient.sent_at = clock.now()
        recipient.save(update_fields=["sent_at"])


@dataclass(frozen=True)
class CampaignMessage:
    subject: str
    text: str
    html: str
    response_url: str
    code: str


def compose_message(recipient: Recipient) -> CampaignMessage:
    """The recipient's mail, in their language, with their code and tracked links."""
    campaign, customer = recipient.campaign, recipient.customer
    language = _language(customer)
    values = _values(recipient, language)
    subject = " ".join(fill(campaign.subject(language), values, PLACEHOLDERS).split())
    text = fill(campaign.body(language), values, PLACEHOLDERS).strip()
    url = values["response.url"]
    with translation.override(language):
        footer = _("Your personal response code: %(code)s") % {"code": values["response.code"]}
        button = _("See and accept the offer")
    html_values = {name: html.escape(value) for name, value in values.items()}
    paragraphs = fill(campaign.body(language), html_values, PLACEHOLDERS).strip().split("\n\n")
    body_html = (
        f'<!DOCTYPE html><html lang="{language}"><body>'
        + "".join(f"<p>{paragraph.replace(chr(10), '<br>')}</p>" for paragraph in paragraphs)
        + f'<p><a href="{html.escape(url)}">{html.escape(button)}</a></p>'
        + f"<p>{html.escape(footer)}</p>"
        + f'<img src="{html.escape(url)}/o.gif" width="1" height="1" alt="">'
        + "</body></html>"
    )
    return CampaignMessage(
        subject=subject,
        text=f"{text}\n\n{button}: {url}\n{footer}\n",
        html=body_html,
        response_url=url,
        code=values["response.code"],
    )


def _values(recipient: Recipient, language: str) -> dict[str, str]:
    customer, offer = recipient.customer, recipient.offer
    contract = customer.contracts.filter(status="active").order_by("-start_date").first()
    with translation.override(language):
        return {
            "customer.salutation": customer.salutation,
            "customer.first_name": customer.first_name,
            "customer.last_name": customer.last_name,
            "customer.name": customer.display_name,
            "customer.number": customer.customer_number,
            "offer.name": offer.name_in(language),
            "offer.description": offer.description(language),
            "contract.ends_on": date_format(contract.end_date, "DATE_FORMAT")
            if contract and contract.end_date
            else "",
            "response.code": codes.code_for(recipient.token),
            "response.url": codes.url_for(recipient.token),
            "campaign.responses_until": date_format(
                recipient.campaign.responses_until, "DATE_FORMAT"
            ),
        }


def _language(customer: Customer) -> str:
    return "en" if customer.language.startswith("en") else "de"


# -- letters -------------------------------------------------------------------------------

SENDER_LINES = ("Casework Mobilfunk · Kundenservice · Postfach 10 20 30 · 10115 Berlin",)


def letter_for(recipient: Recipient) -> letters.Letter:
    customer, campaign = recipient.customer, recipient.campaign
    language = _language(customer)
    values = _values(recipient, language)
    with translation.override(language):
        card = letters.ResponseCard(
            code=values["response.code"],
            qr_text=values["response.url"],
            title=_("Your answer"),
            choice_labels=(
                _("Yes, I accept the offer “%(offer)s”.") % {"offer": values["offer.name"]},
                _("No, thank you."),
            ),
            remarks_label=_("Remarks"),
            code_label=_("Your response code"),
        )
        body = fill(campaign.body(language), values, PLACEHOLDERS).strip()
        return letters.Letter(
            sender_lines=SENDER_LINES,
            recipient_lines=tuple(
                line
                for line in (
                    customer.display_name,
                    customer.street,
                    f"{customer.postal_code} {customer.city}".strip(),
                )
                if line
            ),
            place_and_date=_("Berlin, %(date)s")
            % {"date": date_format(clock.localtime(clock.now()).date(), "DATE_FORMAT")},
            subject=" ".join(fill(campaign.subject(language), values, PLACEHOLDERS).split()),
            salutation=_salutation(customer),
            paragraphs=tuple(part.replace("\n", " ") for part in body.split("\n\n")),
            closing=(_("Kind regards"), _("Your service team")),
            card=card,
        )


def _salutation(customer: Customer) -> str:
    if customer.salutation == "Frau":
        return _("Dear Ms %(name)s,") % {"name": customer.last_name}
    if customer.salutation == "Herr":
        return _("Dear Mr %(name)s,") % {"name": customer.last_name}
    return _("Dear customer,")


def print_letters(campaign: Campaign, *, limit: int | None = None) -> tuple[bytes, int]:
    """The next print run of a letter campaign as one PDF, its letters marked as sent (and
    recorded as outgoing letters on each customer). Within the hourly limit, like mail."""
    if campaign.channel != CampaignChannel.LETTER:
        raise InvalidInput(_("only a letter campaign is printed"), field="campaign")
    allowed = _allowed_now(campaign, limit or 10_000)
    with recording_transaction():
        batch = list(_unsent(campaign).select_for_update(of=("self",))[: max(allowed, 0)])
        documents = [letter_for(recipient) for recipient in batch]
        now = clock.now()
        for recipient, letter in zip(batch, documents, strict=True):
            recipient.sent_at = now
            recipient.save(update_fields=["sent_at"])
            record_interaction(
                NewInteraction(
                    channel=Channel.LETTER,
                    direction=Direction.OUTBOUND,
                    occurred_at=now,
                    customer_id=recipient.customer_id,
                    subject=letter.subject,
                    text="\n\n".join(letter.paragraphs),
                    payload={"campaign": campaign.code, "code": letter.card.code},
                ),
                actor=ACTOR,
            )
        _update_status(campaign)
    return (letters.render_letters(documents) if documents else b""), len(batch)


# -- tracking ------------------------------------------------------------------------------


def record_open(recipient: Recipient) -> None:
    _track(recipient, "opened_at")


def record_click(recipient: Recipient) -> None:
    _track(recipient, "clicked_at")


def _track(recipient: Recipient, moment: str) -> None:
    """The first open or click counts; it adds the offer's interest to the profile."""
    with recording_transaction():
        recipient = (
            Recipient.objects.select_for_update(of=("self",))
            .select_related("offer", "campaign")
            .get(pk=recipient.pk)
        )
        if getattr(recipient, moment) is not None:
            return
        now = clock.now()
        setattr(recipient, moment, now)
        recipient.save(update_fields=[moment])
        tag = recipient.offer.interest_tag
        if tag and not Interest.objects.filter(customer_id=recipient.customer_id, tag=tag).exists():
            Interest.objects.create(
                customer_id=recipient.customer_id,
                tag=tag,
                source=f"campaign:{recipient.campaign.code}",
                recorded_at=now,
            )
        record(
            "campaign.opened" if moment == "opened_at" else "campaign.clicked",
            actor=Actor.customer(recipient.customer_id),
            object_type="customer",
            object_id=recipient.customer_id,
            payload={"campaign": recipient.campaign.code, "interest": tag or None},
        )


def recipient_for_code(text: str) -> Recipient | None:
    checked = codes.check(text)
    if checked.token is None:
        return None
    return (
        Recipient.objects.select_related("campaign", "offer", "customer")
        .filter(token=checked.token)
        .first()
    )


def unsubscribe(recipient: Recipient) -> None:
    """The customer withdraws consent to advertising on the campaign's channel."""
    purpose = (
        Consent.Purpose.MARKETING_EMAIL
        if recipient.campaign.channel == CampaignChannel.EMAIL
        else Consent.Purpose.MARKETING_LETTER
    )
    with recording_transaction():
        Consent.objects.create(
            customer_id=recipient.customer_id,
            purpose=purpose,
            is_granted=False,
            source=f"campaign:{recipient.campaign.code}",
            recorded_at=clock.now(),
        )
        record(
            "consent.withdrawn",
            actor=Actor.customer(recipient.customer_id),
            object_type="customer",
            object_id=recipient.customer_id,
            payload={"purpose": purpose, "campaign": recipient.campaign.code},
        )

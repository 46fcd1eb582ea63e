"""The customer's contact preferences and consents, changed by the customer in the portal.
Each change goes through the customers package's services and is recorded once more as
`portal.preferences_changed`, with its before and after and the channel `portal`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from casework.customers.models import Channel, Consent, Customer
from casework.customers.services import record_consent, update_customer
from casework.events.services import record, recording_transaction
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.portal.signin import Client

# The channels a customer may ask us to use; the others are ours (notes, API, partners).
PREFERRED_CHANNELS = (Channel.EMAIL, Channel.PHONE, Channel.LETTER, Channel.PORTAL, Channel.SMS)
LANGUAGES = ("de", "en")
CONSENT_SOURCE = "portal"


def current_consents(customer: Customer) -> dict[str, bool | None]:
    """Per purpose the latest decision (None: never asked)."""
    latest: dict[str, bool | None] = dict.fromkeys(Consent.Purpose.values)
    for purpose, is_granted in (
        Consent.objects.filter(customer=customer)
        .order_by("recorded_at", "pk")
        .values_list("purpose", "is_granted")
    ):
        latest[purpose] = is_granted
    return latest


@dataclass(frozen=True)
class Preferences:
    preferred_channel: str
    language: str
    consents: Mapping[str, bool]


def change_preferences(customer: Customer, wanted: Preferences, *, client: Client) -> bool:
    """Apply what changed; returns False when nothing did (nothing is recorded then)."""
    if wanted.preferred_channel not in ("", *PREFERRED_CHANNELS):
        raise InvalidInput(_("Please choose one of the channels."), field="preferred_channel")
    if wanted.language not in LANGUAGES:
        raise InvalidInput(_("Please choose one of the languages."), field="language")
    unknown = set(wanted.consents) - set(Consent.Purpose.values)
    if unknown:
        raise InvalidInput(_("Unknown consent."), field="consents")
    actor = Actor.customer(customer.pk)
    with recording_transaction():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before: dict[str, object] = {}
        after: dict[str, object] = {}
        profile = {"preferred_channel": wanted.preferred_channel, "language": wanted.language}
        for name, value in profile.items():
            if getattr(customer, name) != value:
                before[name], after[name] = getattr(customer, name), value
        if after:
            update_customer(customer, dict(after), actor=actor)
        consents = current_consents(customer)
        for purpose, is_granted in wanted.consents.items():
            # Never asked counts as no: an unticked box changes nothing then.
            if bool(consents.get(purpose)) != is_granted:
                before[f"consent.{purpose}"] = consents.get(purpose)
                after[f"consent.{purpose}"] = is_granted
                record_consent(
                    customer, purpose, is_granted=is_granted, source=CONSENT_SOURCE, actor=actor
                )
        if not after:
            return False
        record(
            "portal.preferences_changed",
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            payload={
                "channel": Channel.PORTAL,
                "before": before,
                "after": after,
                "client_address": client.address,
            },
        )
    return True

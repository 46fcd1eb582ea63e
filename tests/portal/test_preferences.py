"""Contact preferences and consents, changed by the customer, each change in the event
log with the channel portal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casework.customers.models import Consent
from casework.portal.preferences import current_consents
from tests.factories import ConsentFactory
from tests.portal.conftest import events

pytestmark = pytest.mark.django_db


def save(portal, **data):  # noqa: ANN001, ANN003, ANN201
    data.setdefault("preferred_channel", "email")
    data.setdefault("language", "en")
    return portal.post(reverse("portal:settings"), data)


def test_the_page_shows_the_current_choices(portal, customer):
    ConsentFactory(customer=customer, purpose="marketing_email", is_granted=True)
    text = portal.get(reverse("portal:settings")).content.decode()
    assert 'name="consent_marketing_email" value="yes" checked' in text
    assert 'name="consent_profiling" value="yes">' in text


def test_changes_are_saved_and_recorded_with_the_channel_portal(portal, customer):
    ConsentFactory(customer=customer, purpose="marketing_email", is_granted=True)
    response = save(portal, preferred_channel="letter", language="de", consent_profiling="yes")
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.preferred_channel, customer.language) == ("letter", "de")
    consents = current_consents(customer)
    assert consents["profiling"] is True and consents["marketing_email"] is False
    latest = Consent.objects.filter(customer=customer, purpose="marketing_email").first()
    assert latest.source == "portal"
    (event,) = events("portal.preferences_changed")
    assert event.payload["channel"] == "portal"
    assert event.payload["after"] == {
        "preferred_channel": "letter",
        "language": "de",
        "consent.marketing_email": False,
        "consent.profiling": True,
    }
    assert event.payload["before"]["consent.marketing_email"] is True
    assert event.occurred_at is not None
    assert {e.code for e in events("customer.updated")} == {"customer.updated"}
    assert portal.get(reverse("portal:settings"))["Content-Language"] == "de"


def test_saving_unchanged_settings_records_nothing(portal, customer):
    save(portal, preferred_channel="email", language="en")
    before = len(events("portal.preferences_changed"))
    save(portal, preferred_channel="email", language="en")
    assert len(events("portal.preferences_changed")) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("preferred_channel", "note", "Please choose one of the channels."),
        ("language", "fr", "Please choose one of the languages."),
    ],
)
def test_unknown_choices_are_refused(portal, customer, field, value, message):
    response = save(portal, **{field: value})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not events("portal.preferences_changed")

"""The admin edits offers with their reasons; a rule or text naming an unknown fact is
refused at its field. Decisions and trained models are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from casework.offers.models import Offer, OfferReason

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("anna", "anna@example.de", "pw")
    client = Client()
    client.force_login(user)
    return client


def offer_form(**fields: str) -> dict[str, str]:
    return {
        "code": "voice-only",
        "kind": "offer",
        "name_de": "Sprache Basis",
        "name_en": "Voice basic",
        "is_active": "on",
        "eligibility": "contract.data_usage_gb <= 0.5",
        "value": "90",
        "business_weight": "1",
        "extend_months": "12",
        "discount_percent": "0",
        "reasons-TOTAL_FORMS": "1",
        "reasons-INITIAL_FORMS": "0",
        "reasons-MIN_NUM_FORMS": "0",
        "reasons-MAX_NUM_FORMS": "1000",
        "reasons-0-position": "1",
        "reasons-0-condition": "contract.data_usage_gb == 0",
        "reasons-0-text_de": "nutzt kein Datenvolumen",
        "reasons-0-text_en": "uses no data volume",
        **fields,
    }


def test_an_offer_is_added_with_its_reasons(admin_client):  # noqa: ANN001
    response = admin_client.post("/admin/offers/offer/add/", offer_form())

    assert response.status_code == 302, response.content.decode()[:3000]
    offer = Offer.objects.get(code="voice-only")
    assert [reason.text_en for reason in offer.reasons.all()] == ["uses no data volume"]


def test_an_unknown_fact_in_the_rule_is_shown_at_the_field(admin_client):  # noqa: ANN001
    response = admin_client.post(
        "/admin/offers/offer/add/", offer_form(eligibility="contract.data_usage <= 0.5")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "unknown field &quot;contract.data_usage&quot;" in page
    assert "did you mean &quot;contract.data_usage_gb&quot;" in page
    assert not Offer.objects.exists()


def test_an_unknown_fact_in_a_reason_is_refused(admin_client):  # noqa: ANN001
    response = admin_client.post(
        "/admin/offers/offer/add/", offer_form(**{"reasons-0-text_en": "uses {contract.gb} GB"})
    )

    assert response.status_code == 200
    assert "unknown fact {contract.gb} in braces" in response.content.decode()
    assert not Offer.objects.exists() and not OfferReason.objects.exists()


def test_decisions_and_models_are_read_only(admin_client):  # noqa: ANN001
    assert admin_client.get("/admin/offers/offerdecision/").status_code == 200
    assert admin_client.get("/admin/offers/offerdecision/add/").status_code == 403
    assert admin_client.get("/admin/offers/propensitymodel/").status_code == 200
    assert admin_client.get("/admin/offers/propensitymodel/add/").status_code == 403

"""Campaigns in the administration: a wrong rule or placeholder is refused on the form,
and the actions select recipients and start sending."""

from __future__ import annotations

import pytest
from django.test import Client

from casework.kernel.actors import Role
from casework.retention.models import Campaign, CampaignStatus
from tests.factories import AgentFactory
from tests.retention.factories import CampaignFactory
from tests.retention.test_campaigns import consenting
from tests.retention.test_responses import customer_ending_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    agent = AgentFactory(role=Role.ADMIN)
    agent.user.is_staff = agent.user.is_superuser = True
    agent.user.save()
    client = Client()
    client.force_login(agent.user)
    return client


def form_data(offer, **changes):  # noqa: ANN001, ANN003, ANN201
    data = {
        "code": "winter",
        "name": "Winter",
        "offer": offer.pk,
        "channel": "email",
        "audience": "contract.ends_in_days <= 90",
        "subject_de": "Hallo {{ customer.first_name }}",
        "subject_en": "Hello {{ customer.first_name }}",
        "body_de": "Angebot: {{ offer.name }}",
        "body_en": "Offer: {{ offer.name }}",
        "responses_until": "2027-01-31",
        "per_hour": "100",
    }
    return data | changes


def test_a_campaign_with_a_typo_in_its_rule_or_texts_is_refused(admin_client, international):
    page = admin_client.post(
        "/admin/retention/campaign/add/",
        form_data(international, audience="contract.ends_in_dayz <= 90"),
    )
    assert page.status_code == 200 and "ends_in_days" in page.content.decode()
    page = admin_client.post(
        "/admin/retention/campaign/add/", form_data(international, body_de="{{ kunde }}")
    )
    assert "kunde" in page.content.decode() and not Campaign.objects.exists()

    saved = admin_client.post("/admin/retention/campaign/add/", form_data(international))
    assert saved.status_code == 302 and Campaign.objects.filter(code="winter").exists()


def test_the_actions_select_and_start(admin_client, international):
    consenting(customer_ending_in(45))
    campaign = CampaignFactory(offer=international)

    for action in ("select_recipients", "start_sending"):
        admin_client.post(
            "/admin/retention/campaign/",
            {"action": action, "_selected_action": [campaign.pk]},
        )

    campaign.refresh_from_db()
    assert campaign.recipients.count() == 1 and campaign.status == CampaignStatus.SCHEDULED
    assert admin_client.get("/admin/retention/response/").status_code == 200
    assert admin_client.get("/admin/retention/recipient/").status_code == 200

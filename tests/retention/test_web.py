"""The customer's response page behind a campaign's link, the open-tracking image and
unsubscribing; on the desk, a response taken on the phone and the campaigns' page."""

from __future__ import annotations

import pytest
from django.test import Client

from casework.cases.models import Case
from casework.customers.models import Consent, Interest
from casework.kernel.actors import Role
from casework.retention import campaigns, codes, queue
from casework.retention.models import CampaignChannel, Response
from tests.engine import run_jobs
from tests.factories import AgentFactory
from tests.retention.factories import CampaignFactory, RecipientFactory, retention_worker
from tests.retention.test_responses import customer_ending_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def lisa(international):  # noqa: ANN001, ANN201
    customer = customer_ending_in(45, language="en")
    customer.first_name = "Lisa"
    customer.save()
    return RecipientFactory(campaign=CampaignFactory(offer=international), customer=customer)


def link(recipient) -> str:  # noqa: ANN001
    return "/r/" + codes.compact(codes.code_for(recipient.token))


def test_the_link_shows_the_offer_in_the_customers_language_and_counts_the_click(lisa):
    page = Client().get(link(lisa))

    assert page.status_code == 200
    text = page.content.decode()
    assert "International option" in text and "Hello Lisa" in text
    assert Interest.objects.filter(customer=lisa.customer, tag="international-tariffs").exists()


@pytest.mark.django_db(transaction=True)
def test_accepting_on_the_page_orders_the_offer(lisa, settings):
    settings.CASEWORK_RETENTION_PAGE_WAIT_SECONDS = 10  # the worker answers much sooner
    with retention_worker():
        page = Client().post(link(lisa), {"choice": "accept"})
    run_jobs()

    assert page.status_code == 200
    response = Response.objects.get()
    assert response.outcome == "ordered"
    assert 'data-outcome="ordered"' in page.content.decode()
    assert response.case.reference in page.content.decode()
    assert Case.objects.get(pk=response.case_id).stage == "offer-accepted"


def test_a_busy_worker_leaves_the_page_with_the_promise_of_a_confirmation(lisa):
    page = Client().post(link(lisa), {"choice": "accept"})

    assert page.status_code == 200 and 'data-outcome="pending"' in page.content.decode()
    assert "confirmation by e-mail" in page.content.decode()
    assert not Response.objects.exists()
    assert queue.run_once() == 1
    assert Response.objects.get().outcome == "ordered"


def test_an_unclear_answer_is_asked_again(lisa):
    page = Client().post(link(lisa), {"choice": ""})
    assert page.status_code == 422 and not Response.objects.exists()


def test_an_unknown_or_forged_link_is_a_clear_404(international):
    assert Client().get("/r/K7M49QX2HT3P").status_code == 404
    assert Client().get("/r/nonsense").status_code == 404


def test_the_tracking_image_records_the_open(lisa):
    image = Client().get(link(lisa) + "/o.gif")
    lisa.refresh_from_db()
    assert image["Content-Type"] == "image/gif" and lisa.opened_at is not None
    assert Client().get("/r/K7M49QX2HT3P/o.gif").status_code == 200  # says nothing to guessers


def test_unsubscribing_on_the_page(lisa):
    Client().post(link(lisa) + "/unsubscribe")
    assert Consent.objects.get(customer=lisa.customer).is_granted is False


def test_an_agent_records_a_phone_answer_and_lands_on_the_order(international):
    customer = customer_ending_in(45)
    agent = AgentFactory()
    client = Client()
    client.force_login(agent.user)

    page = client.get(f"/customers/{customer.pk}/")
    assert "phone-response" in page.content.decode()
    answer = client.post(
        f"/customers/{customer.pk}/retention-response/",
        {"offer": "international-option", "choice": "accept", "note": "am Telefon zugestimmt"},
    )

    response = Response.objects.get()
    assert response.channel == "phone" and response.outcome == "ordered"
    assert answer.status_code == 302 and answer["Location"] == f"/cases/{response.case_id}/"


def test_a_phone_answer_needs_an_offer_or_a_code(international):
    customer = customer_ending_in(45)
    client = Client()
    client.force_login(AgentFactory().user)
    client.post(f"/customers/{customer.pk}/retention-response/", {"choice": "accept"})
    assert not Response.objects.exists()


def test_supervisors_follow_campaigns_and_print_the_letters(international):
    campaign = CampaignFactory(offer=international, channel=CampaignChannel.LETTER)
    RecipientFactory(campaign=campaign, customer=customer_ending_in(45))
    client = Client()
    client.force_login(AgentFactory(role=Role.SUPERVISOR).user)

    page = client.get("/retention/campaigns/")
    assert page.status_code == 200 and campaign.code in page.content.decode()
    letters = client.post(f"/retention/campaigns/{campaign.pk}/letters/")
    assert letters["Content-Type"] == "application/pdf" and letters.content.startswith(b"%PDF")

    agent = Client()
    agent.force_login(AgentFactory().user)
    assert agent.get("/retention/campaigns/").status_code == 403
    assert campaigns.print_letters(campaign) == (b"", 0)

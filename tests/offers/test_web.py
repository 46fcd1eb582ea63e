"""The case screen's next-best-offer panel: it loads on its own request, shows the ranked
offers with reasons, and its Accept / Decline buttons record the decision (once)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from casework.customers.models import Customer
from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.offers.models import OfferDecision
from casework.routing.models import Agent
from tests.factories import CaseFactory, InteractionFactory, QueueFactory, TeamFactory
from tests.offers.conftest import contract_of
from tests.offers.factories import OfferFactory, OfferReasonFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def case(customer: Customer, agent: Agent, email_intake) -> Case:  # noqa: ANN001
    case = CaseFactory(customer=customer, case_type=email_intake.case_type)
    InteractionFactory(customer=customer, case=case, channel="chat")
    return case


@pytest.fixture
def signed_in(client: Client, agent: Agent) -> Client:
    client.force_login(agent.user)
    return client


@pytest.fixture
def catalogue(customer: Customer) -> None:
    discount = OfferFactory(
        code="discount-10",
        name_en="10 % discount",
        discount_percent=Decimal("10"),
        eligibility="contract.ends_in_days <= 90",
        value=Decimal("150"),
    )
    OfferReasonFactory(
        offer=discount,
        condition="contract.ends_in_days <= 90",
        text_de="Vertrag endet in {contract.ends_in_days} Tagen",
        text_en="contract ends in {contract.ends_in_days} days",
    )
    OfferReasonFactory(
        offer=discount,
        position=2,
        condition="contract.data_usage_gb == 0",
        text_de="nutzt kein Datenvolumen",
        text_en="uses no data volume",
    )
    OfferFactory(
        code="warranty-extension",
        kind="action",
        name_en="Extend the warranty by a year",
        value=Decimal("40"),
    )


def url(case: Case, name: str) -> str:
    return reverse(name, kwargs={"case_id": case.pk})


def test_the_case_screen_loads_the_panel_on_its_own_request(signed_in, case, catalogue):  # noqa: ANN001
    page = signed_in.get(url(case, "web:case")).content.decode()

    assert 'id="case-offers"' in page
    assert f'hx-get="{url(case, "web:case_offers")}" hx-trigger="load"' in page


def test_a_case_without_customer_has_no_panel(signed_in, agent, email_intake):  # noqa: ANN001
    case = CaseFactory(customer=None, case_type=email_intake.case_type)

    page = signed_in.get(url(case, "web:case")).content.decode()

    assert 'id="case-offers"' not in page


def test_the_panel_ranks_the_offers_with_reasons_and_buttons(signed_in, case, catalogue):  # noqa: ANN001
    response = signed_in.get(url(case, "web:case_offers"), **HTMX)

    assert response.status_code == 200
    panel = response.content.decode()
    assert panel.index("10 % discount") < panel.index("Extend the warranty by a year")
    assert "contract ends in 23 days; uses no data volume" in panel
    assert "score 75.00 · chance of acceptance 50 %" in panel
    assert '<span style="width: 100%">' in panel and '<span style="width: 27%">' in panel
    assert "contract.ends_in_days</span> = 23" in panel
    assert panel.count('name="decision" value="accept"') == 2
    assert panel.count('name="decision" value="decline"') == 2
    assert 'name="channel" value="chat"' in panel  # the case's newest contact
    assert "csrfmiddlewaretoken" in panel


def test_the_panel_speaks_german_after_the_language_switch(signed_in, case, catalogue):  # noqa: ANN001
    signed_in.post("/i18n/setlang/", {"language": "de", "next": "/"})

    panel = signed_in.get(url(case, "web:case_offers"), **HTMX).content.decode()

    assert "Vertrag endet in 23 Tagen; nutzt kein Datenvolumen" in panel
    assert "75,00" in panel


def test_accept_changes_the_contract_once_even_when_clicked_twice(signed_in, case, catalogue):  # noqa: ANN001
    data = {"offer": "discount-10", "decision": "accept", "channel": "chat"}

    first = signed_in.post(url(case, "web:offer_decision"), data, **HTMX)
    second = signed_in.post(url(case, "web:offer_decision"), data, **HTMX)

    # The contract in the 360 view changed: the whole screen reloads.
    assert first.status_code == 204 and first["HX-Refresh"] == "true"
    assert second.status_code == 200
    assert "10 % discount was recorded before; nothing was changed." in second.content.decode()
    assert contract_of(case.customer).monthly_fee == Decimal("17.99")
    decision = OfferDecision.objects.get()
    assert (decision.outcome, decision.channel, decision.case_id) == ("accepted", "chat", case.pk)
    assert Event.objects.filter(code="contract.updated").count() == 1
    assert Event.objects.filter(code="offer.accepted").count() == 1
    assert Interaction.objects.filter(case=case, channel="note").count() == 1


def test_a_plain_post_redirects_back_to_the_panel(signed_in, case, catalogue):  # noqa: ANN001
    response = signed_in.post(
        url(case, "web:offer_decision"),
        {"offer": "warranty-extension", "decision": "accept", "channel": "phone"},
        follow=True,
    )

    assert response.redirect_chain == [(url(case, "web:case") + "#case-offers", 302)]
    page = response.content.decode()
    assert "Extend the warranty by a year granted; a note is on the case." in page
    note = Interaction.objects.get(case=case, channel="note")
    assert note.text == "Action taken: Extend the warranty by a year."


def test_decline_swaps_in_the_panel_without_the_offer(signed_in, case, catalogue):  # noqa: ANN001
    response = signed_in.post(
        url(case, "web:offer_decision"),
        {"offer": "discount-10", "decision": "decline", "channel": "chat"},
        **HTMX,
    )

    assert response.status_code == 200
    panel = response.content.decode()
    assert 'id="offer-discount-10"' not in panel
    assert 'id="offer-warranty-extension"' in panel
    assert "10 % discount declined; it is not proposed again for 30 days." in panel
    assert 'hx-swap-oob="true"' in panel  # the banner
    assert "Decided recently" in panel and "Declined" in panel
    assert OfferDecision.objects.get().outcome == "declined"


def test_invalid_or_unavailable_choices_are_refused(signed_in, case, catalogue):  # noqa: ANN001
    OfferFactory(code="silver-only", eligibility='customer.segment == "silver"')
    for data in (
        {"offer": "discount-10", "decision": "maybe", "channel": "chat"},
        {"offer": "discount-10", "decision": "accept", "channel": "pigeon"},
        {"offer": "nope", "decision": "accept", "channel": "chat"},
        {"offer": "silver-only", "decision": "accept", "channel": "chat"},
    ):
        response = signed_in.post(url(case, "web:offer_decision"), data, **HTMX)
        assert response.status_code == 422, data
        assert response["HX-Retarget"] == "#flash"
    assert not OfferDecision.objects.exists()


def test_another_teams_case_is_not_found(signed_in, customer, catalogue):  # noqa: ANN001
    hidden = CaseFactory(customer=customer, queue=QueueFactory(team=TeamFactory()))

    assert signed_in.get(url(hidden, "web:case_offers")).status_code == 404
    response = signed_in.post(
        url(hidden, "web:offer_decision"),
        {"offer": "discount-10", "decision": "accept", "channel": "chat"},
    )
    assert response.status_code == 404
    assert not OfferDecision.objects.exists()


def test_signed_out_agents_are_sent_to_sign_in(client, case, catalogue):  # noqa: ANN001
    response = client.post(
        url(case, "web:offer_decision"),
        {"offer": "discount-10", "decision": "accept", "channel": "chat"},
    )

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not OfferDecision.objects.exists()


def test_decisions_are_posted_not_fetched(signed_in, case, catalogue):  # noqa: ANN001
    assert signed_in.get(url(case, "web:offer_decision")).status_code == 405


def test_the_post_needs_the_csrf_token(agent, case, catalogue):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent.user)

    response = client.post(
        url(case, "web:offer_decision"),
        {"offer": "discount-10", "decision": "accept", "channel": "chat"},
    )

    assert response.status_code == 403
    assert not OfferDecision.objects.exists()


def test_the_panel_needs_a_bounded_number_of_queries(
    signed_in, case, catalogue, django_assert_max_num_queries
):  # noqa: ANN001
    for index in range(15):
        OfferReasonFactory(offer=OfferFactory(code=f"more-{index}"))

    with django_assert_max_num_queries(20):
        response = signed_in.get(url(case, "web:case_offers"), **HTMX)

    assert response.content.decode().count('class="offer-suggestion"') == 5

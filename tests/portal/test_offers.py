"""Offers in the portal: proposals first, then the eligible next best offers; accepting
needs the explicit confirmation of the exact text shown, which the event log keeps as
evidence; the contract changes once, however often the form is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from casework.customers.models import Contract
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.offers.models import Offer, OfferDecision, OfferProposal
from casework.offers.services import OfferNotAvailable, propose_offer
from casework.portal.offers import offer_text
from casework.portal.tokens import text_sha256
from casework.routing.queries import actor_for_agent
from tests.factories import AgentFactory
from tests.portal.conftest import events, sign_in_as

pytestmark = pytest.mark.django_db

AGENT = Actor.system("test-agent")


@pytest.fixture
def world_option(db) -> Offer:  # noqa: ANN001
    return Offer.objects.create(
        code="world-option",
        name_de="Option Welt",
        name_en="World option",
        description_en="Calls and data abroad, Japan included.",
        eligibility="contract.ends_in_days <= 90",
        extend_months=12,
        value=Decimal("1"),  # ranks below the loyalty discount
    )


def accept(client, code: str, *, confirm: bool = True, sha: str | None = None, language="en"):  # noqa: ANN001, ANN201
    offer = Offer.objects.get(code=code)
    data = {"answer": "accept", "text_sha256": sha or offer_text(offer, language).sha256}
    if confirm:
        data["confirm"] = "yes"
    return client.post(
        reverse("portal:offer", kwargs={"code": code}), data, HTTP_USER_AGENT="Firefox/140"
    )


# -- proposing -----------------------------------------------------------------------------


def test_propose_offer_is_idempotent_records_an_event_and_notes_the_case(customer, case, offer):
    first = propose_offer(customer, "loyalty-20", channel="phone", actor=AGENT, case=case)
    second = propose_offer(customer, "loyalty-20", channel="phone", actor=AGENT, case=case)
    assert first == second and first.status == "open"
    assert (first.proposed_by, first.channel, first.case) == ("system:test-agent", "phone", case)
    (event,) = events("offer.proposed")
    assert event.payload == {
        "proposal_id": first.pk,
        "offer": "loyalty-20",
        "channel": "phone",
        "case_id": case.pk,
    }
    note = Interaction.objects.get(case=case, channel="note")
    assert "Loyalty discount 20 %" in note.text


def test_an_offer_the_customer_may_not_have_is_not_proposed(customer, offer):
    Contract.objects.filter(customer=customer).update(end_date=None)  # not ending: not eligible
    with pytest.raises(OfferNotAvailable):
        propose_offer(customer, "loyalty-20", channel="phone", actor=AGENT)
    with pytest.raises(InvalidInput):
        propose_offer(customer, "no-such-offer", channel="phone", actor=AGENT)
    with pytest.raises(InvalidInput):
        propose_offer(customer, "loyalty-20", channel="pigeon", actor=AGENT)
    assert not OfferProposal.objects.exists()


def test_the_agent_offers_it_in_the_portal_from_the_case_screen(client, customer, case, offer):
    agent = AgentFactory(teams=[case.queue.team])
    client.force_login(agent.user)
    panel = client.get(reverse("web:case_offers", kwargs={"case_id": case.pk})).content.decode()
    assert "Offer in the portal" in panel
    response = client.post(
        reverse("web:offer_proposal", kwargs={"case_id": case.pk}), {"offer": "loyalty-20"}
    )
    assert response.status_code == 302
    proposal = OfferProposal.objects.get()
    assert proposal.proposed_by == actor_for_agent(agent).label and proposal.case == case
    panel = client.get(reverse("web:case_offers", kwargs={"case_id": case.pk})).content.decode()
    assert "Offered in the portal" in panel


def test_an_agent_cannot_propose_on_a_case_they_do_not_see(client, other_case, offer):
    client.force_login(AgentFactory().user)
    response = client.post(
        reverse("web:offer_proposal", kwargs={"case_id": other_case.pk}), {"offer": "loyalty-20"}
    )
    assert response.status_code == 404
    assert not OfferProposal.objects.exists()


# -- the portal's list ---------------------------------------------------------------------


def test_proposed_offers_come_first(portal, customer, offer, world_option):
    propose_offer(customer, "world-option", channel="chat", actor=Actor.system("chatbot"))
    text = portal.get(reverse("portal:offers")).content.decode()
    assert text.index("World option") < text.index("Loyalty discount 20 %")
    assert "Offered to you personally" in text


def test_another_customers_proposal_is_not_shown_or_answerable(portal, other, offer):
    Offer.objects.filter(code="loyalty-20").update(eligibility='customer.segment == "vip"')
    other.segment = "vip"
    other.save()
    propose_offer(other, "loyalty-20", channel="phone", actor=AGENT)
    assert "Loyalty" not in portal.get(reverse("portal:offers")).content.decode()
    assert portal.get(reverse("portal:offer", kwargs={"code": "loyalty-20"})).status_code == 404
    assert accept(portal, "loyalty-20").status_code == 404
    assert OfferProposal.objects.get().status == "open"
    assert not OfferDecision.objects.exists()


def test_an_unknown_offer_is_not_found(portal):
    assert portal.get(reverse("portal:offer", kwargs={"code": "no-such"})).status_code == 404
    response = portal.post(
        reverse("portal:offer", kwargs={"code": "no-such"}), {"answer": "accept", "confirm": "yes"}
    )
    assert response.status_code == 404


# -- accepting -----------------------------------------------------------------------------


def test_accepting_needs_the_confirmation(portal, customer, offer):
    page = portal.get(reverse("portal:offer", kwargs={"code": "loyalty-20"})).content.decode()
    assert "I accept the offer „Loyalty discount 20 %“" in page
    assert "20 % discount on the monthly fee." in page
    assert "The contract term is extended by 24 months." in page
    response = accept(portal, "loyalty-20", confirm=False)
    assert response.status_code == 422
    assert "Please confirm" in response.content.decode()
    assert not OfferDecision.objects.exists()


def test_an_offer_changed_since_it_was_shown_is_not_accepted(portal, offer):
    response = accept(portal, "loyalty-20", sha=text_sha256("another text"))
    assert response.status_code == 409
    assert "has changed" in response.content.decode()
    assert not OfferDecision.objects.exists()


def test_acceptance_changes_the_contract_once_with_evidence(portal, customer, case, offer):
    proposal = propose_offer(customer, "loyalty-20", channel="phone", actor=AGENT, case=case)
    response = accept(portal, "loyalty-20")
    assert response.status_code == 302
    decision = OfferDecision.objects.get()
    assert (decision.outcome, decision.channel) == ("accepted", "portal")
    assert decision.decided_by == f"customer:{customer.pk}"
    contract = Contract.objects.get(customer=customer)
    assert contract.monthly_fee == Decimal("11.99")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision) == ("accepted", decision)

    (evidence,) = events("portal.offer_accepted")
    shown = offer_text(offer, "en")
    assert evidence.payload["offer_text"] == shown.full
    assert evidence.payload["offer_text_sha256"] == text_sha256(shown.full)
    assert evidence.payload["client_address"] == "127.0.0.1"
    assert evidence.payload["user_agent"] == "Firefox/140"
    assert evidence.payload["decision_id"] == decision.pk
    assert evidence.payload["proposal_ids"] == [proposal.pk]
    assert evidence.payload["answered_at"]
    assert evidence.actor_label == f"customer:{customer.pk}"
    assert "Offer accepted" in Interaction.objects.filter(case=case, channel="note").last().text

    again = accept(portal, "loyalty-20")
    assert again.status_code == 302
    assert OfferDecision.objects.count() == 1
    assert len(events("portal.offer_accepted")) == 1
    assert Contract.objects.get(customer=customer).monthly_fee == Decimal("11.99")
    page = portal.get(again["Location"]).content.decode()
    assert "You accepted this offer on" in page


def test_declining_is_recorded_and_closes_the_proposal(portal, customer, offer):
    proposal = propose_offer(customer, "loyalty-20", channel="chat", actor=AGENT)
    response = portal.post(
        reverse("portal:offer", kwargs={"code": "loyalty-20"}), {"answer": "decline"}
    )
    assert response.status_code == 302
    decision = OfferDecision.objects.get()
    assert (decision.outcome, decision.channel) == ("declined", "portal")
    proposal.refresh_from_db()
    assert proposal.status == "declined"
    assert len(events("portal.offer_declined")) == 1
    assert "Loyalty" not in portal.get(reverse("portal:offers")).content.decode()


def test_the_offer_text_is_in_the_customers_language(client, customer, offer):
    customer.language = "de"
    customer.save()
    page = sign_in_as(client, customer).get(reverse("portal:offer", kwargs={"code": "loyalty-20"}))
    text = page.content.decode()
    assert "Treuerabatt 20 %" in text and "20 % weniger, 24 Monate länger." in text
    assert offer_text(offer, "de").sha256 in text

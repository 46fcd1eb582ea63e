"""The demo's portal: Lisa and Dr. Jana Wolff (a member of the collecting society) sign in
with the link the demo prints, see their conversations, and the member registers a work
through the portal form as structured data."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from casework.channels.email.models import OutboundEmail
from casework.customers.models import Customer
from casework.demo.loading import load_demo
from casework.demo.portal import MEMBER, portal_sign_in_link
from casework.offers.models import OfferProposal
from casework.portal.models import PortalForm
from casework.portal.sessions import SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):  # noqa: ANN001, ANN201
    settings.CASEWORK_FEDERAL_STATE = "NW"
    load_demo(generated_customers=0, progress=lambda line: None)


def signed_in(customer_number: str) -> Client:
    url = portal_sign_in_link(customer_number)
    client = Client()
    response = client.post("/" + url.split("://", 1)[1].partition("/")[2])
    assert response.status_code == 302
    return client


def test_the_demo_loads_the_portal_once(demo):
    counts = (PortalForm.objects.count(), OfferProposal.objects.count())
    load_demo(generated_customers=0, progress=lambda line: None)
    assert (PortalForm.objects.count(), OfferProposal.objects.count()) == counts
    assert counts[0] == 3


def test_lisa_signs_in_with_the_printed_link_and_sees_her_chat_and_her_offer(demo):
    lisa = Customer.objects.get(customer_number="K10000002")
    client = signed_in("K10000002")
    assert client.session[SESSION_KEY] == lisa.pk
    mail = OutboundEmail.objects.filter(to_address="lisa.schneider@example.org").last()
    assert "/portal/sign-in/" in mail.body_text  # the same link went to the outbox
    cases = client.get(reverse("portal:cases")).content.decode()
    assert "Praktikum in Japan" in cases
    chat = Case.objects.get(customer=lisa, subject__startswith="Chat:")
    page = client.get(reverse("portal:case", kwargs={"case_id": chat.pk})).content.decode()
    assert "Welcher Tarif passt" in page and "Wir rufen dich morgen" in page
    offers = client.get(reverse("portal:offers")).content.decode()
    if OfferProposal.objects.filter(customer=lisa, status="open").exists():
        assert "Option Welt" in offers or "World option" in offers


def test_the_member_registers_a_work_in_the_portal(demo):
    jana = Customer.objects.get(customer_number=MEMBER)
    client = signed_in(MEMBER)
    assert "Abrechnung Q3" in client.get(reverse("portal:cases")).content.decode()
    response = client.post(
        reverse("portal:request_form", kwargs={"code": "work-registration"}),
        {
            "member_number": "104233",
            "work_title": "Abendlied",
            "question": "Komponistin: Dr. Jana Wolff, Uraufführung 01.03.2027",
            "submission_id": "e" * 32,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(customer=jana, subject__contains="Abendlied")
    assert case.data == {
        "topic": "work_registration",
        "member_number": "104233",
        "work_title": "Abendlied",
        "question": "Komponistin: Dr. Jana Wolff, Uraufführung 01.03.2027",
        # the engine's decision table adds where the request goes
        **{key: case.data[key] for key in ("department", "needs_second_level") if key in case.data},
    }
    assert case.queue.code.startswith("member-service")

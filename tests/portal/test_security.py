"""What an attacker would try: forms posted from another site (CSRF), ids of other
customers in every URL (IDOR), and script in what customers and agents write (XSS)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.interactions.files import store_bytes
from casework.interactions.models import Attachment
from casework.kernel.actors import Actor
from casework.offers.services import propose_offer
from casework.portal.sessions import SESSION_KEY
from tests.factories import AgentFactory, InteractionFactory
from tests.portal.conftest import LISA_EMAIL, sign_in_as

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def csrf_client(customer) -> Client:  # noqa: ANN001
    return sign_in_as(Client(enforce_csrf_checks=True), customer)


def test_every_portal_form_needs_the_csrf_token(csrf_client, case, offer):
    posts = [
        (reverse("portal:sign_in"), {"email": LISA_EMAIL}),
        (reverse("portal:password_sign_in"), {"email": LISA_EMAIL, "password": "x"}),
        (reverse("portal:link", kwargs={"token": "a" * 43}), {}),
        (reverse("portal:sign_out"), {}),
        (reverse("portal:language"), {"language": "de"}),
        (reverse("portal:reply", kwargs={"case_id": case.pk}), {"text": "hi"}),
        (reverse("portal:request_form", kwargs={"code": "x"}), {}),
        (reverse("portal:offer", kwargs={"code": "loyalty-20"}), {"answer": "accept"}),
        (reverse("portal:settings"), {"language": "de"}),
        (reverse("portal:password"), {"password1": "a", "password2": "a"}),
    ]
    for url, data in posts:
        assert csrf_client.post(url, data).status_code == 403, url
    assert csrf_client.session[SESSION_KEY]  # still signed in: sign-out was refused too


def test_a_form_with_its_token_passes(csrf_client, case):
    page = csrf_client.get(reverse("portal:case", kwargs={"case_id": case.pk}))
    token = page.context["csrf_token"]
    response = csrf_client.post(
        reverse("portal:reply", kwargs={"case_id": case.pk}),
        {"text": "with token", "csrfmiddlewaretoken": str(token), "submission_id": "c" * 32},
    )
    assert response.status_code == 302


def test_no_portal_url_serves_another_customers_objects(portal, other, other_case, offer):
    theirs = InteractionFactory(customer=other, case=other_case, text="Otto's message")
    document = Attachment.objects.create(
        interaction=theirs,
        filename="otto.pdf",
        content_type="application/pdf",
        size_bytes=5,
        sha256=store_bytes(b"%PDF-"),
    )
    Offer = offer.__class__  # noqa: N806
    Offer.objects.filter(pk=offer.pk).update(eligibility='customer.segment == "vip"')
    other.segment = "vip"
    other.save()
    propose_offer(other, offer.code, channel="phone", actor=Actor.system("t"), case=other_case)
    gets = [
        reverse("portal:case", kwargs={"case_id": other_case.pk}),
        reverse("portal:attachment", kwargs={"attachment_id": document.pk}),
        reverse("portal:offer", kwargs={"code": offer.code}),
    ]
    for url in gets:
        response = portal.get(url)
        assert response.status_code == 404, url
        assert b"Otto" not in response.content
    assert (
        portal.post(
            reverse("portal:reply", kwargs={"case_id": other_case.pk}), {"text": "x"}
        ).status_code
        == 404
    )
    assert (
        portal.post(
            reverse("portal:offer", kwargs={"code": offer.code}),
            {"answer": "accept", "confirm": "yes"},
        ).status_code
        == 404
    )
    assert b"Otto" not in portal.get(reverse("portal:cases")).content
    assert b"Otto" not in portal.get(reverse("portal:offers")).content


def test_script_in_a_reply_is_shown_as_text_to_customer_and_agent(portal, client, case):
    portal.post(
        reverse("portal:reply", kwargs={"case_id": case.pk}),
        {"text": XSS, "submission_id": "d" * 32},
    )
    page = portal.get(reverse("portal:case", kwargs={"case_id": case.pk})).content.decode()
    assert XSS not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page

    agent_client = Client()
    agent_client.force_login(AgentFactory(teams=[case.queue.team]).user)
    desk = agent_client.get(reverse("web:case", kwargs={"case_id": case.pk})).content.decode()
    assert XSS not in desk
    assert "&lt;script&gt;" in desk


def test_script_in_case_data_and_subjects_is_escaped(portal, case):
    case.subject = XSS
    case.save()
    for url in (reverse("portal:cases"), reverse("portal:case", kwargs={"case_id": case.pk})):
        page = portal.get(url).content.decode()
        assert XSS not in page and "&lt;script&gt;" in page


def test_the_next_address_after_sign_in_stays_in_the_portal(client, customer):
    from casework.portal import signin

    client.get("/portal/cases/")  # remembers where the customer wanted to go
    session = client.session
    session["portal_next"] = "https://evil.example/steal"
    session.save()
    url = signin.issue_link(
        customer,
        to_address=LISA_EMAIL,
        client=signin.Client("1.1.1.1"),
        language="en",
        mailbox=None,
    )
    response = client.post("/" + url.split("://", 1)[1].partition("/")[2])
    assert response["Location"] == reverse("portal:cases")

"""Signing in: a single-use, expiring link by e-mail (the same answer for unknown
addresses), rate limits, the optional password, signing out, and the session's promise:
a portal customer is no agent, and an agent is no portal customer."""

from __future__ import annotations

import datetime as dt
import re
from email.header import decode_header, make_header

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from casework.channels.email.models import OutboundEmail
from casework.customers.merging import merge_customers
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.portal import signin, tokens
from casework.portal.models import SignInLink
from casework.portal.sessions import SESSION_KEY, signed_in_customer
from tests.factories import AgentFactory, CustomerFactory
from tests.portal.conftest import (
    LISA_EMAIL,
    delivered_mails,
    events,
    mail_body,
    sign_in_as,
)

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/portal/sign-in/([A-Za-z0-9_-]{43})/")


def ask_for_link(client: Client, email: str, **extra):  # noqa: ANN003, ANN201
    return client.post(reverse("portal:sign_in"), {"email": email}, **extra)


def link_from_outbox(outbox) -> str:  # noqa: ANN001
    (message,) = delivered_mails(outbox)
    return LINK.search(mail_body(message)).group(0)


def test_a_known_address_gets_a_link_by_mail_that_signs_in_once(client, customer, outbox):
    response = ask_for_link(client, " Lisa.Portal@Example.org ")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:link_sent")

    url = link_from_outbox(outbox)
    path = url.split("://", 1)[1].partition("/")[2]
    page = client.get("/" + path)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert client.session.get(SESSION_KEY) is None  # looking at the link does not use it

    signed = client.post("/" + path)
    assert signed.status_code == 302 and signed["Location"] == reverse("portal:cases")
    assert client.session[SESSION_KEY] == customer.pk
    assert client.get(reverse("portal:cases")).status_code == 200
    (event,) = events("portal.signed_in")
    assert event.payload["method"] == "link" and event.object_id == customer.pk
    assert event.payload["client_address"] == "127.0.0.1"

    again = Client().post("/" + path)
    assert again.status_code == 410
    assert "used already" in again.content.decode()


def test_the_link_is_stored_only_as_its_hash_and_hidden_from_the_timeline(customer, outbox):
    signin.request_sign_in_link(LISA_EMAIL, client=signin.Client("10.0.0.1"), language="en")
    token = LINK.search(OutboundEmail.objects.get().body_text).group(1)
    link = SignInLink.objects.get()
    assert link.token_sha256 == tokens.token_sha256(token)
    assert token not in str(SignInLink.objects.values_list().get())
    timeline = Interaction.objects.get(customer=customer, channel="email")
    assert token not in timeline.text and "[…]" in timeline.text
    assert events("portal.sign_in_link_sent")[0].payload["client_address"] == "10.0.0.1"


def test_the_mail_is_in_the_customers_language(customer, outbox):
    customer.language = "de"
    customer.save()
    signin.request_sign_in_link(LISA_EMAIL, client=signin.Client("10.0.0.1"), language="en")
    (message,) = delivered_mails(outbox)
    with translation.override("de"):
        expected = gettext("Your sign-in link for the customer portal")
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == expected
    assert LINK.search(mail_body(message))


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, customer, outbox):
    known = ask_for_link(client, LISA_EMAIL)
    unknown = ask_for_link(client, "nobody@example.org")
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert OutboundEmail.objects.count() == 1
    assert SignInLink.objects.count() == 1


def test_a_malformed_address_is_refused_with_a_message(client, customer):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 422
    assert "valid e-mail address" in response.content.decode()
    assert not SignInLink.objects.exists()


def test_an_expired_link_does_not_sign_in(client, customer, settings):
    settings.CASEWORK_PORTAL_LINK_MINUTES = 15
    start = clock.now()
    with clock.running_at(start):
        url = signin.issue_link(
            customer,
            to_address=LISA_EMAIL,
            client=signin.Client("1.2.3.4"),
            language="en",
            mailbox=None,
        )
    path = "/" + url.split("://", 1)[1].partition("/")[2]
    with clock.running_at(start + dt.timedelta(minutes=15, seconds=1)):
        response = client.post(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert SESSION_KEY not in client.session
    with clock.running_at(start + dt.timedelta(minutes=14)):
        assert client.post(path).status_code == 302


@pytest.mark.parametrize("token", ["abc", "x" * 43, "'+OR+1=1--", "a" * 42 + "!"])
def test_a_malformed_or_unknown_token_is_refused(client, customer, token):
    assert client.get(reverse("portal:link", kwargs={"token": token})).status_code == 410
    response = client.post(reverse("portal:link", kwargs={"token": token}))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_links_are_rate_limited_per_address(client, customer, outbox, settings):
    settings.CASEWORK_PORTAL_SIGN_IN_LIMIT = 5
    for _attempt in range(5):
        assert ask_for_link(client, LISA_EMAIL, REMOTE_ADDR="10.0.0.1").status_code == 302
    # Another client address, the same e-mail address: still refused.
    response = ask_for_link(client, LISA_EMAIL, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429
    assert "Too many sign-in requests" in response.content.decode()
    assert SignInLink.objects.count() == 5


def test_links_are_rate_limited_per_client_address_for_unknown_addresses_too(client, customer):
    for number in range(5):
        ask_for_link(client, f"probe{number}@example.org", REMOTE_ADDR="10.9.9.9")
    assert ask_for_link(client, LISA_EMAIL, REMOTE_ADDR="10.9.9.9").status_code == 429
    assert ask_for_link(client, LISA_EMAIL, REMOTE_ADDR="10.9.9.8").status_code == 302


def test_the_rate_limit_window_passes(customer, settings):
    start = clock.now()
    with clock.running_at(start):
        for _attempt in range(5):
            signin.request_sign_in_link(LISA_EMAIL, client=signin.Client("1.1.1.1"), language="en")
        with pytest.raises(signin.RateLimited):
            signin.request_sign_in_link(LISA_EMAIL, client=signin.Client("1.1.1.1"), language="en")
    with clock.running_at(start + dt.timedelta(minutes=16)):
        assert signin.request_sign_in_link(
            LISA_EMAIL, client=signin.Client("1.1.1.1"), language="en"
        )


def test_a_password_signs_in_once_it_is_set(client, portal, customer):
    response = portal.post(reverse("portal:password"), {"password1": "kurz", "password2": "kurz"})
    assert response.status_code == 422  # too short
    response = portal.post(
        reverse("portal:password"), {"password1": "Sommer-in-Tokyo-26", "password2": "anders-26x"}
    )
    assert response.status_code == 422
    assert "not the same" in response.content.decode()
    response = portal.post(
        reverse("portal:password"),
        {"password1": "Sommer-in-Tokyo-26", "password2": "Sommer-in-Tokyo-26"},
    )
    assert response.status_code == 302
    assert len(events("portal.password_set")) == 1
    assert "Sommer" not in str(events("portal.password_set")[0].payload)

    fresh = Client()
    wrong = fresh.post(
        reverse("portal:password_sign_in"), {"email": LISA_EMAIL, "password": "falsch-falsch"}
    )
    assert wrong.status_code == 422 and SESSION_KEY not in fresh.session
    unknown = fresh.post(
        reverse("portal:password_sign_in"),
        {"email": "nobody@example.org", "password": "Sommer-in-Tokyo-26"},
    )
    assert unknown.status_code == wrong.status_code
    assert "password is not right" in unknown.content.decode()
    assert "password is not right" in wrong.content.decode()
    right = fresh.post(
        reverse("portal:password_sign_in"),
        {"email": LISA_EMAIL, "password": "Sommer-in-Tokyo-26"},
    )
    assert right.status_code == 302 and fresh.session[SESSION_KEY] == customer.pk
    assert events("portal.signed_in")[-1].payload["method"] == "password"


def test_password_tries_are_rate_limited(client, customer):
    signin.set_password(customer, "Sommer-in-Tokyo-26", "Sommer-in-Tokyo-26")
    for _attempt in range(5):
        client.post(
            reverse("portal:password_sign_in"), {"email": LISA_EMAIL, "password": "wrong-one-1"}
        )
    response = client.post(
        reverse("portal:password_sign_in"),
        {"email": LISA_EMAIL, "password": "Sommer-in-Tokyo-26"},
    )
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_signing_out_ends_the_portal_session(portal, customer):
    response = portal.post(reverse("portal:sign_out"))
    assert response.status_code == 302
    assert SESSION_KEY not in portal.session
    assert portal.get(reverse("portal:cases")).status_code == 302
    assert len(events("portal.signed_out")) == 1


def test_pages_need_a_signed_in_customer(client, customer, case):
    for name, kwargs in (
        ("portal:cases", {}),
        ("portal:case", {"case_id": case.pk}),
        ("portal:offers", {}),
        ("portal:requests", {}),
        ("portal:settings", {}),
    ):
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:sign_in")


def test_a_portal_session_makes_nobody_an_agent(portal):
    response = portal.get(reverse("web:my_work"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_agent_session_gives_no_portal_access(client, db):
    agent = AgentFactory()
    client.force_login(agent.user)
    assert client.get(reverse("web:my_work")).status_code == 200
    assert client.get(reverse("portal:cases")).status_code == 302


def test_signed_in_customer_follows_a_merge_and_forgets_a_missing_customer(rf, customer):
    survivor = CustomerFactory()
    with clock.running_at(clock.now()):
        merge_customers(survivor, customer, actor=Actor.system("test"))
    request = rf.get("/portal/")
    request.session = Client().session
    request.session[SESSION_KEY] = customer.pk
    assert signed_in_customer(request) == survivor
    assert request.session[SESSION_KEY] == survivor.pk

    gone = rf.get("/portal/")
    gone.session = Client().session
    gone.session[SESSION_KEY] = 987654321
    assert signed_in_customer(gone) is None
    assert SESSION_KEY not in gone.session

    anybody = rf.get("/portal/")
    anybody.session = Client().session
    assert signed_in_customer(anybody) is None


def test_the_session_key_changes_at_sign_in(client, customer):
    client.get(reverse("portal:sign_in"))
    client.session.save()
    before = client.session.session_key
    url = signin.issue_link(
        customer,
        to_address=LISA_EMAIL,
        client=signin.Client("1.2.3.4"),
        language="en",
        mailbox=None,
    )
    client.post("/" + url.split("://", 1)[1].partition("/")[2])
    assert client.session.session_key != before


def test_the_sign_in_page_speaks_german(client, db):
    response = client.get(reverse("portal:sign_in"), HTTP_ACCEPT_LANGUAGE="de")
    assert response["Content-Language"] == "de"
    client.post(reverse("portal:language"), {"language": "en", "next": "/portal/sign-in/"})
    assert client.get(reverse("portal:sign_in"))["Content-Language"] == "en"


def test_the_signed_in_customer_sees_pages_in_their_language(client, customer):
    customer.language = "de"
    customer.save()
    response = sign_in_as(client, customer).get(reverse("portal:cases"))
    assert response["Content-Language"] == "de"
    assert "no-store" in response["Cache-Control"]

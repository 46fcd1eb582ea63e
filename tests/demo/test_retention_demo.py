"""The retention journeys on the demo data: Lisa's campaign mail and her answer on the web,
a response card from the demo's own letters printed, ticked, scanned and read back, a sales
partner's order earning its commission, and a tampered ledger row found."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from casework.api.tokens import create_token
from casework.cases.models import Case
from casework.channels.email.models import OutboundEmail
from casework.customers.models import Customer
from casework.demo import retention as demo_retention
from casework.demo.loading import load_demo
from casework.kernel.actors import Actor
from casework.partners.models import CommissionEntry
from casework.retention import campaigns, scans
from casework.retention.models import Campaign, Response
from tests.engine import run_jobs
from tests.partners.factories import tamper
from tests.retention.printing import Scanner, encode, render_page, scan, tick

pytestmark = pytest.mark.django_db
MAILROOM = Actor.system("mailroom")


@pytest.fixture
def demo(settings):  # noqa: ANN001, ANN201
    settings.CASEWORK_FEDERAL_STATE = "NW"
    load_demo(generated_customers=60, progress=lambda line: None)


def test_lisa_gets_her_offer_by_mail_and_accepts_it_on_the_web(demo):
    campaigns.send_due()
    lisa = Customer.objects.get(customer_number="K10000002")
    mail = OutboundEmail.objects.get(kind="campaign", to_address="lisa.schneider@example.org")
    assert "Option Welt" in mail.body_text
    link = re.search(r"https?://\S+/r/(\w+)", mail.body_text).group(0)
    assert link == demo_retention.lisa_link()
    path = link.split("8000", 1)[-1]

    Client().get(path + "/o.gif")  # she opens the mail
    Client().post(path, {"choice": "accept"})
    run_jobs()

    response = Response.objects.get(customer=lisa)
    case = Case.objects.get(pk=response.case_id)
    assert response.outcome == "ordered" and case.stage == "offer-accepted"
    assert "international-tariffs" in set(lisa.interests.values_list("tag", flat=True))
    assert OutboundEmail.objects.filter(case=case, kind="notification").exists()


def test_a_card_from_the_demos_letters_is_scanned_and_processed(demo):
    campaign = Campaign.objects.get(code=demo_retention.LETTER_CAMPAIGN)
    pdf, count = campaigns.print_letters(campaign, limit=1)
    assert count == 1
    page = tick(render_page(pdf, page_index=0), "accept")
    image = scan(page, Scanner(rotate=2.5, noise=6, blur=0.8, perspective=0.01, seed=7))

    results = scans.receive_scan(encode(image, "jpeg"), filename="karte.jpg", actor=MAILROOM)
    run_jobs()

    response = results[0].response
    assert response.outcome == "ordered", response.reason_text
    assert Case.objects.get(pk=response.case_id).stage == "offer-accepted"
    again = scans.receive_scan(encode(image, "jpeg"), filename="karte.jpg", actor=MAILROOM)
    assert again[0].response is None  # the same file twice: nothing new


def test_a_partner_order_earns_a_commission_and_a_tampered_row_is_found(demo, capsys):
    token = create_token(demo_retention.PARTNER_USER)
    customer = Customer.objects.get(customer_number="K10000002")
    answer = Client().post(
        "/api/v1/partner/orders",
        json.dumps(
            {
                "order": "MS-1",
                "customer_number": customer.customer_number,
                "offer": "international-option",
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    run_jobs()
    assert answer.status_code == 201, answer.content
    entry = CommissionEntry.objects.get(order_reference="MS-1")
    assert entry.partner.code == demo_retention.PARTNER_CODE

    call_command("ledger", "verify")
    capsys.readouterr()  # intact: no exit
    tamper("UPDATE partners_commissionentry SET amount = 300 WHERE seq = %s", [entry.seq])
    with pytest.raises(SystemExit):
        call_command("ledger", "verify")
    assert f"{entry.seq}" in capsys.readouterr().err

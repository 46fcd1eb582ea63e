"""Partners read their own statements through the API, and only their own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from casework.api.tokens import create_token
from casework.kernel import clock
from casework.kernel.actors import Actor, Role
from casework.partners import services
from tests.factories import AgentFactory, UserFactory
from tests.partners.factories import PartnerAccountFactory, PartnerFactory

pytestmark = pytest.mark.django_db

ORDERS = Actor.system("orders")


class Caller:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params):  # noqa: ANN003, ANN201
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)


@pytest.fixture
def ledger():  # noqa: ANN201
    mine = PartnerFactory(code="mine", name="Mein Shop")
    theirs = PartnerFactory(code="theirs")
    with clock.running_at(dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)):
        services.record_commission(mine, "M-1", "row-1", "10.00", ORDERS)
        services.record_commission(theirs, "T-1", "row-1", "99.00", ORDERS)
        services.record_commission(mine, "M-2", "row-2", "2.50", ORDERS)
    return mine, theirs


@pytest.fixture
def partner(ledger) -> Caller:  # noqa: ANN001
    account = PartnerAccountFactory(partner=ledger[0])
    return Caller(create_token(account.user.username))


@pytest.fixture
def admin() -> Caller:
    return Caller(create_token(AgentFactory(role=Role.ADMIN).user.username))


def test_a_partner_reads_its_own_statement(partner, ledger):  # noqa: ANN001
    response = partner.get("/partner/statements", month="2026-11")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["partner"] == {"code": "mine", "name": "Mein Shop", "sandbox": False}
    assert [e["order_reference"] for e in body["entries"]] == ["M-1", "M-2"]
    assert [e["amount"] for e in body["entries"]] == ["10.00", "2.50"]
    assert body["totals"] == {
        "commission_count": 2,
        "commissions": "12.50",
        "reversal_count": 0,
        "reversals": "0.00",
        "net": "12.50",
    }
    assert body["chain"] == {"seq": 3, "hash": body["entries"][-1]["hash"]}
    assert body["head"]["seq"] == 3 and body["currency"] == "EUR"
    assert body["period_start"].startswith("2026-11-01T00:00:00+01:00")


def test_a_partner_downloads_csv_and_pdf(partner, ledger):  # noqa: ANN001
    chain_hash = partner.get("/partner/statements", month="2026-11").json()["chain"]["hash"]

    csv = partner.get("/partner/statements/2026-11.csv")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert 'filename="commissions-mine-2026-11.csv"' in csv["Content-Disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf") and chain_hash.encode() in csv.content
    assert b"T-1" not in csv.content
    pdf = partner.get("/partner/statements/2026-11.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and chain_hash.encode() in pdf.content
    assert pdf["X-Ledger-Chain-Hash"] == chain_hash


def test_a_partner_cannot_read_another_partners_statement(partner, ledger):  # noqa: ANN001
    own = partner.get("/partners/mine/statements", month="2026-11")
    assert own.status_code == 200
    for path in (
        "/partners/theirs/statements?month=2026-11",
        "/partners/theirs/statements/2026-11.csv",
        "/partners/theirs/statements/2026-11.pdf",
        "/partners/nobody/statements?month=2026-11",
    ):
        response = partner.client.get(f"/api/v1{path}", headers=partner.headers)
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"
        assert b"T-1" not in response.content


def test_a_partner_sees_its_order_and_is_refused_another_partners(partner, ledger):  # noqa: ANN001
    own = partner.get("/partner/commissions", order="M-1")
    assert own.status_code == 200
    assert [(e["seq"], e["amount"]) for e in own.json()] == [(1, "10.00")]
    assert partner.get("/partner/commissions", order="T-1").status_code == 403
    assert partner.get("/partner/commissions", order="X-9").status_code == 404


def test_administrators_read_any_partners_statement(admin, ledger):  # noqa: ANN001
    response = admin.get("/partners/theirs/statements", month="2026-11")
    assert response.status_code == 200
    assert [e["order_reference"] for e in response.json()["entries"]] == ["T-1"]
    assert admin.get("/partners/theirs/statements/2026-11.pdf").status_code == 200
    assert admin.get("/partners/nobody/statements", month="2026-11").status_code == 404
    # Agents are no partners.
    assert admin.get("/partner/statements", month="2026-11").status_code == 403


def test_agents_who_are_not_administrators_read_no_statements(ledger):  # noqa: ANN001
    agent = Caller(create_token(AgentFactory(role=Role.SUPERVISOR).user.username))
    assert agent.get("/partners/mine/statements", month="2026-11").status_code == 403


def test_without_a_partner_account_or_token_there_is_no_statement(ledger):  # noqa: ANN001
    plain_user = Caller(create_token(UserFactory(username="someone").username))
    assert plain_user.get("/partner/statements", month="2026-11").status_code == 401
    assert Caller(None).get("/partner/statements", month="2026-11").status_code == 401
    # Nor do a partner's users reach the internal API.
    account = PartnerAccountFactory(partner=ledger[0])
    partner_user = Caller(create_token(account.user.username))
    assert partner_user.get("/customers/1").status_code == 401


def test_an_inactive_partners_users_are_shut_out(partner, ledger):  # noqa: ANN001
    ledger[0].is_active = False
    ledger[0].save()
    assert partner.get("/partner/statements", month="2026-11").status_code == 401


def test_a_malformed_month_is_refused(partner):  # noqa: ANN001
    response = partner.get("/partner/statements", month="11/2026")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "month"
    assert partner.get("/partner/statements/2026-13.csv").status_code == 422

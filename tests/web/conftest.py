"""A small installation for the agent desktop: team A (the signed-in agent's team, which
receives e-mail, phone and chat), team B (another department), and a customer whose
contacts arrived on three channels through the intake pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client

from casework.cases.models import Case
from casework.customers.models import Customer
from casework.intake.services import ingest
from casework.routing.models import Agent
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CaseTypeFactory,
    ChannelDefaultFactory,
    ConsentFactory,
    ContractFactory,
    IdentifierFactory,
    InterestFactory,
    PaymentMethodFactory,
    ProductFactory,
    QueueFactory,
    TaskFactory,
    TeamFactory,
    inbound,
)

# 14:30 in Berlin (winter time, UTC+1).
CALL_AT = dt.datetime(2026, 11, 25, 13, 30, tzinfo=dt.UTC)


@pytest.fixture
def other_team_case(db) -> Case:  # noqa: ANN001
    """A case in team B's queue, with an open task there."""
    queue = QueueFactory(code="billing-b", team=TeamFactory(code="billing"))
    case = CaseFactory(
        case_type=CaseTypeFactory(code="invoice-b", default_queue=queue),
        subject="Rückfrage Rechnung Team B",
    )
    TaskFactory(case=case)
    return case


@pytest.fixture
def signed_in(client: Client, agent: Agent) -> Client:
    client.force_login(agent.user)
    return client


@dataclass
class Helmut:
    customer: Customer
    case: Case


@pytest.fixture
def helmut(email_intake) -> Helmut:  # noqa: ANN001
    """Helmut wrote an e-mail, called and chatted; all three contacts are on one case
    (the reference travels in the subject), in team A's queue."""
    for channel in ("phone", "chat"):
        ChannelDefaultFactory(channel=channel, case_type=email_intake.case_type)
    customer = IdentifierFactory(
        kind="email",
        value="helmut@example.de",
        customer__first_name="Helmut",
        customer__last_name="Berger",
        customer__customer_number="K00004711",
    ).customer
    IdentifierFactory(customer=customer, kind="phone", value="+49301234567")
    # create_customer() registers the number as an identifier; so does this fixture.
    IdentifierFactory(customer=customer, kind="customer_number", value="K00004711")
    first = ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="helmut@example.de",
            received_at=CALL_AT - dt.timedelta(days=2),
            subject="Frage zum Tarif",
            text="Brauche ich das Datenvolumen?",
        )
    )
    reference = first.case.reference
    ingest(
        inbound(
            "phone",
            sender_kind="phone",
            sender="030 1234567",
            received_at=CALL_AT - dt.timedelta(days=1),
            subject=f"Anruf zu {reference}",
            text="Ruft wegen des Tarifs an.",
        )
    )
    ingest(
        inbound(
            "chat",
            sender_kind="email",
            sender="helmut@example.de",
            received_at=CALL_AT,
            subject=f"Chat {reference}",
            text="Ist der Vertrag schon geändert?",
        )
    )
    ContractFactory(
        customer=customer,
        product=ProductFactory(code="voice-s", name_de="Sprache S", name_en="Voice S"),
        monthly_fee="19.99",
        start_date=dt.date(2026, 11, 1),
    )
    PaymentMethodFactory(customer=customer, kind="standing_order")
    ConsentFactory(customer=customer, purpose="marketing_letter", is_granted=True)
    InterestFactory(customer=customer, tag="festnetz")
    return Helmut(customer=customer, case=Case.objects.get(pk=first.case.pk))


@pytest.fixture
def supervisor(agent: Agent) -> Agent:
    return AgentFactory(role="supervisor", teams=list(agent.teams.all()))


@pytest.fixture
def colleague(agent: Agent) -> Agent:
    return AgentFactory(teams=list(agent.teams.all()), user__first_name="Kim")

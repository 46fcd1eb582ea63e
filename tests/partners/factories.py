"""Partners, their users and ledger entries for the tests."""

from __future__ import annotations

import factory
from django.db import connection

from casework.kernel.actors import Actor, ActorKind, Role
from casework.partners.models import Partner, PartnerAccount
from tests.factories import UserFactory


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.LazyAttribute(lambda o: f"Vertriebspartner {o.code}")


class PartnerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerAccount

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"partner-user{n}"))
    partner = factory.SubFactory(PartnerFactory)


def supervisor(name: str, agent_id: int) -> Actor:
    return Actor(kind=ActorKind.AGENT, id=agent_id, label=f"agent:{name}", role=Role.SUPERVISOR)


def tamper(statement: str, params: list | tuple = ()) -> None:
    """Change the ledger behind the application's back. PostgreSQL's trigger refuses that,
    so there a superuser switches triggers off for the statement (as a replica does)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")

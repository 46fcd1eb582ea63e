"""Test data with sensible defaults: a test names only what it is about."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from casework.cases.models import Case, CaseType, ResolutionCode, Task
from casework.customers.models import (
    Consent,
    Contract,
    Customer,
    CustomerIdentifier,
    Interest,
    PaymentMethod,
    Product,
)
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.models import ChannelDefault
from casework.interactions.models import Interaction
from casework.kernel.actors import Role
from casework.routing.models import Agent, Queue, Team


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"team-{n}")
    name_de = factory.LazyAttribute(lambda o: f"Team {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Team {o.code}")


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"queue-{n}")
    name_de = factory.LazyAttribute(lambda o: f"Warteschlange {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Queue {o.code}")
    team = factory.SubFactory(TeamFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-password")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN201
        if create:
            self.save()


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.AGENT

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN201
        if create and extracted:
            self.teams.set(extracted)


class CaseTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"case-type-{n}")
    name_de = "Anliegen"
    name_en = "Request"
    service_type = "support"
    default_queue = factory.SubFactory(QueueFactory)


class ResolutionCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResolutionCode
        django_get_or_create = ("code",)

    code = "answered"
    name_de = "Beantwortet"
    name_en = "Answered"


class ChannelDefaultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelDefault
        django_get_or_create = ("channel",)

    channel = "email"
    case_type = factory.SubFactory(CaseTypeFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_number = factory.Sequence(lambda n: f"T{n:08d}")
    first_name = "Erika"
    last_name = factory.Sequence(lambda n: f"Mustermann{n}")
    birth_date = dt.date(1980, 5, 17)
    city = "Berlin"


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIdentifier

    customer = factory.SubFactory(CustomerFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"customer{n}@example.de")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = "mobil-m"
    kind = "tariff"
    name_de = "Mobil M"
    name_en = "Mobile M"
    monthly_fee = "19.99"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    reference = factory.Sequence(lambda n: f"CW-2026-{n + 500000:06d}")
    case_type = factory.SubFactory(CaseTypeFactory)
    service_type = "support"
    customer = factory.SubFactory(CustomerFactory)
    queue = factory.LazyAttribute(lambda o: o.case_type.default_queue)
    subject = "Frage zur Rechnung"
    last_activity_at = factory.LazyFunction(timezone.now)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    case = factory.SubFactory(CaseFactory)
    queue = factory.LazyAttribute(lambda o: o.case.queue)
    title = "Bearbeiten"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    direction = "inbound"
    occurred_at = factory.LazyFunction(timezone.now)
    subject = "Hallo"
    text = "Text"


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    customer = factory.SubFactory(CustomerFactory)
    contract_number = factory.Sequence(lambda n: f"V-TEST-{n:06d}")
    product = factory.SubFactory(ProductFactory)
    status = "active"
    start_date = dt.date(2025, 1, 1)
    monthly_fee = factory.LazyAttribute(lambda o: o.product.monthly_fee)


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    customer = factory.SubFactory(CustomerFactory)
    kind = "direct_debit"
    is_default = True
    account_holder = "Erika Mustermann"
    iban = "DE89370400440532013000"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    purpose = "marketing_email"
    is_granted = True
    source = "portal"
    recorded_at = factory.LazyFunction(timezone.now)


class InterestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interest

    customer = factory.SubFactory(CustomerFactory)
    tag = "5g"
    source = "campaign"
    recorded_at = factory.LazyFunction(timezone.now)


_message_ids = itertools.count(1)


def inbound(
    channel: str,
    *,
    sender_kind: str,
    sender: str,
    received_at: dt.datetime,
    subject: str = "",
    text: str = "",
    sender_name: str = "",
    **kwargs: object,
) -> InboundMessage:
    """A message as a channel adapter would hand it to `intake.services.ingest`."""
    return InboundMessage(
        channel=channel,
        external_id=f"{channel}-test-{next(_message_ids)}",
        received_at=received_at,
        sender=(SenderIdentifier(sender_kind, sender),),
        sender_name=sender_name,
        subject=subject,
        text=text,
        **kwargs,  # type: ignore[arg-type]  # the remaining InboundMessage fields
    )


# --- Routing -------------------------------------------------------------------------------------

from casework.routing.models import AgentSkill, RoutingRule, RoutingRuleSkill, Skill  # noqa: E402


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"skill-{n}")
    kind = "topic"
    name_de = factory.LazyAttribute(lambda o: o.code)
    name_en = factory.LazyAttribute(lambda o: o.code)


class AgentSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSkill

    agent = factory.SubFactory(AgentFactory)
    skill = factory.SubFactory(SkillFactory)
    proficiency = 5


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    order = factory.Sequence(lambda n: 100 + n)
    name = factory.Sequence(lambda n: f"rule {n}")
    queue = factory.SubFactory(QueueFactory)


class RoutingRuleSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRuleSkill

    rule = factory.SubFactory(RoutingRuleFactory)
    skill = factory.SubFactory(SkillFactory)
    min_level = 1
    is_required = True

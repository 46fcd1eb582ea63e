"""A confidently recognised topic sends a new message to the case type (and queue) the
installation's rule names — for one mailbox's default case type, or for all."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from casework.classify.services import train_version
from casework.classify.sources import read_labelled_csv
from casework.intake.models import TopicRoute
from casework.intake.services import forget_cached_defaults, ingest
from casework.kernel.actors import Actor
from tests.factories import CaseTypeFactory, QueueFactory, inbound

pytestmark = pytest.mark.django_db

MESSAGES = Path(__file__).resolve().parents[2] / "src/casework/demo/demo_data/messages.csv"
BILLING = "Hallo, Sie haben am 3. März doppelt abgebucht. Bitte prüfen. Viele Grüße"


@pytest.fixture
def topic_model(db):  # noqa: ANN001, ANN201
    source = read_labelled_csv(
        MESSAGES, text_column="text", label_column="topic", language_column="language"
    )
    return train_version("topic", source, actor=Actor.system("test"), trained_by="test")


def mail(text: str, **fields):  # noqa: ANN003, ANN201
    return inbound(
        "email",
        sender_kind="email",
        sender="kunde@example.de",
        received_at=timezone.now(),
        subject="Frage",
        text=text,
        **fields,
    )


def test_a_recognised_topic_opens_the_case_type_of_its_rule(email_intake, topic_model):
    billing = CaseTypeFactory(code="billing-question")
    queue = QueueFactory(code="billing")
    TopicRoute.objects.create(topic="topic-billing", case_type=billing, queue=queue)
    forget_cached_defaults()

    routed = ingest(mail(BILLING))
    other = ingest(mail("Seit 3 Tagen habe ich kein Netz. Gruß"))

    assert (routed.case.case_type, routed.case.queue) == (billing, queue)
    assert routed.interaction.payload["topic_route"] == {
        "topic": "topic-billing",
        "case_type": "billing-question",
    }
    assert other.case.case_type == email_intake.case_type  # no rule for its topic


def test_a_rule_for_one_default_case_type_leaves_the_others_alone(email_intake, topic_model):
    billing = CaseTypeFactory(code="billing-question")
    elsewhere = CaseTypeFactory(code="member-request")
    TopicRoute.objects.create(topic="topic-billing", from_case_type=elsewhere, case_type=billing)
    forget_cached_defaults()

    result = ingest(mail(BILLING))

    assert result.case.case_type == email_intake.case_type
    assert result.case.queue == email_intake.case_type.default_queue


def test_without_a_queue_the_rule_uses_its_case_types_own(email_intake, topic_model):
    billing = CaseTypeFactory(code="billing-question")
    TopicRoute.objects.create(topic="topic-billing", case_type=billing)
    forget_cached_defaults()

    result = ingest(mail(BILLING))

    assert result.case.case_type == billing and result.case.queue == billing.default_queue


def test_an_inactive_rule_does_nothing(email_intake, topic_model):
    TopicRoute.objects.create(
        topic="topic-billing", case_type=CaseTypeFactory(code="x"), is_active=False
    )
    forget_cached_defaults()

    assert ingest(mail(BILLING)).case.case_type == email_intake.case_type

"""New messages arrive categorised; unsure ones go to triage; corrections are learned."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.cases.models import Case
from casework.classify.models import Correction
from casework.classify.services import train_version
from casework.classify.sources import read_labelled_csv
from casework.intake.services import ingest
from casework.kernel.actors import Actor
from tests.factories import AgentFactory, QueueFactory, inbound

pytestmark = pytest.mark.django_db

DEMO_EXAMPLES = Path(__file__).resolve().parents[2] / "src/casework/demo/demo_data/service_type.csv"
COMPLAINT = (
    "Ich bin sehr verärgert, die Rechnung ist schon wieder falsch! Ich verlange eine Erstattung."
)


@pytest.fixture
def service_type_model(db):  # noqa: ANN001, ANN201
    source = read_labelled_csv(
        DEMO_EXAMPLES, text_column="text", label_column="service_type", language_column="language"
    )
    return train_version("service_type", source, actor=Actor.system("test"), trained_by="test")


def mail(text: str):  # noqa: ANN201
    return inbound(
        "email",
        sender_kind="email",
        sender="kunde@example.de",
        received_at=timezone.now(),
        subject="Rechnung",
        text=text,
    )


def test_a_new_message_is_categorised_and_a_confident_service_type_is_used(
    email_intake, service_type_model
):
    result = ingest(mail(COMPLAINT))

    found = result.interaction.payload["classification"]
    assert found["service_type"]["label"] == "complaint"
    assert found["service_type"]["is_confident"] and found["service_type"]["version"] == 1
    assert found["language"]["label"] == "de"
    assert result.case.service_type == "complaint"


def test_an_unsure_classifier_sends_the_new_case_to_triage(
    email_intake, service_type_model, settings
):
    triage = QueueFactory(code="triage", team=email_intake.case_type.default_queue.team)
    settings.CASEWORK_TRIAGE_QUEUE = "triage"

    result = ingest(mail("🙂 👍"))  # nothing a classifier could read

    assert result.interaction.payload["classification"]["service_type"]["is_confident"] is False
    assert result.case.queue == triage
    assert result.case.service_type == email_intake.case_type.service_type  # not guessed


def test_without_trained_models_only_the_language_is_recognised(email_intake):
    result = ingest(mail("Please help me with my invoice."))

    assert set(result.interaction.payload["classification"]) == {"language"}
    assert result.interaction.payload["classification"]["language"]["label"] == "en"


def test_an_agent_corrects_the_service_type_and_the_correction_is_kept_for_training(
    email_intake, service_type_model, client: Client
):
    result = ingest(mail(COMPLAINT))
    agent = AgentFactory(teams=[result.case.queue.team])
    client.force_login(agent.user)
    url = reverse("web:case", kwargs={"case_id": result.case.pk})
    page = client.get(url).content.decode()
    assert "Service type: <strong>Complaint</strong> 100 %" in page

    client.post(reverse("web:case_service_type", args=[result.case.pk]), {"service_type": "advice"})

    assert Case.objects.get(pk=result.case.pk).service_type == "advice"
    correction = Correction.objects.get()
    assert (correction.old_label, correction.new_label) == ("complaint", "advice")
    assert correction.interaction_id == result.interaction.pk

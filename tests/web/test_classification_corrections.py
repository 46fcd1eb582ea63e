"""On the case screen an agent corrects the topic, urgency and sentiment the classifiers gave
the case's first message; each correction is kept as a training example for the next
retraining, and the screen shows the corrected label from then on."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from casework.classify.models import Correction
from casework.classify.services import retrain, train_version
from casework.classify.sources import read_labelled_csv
from casework.events.models import Event
from casework.intake.classification import forget_active_tasks
from casework.intake.services import ingest
from casework.kernel.actors import Actor
from tests.factories import AgentFactory, SkillFactory, TeamFactory, inbound

pytestmark = pytest.mark.django_db

MESSAGES = Path(__file__).resolve().parents[2] / "src/casework/demo/demo_data/messages.csv"
# A member's mail like the demo's: royalties, urgent, annoyed.
TEXT = (
    "Meine Ausschüttung für das letzte Quartal fehlt komplett, das ist eine Frechheit! "
    "Bitte klären Sie das noch heute, es ist dringend."
)


@pytest.fixture
def models(db):  # noqa: ANN001, ANN201
    for task in ("topic", "urgency", "sentiment"):
        source = read_labelled_csv(
            MESSAGES, text_column="text", label_column=task, language_column="language"
        )
        train_version(task, source, actor=Actor.system("test"), trained_by="test")
    forget_active_tasks()


@pytest.fixture
def case(email_intake, models):  # noqa: ANN001, ANN201
    SkillFactory(code="topic-royalties", name_de="Ausschüttung", name_en="Royalties")
    SkillFactory(code="topic-billing", name_de="Rechnung", name_en="Billing")
    result = ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="mitglied@example.de",
            received_at=timezone.now(),
            subject="Ausschüttung",
            text=TEXT,
        )
    )
    return result.case


@pytest.fixture
def signed_in_agent(client: Client, case) -> Client:  # noqa: ANN001
    client.force_login(AgentFactory(teams=[case.queue.team], user__username="anna").user)
    return client


def summary(client: Client, case) -> str:  # noqa: ANN001
    return client.get(reverse("web:case", args=[case.pk])).content.decode()


def test_the_case_screen_shows_the_recognised_labels_and_offers_to_correct_them(
    case, signed_in_agent: Client
):
    classified = case.interactions.get().payload["classification"]
    assert classified["topic"]["label"] == "topic-royalties"

    page = summary(signed_in_agent, case)

    for task in ("topic", "urgency", "sentiment"):
        assert reverse("web:case_classification", args=[case.pk, task]) in page
        assert f'name="{task}-label"' in page
    assert "Correct topic" in page and "Correct urgency" in page and "Correct sentiment" in page
    assert '<option value="topic-billing">Billing</option>' in page
    assert '<option value="topic-royalties" selected>Royalties</option>' in page


@pytest.mark.parametrize(
    ("task", "new_label", "message"),
    [
        ("topic", "topic-billing", "Topic corrected"),
        ("urgency", "low", "Urgency corrected"),
        ("sentiment", "positive", "Sentiment corrected"),
    ],
)
def test_an_agent_corrects_a_label_and_the_correction_is_kept_for_training(
    case, signed_in_agent: Client, task: str, new_label: str, message: str
):
    before = case.interactions.get().payload["classification"][task]["label"]
    assert before != new_label

    response = signed_in_agent.post(
        reverse("web:case_classification", args=[case.pk, task]),
        {f"{task}-label": new_label},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "corrected by anna" in body
    correction = Correction.objects.get()
    assert correction.task.name == task
    assert (correction.old_label, correction.new_label) == (before, new_label)
    assert correction.text == TEXT
    assert correction.interaction_id == case.interactions.get().pk
    assert correction.actor_label == "agent:anna"
    assert Event.objects.filter(code="classifier.correction_recorded").count() == 1


def test_a_second_correction_starts_from_the_first(case, signed_in_agent: Client):
    url = reverse("web:case_classification", args=[case.pk, "topic"])
    signed_in_agent.post(url, {"topic-label": "topic-billing"})
    response = signed_in_agent.post(url, {"topic-label": "topic-licensing"})

    assert response.status_code == 302
    _first, second = Correction.objects.order_by("pk")
    assert (second.old_label, second.new_label) == ("topic-billing", "topic-licensing")
    with translation.override("en"):
        page = summary(signed_in_agent, case)
    assert '<option value="topic-licensing" selected>' in page


def test_the_correction_is_what_the_next_retraining_learns(case, signed_in_agent: Client):
    signed_in_agent.post(
        reverse("web:case_classification", args=[case.pk, "urgency"]), {"urgency-label": "low"}
    )

    outcome = retrain("urgency", actor=Actor.system("test"), trained_by="test")

    assert outcome.new_corrections == 1
    assert outcome.candidate is not None


def test_a_label_the_model_does_not_know_is_refused(case, signed_in_agent: Client):
    response = signed_in_agent.post(
        reverse("web:case_classification", args=[case.pk, "sentiment"]),
        {"sentiment-label": "furious"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    assert "field-invalid" in response.content.decode()
    assert not Correction.objects.exists()


def test_the_same_label_again_is_refused(case, signed_in_agent: Client):
    current = case.interactions.get().payload["classification"]["urgency"]["label"]

    response = signed_in_agent.post(
        reverse("web:case_classification", args=[case.pk, "urgency"]),
        {"urgency-label": current},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    assert "is the label it had" in response.content.decode()
    assert not Correction.objects.exists()


def test_only_topic_urgency_and_sentiment_are_corrected_here(case, signed_in_agent: Client):
    response = signed_in_agent.post(
        reverse("web:case_classification", args=[case.pk, "language"]), {"language-label": "en"}
    )

    assert response.status_code == 404
    assert not Correction.objects.exists()


def test_an_agent_of_another_team_cannot_correct(case, client: Client):
    client.force_login(AgentFactory(teams=[TeamFactory(code="elsewhere")]).user)

    response = client.post(
        reverse("web:case_classification", args=[case.pk, "topic"]),
        {"topic-label": "topic-billing"},
    )

    assert response.status_code == 404
    assert not Correction.objects.exists()


def test_without_a_trained_model_nothing_is_offered(email_intake, client: Client):
    result = ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="kunde@example.de",
            received_at=timezone.now(),
            subject="Frage",
            text="Wie hoch ist meine Rechnung?",
        )
    )
    client.force_login(AgentFactory(teams=[result.case.queue.team]).user)

    page = summary(client, result.case)

    assert "Correct topic" not in page
    response = client.post(
        reverse("web:case_classification", args=[result.case.pk, "topic"]),
        {"topic-label": "topic-billing"},
    )
    assert response.status_code == 404

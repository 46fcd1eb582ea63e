"""What the classifiers say about an inbound message, and where that sends it.

Each configured task (`CASEWORK_CLASSIFY_TASKS`) with an active model labels the message
with a calibrated confidence; the language is always recognised. The results are kept on
the interaction for the agent to see. A confident service type becomes the new case's
service type; when a task the installation relies on is unsure, the new case goes to the
triage queue (`CASEWORK_TRIAGE_QUEUE`) for a person instead of being guessed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from casework.cases.models import Case, ServiceType
from casework.cases.services import CaseChanges, update_case
from casework.classify.models import ModelVersion
from casework.classify.prediction import LANGUAGE_TASK, NoActiveModel, classify_text
from casework.classify.services import record_correction
from casework.events.services import recording_transaction
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput


@dataclass(frozen=True)
class Classified:
    results: dict[str, dict[str, Any]]  # task → label, confidence, is_confident, version
    is_uncertain: bool  # some task with a model could not decide

    def confident_label(self, task: str) -> str | None:
        result = self.results.get(task)
        return result["label"] if result and result["is_confident"] else None


# Which tasks have an active model changes rarely and is asked for every message: each
# process remembers it for a few seconds.
_ACTIVE_TTL_SECONDS = 10.0
_active: tuple[float, frozenset[str]] | None = None


def forget_active_tasks() -> None:
    """After training or activating a model in this process (tests, the admin)."""
    global _active
    _active = None


def _tasks_to_run() -> list[str]:
    global _active
    if _active is None or time.monotonic() - _active[0] > _ACTIVE_TTL_SECONDS:
        names = ModelVersion.objects.filter(is_active=True).values_list("task__name", flat=True)
        _active = (time.monotonic(), frozenset(names))
    # The language is recognised without a trained model, too.
    return [
        task
        for task in settings.CASEWORK_CLASSIFY_TASKS
        if task in _active[1] or task == LANGUAGE_TASK
    ]


def classify_message(text: str) -> Classified:
    results: dict[str, dict[str, Any]] = {}
    uncertain = False
    for task in _tasks_to_run():
        try:
            prediction = classify_text(task, text)
        except NoActiveModel:
            continue  # deactivated a moment ago
        results[task] = {
            "label": prediction.label,
            "confidence": round(prediction.confidence, 3),
            "is_confident": prediction.is_confident,
            "version": prediction.model_version,
        }
        if prediction.model_version is not None and not prediction.is_confident:
            uncertain = True
    return Classified(results, uncertain)


def service_type_of(classified: Classified) -> str | None:
    label = classified.confident_label("service_type")
    return label if label in ServiceType.values else None


@recording_transaction()
def correct_service_type(case: Case, new_service_type: str, *, actor: Actor) -> Case:
    """An agent sets the right service type: the case changes, and where a classifier had
    labelled the case's first message, the correction becomes a training example."""
    if new_service_type not in ServiceType.values:
        raise InvalidInput(
            _("unknown service type “%(service_type)s”") % {"service_type": new_service_type},
            field="service_type",
        )
    case = update_case(case, CaseChanges(service_type=new_service_type), actor=actor)
    first = (
        Interaction.objects.filter(case=case, direction="inbound")
        .exclude(text="")
        .order_by("occurred_at", "pk")
        .first()
    )
    predicted = (first.payload.get("classification", {}) if first else {}).get("service_type")
    if first is not None and predicted and new_service_type != predicted["label"]:
        record_correction(
            "service_type",
            text=first.text,
            old_label=predicted["label"],
            new_label=new_service_type,
            actor=actor,
            interaction_id=first.pk,
        )
    return case

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
from casework.classify.models import Correction, ModelVersion
from casework.classify.prediction import LANGUAGE_TASK, NoActiveModel, classify_text
from casework.classify.services import active_labels, latest_corrections, record_correction
from casework.events.services import recording_transaction
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput

# Looked up for every classified message: a set, not the enum's `values` (a new list each time).
_SERVICE_TYPES = frozenset(ServiceType.values)


@dataclass(frozen=True)
class Classified:
    results: dict[str, dict[str, Any]]  # task → label, confidence, is_confident, version
    is_uncertain: bool  # some task with a model could not decide

    def confident_label(self, task: str) -> str | None:
        result = self.results.get(task)
        return result["label"] if result and result["is_confident"] else None


# Which tasks have an active model (and its labels) changes rarely and is asked for every
# message and every case screen: each process remembers it for a few seconds.
_ACTIVE_TTL_SECONDS = 10.0
_active: tuple[float, dict[str, list[str]]] | None = None


def forget_active_tasks() -> None:
    """After training or activating a model in this process (tests, the admin)."""
    global _active
    _active = None


def _active_models() -> dict[str, list[str]]:
    """Each task with an active model, and that model's labels."""
    global _active
    if _active is None or time.monotonic() - _active[0] > _ACTIVE_TTL_SECONDS:
        rows = ModelVersion.objects.filter(is_active=True).values_list("task__name", "labels")
        labels_by_task = {name: [str(label) for label in labels or []] for name, labels in rows}
        _active = (time.monotonic(), labels_by_task)
    return _active[1]


def _tasks_to_run() -> list[str]:
    active = _active_models()
    # The language is recognised without a trained model, too.
    return [
        task for task in settings.CASEWORK_CLASSIFY_TASKS if task in active or task == LANGUAGE_TASK
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
    return label if label in _SERVICE_TYPES else None


# What an agent may correct on the case screen besides the service type (which is a fact
# of the case and has its own form): the labels of the case's first message.
CORRECTABLE_TASKS = ("topic", "urgency", "sentiment")


@dataclass(frozen=True)
class TaskLabel:
    """What the case screen shows for one task of the case's first message."""

    task: str
    label: str  # the agent's correction if there is one, else the classifier's answer
    confidence: float | None  # the classifier's, None once corrected
    is_confident: bool
    corrected_by: str  # who corrected it last; empty if nobody did
    choices: list[str]  # the labels an agent may choose (the active version's)


def first_message(case: Case) -> Interaction | None:
    """The case's first inbound message with text: what its classification is about."""
    return (
        Interaction.objects.filter(case=case, direction="inbound")
        .exclude(text="")
        .order_by("occurred_at", "pk")
        .first()
    )


def correctable_labels(case: Case) -> list[TaskLabel]:
    """Topic, urgency and sentiment of the case's first message, for each of them that has
    an active model to learn from corrections (nothing for a case without a message)."""
    active = _active_models()
    tasks = [task for task in CORRECTABLE_TASKS if active.get(task)]
    if not tasks:
        return []
    first = first_message(case)
    if first is None:
        return []
    predicted = first.payload.get("classification", {}) or {}
    corrections = latest_corrections(first.pk)
    found = []
    for task in tasks:
        choices = active[task]
        correction = corrections.get(task)
        guess = predicted.get(task) or {}
        if correction is not None:
            found.append(
                TaskLabel(task, correction.new_label, None, True, _who(correction), choices)
            )
        else:
            found.append(
                TaskLabel(
                    task,
                    str(guess.get("label", "")),
                    guess.get("confidence"),
                    bool(guess.get("is_confident")),
                    "",
                    choices,
                )
            )
    return found


def correct_label(case: Case, task: str, new_label: str, *, actor: Actor) -> Correction:
    """An agent gives the case's first message a better topic, urgency or sentiment: the
    correction is a training example for the task's next retraining (`classify retrain`,
    nightly), and the case screen shows it from now on."""
    if task not in CORRECTABLE_TASKS:
        raise InvalidInput(_("“%(task)s” cannot be corrected here") % {"task": task}, field="task")
    choices = active_labels(task)
    if not choices:
        raise InvalidInput(
            _("there is no active %(task)s classifier to learn from the correction")
            % {"task": task},
            field=task,
        )
    if new_label not in choices:
        raise InvalidInput(
            _("“%(label)s” is not a label the %(task)s classifier knows")
            % {"label": new_label, "task": task},
            field=task,
        )
    first = first_message(case)
    if first is None:
        raise InvalidInput(_("the case has no message whose label could be corrected"))
    current = next((item for item in correctable_labels(case) if item.task == task), None)
    old_label = current.label if current is not None else ""
    return record_correction(
        task,
        text=first.text,
        old_label=old_label,
        new_label=new_label,
        actor=actor,
        interaction_id=first.pk,
    )


@recording_transaction()
def correct_service_type(case: Case, new_service_type: str, *, actor: Actor) -> Case:
    """An agent sets the right service type: the case changes, and where a classifier had
    labelled the case's first message, the correction becomes a training example."""
    if new_service_type not in _SERVICE_TYPES:
        raise InvalidInput(
            _("unknown service type “%(service_type)s”") % {"service_type": new_service_type},
            field="service_type",
        )
    case = update_case(case, CaseChanges(service_type=new_service_type), actor=actor)
    first = first_message(case)
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


def _who(correction: Correction) -> str:
    """An agent's name as the desk shows it: "anna" for the actor label "agent:anna"."""
    return correction.actor_label.split(":", 1)[-1]

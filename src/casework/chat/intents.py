"""The bot's intent classifier: trained from the shipped examples (German and English chat
messages written for Casework) or an installation's own file with the same columns."""

from __future__ import annotations

from pathlib import Path

from casework.classify.models import ClassifierTask, ModelVersion
from casework.classify.services import train_version
from casework.classify.sources import read_labelled_csv
from casework.kernel.actors import Actor

SHIPPED_EXAMPLES = Path(__file__).resolve().parent / "chat_data" / "intents.csv"
TASK = "chat_intent"


def train_intents(
    *, actor: Actor, path: Path = SHIPPED_EXAMPLES, trained_by: str = "casework"
) -> ModelVersion:
    """A new version of the intent model from `path` (columns text, language, intent),
    made active."""
    source = read_labelled_csv(
        path, text_column="text", label_column="intent", language_column="language"
    )
    return train_version(TASK, source, actor=actor, trained_by=trained_by, activate=True)


def ensure_intents(*, actor: Actor) -> bool:
    """Train the shipped model if the installation has none yet. Returns whether it did."""
    if ClassifierTask.objects.filter(name=TASK, versions__is_active=True).exists():
        return False
    train_intents(actor=actor)
    return True

"""Classifier tasks, their trained model versions, and agents' corrections.

A task ("service_type", "topic", "sentiment" …) has numbered model versions; at most one is
active (a partial unique index keeps it so), and that one answers `classify_text()`. A
version is never changed after training except for being activated or deactivated; it keeps
its model, where its data came from, its scores on held-out examples, and the examples it
was trained on (so that it can be retrained with corrections).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassifierTask(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Below this confidence a prediction is "uncertain": a person decides (manual triage).
    confidence_threshold = models.FloatField(_("confidence threshold"), default=0.5)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("classifier task")
        verbose_name_plural = _("classifier tasks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    task = models.ForeignKey(
        ClassifierTask, on_delete=models.PROTECT, related_name="versions", verbose_name=_("task")
    )
    number = models.PositiveIntegerField(_("version"))
    # "default" or another recipe of `linear.MODEL_KINDS`.
    kind = models.CharField(_("model"), max_length=30)
    labels = models.JSONField(_("labels"), default=list)
    trained_by = models.CharField(_("trained by"), max_length=200)
    # Where the examples came from: a file name, or "retrained from version N + corrections".
    source_name = models.CharField(_("source"), max_length=300)
    source_rows = models.PositiveIntegerField(_("rows"))
    source_sha256 = models.CharField(_("source SHA-256"), max_length=64, blank=True)
    # metrics.Scores of the held-out examples, plus the split and the training time.
    scores = models.JSONField(_("scores"), default=dict)
    # The model file (`linear.TextModel.to_bytes`) and its checksum, checked when loading.
    model_data = models.BinaryField(_("model file"))
    model_sha256 = models.CharField(_("model SHA-256"), max_length=64)
    # The examples as gzip-compressed JSON lines {"text", "label", "holdout"}: `retrain()`
    # adds corrections to them and compares on the same held-out examples.
    training_data = models.BinaryField(_("training examples"))
    is_active = models.BooleanField(_("active"), default=False)
    # When this version last became active; None if it never was (rollback skips it).
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["task", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="classify_version_number"),
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(is_active=True),
                name="classify_one_active_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task.name} v{self.number}"


class Correction(models.Model):
    """An agent's better label for a text a classifier labelled: a training example."""

    task = models.ForeignKey(
        ClassifierTask,
        on_delete=models.CASCADE,
        related_name="corrections",
        verbose_name=_("task"),
    )
    # The interaction the text came from, if any (a plain id: interactions are another
    # package's table).
    interaction_id = models.BigIntegerField(_("interaction"), null=True, blank=True)
    text = models.TextField(_("text"))
    old_label = models.CharField(_("old label"), max_length=100, blank=True)
    new_label = models.CharField(_("new label"), max_length=100)
    actor_label = models.CharField(_("corrected by"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        ordering = ["task", "created_at"]

    def __str__(self) -> str:
        return f"{self.task.name}: {self.old_label} → {self.new_label}"

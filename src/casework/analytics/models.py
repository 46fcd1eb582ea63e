"""Summary tables for the KPIs, kept up to date from the event log.

Every case and work item has a digest: the events about it that matter for the figures,
keyed by sequence number. Its contribution to the summary tables is a pure function of the
digest (`analytics.contributions`), so an event arriving late or twice changes the figures
exactly as a full recomputation would: the old contribution is taken out, the new one put
in. The summary tables hold sums only; rates are formed when they are read (`kpis`).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Seconds within which an answered call or chat may count as "in service level". A queue
# picks one of them as its target; the tables count answers within each.
SERVICE_LEVEL_THRESHOLDS = (10, 20, 30, 60, 120, 180)
# Seconds of handling time the tables count "handled within": the distribution's bins.
HANDLING_TIME_BOUNDS = (60, 180, 300, 600, 1200)

MEASURES = (
    "contacts_in",
    "contacts_out",
    "cases_opened",
    "cases_with_contact",
    "cases_repeat",
    "channel_switches",
    "cases_resolved",
    "cases_fcr",
    "cases_reopened",
    "cases_automated",
    "transfers",
    "first_responses",
    "first_response_seconds",
    "sla_first_response_met",
    "sla_first_response_breached",
    "sla_resolution_met",
    "sla_resolution_breached",
    "offered",
    "answered",
    "answer_wait_seconds",
    *(f"answered_within_{seconds}" for seconds in SERVICE_LEVEL_THRESHOLDS),
    "abandoned",
    "abandon_wait_seconds",
    "handled",
    "handle_seconds",
    "after_work_seconds",
    *(f"handled_within_{seconds}" for seconds in HANDLING_TIME_BOUNDS),
    "retention_saved",
    "retention_lost",
)


class Digest(models.Model):
    """What the figures know of one case or work item: its relevant events by sequence
    number (compact entries, see `contributions.entries_of`)."""

    kind = models.CharField(max_length=20)
    entity_id = models.BigIntegerField()
    events = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "entity_id"], name="analytics_digest_entity")
        ]


# The measure columns every summary table has: counts and seconds, sums only.
Measures = type(
    "Measures",
    (models.Model,),
    {
        "__module__": __name__,
        "Meta": type("Meta", (), {"abstract": True}),
        **{name: models.BigIntegerField(default=0) for name in MEASURES},
    },
)


class CaseDimensions(models.Model):
    """What the queue tables break their sums down by. Empty strings stand for "none"."""

    channel = models.CharField(max_length=20)
    queue = models.CharField(max_length=50)
    case_type = models.CharField(max_length=50)
    service_type = models.CharField(max_length=20)
    segment = models.CharField(max_length=40)

    class Meta:
        abstract = True


class QueueQuarterHour(Measures, CaseDimensions):
    """Sums per quarter of an hour (UTC start; Germany's offsets are whole hours, so local
    quarter-hours are the same buckets) and per queue, channel, case type, service type
    and customer segment."""

    bucket_start = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket_start", "channel", "queue", "case_type", "service_type", "segment"],
                name="analytics_queue_qh_key",
            )
        ]


class QueueDay(Measures, CaseDimensions):
    """The same sums per local calendar day (Europe/Berlin): what a year's figures read."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "queue", "case_type", "service_type", "segment"],
                name="analytics_queue_day_key",
            )
        ]


class QueueChannelDay(Measures):
    """The day sums per queue and channel only: a fraction of `QueueDay`'s rows, so a
    year by day without case type, service type or segment reads a few thousand rows."""

    day = models.DateField()
    channel = models.CharField(max_length=20)
    queue = models.CharField(max_length=50)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "queue"], name="analytics_queue_channel_day_key"
            )
        ]


class AgentDimensions(models.Model):
    """What the agent tables break their sums down by."""

    agent_id = models.BigIntegerField()
    channel = models.CharField(max_length=20)
    queue = models.CharField(max_length=50)

    class Meta:
        abstract = True


class AgentQuarterHour(Measures, AgentDimensions):
    """What one agent did, per quarter of an hour, channel and queue."""

    bucket_start = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket_start", "agent_id", "channel", "queue"],
                name="analytics_agent_qh_key",
            )
        ]


class AgentDay(Measures, AgentDimensions):
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "agent_id", "channel", "queue"], name="analytics_agent_day_key"
            )
        ]


class ChannelTransition(models.Model):
    """Customer journeys as a flow: how many cases went from one inbound channel to the
    next at a position of their journey (position 1 is the first contact, coming from
    "start"), per local day of the case's opening, case type and segment."""

    day = models.DateField()
    position = models.PositiveSmallIntegerField()
    from_channel = models.CharField(max_length=20)
    to_channel = models.CharField(max_length=20)
    case_type = models.CharField(max_length=50)
    segment = models.CharField(max_length=40)
    cases = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "position", "from_channel", "to_channel", "case_type", "segment"],
                name="analytics_transition_key",
            )
        ]


class CaseJourney(models.Model):
    """One row per case: its inbound contacts in order, kept with the digest, so the
    journeys with the most repeat contacts or channel switches are one indexed query."""

    case_id = models.BigIntegerField(unique=True)
    customer_id = models.BigIntegerField(null=True)
    opened_at = models.DateTimeField(null=True)
    case_type = models.CharField(max_length=50)
    segment = models.CharField(max_length=40)
    # "email>phone>email": the channels of the inbound contacts in order.
    path = models.CharField(max_length=400)
    contacts_in = models.PositiveIntegerField(default=0)
    channel_switches = models.PositiveIntegerField(default=0)
    is_resolved = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["opened_at", "contacts_in"], name="analytics_journey_repeat"),
            models.Index(fields=["customer_id", "-opened_at"], name="analytics_journey_customer"),
        ]


class ServiceLevelTarget(models.Model):
    """A queue's service level goal, e.g. 80 % answered within 20 seconds."""

    queue = models.OneToOneField(
        "routing.Queue",
        on_delete=models.CASCADE,
        related_name="service_level_target",
        verbose_name=_("queue"),
    )
    answer_within_seconds = models.PositiveSmallIntegerField(
        _("answered within (s)"),
        choices=[(seconds, f"{seconds} s") for seconds in SERVICE_LEVEL_THRESHOLDS],
        default=20,
    )
    target_share = models.DecimalField(
        _("target share"),
        max_digits=4,
        decimal_places=3,
        default=0.8,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.999"))],
        help_text=_("As a fraction: 0.8 for 80 %."),
    )

    class Meta:
        verbose_name = _("service level target")
        verbose_name_plural = _("service level targets")

    def __str__(self) -> str:
        return f"{self.target_share:.0%}/{self.answer_within_seconds}"

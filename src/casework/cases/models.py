"""Cases: one matter of one customer, worked through a case type; and the tasks in it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.models import BilingualName, Timestamped
from casework.routing.models import Agent, Queue, Tier


class ServiceType(models.TextChoices):
    ADVICE = "advice", _("advice")
    SUPPORT = "support", _("support")
    COMPLAINT = "complaint", _("complaint")


class CaseStatus(models.TextChoices):
    """new: nobody has looked yet. open: being worked. pending: waiting for the customer or
    another party. resolved: answered; a new message reopens it. closed: final."""

    NEW = "new", _("new")
    OPEN = "open", _("open")
    PENDING = "pending", _("pending")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


class ProcessStatus(models.TextChoices):
    """running: the engine has work to do. waiting: for a person (a task, a form, an
    approval), the customer, a date or sub-cases. exception: an automated step failed and a
    person decides how to go on. completed: a final stage was reached."""

    RUNNING = "running", _("running")
    WAITING = "waiting", _("waiting")
    EXCEPTION = "exception", _("exception")
    COMPLETED = "completed", _("completed")


class Priority(models.IntegerChoices):
    LOW = 1, _("low")
    NORMAL = 2, _("normal")
    HIGH = 3, _("high")
    URGENT = 4, _("urgent")


class CaseType(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    service_type = models.CharField(
        _("service type"), max_length=20, choices=ServiceType.choices, default=ServiceType.SUPPORT
    )
    default_queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="+", verbose_name=_("default queue")
    )
    default_priority = models.PositiveSmallIntegerField(
        _("default priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        ordering = ["code"]


class ResolutionCode(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("resolution code")
        verbose_name_plural = _("resolution codes")
        ordering = ["code"]


class Case(Timestamped):
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, verbose_name=_("case type"))
    service_type = models.CharField(_("service type"), max_length=20, choices=ServiceType.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("customer"),
        db_index=False,  # a composite index in Meta leads with this column
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        verbose_name=_("queue"),
        db_index=False,  # a composite index in Meta leads with this column
    )
    owner = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
        verbose_name=_("owner"),
        db_index=False,  # a composite index in Meta leads with this column
    )
    subject = models.CharField(_("subject"), max_length=300)
    data = models.JSONField(_("data"), default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="sub_cases"
    )
    # The parent's process step that opened this sub-case.
    parent_step = models.CharField(_("opened by step"), max_length=80, blank=True)
    resolution_code = models.ForeignKey(
        ResolutionCode, null=True, blank=True, on_delete=models.PROTECT
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"))
    # A case merged into another is closed; its contacts live on in the surviving case,
    # and a customer quoting the old reference reaches the surviving case.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("merged into"),
    )
    # The contract the case is about, when it is about one (conditions read `contract.*`).
    contract = models.ForeignKey(
        "customers.Contract",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contract"),
    )
    # The process the case runs through (a published case type definition), if its case
    # type has one. A case keeps the version it started with.
    process_key = models.CharField(_("process"), max_length=80, blank=True)
    process_version = models.PositiveIntegerField(_("process version"), null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=80, blank=True)
    step = models.CharField(_("step"), max_length=80, blank=True)
    process_status = models.CharField(
        _("process status"), max_length=20, choices=ProcessStatus.choices, blank=True
    )
    # Counts the engine's moves: an advance scheduled for an older revision is stale.
    process_revision = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["queue", "status", "-priority"], name="case_queue_status"),
            models.Index(fields=["customer", "status"], name="case_customer_status"),
            models.Index(fields=["owner", "status"], name="case_owner_status"),
            # The open cases per queue and the oldest of them (the wall-board), read from
            # the index alone.
            models.Index(
                fields=["queue", "created_at"],
                condition=models.Q(status__in=["new", "open", "pending"]),
                name="case_open_by_queue",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseSequence(models.Model):
    """Hands out reference numbers per year (CW-2026-000123); the row is locked per number."""

    year = models.PositiveSmallIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    IN_PROGRESS = "in_progress", _("in progress")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class TaskKind(models.TextChoices):
    """work: do something on the case. form: fill the data a step collects. approval: a
    second person approves or declines. exception: an automated step failed; decide."""

    WORK = "work", _("work")
    FORM = "form", _("form")
    APPROVAL = "approval", _("approval")
    EXCEPTION = "exception", _("exception")


class Task(Timestamped):
    """A work item: something a person has to do on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        verbose_name=_("queue"),
        db_index=False,  # a composite index in Meta leads with this column
    )
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        db_index=False,  # a composite index in Meta leads with this column
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=TaskKind.choices, default=TaskKind.WORK
    )
    # The process step the task belongs to, and what the step needs (form fields, the
    # exception's reason and options, the approval's subject).
    step_key = models.CharField(_("step"), max_length=80, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    completed_by = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["queue", "status", "-priority", "created_at"], name="task_queue"),
            models.Index(fields=["assignee", "status"], name="task_assignee"),
        ]

    def __str__(self) -> str:
        return self.title


class SlaKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("first response")
    RESOLUTION = "resolution", _("resolution")


class CaseSla(models.Model):
    """One service-level clock of a case, counted in business hours. While the case waits
    for the customer the clock is paused; the deadline moves by the paused business time."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="slas")
    kind = models.CharField(_("kind"), max_length=20, choices=SlaKind.choices)
    target_business_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField(_("started"))
    due_at = models.DateTimeField(_("due"))
    warning_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    # Counts reschedules: a timer for an older schedule is stale when it fires.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("service level")
        verbose_name_plural = _("service levels")
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="casesla_unique")]
        indexes = [
            # The clocks still running, by deadline: the wall-board's "breaches coming up".
            models.Index(
                fields=["due_at"],
                condition=models.Q(met_at__isnull=True, breached_at__isnull=True),
                name="casesla_running_due",
            )
        ]


class PublishedCaseType(models.Model):
    """A case type definition version that new cases may use: the newest published version
    of a key is the one new cases start with. The file's text is kept for the record."""

    key = models.CharField(_("key"), max_length=80)
    version = models.PositiveIntegerField(_("version"))
    source = models.TextField(_("definition"))
    sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.CharField(_("published by"), max_length=200)

    class Meta:
        verbose_name = _("published case type")
        verbose_name_plural = _("published case types")
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="publishedcasetype_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

"""Who does the work and how work finds them: teams, agents, skills, queues."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.actors import Role
from casework.kernel.models import BilingualName


class Tier(models.IntegerChoices):
    FIRST = 1, _("1st level")
    SECOND = 2, _("2nd level")
    THIRD = 3, _("3rd level")


class Team(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["code"]


class SkillKind(models.TextChoices):
    LANGUAGE = "language", _("language")
    TOPIC = "topic", _("topic")
    PRODUCT = "product", _("product")
    TIER = "tier", _("tier")


class Skill(BilingualName):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SkillKind.choices)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["kind", "code"]


class Agent(models.Model):
    """A person who works cases. Signs in as a Django user; the role decides what they see."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=[(role.value, role.value) for role in Role],
        default=Role.AGENT,
    )
    teams = models.ManyToManyField(Team, related_name="agents", blank=True, verbose_name=_("teams"))
    skills = models.ManyToManyField(
        Skill, through="AgentSkill", related_name="agents", blank=True, verbose_name=_("skills")
    )

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.username


class AgentSkill(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE)
    proficiency = models.PositiveSmallIntegerField(
        _("proficiency"), default=5, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agentskill_unique"),
        ]
        # The router looks agents up by skill and level.
        indexes = [
            models.Index(fields=["skill", "proficiency", "agent"], name="agentskill_by_skill")
        ]


class Queue(BilingualName):
    """Where work waits for a team. Agents see the cases in their teams' queues."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="queues")
    required_skills = models.ManyToManyField(Skill, blank=True, verbose_name=_("required skills"))

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["code"]


# --- The router's working state -------------------------------------------------------------
# Configuration (presence states, channel weights, routing rules) is data an administrator
# edits; the agents' state, work items and offers are what the router reads and changes.


class PresenceState(BilingualName):
    """A presence state an agent can be in. Only states with `is_routable` receive pushed
    work; `is_selectable` states are the ones an agent may pick (the others are set by the
    system: busy on a call, after-call work, not responding to an offer)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    is_routable = models.BooleanField(_("receives work"), default=False)
    is_selectable = models.BooleanField(_("agents may choose it"), default=True)
    is_logged_in = models.BooleanField(_("counts as logged in"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("presence state")
        verbose_name_plural = _("presence states")
        ordering = ["order", "code"]


class ChannelCapacity(models.Model):
    """How much of an agent one item of a channel takes. An agent has `capacity_units`
    (100 by default): a call that takes 100 uses the whole agent, chats at 33 allow three at
    once, e-mails and tasks at 20 allow five."""

    channel = models.SlugField(_("channel"), max_length=30, unique=True)
    units = models.PositiveSmallIntegerField(
        _("units per item"), validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    # Real-time channels are pushed to an agent as an offer; deferred work is pulled.
    is_push = models.BooleanField(_("pushed as an offer"), default=True)
    offer_timeout_seconds = models.PositiveIntegerField(_("offer timeout (s)"), default=20)
    # An accepted item makes the agent `busy`; its end starts after-call work for this long.
    sets_busy = models.BooleanField(_("agent is busy while working it"), default=False)
    after_work_seconds = models.PositiveIntegerField(_("after-call work (s)"), default=0)

    class Meta:
        verbose_name = _("channel capacity")
        verbose_name_plural = _("channel capacities")
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.channel} ({self.units})"


class AgentStatus(models.Model):
    """One row per agent: presence and occupancy, the row the router locks before it gives
    the agent work (so no two routers can fill the same capacity twice).

    `used_units` counts the pushed items offered to or worked by the agent; the check
    constraint makes the database refuse anything beyond `capacity_units`."""

    agent = models.OneToOneField(
        Agent, on_delete=models.CASCADE, primary_key=True, related_name="status"
    )
    presence = models.ForeignKey(
        PresenceState, on_delete=models.PROTECT, to_field="code", db_column="presence_code"
    )
    presence_since_at = models.DateTimeField(_("in this state since"))
    # Copied from the presence state so the router's candidate query reads one table.
    is_routable = models.BooleanField(default=False)
    capacity_units = models.PositiveSmallIntegerField(_("capacity"), default=100)
    used_units = models.PositiveSmallIntegerField(_("occupied"), default=0)
    # Since when the agent has had nothing pushed (longest-idle routing); null while working.
    idle_since_at = models.DateTimeField(_("idle since"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent status")
        verbose_name_plural = _("agent statuses")
        indexes = [
            models.Index(
                fields=["is_routable", "used_units", "idle_since_at"], name="agentstatus_free"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used_units__lte=models.F("capacity_units")),
                name="agentstatus_within_capacity",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.presence_id} {self.used_units}/{self.capacity_units}"


class PresenceLog(models.Model):
    """The history of presence states for reporting: one row per stretch of time in one
    state; the open row (`ended_at` null) is the current one."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    presence = models.ForeignKey(
        PresenceState, on_delete=models.PROTECT, to_field="code", db_column="presence_code"
    )
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    set_by = models.CharField(_("set by"), max_length=200)

    class Meta:
        verbose_name = _("presence log entry")
        verbose_name_plural = _("presence log")
        indexes = [models.Index(fields=["agent", "started_at"], name="presencelog_agent")]


class RoutingRule(models.Model):
    """A row of the routing table: the first active rule (by `order`) whose conditions all
    match a new work item decides its queue, priority and skills. Empty conditions match
    anything. Times of day are local (Europe/Berlin); a window may run past midnight."""

    order = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    channel = models.SlugField(_("channel"), max_length=30, blank=True)
    case_type = models.ForeignKey(
        "cases.CaseType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("case type"),
    )
    service_type = models.CharField(_("service type"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    customer_segment = models.SlugField(_("customer segment"), max_length=40, blank=True)
    active_from = models.TimeField(_("from (time of day)"), null=True, blank=True)
    active_until = models.TimeField(_("until (time of day)"), null=True, blank=True)

    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    priority = models.PositiveSmallIntegerField(_("priority"), null=True, blank=True)
    # A returning customer waits this long for the agent who served them last.
    affinity_wait_seconds = models.PositiveIntegerField(
        _("wait for the last agent (s)"), default=30
    )
    # Off: the contact waits only for a last agent who is free or wrapping up (one on
    # another call seldom ends it within the wait: a call lasts minutes).
    affinity_waits_while_busy = models.BooleanField(
        _("wait also while the last agent is busy or away"),
        default=True,
        help_text=_(
            "Off: the contact waits for the agent who last served the customer only if that "
            "agent is free for it now or wrapping up; otherwise it is routed at once."
        ),
    )
    # Desired skills relax by `relax_levels` every `relax_after_seconds` until they vanish.
    relax_after_seconds = models.PositiveIntegerField(
        _("relax desired skills after (s)"), default=30
    )
    relax_levels = models.PositiveSmallIntegerField(_("levels per relaxation"), default=3)
    # After this long the item may also go to the overflow queue's agents (the next tier).
    overflow_queue = models.ForeignKey(
        Queue,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("overflow queue"),
    )
    overflow_after_seconds = models.PositiveIntegerField(
        _("overflow after (s)"), null=True, blank=True
    )
    # The service level's "answered within" (e.g. 20 s of 80/20): agents who free up take
    # the contacts that can still make it before those that already missed it.
    service_level_seconds = models.PositiveIntegerField(
        _("service level: answered within (s)"),
        null=True,
        blank=True,
        help_text=_(
            "Waiting contacts that can still be answered within this time are offered before "
            "those that have waited longer: more are answered in time, and those who missed "
            "it wait a little longer. Empty: by priority and waiting time only. For calls and "
            "chats, not for e-mail."
        ),
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class RoutingRuleSkill(models.Model):
    """A skill a rule asks for: required skills never relax; desired ones relax over time."""

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    min_level = models.PositiveSmallIntegerField(
        _("minimum level"), default=1, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    is_required = models.BooleanField(_("required"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "skill"], name="routingruleskill_unique")
        ]


class WorkItemStatus(models.TextChoices):
    """queued: waiting for an agent. offered: pushed to one agent, who may accept or
    decline until the offer expires. accepted: an agent is working it. completed: done.
    withdrawn: the customer hung up or the item was cancelled before it was finished."""

    QUEUED = "queued", _("waiting")
    OFFERED = "offered", _("offered")
    ACCEPTED = "accepted", _("accepted")
    COMPLETED = "completed", _("completed")
    WITHDRAWN = "withdrawn", _("withdrawn")


class WorkItem(models.Model):
    """A piece of real-time work (a call, a chat, a callback) the router pushes to agents."""

    channel = models.SlugField(_("channel"), max_length=30)
    # The caller's id in the channel (a CTI call id): submitting it twice gives one item.
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # a composite index in Meta leads with this column
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)
    units = models.PositiveSmallIntegerField(_("units"))
    # What the item asks of an agent, fixed when it is queued (see routing.matching):
    # {"required": [[skill_id, level], …], "desired": [[skill_id, level], …],
    #  "overflow_required": [[skill_id, level], …] | null}
    requirements = models.JSONField(default=dict)
    # `required` in a canonical spelling, so agents can find the waiting items they qualify
    # for among a few distinct keys instead of testing every waiting item.
    required_key = models.CharField(max_length=200, blank=True)
    preferred_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=WorkItemStatus.choices, default=WorkItemStatus.QUEUED
    )
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("offered to / worked by"),
    )
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(_("queued at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        indexes = [
            models.Index(
                fields=["status", "required_key", "priority", "queued_at"], name="workitem_waiting"
            ),
            models.Index(fields=["customer", "accepted_at"], name="workitem_customer"),
            models.Index(fields=["agent", "status"], name="workitem_agent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="workitem_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    EXPIRED = "expired", _("expired")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Offer(models.Model):
    """One offer of a work item to one agent, and how it ended. At most one offer of an
    item is pending at any time (a partial unique index: the database refuses a second)."""

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        _("status"), max_length=20, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    offered_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    is_affinity = models.BooleanField(_("to the customer's last agent"), default=False)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(status="pending"),
                name="offer_one_pending_per_item",
            )
        ]


class RouterLease(models.Model):
    """The router process that owns the routing tables (docs/adr/0013): one row at most,
    renewed every second while the process lives. While it is fresh, nothing else writes
    the tables; a new process takes over a lease nobody renewed."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    owner = models.CharField(_("owner"), max_length=200)  # pid@host
    address = models.CharField(_("address"), max_length=200)  # where it answers
    started_at = models.DateTimeField(_("started at"))
    renewed_at = models.DateTimeField(_("renewed at"))
    # How far the decision log of the process that held it last is written to the tables
    # (routing/decisions.py); kept when another process takes the lease over.
    decided_through = models.BigIntegerField(_("decided through"), default=0)

    class Meta:
        verbose_name = _("router lease")
        verbose_name_plural = _("router leases")

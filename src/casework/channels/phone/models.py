"""The phone channel: the telephone systems that report calls (CTI), the numbers customers
dial, the agents' lines, and every call with its times and the events that told us of it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.models import BilingualName


class ConnectionKind(models.TextChoices):
    GENERIC = "generic", _("Casework format (JSON, HMAC-signed)")
    SIPGATE = "sipgate", _("sipgate.io push API")
    ZAMMAD = "zammad", _("Zammad-compatible generic CTI")


class CtiConnection(models.Model):
    """A telephone system that posts call events to Casework. The secret signs the generic
    format's requests (HMAC) and is the token in the URL for the provider formats, which
    cannot sign."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("format"), max_length=20, choices=ConnectionKind.choices, default=ConnectionKind.GENERIC
    )
    # Stored encrypted (kernel.secrets): it must be read back to check signatures.
    secret = models.CharField(_("shared secret"), max_length=300)
    is_active = models.BooleanField(_("active"), default=True)
    # Where calls go when no routing rule covers the phone channel and the number dialled
    # names no queue.
    default_queue = models.ForeignKey(
        "routing.Queue",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("default queue"),
    )
    language = models.CharField(_("language of callers"), max_length=10, default="de")

    class Meta:
        verbose_name = _("telephone system (CTI)")
        verbose_name_plural = _("telephone systems (CTI)")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Hotline(models.Model):
    """A number customers dial, and what it tells the router (the service line of the
    mobile operator, the English line, the members' line)."""

    connection = models.ForeignKey(CtiConnection, on_delete=models.CASCADE, related_name="hotlines")
    number = models.CharField(_("number (E.164)"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=10, blank=True)
    queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("queue"),
    )
    # Preferred at level 6 while the call waits, relaxing as the routing table says.
    topic = models.ForeignKey(
        "routing.Skill",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("topic skill"),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), null=True, blank=True)

    class Meta:
        verbose_name = _("hotline")
        verbose_name_plural = _("hotlines")
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="hotline_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"


class AgentLine(models.Model):
    """How the telephone system names an agent's phone: the extension it dials and reports
    (an extension number, a sipgate user id such as `w0`, a SIP user)."""

    agent = models.OneToOneField(
        "routing.Agent", on_delete=models.CASCADE, related_name="phone_line"
    )
    extension = models.CharField(_("extension"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("agent's phone line")
        verbose_name_plural = _("agents' phone lines")

    def __str__(self) -> str:
        return self.extension


class WrapUpCode(BilingualName):
    """What a call was about, chosen by the agent after it (for reports)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("wrap-up code")
        verbose_name_plural = _("wrap-up codes")
        ordering = ["order", "code"]


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("inbound")
    OUTBOUND = "outbound", _("outbound")


class CallState(models.TextChoices):
    WAITING = "waiting", _("waiting for an agent")
    RINGING = "ringing", _("ringing at an agent")
    ANSWERED = "answered", _("in conversation")
    ENDED = "ended", _("ended")


class CallOutcome(models.TextChoices):
    ANSWERED = "answered", _("answered")
    ABANDONED = "abandoned", _("caller hung up before an answer")
    CALLBACK = "callback", _("callback requested")
    NOT_REACHED = "not_reached", _("not reached")
    LOST = "lost", _("no end reported")


class Call(models.Model):
    connection = models.ForeignKey(CtiConnection, on_delete=models.PROTECT, related_name="calls")
    # The telephone system's id of the call; one call per id and connection.
    provider_call_id = models.CharField(_("call id"), max_length=250)
    direction = models.CharField(_("direction"), max_length=20, choices=CallDirection.choices)
    # The other party's number as the telephone system sent it, and in E.164 when it is one.
    remote_raw = models.CharField(_("number as sent"), max_length=100, blank=True)
    remote_number = models.CharField(_("number"), max_length=20, blank=True)
    is_withheld = models.BooleanField(_("number withheld"), default=False)
    local_number = models.CharField(_("our number"), max_length=100, blank=True)
    hotline = models.ForeignKey(
        Hotline, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call",
    )
    # The router's current work item (a transfer starts a new one).
    # Not enforced by the database: a router process answers before it writes the item
    # (docs/adr/0013); its ids are its own, so the key still joins.
    work_item = models.ForeignKey(
        "routing.WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    # The work item the call asks of the router, kept from the commit that asks for it
    # until the router's answer is recorded (docs/adr/0013): the call is never lost for
    # want of an answer, and one left behind by a crash is asked for again.
    route_request = models.JSONField(null=True, blank=True, editable=False)
    # The agent it rings at or who talks (the last one after a transfer).
    agent = models.ForeignKey(
        "routing.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("state"), max_length=20, choices=CallState.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices, blank=True)
    started_at = models.DateTimeField(_("started"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    hangup_cause = models.CharField(_("hang-up cause"), max_length=40, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(_("on hold (s)"), default=0)
    transfers = models.PositiveSmallIntegerField(_("transfers"), default=0)
    # A telephone system that reports a transfer as a new call of its own (sipgate.io):
    # the call this one continues.
    transferred_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("continues the call"),
    )
    wrap_up = models.ForeignKey(
        WrapUpCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    wrapped_at = models.DateTimeField(_("wrapped up"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "provider_call_id"], name="call_unique_provider_id"
            )
        ]
        indexes = [
            models.Index(fields=["agent", "state"], name="call_agent_state"),
            models.Index(fields=["state", "started_at"], name="call_state_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.remote_raw or '—'} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state != CallState.ENDED

    @property
    def talk_seconds(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        talk = (self.ended_at - self.answered_at).total_seconds() - self.hold_seconds
        return max(0, round(talk))

    @property
    def wait_seconds(self) -> int:
        until = self.answered_at or self.ended_at
        return round((until - self.started_at).total_seconds()) if until else 0

    @property
    def after_work_seconds(self) -> int | None:
        if self.wrapped_at is None or self.ended_at is None:
            return None
        return max(0, round((self.wrapped_at - self.ended_at).total_seconds()))


class CallEvent(models.Model):
    """Every event a telephone system sent, as it came (kept even when it was ignored), once:
    a repeated delivery finds its first row by the dedupe key and changes nothing."""

    connection = models.ForeignKey(CtiConnection, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    dedupe_key = models.CharField(max_length=400)
    kind = models.CharField(_("event"), max_length=20)
    received_at = models.DateTimeField(_("received"))
    occurred_at = models.DateTimeField(_("occurred"))
    payload = models.JSONField(_("as sent"), default=dict)
    # What it did: "applied", or why it changed nothing ("ignored: the call has ended").
    result = models.CharField(_("result"), max_length=300)
    # The answer given to the telephone system, repeated for a repeated delivery.
    response = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "dedupe_key"], name="callevent_unique_delivery"
            )
        ]
        indexes = [models.Index(fields=["call", "occurred_at"], name="callevent_call")]
        ordering = ["occurred_at", "pk"]


class CallbackSource(models.TextChoices):
    PHONE_MENU = "phone_menu", _("phone menu")
    PORTAL = "portal", _("portal")
    CHAT = "chat", _("chat")
    AGENT = "agent", _("agent")


class CallbackStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    ROUTED = "routed", _("routed to agents")
    DONE = "done", _("customer reached")
    CANCELLED = "cancelled", _("cancelled")


class CallbackRequest(models.Model):
    """A customer asks to be called back within a time window. At the window's start it
    becomes routed work (channel `callback`); an outbound call that reaches the customer
    completes it; when the window ends unanswered it is made urgent."""

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    number = models.CharField(_("number (E.164)"), max_length=20)
    source = models.CharField(_("source"), max_length=20, choices=CallbackSource.choices)
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    queue = models.ForeignKey(
        "routing.Queue", on_delete=models.PROTECT, related_name="+", verbose_name=_("queue")
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=CallbackStatus.choices,
        default=CallbackStatus.SCHEDULED,
    )
    work_item = models.OneToOneField(
        "routing.WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,  # as Call.work_item
    )
    # The call it came from (the phone menu's), if any.
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested at"))

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        indexes = [models.Index(fields=["customer", "status"], name="callback_customer")]

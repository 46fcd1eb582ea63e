"""Chats: a conversation between a website visitor, the bot and (after the hand-over) agents."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casework.kernel.models import Timestamped


class ConversationState(models.TextChoices):
    BOT = "bot", _("with the bot")
    WAITING = "waiting", _("waiting for an agent")
    AGENT = "agent", _("with an agent")
    ENDED = "ended", _("ended")


class Conversation(Timestamped):
    """One chat. The widget holds `token` (a bearer secret: whoever has it takes part as the
    visitor) and resumes with it after a reload or a dropped connection."""

    token = models.CharField(_("token"), max_length=64, unique=True)
    state = models.CharField(
        _("state"), max_length=20, choices=ConversationState.choices, default=ConversationState.BOT
    )
    language = models.CharField(_("language"), max_length=8, default="de")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("customer"),
    )
    # True when the visitor proved who they are (signed in to the portal, a signed token of
    # the website, a personal campaign link): only then does the bot speak of their cases
    # and contracts. A visitor who merely names an e-mail address joins that customer's
    # history for the agents, unverified.
    is_verified = models.BooleanField(_("identity verified"), default=False)
    visitor_name = models.CharField(_("visitor's name"), max_length=200, blank=True)
    visitor_email = models.EmailField(_("visitor's e-mail"), blank=True)
    page_url = models.URLField(_("started on page"), max_length=1000, blank=True)
    # Where the chat was started from: new chats per address are limited.
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    # What brought the visitor (a campaign's offer, a page's topic): the bot and the agent
    # see it, the customer need not repeat it.
    context = models.JSONField(_("context"), default=dict, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("case"),
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversation",
        verbose_name=_("interaction"),
    )
    work_item = models.ForeignKey(
        "routing.WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("work item"),
        # Not enforced by the database: a router process answers before it writes the item.
        db_constraint=False,
    )
    # The work item a hand-over or transfer asks of the router, kept from the commit that
    # asks until the router's answer is recorded (docs/adr/0013).
    route_request = models.JSONField(null=True, blank=True, editable=False)
    agent = models.ForeignKey(
        "routing.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        verbose_name=_("agent"),
    )
    intent = models.CharField(_("intent"), max_length=40, blank=True)
    # Bot answers in a row that did not understand the visitor (the hand-over counts them).
    misunderstood = models.PositiveSmallIntegerField(_("not understood in a row"), default=0)
    handover_reason = models.CharField(_("hand-over reason"), max_length=40, blank=True)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    wrap_up = models.TextField(_("wrap-up"), blank=True)
    last_seq = models.PositiveIntegerField(_("last message number"), default=0)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        indexes = [
            models.Index(fields=["state", "agent"], name="chat_state_agent"),
            models.Index(fields=["client_address", "created_at"], name="chat_client_started"),
        ]

    def __str__(self) -> str:
        return f"chat {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state != ConversationState.ENDED

    @property
    def intent_label(self) -> str:
        from casework.chat.bot import INTENT_LABELS

        return str(INTENT_LABELS.get(self.intent, self.intent))

    @property
    def handover_label(self) -> str:
        from casework.chat.bot import HANDOVER_LABELS

        return str(HANDOVER_LABELS.get(self.handover_reason, self.handover_reason))


class Sender(models.TextChoices):
    CUSTOMER = "customer", _("customer")
    BOT = "bot", _("bot")
    AGENT = "agent", _("agent")
    SYSTEM = "system", _("system")


class ChatMessage(models.Model):
    """A message in a chat, numbered (`seq`) in the order the server took it: the widget
    asks for "everything after n" when it reconnects, so nothing is lost or doubled."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField(_("number"))
    sender = models.CharField(_("sender"), max_length=20, choices=Sender.choices)
    agent = models.ForeignKey(
        "routing.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("text"))
    # The widget's own id for a message it sends: sending it again (after a dropped
    # connection) returns the first one instead of a duplicate.
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    # Seen by agents only (a transfer note).
    is_internal = models.BooleanField(_("internal"), default=False)
    # What the bot knew: intent and confidence, the articles it quoted, an offer it made,
    # the choices it offered ({"choices": [{"value": …, "label": …}]}); an uploaded file.
    meta = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chatmessage_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=~Q(client_id=""),
                name="chatmessage_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"

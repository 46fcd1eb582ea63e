"""The chat's writes: starting and resuming, messages from the visitor, the bot and agents,
the hand-over to a person (routed like a call), callbacks, transfer and the end.

Every message gets the next number of its conversation under the conversation's row lock,
and a real-time signal (`chat.<id>`) after commit: the visitor's widget and the agent's
console then read what is new. The chat becomes an interaction on a case at the hand-over
(through the intake, like any contact), and its transcript is kept up to date there."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.regrouping import merge_cases
from casework.cases.services import add_note, assign_case
from casework.channels.phone import callbacks
from casework.channels.phone.models import CallbackSource
from casework.chat.models import ChatMessage, Conversation, ConversationState, Sender
from casework.customers.identifiers import InvalidIdentifier, normalise
from casework.customers.models import Customer, CustomerIdentifier
from casework.events.services import record, recording_transaction
from casework.intake import services as intake
from casework.intake.messages import InboundMessage
from casework.interactions.files import store_bytes
from casework.interactions.models import Attachment, Interaction
from casework.kernel import clock, jobs, realtime, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from casework.portal.uploads import Upload, check_upload
from casework.routing.errors import NoRoute, RouterUnavailable
from casework.routing.models import Agent, Skill, WorkItemStatus
from casework.routing.port import RoutedItem, get_router
from casework.routing.router import NewWorkItem

logger = logging.getLogger(__name__)

BOT = Actor.system("chat-bot")
SYSTEM = Actor.system("chat")
LANGUAGES = ("de", "en")
MAX_MESSAGE_CHARS = 4000


class ChatNotFound(NotFound):
    code = "chat_not_found"


class ChatEnded(Conflict):
    code = "chat_ended"


class TooManyMessages(InvalidInput):
    code = "chat_too_many_messages"
    status = 429


class TooManyChats(InvalidInput):
    code = "chat_too_many_chats"
    status = 429


@dataclass(frozen=True)
class Posted:
    message: ChatMessage
    is_new: bool  # False: the widget sent this client id before (a retry)


def group_of(conversation_id: int) -> str:
    return f"chat.{conversation_id}"


def get_conversation(token: str) -> Conversation:
    conversation = Conversation.objects.filter(token=token).first() if token else None
    if conversation is None:
        raise ChatNotFound(_("there is no chat with this token"))
    return conversation


def messages_after(
    conversation: Conversation, after: int, *, for_agent: bool = False
) -> QuerySet[ChatMessage]:
    messages = conversation.messages.filter(seq__gt=after).select_related("agent__user")
    return messages if for_agent else messages.filter(is_internal=False)


@recording_transaction()
def start_conversation(
    *,
    language: str,
    page_url: str = "",
    customer: Customer | None = None,
    is_verified: bool = False,
    context: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Conversation:
    """A new chat with the bot's greeting. `customer` is who the visitor proved to be
    (portal session, the website's signed token, a personal campaign link)."""
    language = language if language in LANGUAGES else "de"
    conversation = Conversation.objects.create(
        token=secrets.token_urlsafe(32),
        language=language,
        customer=customer,
        is_verified=is_verified and customer is not None,
        page_url=page_url[:1000],
        context=context or {},
        client_address=client_address,
    )
    record(
        "chat.started",
        actor=SYSTEM,
        object_type="conversation",
        object_id=conversation.pk,
        payload={
            "customer_id": customer.pk if customer else None,
            "is_verified": conversation.is_verified,
            "language": language,
            "context": conversation.context,
        },
    )
    from casework.chat import bot

    with translation.override(language):
        for reply in bot.greet(conversation):
            _append(conversation, Sender.BOT, reply.text, meta=reply.meta)
    return conversation


def post_customer_message(token: str, text: str, *, client_id: str = "") -> Posted:
    """The visitor's message; the bot answers it while no person has taken the chat."""
    text = text.strip()
    if not text:
        raise InvalidInput(_("the message is empty"), field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            _("a message may have at most %(max)d characters") % {"max": MAX_MESSAGE_CHARS},
            field="text",
        )
    if len(client_id) > 64:
        raise InvalidInput(_("the message id is longer than 64 characters"), field="id")
    # With a person in the chat nothing is recorded in the event log: the message needs only
    # the conversation's row, not the event chain's head (which every recording writer
    # queues for). Otherwise, or if the state changed meanwhile, the recording way.
    try:
        with transaction.atomic():
            conversation = _lock(token)
            if conversation.state != ConversationState.AGENT:
                raise _NeedsRecording
            return _post(conversation, text, client_id)
    except _NeedsRecording:
        pass
    with recording_transaction():
        conversation = _lock(token)
        posted = _post(conversation, text, client_id)
        if posted.is_new and _bot_answers(conversation, text):
            from casework.chat import bot

            with translation.override(conversation.language):
                bot.respond(conversation, posted.message)
    if conversation.route_request is not None:  # the bot handed the chat over
        _route_if_router_answers(conversation.pk)
    return posted


class _NeedsRecording(Exception):
    """Rolls the lean transaction back: the message goes the recording way."""


def _post(conversation: Conversation, text: str, client_id: str) -> Posted:
    recent, earlier_id = _recent_and_earlier(conversation, client_id)
    if earlier_id is not None:
        return Posted(ChatMessage.objects.get(pk=earlier_id), is_new=False)
    if not conversation.is_open:
        raise ChatEnded(_("this chat has ended; start a new one"))
    _check_rate(recent)
    return Posted(_append(conversation, Sender.CUSTOMER, text, client_id=client_id), is_new=True)


def _bot_answers(conversation: Conversation, text: str) -> bool:
    """The bot answers until a person joins; while the chat waits, only the visitor's
    choices (commands) and the details the bot asked for."""
    if conversation.state == ConversationState.BOT:
        return True
    return conversation.state == ConversationState.WAITING and (
        text.startswith("/") or bool(conversation.context.get("awaiting"))
    )


# The visitor's messages of the last minute and the message sent before with this client id,
# in one statement: this runs for every message.
_RECENT_AND_EARLIER = (
    "SELECT COUNT(CASE WHEN sender = %s AND created_at >= %s THEN 1 END), "
    "MAX(CASE WHEN client_id = %s AND client_id <> '' THEN id END) "
    "FROM chat_chatmessage WHERE conversation_id = %s"
)


def _recent_and_earlier(conversation: Conversation, client_id: str) -> tuple[int, int | None]:
    since = clock.now() - timedelta(minutes=1)
    row = sql.fetch_one(
        _RECENT_AND_EARLIER, [Sender.CUSTOMER.value, since, client_id, conversation.pk]
    )
    assert row is not None  # an aggregate always answers
    return int(row[0] or 0), row[1]


def _check_rate(recent: int) -> None:
    limit = settings.CASEWORK_CHAT_MESSAGES_PER_MINUTE
    if recent >= limit:
        raise TooManyMessages(
            _("too many messages: at most %(limit)d a minute; please wait a moment")
            % {"limit": limit}
        )


def bot_says(conversation: Conversation, text: str, **meta: Any) -> ChatMessage:
    """In the caller's transaction, with the conversation locked."""
    return _append(conversation, Sender.BOT, text, meta=meta)


_NEXT_SEQ = "UPDATE chat_conversation SET last_seq = %s, updated_at = %s WHERE id = %s"


def _append(
    conversation: Conversation,
    sender: str,
    text: str,
    *,
    meta: dict[str, Any] | None = None,
    agent_id: int | None = None,
    client_id: str = "",
    is_internal: bool = False,
) -> ChatMessage:
    now = clock.now()
    conversation.last_seq += 1
    conversation.updated_at = now
    sql.execute(_NEXT_SEQ, [conversation.last_seq, now, conversation.pk])
    message = sql.insert(
        ChatMessage(
            conversation=conversation,
            seq=conversation.last_seq,
            sender=sender,
            agent_id=agent_id,
            text=text,
            client_id=client_id,
            is_internal=is_internal,
            meta=meta or {},
            created_at=now,
        )
    )
    # The message rides along: listeners that have everything before it send it on
    # without reading the database (one with a gap reads what it missed).
    realtime.publish(
        group_of(conversation.pk),
        {"kind": "message", "seq": message.seq, "message": message_json(message, for_agent=True)},
    )
    return message


def _lock(token: str) -> Conversation:
    found = sql.select(Conversation, _LOCK_BY_TOKEN + _for_update(), [token])
    if not found:
        raise ChatNotFound(_("there is no chat with this token"))
    return found[0]


_LOCK_BY_TOKEN = "SELECT {columns} FROM chat_conversation t WHERE t.token = %s"


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _lock_id(conversation_id: int) -> Conversation:
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        raise ChatNotFound(_("there is no chat %(id)s") % {"id": conversation_id})
    return conversation


def signal_typing(conversation: Conversation, *, sender: str) -> None:
    """A short-lived "is typing" to the other side (not stored with the messages; no
    event, so no wait for the event chain)."""
    with transaction.atomic():
        realtime.publish(group_of(conversation.pk), {"kind": "typing", "sender": sender})


# --- Identifying the visitor ---


@recording_transaction()
def identify_visitor(token: str, *, name: str = "", email: str = "", phone: str = "") -> bool:
    """The visitor names themselves. A matching customer's history gets the chat (and its
    case), for the agents; the visitor is not verified by this, so the bot still tells
    them nothing of that customer. Returns whether a customer was found."""
    conversation = _lock(token)
    identifiers = []
    try:
        if email:
            identifiers.append(normalise("email", email))
        if phone:
            identifiers.append(normalise("phone", phone))
    except InvalidIdentifier as error:
        raise InvalidInput(error.message, field="email" if email else "phone") from error
    if not identifiers:
        raise InvalidInput(_("give an e-mail address or a phone number"), field="email")
    conversation.visitor_name = name[:200]
    conversation.visitor_email = email[:254] if email else conversation.visitor_email
    update = ["visitor_name", "visitor_email", "updated_at"]
    customer = None
    for identifier in identifiers:
        found = CustomerIdentifier.objects.filter(
            kind=identifier.kind, value=identifier.value
        ).first()
        if found is not None:
            customer = Customer.objects.get(pk=found.customer_id)
            break
    if customer is not None and conversation.customer_id is None:
        conversation.customer = customer
        update.append("customer")
        _move_to_customer(conversation, customer)
    conversation.save(update_fields=update)
    record(
        "chat.visitor_identified",
        actor=SYSTEM,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"customer_id": customer.pk if customer else None, "is_verified": False},
    )
    return customer is not None


def _move_to_customer(conversation: Conversation, customer: Customer) -> None:
    if conversation.case_id and conversation.case.customer_id is None:
        conversation.case.customer = customer
        conversation.case.save(update_fields=["customer"])
    if conversation.interaction_id:
        Interaction.objects.filter(pk=conversation.interaction_id, customer=None).update(
            customer=customer
        )
    if conversation.work_item_id:
        get_router().amend(conversation.work_item_id, customer_id=customer.pk)


# --- Hand-over to a person ---


def hand_over(conversation: Conversation, *, reason: str) -> None:
    """In the caller's transaction, conversation locked: the chat becomes a case's
    interaction (if not yet) and a work item routed to an agent (language, skills, the
    customer's last agent); the bot offers a callback if nobody takes it in time."""
    if conversation.state != ConversationState.BOT:
        return
    now = clock.now()
    _ensure_case(conversation)
    conversation.route_request = _route_request(
        conversation,
        external_id=f"chat-{conversation.pk}",
        then="chat.handed_over",
        details={"reason": reason, "case_id": conversation.case_id, "intent": conversation.intent},
    )
    conversation.state = ConversationState.WAITING
    conversation.handover_reason = reason[:40]
    conversation.handed_over_at = now
    conversation.save(
        update_fields=["state", "route_request", "handover_reason", "handed_over_at", "updated_at"]
    )
    wait = settings.CASEWORK_CHAT_AGENT_WAIT_SECONDS
    jobs.enqueue(
        "chat.no_agent",
        {"conversation_id": conversation.pk},
        at=now + timedelta(seconds=wait),
        key=f"chat.no_agent:{conversation.pk}",
    )
    _append(
        conversation,
        Sender.SYSTEM,
        _("I am passing you to a colleague who can see everything you have written so far."),
    )
    if conversation.customer_id is None:
        conversation.context = {**conversation.context, "awaiting": "identify"}
        conversation.save(update_fields=["context", "updated_at"])
        bot_says(
            conversation,
            _(
                "While you wait: your e-mail address or phone number lets my colleague see "
                "your earlier contacts with us."
            ),
            awaiting="identify",
        )


def _route_request(
    conversation: Conversation,
    *,
    external_id: str,
    then: str,
    details: dict[str, Any],
    queue: str | None = None,
    actor: Actor = SYSTEM,
) -> dict[str, Any]:
    """What the chat asks of the router, to be kept with it until the answer is recorded:
    a work item for the chat's case (the chat's language required, the customer's affinity
    as usual; through the routing table, or `queue`, and where no rule covers the channel,
    the case's queue), and the event that records the answer (`then`, with `details`)."""
    new = NewWorkItem(
        channel="chat",
        external_id=external_id,
        customer_id=conversation.customer_id,
        case_id=conversation.case_id,
        language=conversation.language,
        queue=queue,
        required_skills=_language_requirement(conversation.language),
    )
    assert conversation.case is not None
    return {
        "item": new.to_json(),
        "fallback_queue": conversation.case.queue.code,
        "then": then,
        "details": details,
        "actor": {"kind": actor.kind.value, "id": actor.id, "label": actor.label},
    }


def route_requested(conversation_id: int) -> None:
    """The router's answer to the chat's request, in a transaction after the one that asked
    (docs/adr/0013); the answer's event is recorded with it. A request is asked for again
    (the same work item) by the visitor's next message or the no-agent job if this fails;
    one whose chat has ended meanwhile is dropped."""
    with recording_transaction():
        conversation = _lock_id(conversation_id)
        request = conversation.route_request
        if request is None:
            return
        conversation.route_request = None
        if conversation.state == ConversationState.WAITING:
            actor = Actor(ActorKind(request["actor"]["kind"]), request["actor"]["id"],
                          request["actor"]["label"])  # fmt: skip
            item = _submit(NewWorkItem.from_json(request["item"]),
                           request["fallback_queue"], actor=actor)  # fmt: skip
            conversation.work_item_id = item.id
            record(
                request["then"],
                actor=actor,
                object_type="conversation",
                object_id=conversation.pk,
                payload={**request["details"], "work_item_id": item.id},
            )
        conversation.save(update_fields=["route_request", "work_item", "updated_at"])


def _route_if_router_answers(conversation_id: int) -> None:
    """`route_requested`, unless the router process does not answer: then the request
    stays, and the visitor's next message or the no-agent job asks again (the visitor has
    been told already that a colleague will come)."""
    try:
        route_requested(conversation_id)
    except RouterUnavailable:
        logger.warning("chat %s waits for the router process", conversation_id)


def _submit(new: NewWorkItem, fallback_queue: str, *, actor: Actor) -> RoutedItem:
    try:
        return get_router().submit(new, actor=actor)
    except NoRoute:
        return get_router().submit(replace(new, queue=fallback_queue), actor=actor)


def _ensure_case(conversation: Conversation) -> None:
    if conversation.case_id:
        return
    first = conversation.messages.filter(sender=Sender.CUSTOMER).order_by("seq").first()
    subject = _("Chat: %(text)s") % {"text": first.text[:80] if first else "—"}
    result = intake.ingest(
        InboundMessage(
            channel="chat",
            external_id=f"chat-{conversation.pk}",
            received_at=conversation.created_at,
            customer_id=conversation.customer_id,
            sender_name=conversation.visitor_name,
            subject=subject,
            text=transcript(conversation),
            payload={"conversation_id": conversation.pk, "context": conversation.context},
        )
    )
    conversation.case = result.case
    conversation.interaction = result.interaction
    conversation.save(update_fields=["case", "interaction", "updated_at"])
    _attach_files(conversation)


def transcript(conversation: Conversation, *, for_agent: bool = False) -> str:
    """The chat as plain text, for the case's interaction and the e-mail continuation."""
    lines = []
    for message in messages_after(conversation, 0, for_agent=for_agent):
        when = clock.localtime(message.created_at).strftime("%H:%M")
        lines.append(f"[{when}] {sender_label(message)}: {message.text}")
    return "\n".join(lines)


def sender_label(message: ChatMessage) -> str:
    """The name the other side sees: the agent's, "Assistant" for the bot."""
    if message.sender == Sender.AGENT and message.agent is not None:
        return message.agent.display_name
    if message.sender == Sender.BOT:
        return _("Assistant")
    return str(Sender(message.sender).label)


def _save_transcript(conversation: Conversation) -> None:
    if conversation.interaction_id:
        Interaction.objects.filter(pk=conversation.interaction_id).update(
            text=transcript(conversation)
        )


def no_agent_in_time(conversation_id: int) -> None:
    """The job after the wait: nobody took the chat; offer a callback or e-mail. A request
    to the router that a crash left unanswered is put to it first."""
    route_requested(conversation_id)
    with recording_transaction():
        conversation = _lock_id(conversation_id)
        if conversation.state != ConversationState.WAITING:
            return
        from casework.chat import bot

        with translation.override(conversation.language):
            bot.offer_alternatives(conversation)


# --- Agents ---


def accept_chat(work_item_id: int, *, actor: Actor) -> Conversation:
    """The agent takes the offered chat (the router's offer), then joins it."""
    get_router().accept(work_item_id, actor=actor)
    return join_accepted(work_item_id, actor=actor)


def accept_callback(work_item_id: int, *, actor: Actor) -> RoutedItem:
    """The agent takes an offered callback: the case is theirs now (they call the customer
    and work it, whichever team's queue it is in)."""
    item = get_router().accept(work_item_id, actor=actor)
    if item.case_id:
        with recording_transaction():
            case = Case.objects.get(pk=item.case_id)
            if case.owner_id != actor.id:
                assign_case(case, Agent.objects.get(pk=actor.id), actor=SYSTEM)
    return item


@recording_transaction()
def join_accepted(work_item_id: int, *, actor: Actor) -> Conversation:
    """Bring the agent into the chat whose work item they accepted (again harmless)."""
    item = get_router().item(work_item_id)
    conversation = (
        Conversation.objects.select_for_update().filter(work_item_id=work_item_id).first()
    )
    if item is None or conversation is None:
        raise ChatNotFound(_("work item %(id)s is not a chat") % {"id": work_item_id})
    if item.status != WorkItemStatus.ACCEPTED or item.agent_id != actor.id:
        raise PermissionDenied(_("this chat is not yours"))
    if conversation.agent_id == actor.id and conversation.state == ConversationState.AGENT:
        return conversation
    jobs.cancel(f"chat.no_agent:{conversation.pk}")
    conversation.agent_id = actor.id
    conversation.state = ConversationState.AGENT
    conversation.save(update_fields=["agent", "state", "updated_at"])
    if conversation.case_id and conversation.case.owner_id is None:
        conversation.case.owner_id = actor.id
        conversation.case.save(update_fields=["owner"])
    agent = Agent.objects.select_related("user").get(pk=actor.id)
    with translation.override(conversation.language):
        _append(
            conversation,
            Sender.SYSTEM,
            _("%(name)s has joined the chat.") % {"name": agent.user.first_name or agent},
        )
    record(
        "chat.agent_joined",
        actor=actor,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"agent_id": actor.id, "work_item_id": item.id},
    )
    realtime.publish(
        realtime.agent_group(actor.id), {"kind": "joined", "conversation": conversation.pk}
    )
    return conversation


def agent_conversation(conversation_id: int, *, actor: Actor) -> Conversation:
    conversation = (
        Conversation.objects.select_related("customer", "case", "agent__user")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise ChatNotFound(_("there is no chat %(id)s") % {"id": conversation_id})
    if conversation.agent_id != actor.id:
        raise PermissionDenied(_("this chat is not yours"))
    return conversation


def post_agent_message(
    conversation_id: int, text: str, *, actor: Actor, is_internal: bool = False
) -> ChatMessage:
    text = text.strip()
    if not text:
        raise InvalidInput(_("the message is empty"), field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            _("a message may have at most %(max)d characters") % {"max": MAX_MESSAGE_CHARS},
            field="text",
        )
    # Nothing recorded in the event log: the conversation's row lock is enough.
    with transaction.atomic():
        conversation = _lock_id(conversation_id)
        if conversation.agent_id != actor.id:
            raise PermissionDenied(_("this chat is not yours"))
        if not conversation.is_open:
            raise ChatEnded(_("this chat has ended"))
        return _append(conversation, Sender.AGENT, text, agent_id=actor.id, is_internal=is_internal)


def transfer(
    conversation_id: int,
    *,
    actor: Actor,
    note: str,
    to_agent: Agent | None = None,
    to_queue: str | None = None,
) -> Conversation:
    """Hand the chat on, with a note the next agent reads (the customer does not): to a
    colleague directly, or to a queue's agents through the router (asked after the hand-on
    is stored)."""
    _transfer(conversation_id, actor=actor, note=note, to_agent=to_agent, to_queue=to_queue)
    _route_if_router_answers(conversation_id)
    return Conversation.objects.get(pk=conversation_id)


@recording_transaction()
def _transfer(
    conversation_id: int,
    *,
    actor: Actor,
    note: str,
    to_agent: Agent | None,
    to_queue: str | None,
) -> None:
    conversation = _lock_id(conversation_id)
    if conversation.agent_id != actor.id:
        raise PermissionDenied(_("this chat is not yours"))
    if not conversation.is_open:
        raise ChatEnded(_("this chat has ended"))
    if (to_agent is None) == (to_queue is None):
        raise InvalidInput(_("choose a colleague or a queue to transfer the chat to"), field="to")
    number = 1
    if conversation.work_item_id:
        done = get_router().complete(conversation.work_item_id, actor=actor)
        # The chat's items are chat-<id>, then chat-<id>-t1, -t2, … one per transfer.
        suffix = done.external_id.rpartition("-t")[2]
        number = int(suffix) + 1 if suffix.isdigit() else 1
    if conversation.case_id:
        # The router prefers the case's owner: the colleague, or nobody (the queue decides).
        assign_case(conversation.case, to_agent, actor=SYSTEM)
    conversation.route_request = _route_request(
        conversation,
        external_id=f"chat-{conversation.pk}-t{number}",
        then="chat.transferred",
        details={"queue": to_queue, "note": note},
        queue=to_queue,
        actor=actor,
    )
    conversation.state = ConversationState.WAITING
    conversation.agent = None
    conversation.save(update_fields=["state", "agent", "route_request", "updated_at"])
    _append(conversation, Sender.SYSTEM, note or _("transferred"), is_internal=True)
    with translation.override(conversation.language):
        _append(conversation, Sender.SYSTEM, _("I am passing you to a colleague."))


def end_conversation(
    token: str | None = None,
    *,
    conversation_id: int | None = None,
    actor: Actor,
    wrap_up: str = "",
) -> Conversation:
    """The visitor leaves, or the agent ends the chat with a wrap-up: the transcript is
    saved on the case's interaction and the agent's capacity freed."""
    with recording_transaction():
        conversation = _lock(token) if token else _lock_id(conversation_id or 0)
        if actor.kind == ActorKind.AGENT and conversation.agent_id != actor.id:
            raise PermissionDenied(_("this chat is not yours"))
        if not conversation.is_open:
            return conversation
        item = _work_item(conversation)
        if item is not None:
            if item.status == WorkItemStatus.ACCEPTED:
                get_router().complete(item.id, actor=actor)
            elif item.is_waiting:
                get_router().withdraw(item.id, actor=SYSTEM, reason="visitor left")
        jobs.cancel(f"chat.no_agent:{conversation.pk}")
        with translation.override(conversation.language):
            _append(conversation, Sender.SYSTEM, _("The chat has ended."))
        conversation.state = ConversationState.ENDED
        conversation.ended_at = clock.now()
        conversation.wrap_up = wrap_up
        conversation.save(update_fields=["state", "ended_at", "wrap_up", "updated_at"])
        _save_transcript(conversation)
        record(
            "chat.ended",
            actor=actor,
            object_type="conversation",
            object_id=conversation.pk,
            payload={"wrap_up": wrap_up, "case_id": conversation.case_id},
        )
        if conversation.agent_id:
            realtime.publish(realtime.agent_group(conversation.agent_id), {"kind": "ended"})
        return conversation


# --- When nobody is free: a callback or e-mail ---


def request_callback(conversation: Conversation, *, phone: str) -> int | None:
    """In the caller's transaction, conversation locked: a callback request due from now, on
    the chat's case (the agent who takes it sees the transcript there; it becomes urgent if
    nobody has taken it when its window ends); the chat stays with the bot."""
    _ensure_case(conversation)
    _withdraw_waiting(conversation, reason="callback requested")
    assert conversation.case is not None
    callback = callbacks.request_callback(
        callbacks.NewCallback(
            number=phone,
            source=CallbackSource.CHAT,
            queue=conversation.case.queue.code,
            customer_id=conversation.customer_id,
            case_id=conversation.case_id,
            language=conversation.language,
        ),
        actor=SYSTEM,
    )
    item_id = callback.work_item_id  # None while the router process does not answer
    add_note(
        conversation.case,
        _("Callback requested in the chat, on %(phone)s.") % {"phone": phone},
        actor=SYSTEM,
    )
    conversation.context = {**conversation.context, "callback_phone": phone}
    conversation.save(update_fields=["context", "updated_at"])
    record(
        "chat.callback_requested",
        actor=SYSTEM,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"work_item_id": item_id, "case_id": conversation.case_id, "phone": phone},
    )
    return item_id


def continue_by_email(conversation: Conversation) -> bool:
    """In the caller's transaction, conversation locked: the case continues by e-mail (it
    waits in its queue for an agent's answer); False when no address is known yet."""
    address = conversation.visitor_email or _customer_email(conversation)
    if not address:
        conversation.context = {**conversation.context, "awaiting": "email"}
        conversation.save(update_fields=["context", "updated_at"])
        bot_says(conversation, _("Which e-mail address should we answer to?"), awaiting="email")
        return False
    _ensure_case(conversation)
    _withdraw_waiting(conversation, reason="continued by e-mail")
    assert conversation.case is not None
    add_note(
        conversation.case,
        _("The customer asked in the chat for an answer by e-mail to %(address)s.")
        % {"address": address},
        actor=SYSTEM,
    )
    bot_says(
        conversation,
        _("Thank you. We will answer by e-mail to %(address)s; your case is %(reference)s.")
        % {"address": address, "reference": conversation.case.reference},
    )
    record(
        "chat.continued_by_email",
        actor=SYSTEM,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"case_id": conversation.case_id},
    )
    return True


def _customer_email(conversation: Conversation) -> str:
    if conversation.customer_id is None or not conversation.is_verified:
        return ""
    identifier = CustomerIdentifier.objects.filter(
        customer_id=conversation.customer_id, kind="email"
    ).first()
    return identifier.value if identifier else ""


def _withdraw_waiting(conversation: Conversation, *, reason: str) -> None:
    jobs.cancel(f"chat.no_agent:{conversation.pk}")
    item = _work_item(conversation)
    if item is not None and item.is_waiting:
        get_router().withdraw(item.id, actor=SYSTEM, reason=reason)
    if conversation.state == ConversationState.WAITING:
        conversation.state = ConversationState.BOT
        conversation.save(update_fields=["state", "updated_at"])


def _work_item(conversation: Conversation) -> RoutedItem | None:
    """The chat's work item as the router knows it now."""
    if conversation.work_item_id is None:
        return None
    return get_router().item(conversation.work_item_id)


def _language_requirement(language: str) -> dict[str, int]:
    skill = f"lang-{language}"
    return {skill: 1} if Skill.objects.filter(code=skill).exists() else {}


def resume_or_start(
    *,
    token: str,
    language: str,
    page_url: str = "",
    customer: Customer | None = None,
    context: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Conversation:
    """The widget (re)connects: its open chat, or a new one. `customer` is a proved
    identity (a verified start token, the portal's session). New chats from one address
    are limited (`CASEWORK_CHAT_STARTS_PER_MINUTE`)."""
    if token:
        conversation = Conversation.objects.filter(token=token).first()
        if conversation is not None and conversation.is_open:
            return conversation
    if client_address:
        since = clock.now() - timedelta(minutes=1)
        started = Conversation.objects.filter(
            client_address=client_address, created_at__gte=since
        ).count()
        if started >= settings.CASEWORK_CHAT_STARTS_PER_MINUTE:
            raise TooManyChats(_("too many new chats from your address; please wait a minute"))
    return start_conversation(
        language=language,
        page_url=page_url,
        customer=customer,
        is_verified=customer is not None,
        context=context,
        client_address=client_address,
    )


def visitor_view(data: dict[str, Any]) -> dict[str, Any] | None:
    """What the visitor's widget receives of an agent-side message (None: internal)."""
    if data.get("internal"):
        return None
    return {key: value for key, value in data.items() if key not in _AGENT_ONLY}


_AGENT_ONLY = ("conversation", "internal", "intent")


def message_json(message: ChatMessage, *, for_agent: bool = False) -> dict[str, Any]:
    """A message as the widget and the console receive it (text only, never HTML)."""
    shown = {key: message.meta[key] for key in _SHOWN_META if key in message.meta}
    data = {
        "type": "message",
        "seq": message.seq,
        "sender": message.sender,
        "name": sender_label(message),
        "text": message.text,
        "at": clock.localtime(message.created_at).isoformat(),
        # Shown as is: the installation's time zone, not the browser's.
        "time": clock.localtime(message.created_at).strftime("%H:%M"),
        **shown,
    }
    if message.client_id:
        data["id"] = message.client_id
    if for_agent:
        data["conversation"] = message.conversation_id
        data["internal"] = message.is_internal
        if "intent" in message.meta:
            data["intent"] = message.meta["intent"]
    return data


# What of a message's details the visitor's widget shows: buttons, sources, an offer link.
_SHOWN_META = ("choices", "sources", "offer", "portal", "awaiting", "file")


# --- Files the visitor sends ---


def post_customer_file(token: str, filename: str, content: bytes, *, client_id: str = "") -> Posted:
    """A document the visitor sends (the portal's rules: PDF, JPEG, PNG or text, checked by
    its first bytes, bounded in size). Stored before the message is written; the file
    joins the chat's interaction on the case."""
    checked = check_upload(Upload(filename=filename, content=content))
    if len(client_id) > 64:
        raise InvalidInput(_("the message id is longer than 64 characters"), field="id")
    sha256 = store_bytes(checked.content)
    with recording_transaction():
        conversation = _lock(token)
        recent, earlier_id = _recent_and_earlier(conversation, client_id)
        if earlier_id is not None:
            return Posted(ChatMessage.objects.get(pk=earlier_id), is_new=False)
        if not conversation.is_open:
            raise ChatEnded(_("this chat has ended; start a new one"))
        _check_rate(recent)
        with translation.override(conversation.language):
            text = _("Sent a file: %(name)s") % {"name": checked.filename}
        file = {
            "name": checked.filename,
            "content_type": checked.content_type,
            "size": len(checked.content),
            "sha256": sha256,
        }
        message = _append(
            conversation, Sender.CUSTOMER, text, meta={"file": file}, client_id=client_id
        )
        _attach_files(conversation)
        return Posted(message, is_new=True)


def _attach_files(conversation: Conversation) -> None:
    """The visitor's files on the chat's interaction (once each), when it has one."""
    if not conversation.interaction_id:
        return
    attached = set(
        Attachment.objects.filter(interaction_id=conversation.interaction_id).values_list(
            "sha256", "filename"
        )
    )
    for message in conversation.messages.filter(sender=Sender.CUSTOMER).exclude(meta={}):
        file = message.meta.get("file")
        if not file or (file["sha256"], file["name"]) in attached:
            continue
        Attachment.objects.create(
            interaction_id=conversation.interaction_id,
            filename=file["name"],
            content_type=file["content_type"],
            size_bytes=file["size"],
            sha256=file["sha256"],
        )
        attached.add((file["sha256"], file["name"]))


@recording_transaction()
def link_to_case(conversation_id: int, target: Case, *, actor: Actor) -> Conversation:
    """The chat belongs to an existing case of the customer: the case opened at the
    hand-over is merged into it (its contacts move, it closes with a pointer)."""
    conversation = _lock_id(conversation_id)
    if conversation.agent_id != actor.id:
        raise PermissionDenied(_("this chat is not yours"))
    if conversation.case_id == target.pk:
        return conversation
    if conversation.case_id:
        merge_cases(conversation.case, target, actor=actor)
    conversation.case = target
    conversation.save(update_fields=["case", "updated_at"])
    if conversation.work_item_id:
        get_router().amend(conversation.work_item_id, case_id=target.pk)
    record(
        "chat.linked",
        actor=actor,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"case_id": target.pk},
    )
    return conversation

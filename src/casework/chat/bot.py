"""The chat bot: answers first, hands over to a person when it should.

It recognises the visitor's intent with the installation's trained classifier (task
`chat_intent`, trained from `chat_data/intents.csv` by `casework chat train-intents`),
answers questions from public knowledge articles (naming the source), tells a verified
customer the status of their cases, proposes a fitting offer from the customer's profile
(the next-best-offer ranking) with a link to accept it in the portal, and hands over when
asked, on a complaint or negative sentiment, or after failing to understand twice in a row.

Buttons in the widget send commands (`/person`, `/callback`, `/email`, `/wait`), so a
choice never depends on the classifier. Runs in the transaction of the visitor's message,
with the conversation locked; texts in the conversation's language (the caller sets it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from casework.cases.models import OPEN_STATUSES, Case
from casework.chat import services
from casework.chat.models import ChatMessage, Conversation, ConversationState
from casework.classify.prediction import NoActiveModel, Prediction, classify_text
from casework.customers.identifiers import InvalidIdentifier, normalise
from casework.customers.models import CustomerIdentifier
from casework.events.services import record

logger = logging.getLogger(__name__)

INTENT_TASK = "chat_intent"
# Below this the intent is not trusted and the bot tries the knowledge base instead.
INTENT_CONFIDENCE = 0.45
# Knowledge hits below this score are not shown as an answer: the search's score is the
# engine's relevance (at most 1) plus twice the share of the question's words the article
# holds plus the share its title holds, so this asks for more than a stray word.
MIN_ARTICLE_SCORE = 1.5

PERSON, CALLBACK, EMAIL, WAIT = "/person", "/callback", "/email", "/wait"


@dataclass(frozen=True)
class Reply:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


INTENT_LABELS = {
    "product_question": _lazy("product or tariff question"),
    "case_status": _lazy("case status"),
    "change_details": _lazy("change of details"),
    "callback": _lazy("callback"),
    "human": _lazy("wants a person"),
    "complaint": _lazy("complaint"),
    "greeting": _lazy("greeting"),
}
HANDOVER_LABELS = {
    "asked-for-person": _lazy("the customer asked for a person"),
    "complaint": _lazy("a complaint"),
    "negative-sentiment": _lazy("the customer is upset"),
    "not-understood": _lazy("the bot did not understand twice"),
}


def greet(conversation: Conversation) -> list[Reply]:
    offer_code = conversation.context.get("offer")
    if offer_code:
        text = _(
            "Hello! You came from our message about your contract. Ask me about the offer "
            "or anything else — or talk to a colleague."
        )
    else:
        text = _("Hello! I am the digital assistant. How can I help you?")
    return [Reply(text, {"choices": [_choice(PERSON)]})]


def respond(conversation: Conversation, message: ChatMessage) -> None:
    text = message.text.strip()
    awaiting = conversation.context.get("awaiting")
    if text.startswith("/"):
        _command(conversation, text.split()[0].lower())
        return
    if awaiting == "phone":
        _take_phone(conversation, text)
        return
    if awaiting == "email":
        _take_email(conversation, text)
        return
    if awaiting == "identify":
        _take_identity(conversation, text)
        return
    prediction = _intent(text)
    intent = prediction.label if prediction and prediction.confidence >= INTENT_CONFIDENCE else ""
    conversation.intent = intent or conversation.intent
    conversation.save(update_fields=["intent", "updated_at"])
    meta = {"intent": intent, "confidence": prediction.confidence if prediction else None}
    if _is_negative(text) and intent != "greeting":
        services.hand_over(conversation, reason="negative-sentiment")
    elif intent == "human":
        services.hand_over(conversation, reason="asked-for-person")
    elif intent == "complaint":
        services.hand_over(conversation, reason="complaint")
    elif intent == "callback":
        _ask_callback(conversation, meta)
    elif intent == "case_status":
        _case_status(conversation, meta)
    elif intent == "greeting":
        _understood(conversation)
        services.bot_says(
            conversation, _("Gladly. Is there anything else I can do for you?"), **meta
        )
    else:
        _answer_from_knowledge(conversation, text, meta, intent=intent)


def _intent(text: str) -> Prediction | None:
    try:
        return classify_text(INTENT_TASK, text)
    except NoActiveModel:
        return None


def _is_negative(text: str) -> bool:
    """The installation's sentiment classifier, if it has one, says "negative" and is sure."""
    try:
        prediction = classify_text("sentiment", text)
    except NoActiveModel:
        return False
    return prediction.label == "negative" and prediction.is_confident


def _choice(value: str) -> dict[str, str]:
    labels = {
        PERSON: _("Talk to a person"),
        CALLBACK: _("Call me back"),
        EMAIL: _("Continue by e-mail"),
        WAIT: _("Keep waiting"),
    }
    return {"value": value, "label": labels[value]}


def _command(conversation: Conversation, command: str) -> None:
    if command == PERSON:
        if conversation.state == ConversationState.BOT:
            services.hand_over(conversation, reason="asked-for-person")
    elif command == CALLBACK:
        _ask_callback(conversation, {"command": command})
    elif command == EMAIL:
        _continue_by_email(conversation)
    elif command == WAIT:
        services.bot_says(conversation, _("Of course — a colleague will be with you shortly."))
    else:
        services.bot_says(conversation, _("I do not know this command."))


def _understood(conversation: Conversation) -> None:
    if conversation.misunderstood:
        conversation.misunderstood = 0
        conversation.save(update_fields=["misunderstood", "updated_at"])


def _answer_from_knowledge(
    conversation: Conversation, text: str, meta: dict[str, Any], *, intent: str
) -> None:
    from casework.knowledge.search import search_articles

    hits = [
        hit
        for hit in search_articles(text, language=conversation.language, public_only=True, limit=3)
        if hit.score > MIN_ARTICLE_SCORE
    ]
    if not hits:
        conversation.misunderstood += 1
        conversation.save(update_fields=["misunderstood", "updated_at"])
        if conversation.misunderstood >= settings.CASEWORK_CHAT_MISUNDERSTOOD_LIMIT:
            services.bot_says(conversation, _("I am sorry, I did not understand that."), **meta)
            services.hand_over(conversation, reason="not-understood")
            return
        services.bot_says(
            conversation,
            _("I am sorry, I did not understand that. Could you say it differently?"),
            choices=[_choice(PERSON)],
            **meta,
        )
        return
    _understood(conversation)
    best = hits[0]
    answer = best.summary or best.excerpt
    services.bot_says(
        conversation,
        _("%(answer)s\n\nSource: %(title)s") % {"answer": answer, "title": best.title},
        sources=[{"code": best.code, "title": best.title, "url": best.url}],
        more=[hit.code for hit in hits[1:]],
        **meta,
    )
    if intent in ("product_question", "") and conversation.is_verified:
        _propose_offer(conversation)


def _propose_offer(conversation: Conversation) -> None:
    """Once per chat: the customer's best eligible offer (the one the campaign advertised
    first), with the link to accept it in the portal."""
    if conversation.context.get("offer_proposed") or conversation.customer is None:
        return
    from casework.offers.ranking import next_best_offers

    wanted = conversation.context.get("offer")
    suggestions = next_best_offers(conversation.customer, limit=5, kinds=["offer"])
    suggestion = next((s for s in suggestions if s.offer.code == wanted), None) or (
        suggestions[0] if suggestions else None
    )
    if suggestion is None:
        return
    offer = suggestion.offer
    # Said in the chat only: an agent who takes the customer on adds it to the portal
    # (`offers.services.propose_offer`); the link works for an eligible offer either way.
    record(
        "chat.offer_proposed",
        actor=services.BOT,
        object_type="conversation",
        object_id=conversation.pk,
        payload={
            "customer_id": conversation.customer_id,
            "offer": offer.code,
            "score": suggestion.score,
            "reasons": suggestion.reasons,
        },
    )
    conversation.context = {**conversation.context, "offer_proposed": offer.code}
    conversation.save(update_fields=["context", "updated_at"])
    language = conversation.language
    services.bot_says(
        conversation,
        _("A fitting offer for you: %(name)s — %(description)s (%(reasons)s)")
        % {
            "name": offer.name_in(language),
            "description": offer.description(language),
            "reasons": suggestion.reason_text,
        },
        offer={"code": offer.code, "url": _portal_offer_url(offer.code)},
    )


def _portal_offer_url(code: str) -> str:
    try:
        return reverse("portal:offer", kwargs={"code": code})
    except NoReverseMatch:
        return ""


def _case_status(conversation: Conversation, meta: dict[str, Any]) -> None:
    _understood(conversation)
    if not conversation.is_verified or conversation.customer is None:
        services.bot_says(
            conversation,
            _(
                "To tell you about your cases I need to know who you are: please sign in to "
                "the customer portal, or talk to a colleague."
            ),
            choices=[_choice(PERSON)],
            portal=_portal_url(),
            **meta,
        )
        return
    cases = list(
        Case.objects.filter(customer=conversation.customer, status__in=OPEN_STATUSES).order_by(
            "-last_activity_at"
        )[:5]
    )
    if not cases:
        services.bot_says(conversation, _("You have no open cases with us."), **meta)
        return
    lines = [
        _("%(reference)s “%(subject)s”: %(status)s")
        % {
            "reference": case.reference,
            "subject": case.subject,
            "status": case.get_status_display(),
        }
        for case in cases
    ]
    services.bot_says(
        conversation,
        _("Your open cases:") + "\n" + "\n".join(lines),
        cases=[case.reference for case in cases],
        **meta,
    )


def _portal_url() -> str:
    try:
        return reverse("portal:home")
    except NoReverseMatch:
        return ""


def _ask_callback(conversation: Conversation, meta: dict[str, Any]) -> None:
    _understood(conversation)
    phone = _known_phone(conversation)
    if phone:
        _request_callback(conversation, phone)
        return
    conversation.context = {**conversation.context, "awaiting": "phone"}
    conversation.save(update_fields=["context", "updated_at"])
    services.bot_says(
        conversation, _("Which phone number should we call you on?"), awaiting="phone", **meta
    )


def _known_phone(conversation: Conversation) -> str:
    if conversation.customer_id is None or not conversation.is_verified:
        return ""
    identifier = CustomerIdentifier.objects.filter(
        customer_id=conversation.customer_id, kind="phone"
    ).first()
    return identifier.value if identifier else ""


def _take_phone(conversation: Conversation, text: str) -> None:
    try:
        phone = normalise("phone", text).value
    except InvalidIdentifier:
        services.bot_says(
            conversation,
            _("That does not look like a phone number. Please write it with the area code."),
            awaiting="phone",
        )
        return
    conversation.context = {k: v for k, v in conversation.context.items() if k != "awaiting"}
    conversation.save(update_fields=["context", "updated_at"])
    _request_callback(conversation, phone)


def _request_callback(conversation: Conversation, phone: str) -> None:
    work_item_id = services.request_callback(conversation, phone=phone)
    services.bot_says(
        conversation,
        _("Thank you. A colleague will call you back on %(phone)s; your case is %(reference)s.")
        % {"phone": phone, "reference": conversation.case.reference if conversation.case else ""},
        callback={"work_item_id": work_item_id},
    )


def _continue_by_email(conversation: Conversation) -> None:
    services.continue_by_email(conversation)


def _take_identity(conversation: Conversation, text: str) -> None:
    """An e-mail address or phone number, if that is what the visitor wrote; anything else
    is a message for the agent and the bot stops asking."""
    conversation.context = {k: v for k, v in conversation.context.items() if k != "awaiting"}
    conversation.save(update_fields=["context", "updated_at"])
    kind = "email" if "@" in text else "phone"
    try:
        normalise(kind, text.strip())
    except InvalidIdentifier:
        return
    services.identify_visitor(conversation.token, **{kind: text.strip()})
    services.bot_says(conversation, _("Thank you, my colleague will see it."))


def _take_email(conversation: Conversation, text: str) -> None:
    try:
        address = normalise("email", text).value
    except InvalidIdentifier:
        services.bot_says(
            conversation,
            _("That does not look like an e-mail address. Please check it."),
            awaiting="email",
        )
        return
    conversation.context = {k: v for k, v in conversation.context.items() if k != "awaiting"}
    conversation.visitor_email = address
    conversation.save(update_fields=["context", "visitor_email", "updated_at"])
    services.continue_by_email(conversation)


def offer_alternatives(conversation: Conversation) -> None:
    """Nobody took the chat in time (the job after the wait)."""
    services.bot_says(
        conversation,
        _(
            "All colleagues are busy at the moment. Shall we call you back, or continue by "
            "e-mail? You can also keep waiting."
        ),
        choices=[_choice(CALLBACK), _choice(EMAIL), _choice(WAIT)],
    )
    record(
        "chat.no_agent_in_time",
        actor=services.SYSTEM,
        object_type="conversation",
        object_id=conversation.pk,
        payload={"work_item_id": conversation.work_item_id},
    )

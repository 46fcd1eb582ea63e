"""What the agent's chat console shows: offers of chats and callbacks, the agent's open
chats, one chat with its customer, and the knowledge that fits the last question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from casework.cases.models import OPEN_STATUSES, Case
from casework.cases.queries import visible_cases
from casework.chat.models import ChatMessage, Conversation, ConversationState, Sender
from casework.kernel.actors import Actor
from casework.routing.models import Offer, OfferStatus


@dataclass(frozen=True)
class PendingOffer:
    offer: Offer
    conversation: Conversation | None  # None for a callback without its chat


def pending_offers(agent_id: int) -> list[PendingOffer]:
    """Chats and callbacks offered to the agent and not yet answered, oldest first."""
    offers = list(
        Offer.objects.filter(
            agent_id=agent_id, status=OfferStatus.PENDING, item__channel__in=["chat", "callback"]
        )
        .select_related("item__customer", "item__case")
        .order_by("offered_at")
    )
    chats = {
        conversation.work_item_id: conversation
        for conversation in Conversation.objects.filter(
            work_item_id__in=[offer.item_id for offer in offers]
        )
    }
    return [PendingOffer(offer, chats.get(offer.item_id)) for offer in offers]


def open_chats(agent_id: int) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(agent_id=agent_id)
        .exclude(state=ConversationState.ENDED)
        .select_related("customer", "case")
        .order_by("handed_over_at")
    )


def last_customer_text(conversation: Conversation) -> str:
    message = (
        conversation.messages.filter(sender=Sender.CUSTOMER).order_by("-seq").only("text").first()
    )
    return message.text if message else ""


def customer_question_text(conversation: Conversation, *, last: int = 3) -> str:
    """The visitor's last few messages: what the knowledge suggestions look for."""
    texts = list(
        conversation.messages.filter(sender=Sender.CUSTOMER)
        .order_by("-seq")
        .values_list("text", flat=True)[:last]
    )
    return " ".join(reversed(texts))


def transcript_messages(conversation: Conversation) -> QuerySet[ChatMessage]:
    return conversation.messages.select_related("agent__user").order_by("seq")


def knowledge_for(conversation: Conversation) -> list[Any]:
    from casework.knowledge.search import search_articles

    text = customer_question_text(conversation)
    if not text:
        return []
    return search_articles(text, language=conversation.language, limit=3)


def other_open_cases(conversation: Conversation, actor: Actor) -> list[Case]:
    """The customer's other open cases the agent may see: where the chat may belong."""
    if conversation.customer_id is None:
        return []
    return list(
        visible_cases(actor)
        .filter(customer_id=conversation.customer_id, status__in=OPEN_STATUSES)
        .exclude(pk=conversation.case_id)
        .order_by("-last_activity_at")[:10]
    )

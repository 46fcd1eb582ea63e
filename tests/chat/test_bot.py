"""The bot on the demo's knowledge base and offers: it answers a tariff question from the
right article, proposes the fitting offer only to a verified customer, tells a verified
customer their cases, hands over when it fails twice."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.chat import services
from casework.chat.models import ConversationState, Sender
from casework.demo.knowledge import load_knowledge
from casework.events.models import Event
from casework.kernel import clock
from casework.offers.demo import ensure_demo_offers
from tests.factories import CaseFactory, ContractFactory, CustomerFactory, InterestFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def knowledge(db) -> None:  # noqa: ANN001
    load_knowledge()


@pytest.fixture
def lisa(db):  # noqa: ANN001, ANN201
    """A contract ending in 35 days and an interest in international tariffs."""
    ensure_demo_offers()
    customer = CustomerFactory(first_name="Lisa", language="de")
    ContractFactory(customer=customer, end_date=TODAY + dt.timedelta(days=35))
    InterestFactory(customer=customer, tag="international-tariffs")
    return customer


@pytest.fixture
def today():  # noqa: ANN201
    with clock.running_at(dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)):
        yield


def bot_replies(conversation, after: int) -> list:  # noqa: ANN001
    return list(conversation.messages.filter(seq__gt=after, sender=Sender.BOT).order_by("seq"))


def ask(conversation, text: str) -> list:  # noqa: ANN001
    before = conversation.messages.order_by("-seq").first().seq
    services.post_customer_message(conversation.token, text)
    return bot_replies(conversation, before)


def test_a_tariff_question_is_answered_from_the_right_article(intents, knowledge) -> None:  # noqa: ANN001
    conversation = services.start_conversation(language="de")
    [answer] = ask(conversation, "Welche Tarife gibt es fürs Ausland?")
    assert answer.meta["sources"][0]["code"] == "auslandstarife-option-welt"
    assert answer.meta["sources"][0]["url"].startswith("/help/auslandstarife-option-welt/")
    assert "Quelle: Auslandstarife und Option Welt" in answer.text
    assert answer.meta["intent"] == "product_question"


def test_the_offer_is_proposed_to_a_verified_customer_only(
    intents,
    knowledge,
    lisa,
    today,  # noqa: ANN001
) -> None:
    anonymous = services.start_conversation(language="de")
    assert len(ask(anonymous, "Welche Tarife gibt es fürs Ausland?")) == 1
    assert not Event.objects.filter(code="chat.offer_proposed").exists()

    verified = services.start_conversation(
        language="de", customer=lisa, is_verified=True, context={"offer": "international-option"}
    )
    answer, offer = ask(verified, "Welche Tarife gibt es fürs Ausland?")
    assert offer.meta["offer"]["code"] == "international-option"
    assert offer.meta["offer"]["url"] == "/portal/offers/international-option/"
    assert "Option Welt" in offer.text
    proposed = Event.objects.get(code="chat.offer_proposed", object_id=verified.pk)
    assert proposed.payload["offer"] == "international-option"
    # Once per chat.
    assert len(ask(verified, "Und was kostet Roaming in der Schweiz?")) == 1


def test_case_status_for_a_verified_customer_and_not_for_a_stranger(intents, lisa) -> None:  # noqa: ANN001
    case = CaseFactory(customer=lisa, subject="Rufnummer mitnehmen")
    stranger = services.start_conversation(language="de")
    [refusal] = ask(stranger, "Wie ist der Stand meiner Anfrage?")
    assert case.reference not in refusal.text and "Kundenportal an" in refusal.text
    verified = services.start_conversation(language="de", customer=lisa, is_verified=True)
    [status] = ask(verified, "Wie ist der Stand meiner Anfrage?")
    assert case.reference in status.text and "Rufnummer mitnehmen" in status.text


def test_two_misunderstandings_in_a_row_hand_over(intents, knowledge, chat_intake) -> None:  # noqa: ANN001
    conversation = services.start_conversation(language="de")
    ask(conversation, "Quxbrz flimp")
    conversation.refresh_from_db()
    assert conversation.misunderstood == 1 and conversation.state == ConversationState.BOT
    ask(conversation, "Zorp glax")
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.handover_reason == "not-understood"


def test_a_complaint_is_handed_over_at_once(intents, chat_intake) -> None:  # noqa: ANN001
    conversation = services.start_conversation(language="de")
    ask(conversation, "Das ist eine Frechheit, ich bin sehr verärgert über die Rechnung")
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.handover_reason == "complaint"

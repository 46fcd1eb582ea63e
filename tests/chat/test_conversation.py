"""A chat from the visitor's first message to the agent's wrap-up, through the real
router, intake and event log."""

from __future__ import annotations

import pytest

from casework.chat import services
from casework.chat.models import ChatMessage, Conversation, ConversationState, Sender
from casework.events.models import Event
from casework.kernel import jobs
from casework.kernel.errors import InvalidInput, PermissionDenied
from casework.routing.models import WorkItem, WorkItemStatus
from tests.factories import AgentFactory, CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


def _start(**kwargs) -> Conversation:  # noqa: ANN003
    return services.start_conversation(language=kwargs.pop("language", "de"), **kwargs)


def texts(conversation: Conversation) -> list[tuple[str, str]]:
    return [(m.sender, m.text) for m in conversation.messages.order_by("seq")]


def test_a_new_chat_greets_the_visitor_in_their_language(intents) -> None:  # noqa: ANN001
    german = _start(language="de")
    english = _start(language="en")
    assert texts(german)[0][0] == Sender.BOT
    assert texts(german)[0][1].startswith("Hallo")
    assert texts(english)[0][1].startswith("Hello")
    assert Event.objects.filter(code="chat.started", object_id=german.pk).exists()


def test_messages_are_numbered_and_a_resent_message_is_not_doubled(intents) -> None:  # noqa: ANN001
    conversation = _start()
    first = services.post_customer_message(conversation.token, "Hallo", client_id="m-1")
    again = services.post_customer_message(conversation.token, "Hallo", client_id="m-1")
    assert first.is_new and not again.is_new
    assert again.message.pk == first.message.pk
    seqs = list(conversation.messages.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert ChatMessage.objects.filter(conversation=conversation, client_id="m-1").count() == 1


@pytest.mark.parametrize(
    ("text", "client_id", "field"),
    [("   ", "", "text"), ("x" * 4001, "", "text"), ("Hallo", "i" * 65, "id")],
)
def test_bad_messages_are_refused_and_nothing_is_stored(text, client_id, field) -> None:  # noqa: ANN001
    conversation = _start()
    before = conversation.messages.count()
    with pytest.raises(InvalidInput) as refused:
        services.post_customer_message(conversation.token, text, client_id=client_id)
    assert refused.value.details.get("field") == field
    assert conversation.messages.count() == before


def test_an_unknown_token_is_refused() -> None:
    with pytest.raises(services.ChatNotFound):
        services.post_customer_message("no-such-token", "Hallo")


def test_too_many_messages_a_minute_are_refused(settings, intents) -> None:  # noqa: ANN001
    settings.CASEWORK_CHAT_MESSAGES_PER_MINUTE = 3
    conversation = _start()
    for number in range(3):
        services.post_customer_message(conversation.token, f"Hallo {number}")
    with pytest.raises(services.TooManyMessages):
        services.post_customer_message(conversation.token, "noch eins")


def test_asking_for_a_person_hands_over_to_a_routed_agent_with_the_transcript(
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    conversation = _start()
    services.post_customer_message(conversation.token, "Ich möchte mit einem Menschen sprechen")
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.handover_reason == "asked-for-person"
    assert conversation.intent == "human"
    item = conversation.work_item
    assert item.channel == "chat" and item.status == WorkItemStatus.OFFERED
    assert item.agent_id == chat_agent.pk
    # The chat is an interaction on a case, holding what was said so far.
    assert conversation.case is not None
    assert "Menschen sprechen" in conversation.interaction.text

    services.accept_chat(item.pk, actor=chat_agent_actor)
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.AGENT
    assert conversation.agent_id == chat_agent.pk
    assert conversation.case.owner_id == chat_agent.pk

    services.post_agent_message(
        conversation.pk, "Guten Tag, wie kann ich helfen?", actor=chat_agent_actor
    )
    services.post_customer_message(conversation.token, "Meine Rechnung ist zu hoch")
    # The bot is quiet once a person is there.
    assert texts(conversation)[-1] == (Sender.CUSTOMER, "Meine Rechnung ist zu hoch")

    services.end_conversation(
        conversation_id=conversation.pk, actor=chat_agent_actor, wrap_up="erklärt"
    )
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ENDED
    assert WorkItem.objects.get(pk=item.pk).status == WorkItemStatus.COMPLETED
    interaction_text = conversation.interaction.text
    assert "Guten Tag, wie kann ich helfen?" in interaction_text
    assert "Meine Rechnung ist zu hoch" in interaction_text
    codes = set(
        Event.objects.filter(object_type="conversation", object_id=conversation.pk).values_list(
            "code", flat=True
        )
    )
    assert {"chat.handed_over", "chat.agent_joined", "chat.ended"} <= codes


def test_another_agent_cannot_write_into_the_chat(intents, chat_agent, chat_agent_actor) -> None:  # noqa: ANN001
    from casework.routing.queries import actor_for_agent

    conversation = _start()
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    services.accept_chat(conversation.work_item_id, actor=chat_agent_actor)
    stranger = actor_for_agent(AgentFactory())
    with pytest.raises(PermissionDenied):
        services.post_agent_message(conversation.pk, "hallo", actor=stranger)
    with pytest.raises(PermissionDenied):
        services.agent_conversation(conversation.pk, actor=stranger)


def test_nobody_free_in_time_the_bot_offers_a_callback_which_is_routed(
    intents,
    chat_intake,
    moving_clock,
    settings,  # noqa: ANN001
) -> None:
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="phone", value="+4930123456")
    conversation = _start(customer=customer, is_verified=True)
    services.post_customer_message(conversation.token, "/person")
    moving_clock.advance(settings.CASEWORK_CHAT_AGENT_WAIT_SECONDS + 1)
    jobs.run_due()
    last = conversation.messages.order_by("-seq").first()
    assert [choice["value"] for choice in last.meta["choices"]] == ["/callback", "/email", "/wait"]

    services.post_customer_message(conversation.token, "/callback")
    conversation.refresh_from_db()
    callback = WorkItem.objects.get(channel="callback")
    assert callback.case_id == conversation.case_id
    assert callback.customer_id == customer.pk
    assert conversation.work_item.status == WorkItemStatus.WITHDRAWN
    assert "+4930123456" in texts(conversation)[-1][1]


def test_an_anonymous_visitor_is_asked_for_the_number_and_a_wrong_one_is_refused(
    intents,
    chat_intake,  # noqa: ANN001
) -> None:
    conversation = _start()
    services.post_customer_message(conversation.token, "Können Sie mich zurückrufen?")
    assert conversation.messages.order_by("-seq").first().meta.get("awaiting") == "phone"
    services.post_customer_message(conversation.token, "keine Nummer")
    assert not WorkItem.objects.filter(channel="callback").exists()
    services.post_customer_message(conversation.token, "0221 1234567")
    assert WorkItem.objects.filter(channel="callback").count() == 1


def test_a_visitor_who_names_their_address_joins_that_customers_history_unverified(
    intents,
    chat_agent,  # noqa: ANN001
) -> None:
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="email", value="greta@example.org")
    conversation = _start()
    services.post_customer_message(conversation.token, "/person")
    assert services.identify_visitor(conversation.token, email="Greta@Example.org")
    conversation.refresh_from_db()
    assert conversation.customer_id == customer.pk
    assert not conversation.is_verified
    assert conversation.case.customer_id == customer.pk
    assert conversation.interaction.customer_id == customer.pk


def test_an_anonymous_visitor_is_asked_who_they_are_while_waiting(intents, chat_intake) -> None:  # noqa: ANN001
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="email", value="greta@example.org")
    conversation = _start()
    services.post_customer_message(conversation.token, "/person")
    assert conversation.messages.order_by("-seq").first().meta.get("awaiting") == "identify"
    services.post_customer_message(conversation.token, "greta@example.org")
    conversation.refresh_from_db()
    assert conversation.customer_id == customer.pk and not conversation.is_verified
    assert conversation.case.customer_id == customer.pk
    # Only once: what follows is for the agent.
    before = conversation.messages.count()
    services.post_customer_message(conversation.token, "Meine Rechnung stimmt nicht")
    assert conversation.messages.count() == before + 1


def test_a_message_instead_of_an_address_goes_to_the_agent(intents, chat_intake) -> None:  # noqa: ANN001
    conversation = _start()
    services.post_customer_message(conversation.token, "/person")
    before = conversation.messages.count()
    services.post_customer_message(conversation.token, "Es geht um meine Rechnung")
    conversation.refresh_from_db()
    assert conversation.customer_id is None
    assert conversation.messages.count() == before + 1
    assert "awaiting" not in conversation.context


def test_a_transfer_to_a_queue_carries_a_note_only_agents_read(
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    from tests.factories import QueueFactory

    billing = QueueFactory(code="billing-chat", team=chat_agent.teams.first())
    conversation = _start()
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    first = conversation.work_item
    services.accept_chat(first.pk, actor=chat_agent_actor)
    services.transfer(
        conversation.pk, actor=chat_agent_actor, note="Rechnung März prüfen", to_queue=billing.code
    )
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING and conversation.agent_id is None
    assert conversation.work_item.queue_id == billing.pk
    assert WorkItem.objects.get(pk=first.pk).status == WorkItemStatus.COMPLETED
    note = conversation.messages.get(text="Rechnung März prüfen")
    assert note.is_internal
    visible = [m.text for m in services.messages_after(conversation, 0)]
    assert "Rechnung März prüfen" not in visible
    with pytest.raises(PermissionDenied):
        services.transfer(conversation.pk, actor=chat_agent_actor, note="", to_queue=billing.code)


class RouterDown(Exception):
    pass


def _router_down(*args: object, **kwargs: object) -> None:
    raise RouterDown


def _ask_for_a_person_while_the_router_is_down(conversation: Conversation, monkeypatch) -> None:  # noqa: ANN001
    from casework.routing import router

    with monkeypatch.context() as patched:
        patched.setattr(router, "submit_work_item", _router_down)
        with pytest.raises(RouterDown):
            services.post_customer_message(
                conversation.token, "Ich möchte mit einem Menschen sprechen"
            )


def test_a_hand_over_the_router_did_not_answer_is_kept_and_asked_for_again(
    intents, chat_agent, monkeypatch
) -> None:  # noqa: ANN001
    conversation = _start()
    _ask_for_a_person_while_the_router_is_down(conversation, monkeypatch)
    conversation.refresh_from_db()
    # Stored before the router was asked: the visitor was told, the request is kept.
    assert conversation.state == ConversationState.WAITING
    assert conversation.route_request is not None and conversation.work_item is None
    assert any(sender == Sender.SYSTEM for sender, _text in texts(conversation))
    assert not Event.objects.filter(code="chat.handed_over").exists()

    services.post_customer_message(conversation.token, "Hallo?")

    conversation.refresh_from_db()
    assert conversation.route_request is None
    assert conversation.work_item.status == WorkItemStatus.OFFERED
    assert conversation.work_item.agent_id == chat_agent.pk
    handed_over = Event.objects.get(code="chat.handed_over")
    assert handed_over.payload["work_item_id"] == conversation.work_item_id
    assert handed_over.payload["reason"] == "asked-for-person"


def test_while_the_router_process_is_down_the_hand_over_waits_for_it(
    intents, chat_agent, router_process_down
) -> None:  # noqa: ANN001
    conversation = _start()

    services.post_customer_message(conversation.token, "Ich möchte mit einem Menschen sprechen")

    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING  # told a colleague will come
    assert conversation.route_request is not None and conversation.work_item is None
    router_process_down()  # back
    services.post_customer_message(conversation.token, "Hallo?")
    conversation.refresh_from_db()
    assert conversation.work_item.agent_id == chat_agent.pk


def test_the_no_agent_job_routes_a_hand_over_left_unanswered(
    intents, chat_agent, monkeypatch, settings
) -> None:  # noqa: ANN001
    settings.CASEWORK_CHAT_AGENT_WAIT_SECONDS = 0
    conversation = _start()
    _ask_for_a_person_while_the_router_is_down(conversation, monkeypatch)

    jobs.run_due(limit=10)

    conversation.refresh_from_db()
    assert conversation.route_request is None
    assert WorkItem.objects.filter(channel="chat").count() == 1
    assert conversation.work_item.agent_id == chat_agent.pk

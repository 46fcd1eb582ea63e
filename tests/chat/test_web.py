"""The widget's HTTP fallback and the agents' chat console, through Django's test client."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from casework.chat import services
from casework.chat.identity import sign_identity
from casework.chat.models import ChatMessage, Conversation, ConversationState
from casework.routing.models import AgentStatus, WorkItemStatus
from casework.routing.queries import actor_for_agent
from tests.factories import AgentFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def post_json(client: Client, path: str, data: object, **headers: str):  # noqa: ANN201
    return client.post(path, json.dumps(data), content_type="application/json", headers=headers)


def test_the_fallback_starts_sends_and_polls_with_cors(client, intents) -> None:  # noqa: ANN001
    hello = post_json(client, "/chat/api/hello", {"language": "en"}, Origin="https://shop.example")
    assert hello.status_code == 200
    assert hello["Access-Control-Allow-Origin"] == "*"
    token = hello.json()["token"]
    assert hello.json()["messages"][0]["sender"] == "bot"

    sent = post_json(client, "/chat/api/messages", {"token": token, "id": "h1", "text": "Hello"})
    assert sent.json() == {"type": "ack", "id": "h1", "seq": 2}
    again = post_json(client, "/chat/api/messages", {"token": token, "id": "h1", "text": "Hello"})
    assert again.json()["seq"] == 2

    polled = client.get("/chat/api/messages", {"token": token, "after": 1}).json()
    assert [m["seq"] for m in polled["messages"]] == [2, 3]
    assert polled["messages"][0]["id"] == "h1"

    preflight = client.options("/chat/api/messages", headers={"Origin": "https://shop.example"})
    assert preflight.status_code == 204
    assert "POST" in preflight["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 422, "invalid_input"),
        (b"[1, 2]", 422, "invalid_input"),
        (json.dumps({"token": "nope", "text": "hi"}).encode(), 404, "chat_not_found"),
    ],
)
def test_bad_fallback_requests_get_precise_errors(client, body, status, code) -> None:  # noqa: ANN001
    response = client.post("/chat/api/messages", body, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_forged_identity_is_refused_and_a_signed_one_makes_a_verified_chat(client) -> None:  # noqa: ANN001
    customer = CustomerFactory()
    refused = post_json(client, "/chat/api/hello", {"identity": "forged:token"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "chat_identity_refused"
    assert not Conversation.objects.exists()
    token = sign_identity(customer.customer_number, context={"offer": "international-option"})
    started = post_json(client, "/chat/api/hello", {"identity": token})
    conversation = Conversation.objects.get(token=started.json()["token"])
    assert conversation.customer_id == customer.pk and conversation.is_verified
    assert conversation.context == {"offer": "international-option"}


def test_leaving_ends_the_chat_and_later_messages_are_refused(client, intents) -> None:  # noqa: ANN001
    token = post_json(client, "/chat/api/hello", {}).json()["token"]
    assert post_json(client, "/chat/api/leave", {"token": token}).json()["state"] == "ended"
    refused = post_json(client, "/chat/api/messages", {"token": token, "text": "noch da?"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "chat_ended"


def test_the_agent_takes_an_offered_chat_answers_and_ends_it(
    client,
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    conversation = services.start_conversation(language="de")
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    client.force_login(chat_agent.user)
    console = client.get("/chat/console/")
    assert console.status_code == 200
    assert f"/chat/console/offers/{conversation.work_item_id}/accept/" in console.content.decode()

    accepted = client.post(f"/chat/console/offers/{conversation.work_item_id}/accept/")
    assert accepted.status_code == 302
    assert accepted["Location"].endswith(f"?chat={conversation.pk}")
    page = client.get(accepted["Location"]).content.decode()
    assert "/person" in page  # the transcript so far

    client.post(f"/chat/console/{conversation.pk}/send/", {"text": "Hallo, hier Anna"})
    assert conversation.messages.order_by("-seq").first().text == "Hallo, hier Anna"
    client.post(f"/chat/console/{conversation.pk}/end/", {"wrap_up": "Tarif erklärt"})
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ENDED
    assert conversation.wrap_up == "Tarif erklärt"
    assert conversation.work_item.status == WorkItemStatus.COMPLETED


def test_an_agent_cannot_answer_or_end_someone_elses_chat(
    client,
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    conversation = services.start_conversation(language="de")
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    services.accept_chat(conversation.work_item_id, actor=chat_agent_actor)
    client.force_login(AgentFactory().user)
    sent = client.post(f"/chat/console/{conversation.pk}/send/", {"text": "übernommen"})
    ended = client.post(f"/chat/console/{conversation.pk}/end/", {"wrap_up": ""})
    # Refused with the reason in the banner (the desk's way for a POST), nothing changed.
    assert sent.status_code == 302 and ended.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.AGENT
    assert not conversation.messages.filter(text="übernommen").exists()


def test_one_click_presence_in_the_console(client, chat_agent) -> None:  # noqa: ANN001
    client.force_login(chat_agent.user)
    client.post("/chat/console/presence/", {"state": "break"})
    assert AgentStatus.objects.get(agent=chat_agent).presence_id == "break"
    refused = client.post("/chat/console/presence/", {"state": "busy"})
    assert refused.status_code in (302, 422)
    assert AgentStatus.objects.get(agent=chat_agent).presence_id == "break"


def test_the_try_page_embeds_the_widget(client) -> None:  # noqa: ANN001
    page = client.get("/chat/try/").content.decode()
    assert "/static/chat/widget.js" in page
    widget = client.get("/static/chat/widget.js")
    assert widget.status_code == 200


def test_desk_pages_need_a_signed_in_agent(client) -> None:  # noqa: ANN001
    assert client.get("/chat/console/").status_code == 302
    assert client.post("/chat/console/presence/", {"state": "available"}).status_code == 302


def test_another_agents_accept_is_refused(client, intents, chat_agent) -> None:  # noqa: ANN001
    conversation = services.start_conversation(language="de")
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    other = AgentFactory()
    client.force_login(other.user)
    response = client.post(f"/chat/console/offers/{conversation.work_item_id}/accept/")
    assert response.status_code in (404, 409, 403, 302)
    conversation.refresh_from_db()
    assert conversation.agent_id is None
    assert actor_for_agent(other).id != conversation.work_item.agent_id


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client: Client, token: str, name: str, content: bytes, client_id: str = "f1"):  # noqa: ANN201
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/chat/api/upload",
        {"token": token, "id": client_id, "file": SimpleUploadedFile(name, content)},
    )


def test_a_visitor_sends_a_document_which_joins_the_chats_case(
    client,
    intents,
    chat_agent,  # noqa: ANN001
) -> None:
    token = post_json(client, "/chat/api/hello", {"language": "de"}).json()["token"]
    sent = upload(client, token, "Rechnung.pdf", PDF)
    assert sent.status_code == 200 and sent.json()["id"] == "f1"
    again = upload(client, token, "Rechnung.pdf", PDF)
    assert again.json()["seq"] == sent.json()["seq"]
    conversation = Conversation.objects.get(token=token)
    message = conversation.messages.get(seq=sent.json()["seq"])
    assert message.meta["file"]["content_type"] == "application/pdf"
    assert message.text == "Datei gesendet: Rechnung.pdf"

    services.post_customer_message(token, "/person")
    conversation.refresh_from_db()
    attachment = conversation.interaction.attachments.get()
    assert (attachment.filename, attachment.size_bytes) == ("Rechnung.pdf", len(PDF))


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("setup.exe", b"MZ\x90\x00", "file types"),
        ("fake.pdf", b"<html>not a pdf</html>", "PDF"),
        ("big.pdf", b"%PDF-" + b"0" * (4 * 1024 * 1024), "too large"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_refused_documents_are_not_stored(client, name, content, words) -> None:  # noqa: ANN001
    token = post_json(client, "/chat/api/hello", {"language": "en"}).json()["token"]
    before = ChatMessage.objects.count()
    refused = upload(client, token, name, content)
    assert refused.status_code == 422
    assert words in refused.json()["message"]
    assert ChatMessage.objects.count() == before


def test_an_upload_needs_a_chat_and_a_file(client) -> None:  # noqa: ANN001
    assert upload(client, "no-such-token", "a.pdf", PDF).status_code == 404
    missing = client.post("/chat/api/upload", {"token": "x"})
    assert missing.status_code == 422 and missing.json()["field"] == "file"


def test_the_agent_links_the_chat_to_the_customers_open_case(
    client,
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    from tests.factories import CaseFactory

    customer = CustomerFactory()
    earlier = CaseFactory(customer=customer, queue=chat_agent.teams.first().queues.first())
    conversation = services.start_conversation(language="de", customer=customer, is_verified=True)
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    services.accept_chat(conversation.work_item_id, actor=chat_agent_actor)
    opened = conversation.case
    client.force_login(chat_agent.user)
    page = client.get(f"/chat/console/?chat={conversation.pk}").content.decode()
    assert earlier.reference in page
    client.post(f"/chat/console/{conversation.pk}/link/", {"case": earlier.pk})
    conversation.refresh_from_db()
    opened.refresh_from_db()
    assert conversation.case_id == earlier.pk
    assert conversation.interaction.case_id == earlier.pk
    assert opened.merged_into_id == earlier.pk


def test_the_agent_transfers_the_chat_to_a_colleague_who_is_offered_it(
    client,
    intents,
    chat_agent,
    chat_agent_actor,
    chat_intake,  # noqa: ANN001
) -> None:
    from casework.routing.presence import set_presence

    colleague = AgentFactory(teams=[chat_intake.case_type.default_queue.team])
    set_presence(colleague.pk, "available", actor=services.SYSTEM)
    conversation = services.start_conversation(language="de")
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    services.accept_chat(conversation.work_item_id, actor=chat_agent_actor)
    client.force_login(chat_agent.user)
    client.post(
        f"/chat/console/{conversation.pk}/transfer/",
        {"agent": colleague.pk, "note": "Kennt den Tarif"},
    )
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.work_item.agent_id == colleague.pk
    assert conversation.case.owner_id == colleague.pk
    refused = client.post(f"/chat/console/{conversation.pk}/transfer/", {"note": "x"})
    assert refused.status_code == 302  # the reason in the banner; nothing changed


def test_new_chats_from_one_address_are_limited(client, settings) -> None:  # noqa: ANN001
    settings.CASEWORK_CHAT_STARTS_PER_MINUTE = 2
    first = post_json(client, "/chat/api/hello", {}).json()["token"]
    post_json(client, "/chat/api/hello", {})
    refused = post_json(client, "/chat/api/hello", {})
    assert refused.status_code == 429
    assert refused.json()["code"] == "chat_too_many_chats"
    assert Conversation.objects.count() == 2
    # Resuming an open chat is not a new one.
    assert post_json(client, "/chat/api/hello", {"token": first}).json()["token"] == first
    other = client.post(
        "/chat/api/hello", "{}", content_type="application/json", REMOTE_ADDR="10.1.2.3"
    )
    assert other.status_code == 200

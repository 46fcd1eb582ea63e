"""The widget's WebSocket against a real uvicorn server: hello, replay after a reconnect,
acknowledgements, a resent message not doubled, an agent's message pushed, a signal from
another process (a row the poller finds) delivered, and a cross-site socket that gets no
session."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from casework.chat import services
from casework.chat.intents import train_intents
from casework.chat.models import Conversation
from casework.kernel.models import RealtimeSignal
from tests.chat.conftest import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


async def receive_until(socket: Any, wanted: str, *, seconds: float = 10) -> list[dict[str, Any]]:
    """Frames up to and including the first of type `wanted`."""
    frames = []
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await socket.recv())
            frames.append(frame)
            if frame["type"] == wanted:
                return frames


async def messages(socket: Any, count: int, *, seconds: float = 10) -> list[dict[str, Any]]:
    found = []
    async with asyncio.timeout(seconds):
        while len(found) < count:
            frame = json.loads(await socket.recv())
            if frame["type"] == "message":
                found.append(frame)
    return found


def test_a_visitor_chats_reconnects_and_loses_nothing(asgi_server) -> None:  # noqa: ANN001
    train_intents(actor=SYSTEM, trained_by="test")

    async def scenario() -> None:
        url = f"{asgi_server.ws_url}/chat/ws/visitor/"
        async with connect(url) as socket:
            await socket.send(json.dumps({"type": "hello", "language": "en", "after": 0}))
            welcome = (await receive_until(socket, "welcome"))[-1]
            token = welcome["token"]
            greeting = (await messages(socket, 1))[0]
            assert greeting["sender"] == "bot" and greeting["seq"] == 1
            await socket.send(json.dumps({"type": "message", "id": "a-1", "text": "Hello"}))
            frames = await receive_until(socket, "ack")
            assert frames[-1] == {"type": "ack", "id": "a-1", "seq": 2}
            await messages(socket, 2)  # the visitor's own message and the bot's answer
        # The connection drops; the widget comes back with what it has (seq 3) and sends
        # the message it is not sure about once more.
        async with connect(url) as socket:
            await socket.send(json.dumps({"type": "hello", "token": token, "after": 1}))
            await receive_until(socket, "welcome")
            replayed = await messages(socket, 2)
            assert [m["seq"] for m in replayed] == [2, 3]
            await socket.send(json.dumps({"type": "message", "id": "a-1", "text": "Hello"}))
            assert (await receive_until(socket, "ack"))[-1]["seq"] == 2

            # An agent's message written by another process reaches the visitor: the row
            # is written as that process would, with its own origin.
            conversation = await _conversation(token)
            await _write_from_elsewhere(conversation.pk)
            pushed = await messages(socket, 1)
            assert pushed[0]["text"] == "from another process"

    async_to_sync(scenario)()
    conversation = Conversation.objects.get()
    assert conversation.messages.filter(client_id="a-1").count() == 1


def test_bad_frames_get_precise_errors(asgi_server) -> None:  # noqa: ANN001
    async def scenario() -> None:
        async with connect(f"{asgi_server.ws_url}/chat/ws/visitor/") as socket:
            await socket.send(json.dumps({"type": "message", "text": "too early"}))
            assert (await receive_until(socket, "error"))[-1]["code"] == "no_chat"
            await socket.send(json.dumps(["not", "an", "object"]))
            assert (await receive_until(socket, "error"))[-1]["code"] == "invalid"
            await socket.send("{not json")
            assert (await receive_until(socket, "error"))[-1]["code"] == "invalid"
            await socket.send(json.dumps({"type": "hello", "identity": "forged"}))
            error = (await receive_until(socket, "error"))[-1]
            assert error["code"] == "chat_identity_refused"
            await socket.send(json.dumps({"type": "hello"}))
            await receive_until(socket, "welcome")
            await socket.send(json.dumps({"type": "message", "id": "x", "text": " "}))
            error = (await receive_until(socket, "error"))[-1]
            assert error["code"] == "invalid_input" and error["id"] == "x"

    async_to_sync(scenario)()


def test_the_agent_socket_refuses_visitors_and_other_sites(asgi_server) -> None:  # noqa: ANN001
    async def scenario() -> None:
        # No session: refused at the handshake.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{asgi_server.ws_url}/chat/ws/agent/"):
                pass
        assert refused.value.response.status_code == 403

    async_to_sync(scenario)()


async def _conversation(token: str) -> Conversation:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(Conversation.objects.get)(token=token)


async def _write_from_elsewhere(conversation_id: int) -> None:
    from channels.db import database_sync_to_async

    def write() -> None:
        from casework.chat.models import ChatMessage, Sender
        from casework.events.services import recording_transaction

        with recording_transaction():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            conversation.last_seq += 1
            conversation.save(update_fields=["last_seq"])
            ChatMessage.objects.create(
                conversation=conversation,
                seq=conversation.last_seq,
                sender=Sender.AGENT,
                text="from another process",
            )
            RealtimeSignal.objects.create(
                group=services.group_of(conversation_id),
                payload={"kind": "message"},
                origin="another-process",
            )

    await database_sync_to_async(write)()


def test_a_signed_in_agent_gets_offers_and_messages_but_not_from_another_site(
    asgi_server,
    client,
    chat_agent,  # noqa: ANN001
) -> None:
    train_intents(actor=SYSTEM, trained_by="test")
    client.force_login(chat_agent.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    same_site = {"Cookie": cookie, "Origin": asgi_server.url}
    other_site = {"Cookie": cookie, "Origin": "https://evil.example"}

    async def scenario() -> None:
        with pytest.raises(InvalidStatus):
            async with connect(
                f"{asgi_server.ws_url}/chat/ws/agent/", additional_headers=other_site
            ):
                pass
        async with (
            connect(f"{asgi_server.ws_url}/chat/ws/agent/", additional_headers=same_site) as desk,
            connect(f"{asgi_server.ws_url}/chat/ws/visitor/") as visitor,
        ):
            await visitor.send(json.dumps({"type": "hello", "language": "de"}))
            await receive_until(visitor, "welcome")
            await visitor.send(json.dumps({"type": "message", "id": "p", "text": "/person"}))
            offer = (await receive_until(desk, "desk"))[-1]
            assert offer["kind"] == "offer" and offer["channel"] == "chat"
            item_id = offer["item"]
            await _accept(item_id, chat_agent)
            joined = (await receive_until(desk, "desk"))[-1]
            assert joined["kind"] == "joined"
            await visitor.send(json.dumps({"type": "message", "id": "q", "text": "Sind Sie da?"}))
            found = await receive_until(desk, "message")
            while found[-1]["text"] != "Sind Sie da?":
                found = await receive_until(desk, "message")
            assert found[-1]["sender"] == "customer"

    async_to_sync(scenario)()


async def _accept(item_id: int, agent) -> None:  # noqa: ANN001
    from channels.db import database_sync_to_async

    from casework.routing.queries import actor_for_agent

    def accept() -> None:
        services.accept_chat(item_id, actor=actor_for_agent(agent))

    await database_sync_to_async(accept)()


@pytest.fixture
def redis_layer(settings):  # noqa: ANN001, ANN201
    """Channels' Redis layer (the scaled installation) on the local Redis, database 14
    (`CASEWORK_TEST_REDIS_URL`; `.ci/run` installs and starts Redis)."""
    url = os.environ.get("CASEWORK_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    settings.CASEWORK_REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}]},
        }
    }
    yield url
    channel_layers.backends.clear()


def test_with_redis_the_agents_message_reaches_the_visitor_and_no_rows_are_written(
    redis_layer,
    asgi_server,
    intents,
    chat_agent,
    chat_agent_actor,  # noqa: ANN001
) -> None:
    conversation = services.start_conversation(language="de")
    services.post_customer_message(conversation.token, "/person")
    conversation.refresh_from_db()
    services.accept_chat(conversation.work_item_id, actor=chat_agent_actor)
    RealtimeSignal.objects.all().delete()

    async def scenario() -> None:
        async with connect(f"{asgi_server.ws_url}/chat/ws/visitor/") as socket:
            last = await _last_seq(conversation.pk)
            hello = {"type": "hello", "token": conversation.token, "after": last}
            await socket.send(json.dumps(hello))
            await receive_until(socket, "welcome")
            await _send_as_agent(conversation.pk, chat_agent_actor, "Über Redis")
            pushed = await messages(socket, 1)
            assert pushed[0]["text"] == "Über Redis" and pushed[0]["sender"] == "agent"

    async_to_sync(scenario)()
    assert not RealtimeSignal.objects.exists()


async def _last_seq(conversation_id: int) -> int:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(
        lambda: Conversation.objects.get(pk=conversation_id).last_seq
    )()


async def _send_as_agent(conversation_id: int, actor, text: str) -> None:  # noqa: ANN001
    from channels.db import database_sync_to_async

    await database_sync_to_async(services.post_agent_message)(conversation_id, text, actor=actor)

"""WebSocket endpoints: the visitor's widget and the agent's chat console.

Messages in both directions are JSON objects with a `type`. The visitor's protocol:

- → `{"type": "hello", "token": "", "after": 0, "language": "de", "page": "…",
  "identity": "<signed start token>"}` — first, and after every reconnect: the server
  answers `{"type": "welcome", "token": …, "state": …}` and replays every message after
  `after` (numbered by `seq`), so a reconnect loses and doubles nothing.
- → `{"type": "message", "id": "<the widget's own id>", "text": "…"}` — answered by
  `{"type": "ack", "id": …, "seq": n}`; sending the same id again returns the same seq.
- → `{"type": "typing"}`, `{"type": "identify", "name", "email", "phone"}`, `{"type": "leave"}`
- ← `{"type": "message", "seq", "sender", "name", "text", "at", …}`, `{"type": "typing"}`,
  `{"type": "error", "code", "message", "id"}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host
from django.utils import translation

from casework.chat import services
from casework.chat.identity import read_identity
from casework.chat.models import Conversation, ConversationState, Sender
from casework.kernel import realtime
from casework.kernel.errors import DomainError
from casework.routing.models import Agent

logger = logging.getLogger(__name__)


class _JsonConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """A frame that is not JSON is answered with an error, not a closed socket."""
        try:
            return json.loads(text_data)
        except ValueError:
            return None


class VisitorConsumer(_JsonConsumer):
    async def connect(self) -> None:
        self.conversation_id: int | None = None
        self.token = ""
        self.sent = 0
        self.flushing = asyncio.Lock()
        await realtime.ensure_listening()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(
                services.group_of(self.conversation_id), self.channel_name
            )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self._error("invalid", "expected a JSON object")
            return
        kind = content.get("type")
        if kind == "hello":
            await self._hello(content)
            return
        if self.conversation_id is None:
            await self._error("no_chat", "say hello first")
            return
        try:
            if kind == "message":
                client_id = str(content.get("id") or "")
                posted = await database_sync_to_async(services.post_customer_message)(
                    self.token, str(content.get("text") or ""), client_id=client_id
                )
                # The message itself follows with its signal.
                await self.send_json({"type": "ack", "id": client_id, "seq": posted.message.seq})
            elif kind == "typing":
                conversation = await _conversation(self.conversation_id)
                await database_sync_to_async(services.signal_typing)(
                    conversation, sender=Sender.CUSTOMER
                )
            elif kind == "identify":
                found = await database_sync_to_async(services.identify_visitor)(
                    self.token,
                    name=str(content.get("name") or ""),
                    email=str(content.get("email") or ""),
                    phone=str(content.get("phone") or ""),
                )
                await self.send_json({"type": "identified", "known": found})
            elif kind == "leave":
                await database_sync_to_async(services.end_conversation)(
                    self.token, actor=services.SYSTEM
                )
                await self._flush()
            else:
                await self._error("invalid", f"unknown message type {kind!r}")
        except DomainError as error:
            await self._error(error.code, error.message, content.get("id"))

    async def _hello(self, content: dict[str, Any]) -> None:
        language = str(content.get("language") or "de")[:2]
        try:
            conversation = await database_sync_to_async(self._open)(content, language)
        except DomainError as error:
            await self._error(error.code, error.message)
            return
        if self.conversation_id is not None and self.conversation_id != conversation.pk:
            await self.channel_layer.group_discard(
                services.group_of(self.conversation_id), self.channel_name
            )
        self.conversation_id, self.token = conversation.pk, conversation.token
        after = content.get("after")
        self.sent = after if isinstance(after, int) and after >= 0 else 0
        await self.channel_layer.group_add(services.group_of(conversation.pk), self.channel_name)
        await self.send_json(
            {"type": "welcome", "token": conversation.token, "state": conversation.state}
        )
        await self._flush()

    def _open(self, content: dict[str, Any], language: str) -> Conversation:
        customer, context = None, {}
        identity = content.get("identity")
        if identity:
            proved = read_identity(str(identity))
            customer, context = proved.customer, proved.context
        elif _same_origin(self.scope):
            from casework.portal.sessions import signed_in_customer

            # The portal reads its session only; the socket's scope carries the same one.
            customer = signed_in_customer(SimpleNamespace(session=self.scope.get("session")))
        with translation.override(language):
            return services.resume_or_start(
                token=str(content.get("token") or ""),
                client_address=(self.scope.get("client") or [None])[0],
                language=language,
                page_url=str(content.get("page") or "")[:1000],
                customer=customer,
                context=context,
            )

    async def realtime_signal(self, event: dict[str, Any]) -> None:
        payload = event.get("payload") or {}
        if payload.get("kind") == "typing":
            if payload.get("sender") != Sender.CUSTOMER:
                await self.send_json({"type": "typing", "sender": payload.get("sender")})
            return
        message = payload.get("message")
        if message is not None and self.conversation_id is not None:
            async with self.flushing:
                if message["seq"] <= self.sent:
                    return  # delivered already (a replay, a duplicate signal)
                if message["seq"] == self.sent + 1:
                    shown = services.visitor_view(message)
                    if shown is not None:
                        await self.send_json(shown)
                    self.sent = message["seq"]
                    return
        await self._flush()

    async def _flush(self) -> None:
        if self.conversation_id is None:
            return
        async with self.flushing:
            batch = await database_sync_to_async(_visitor_messages)(self.conversation_id, self.sent)
            for data in batch:
                await self.send_json(data)
                self.sent = max(self.sent, data["seq"])

    async def _error(self, code: str, message: str, client_id: Any = None) -> None:
        await self.send_json(
            {"type": "error", "code": code, "message": str(message), "id": client_id}
        )


def _same_origin(scope: dict[str, Any]) -> bool:
    """Sessions (the portal's, the desk's) count only when the page is ours: a socket
    opened by another site must not act on the visitor's cookies."""
    origin = dict(scope.get("headers") or []).get(b"origin", b"").decode()
    host = urlsplit(origin).hostname or ""
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


def _visitor_messages(conversation_id: int, after: int) -> list[dict[str, Any]]:
    conversation = Conversation(pk=conversation_id)
    return [services.message_json(m) for m in services.messages_after(conversation, after)]


@database_sync_to_async
def _conversation(conversation_id: int) -> Conversation:
    return Conversation.objects.get(pk=conversation_id)


class AgentConsumer(_JsonConsumer):
    """The agent's desk: offers of pushed work, and the messages of their chats."""

    async def connect(self) -> None:
        user = self.scope.get("user") if _same_origin(self.scope) else None
        agent_id = await _agent_id(user)
        if agent_id is None:
            await self.close(code=4403)
            return
        self.agent_id = agent_id
        self.sent: dict[int, int] = {}
        self.flushing = asyncio.Lock()
        await realtime.ensure_listening()
        await self.accept()
        await self.channel_layer.group_add(realtime.agent_group(agent_id), self.channel_name)
        for conversation_id, last_seq in await _open_chats(agent_id):
            self.sent[conversation_id] = last_seq
            await self.channel_layer.group_add(
                services.group_of(conversation_id), self.channel_name
            )

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "agent_id"):
            return
        await self.channel_layer.group_discard(
            realtime.agent_group(self.agent_id), self.channel_name
        )
        for conversation_id in self.sent:
            await self.channel_layer.group_discard(
                services.group_of(conversation_id), self.channel_name
            )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        conversation_id = content.get("conversation")
        if content.get("type") == "typing" and conversation_id in self.sent:
            conversation = await _conversation(conversation_id)
            await database_sync_to_async(services.signal_typing)(conversation, sender=Sender.AGENT)

    async def realtime_signal(self, event: dict[str, Any]) -> None:
        group, payload = event.get("group", ""), event.get("payload") or {}
        if group.startswith("chat."):
            conversation_id = int(group.split(".", 1)[1])
            if payload.get("kind") == "typing":
                if payload.get("sender") == Sender.CUSTOMER:
                    await self.send_json({"type": "typing", "conversation": conversation_id})
                return
            message = payload.get("message")
            if message is not None and conversation_id in self.sent:
                async with self.flushing:
                    if message["seq"] <= self.sent[conversation_id]:
                        return
                    if message["seq"] == self.sent[conversation_id] + 1:
                        await self.send_json(message)
                        self.sent[conversation_id] = message["seq"]
                        return
            await self._flush(conversation_id)
            return
        if payload.get("kind") == "joined":
            conversation_id = int(payload["conversation"])
            if conversation_id not in self.sent:
                self.sent[conversation_id] = 0
                await self.channel_layer.group_add(
                    services.group_of(conversation_id), self.channel_name
                )
        await self.send_json({"type": "desk", **payload})

    async def _flush(self, conversation_id: int) -> None:
        if conversation_id not in self.sent:
            return
        async with self.flushing:
            batch = await database_sync_to_async(_agent_messages)(
                conversation_id, self.sent[conversation_id], self.agent_id
            )
            for data in batch:
                await self.send_json(data)
                self.sent[conversation_id] = max(self.sent[conversation_id], data["seq"])


@database_sync_to_async
def _agent_id(user: Any) -> int | None:
    if user is None or not user.is_authenticated:
        return None
    return Agent.objects.filter(user=user).values_list("pk", flat=True).first()


@database_sync_to_async
def _open_chats(agent_id: int) -> list[tuple[int, int]]:
    return list(
        Conversation.objects.filter(agent_id=agent_id)
        .exclude(state=ConversationState.ENDED)
        .values_list("pk", "last_seq")
    )


def _agent_messages(conversation_id: int, after: int, agent_id: int) -> list[dict[str, Any]]:
    conversation = Conversation.objects.filter(pk=conversation_id, agent_id=agent_id).first()
    if conversation is None:
        return []
    return [
        services.message_json(message, for_agent=True)
        for message in services.messages_after(conversation, after, for_agent=True)
    ]

"""Chat load: 1,000 concurrent chat connections on loopback, message round trip and bot answers.

    .venv/bin/python bench/chat_load.py [--configs embedded-1,embedded-2,redis-2,pg-redis-2]
                                        [--connections 1000] [--agents 10] [--messages 3]
                                        [--rate 150] [--bot-chats 200] [--bot-rate 20]
                                        [--timeout 10] [--profile] [--quiet-wait 30]

The requirement: 1,000 concurrent chat connections with bounded message loops; the round
trip of a message (customer → agent screen) at the median and p99 on the embedded default
and with Redis and two web processes, p99 ≤ 100 ms at 1,000 connections; the bot's answer
p99 ≤ 200 ms.

For each configuration, on a fresh data directory (and database):

1. **Setup** (a child process with Django set up for that configuration, not timed):
   `casework migrate`; a team and queue, `--agents` agents, each a Django user with a desk
   session (the agent socket accepts the session cookie from our own origin only) and an
   available `AgentStatus` whose capacity holds its chats (33 units a chat); `--connections`
   conversations already with an agent (state `agent`, three messages: greeting, the
   visitor's request, "… has joined"), spread evenly over the agents; the bot's intent
   model (`chat.intents.train_intents`) and the demo's knowledge articles
   (`demo.knowledge.load_knowledge`).
2. **Server**: `casework serve --asgi --workers N` (uvicorn) on 127.0.0.1 with
   `CASEWORK_CHAT_MESSAGES_PER_MINUTE=100000` and `CASEWORK_CHAT_STARTS_PER_MINUTE=100000`
   (the visitor's rate limits would refuse the bench's messages and chats from one address
   otherwise).
3. **Connections**, from this one asyncio process: the agents' sockets
   (`/chat/ws/agent/`, `Cookie: sessionid=…`, `Origin: http://127.0.0.1:<port>`), then
   every visitor's (`/chat/ws/visitor/`, `hello` with the token and `after` = the last
   message number), at most 50 opening at a time; connect → `welcome` is timed.
4. **Round trip**: a warm-up of 100 messages (not counted), then every visitor sends
   `--messages` messages, `{"type": "message", "id": …, "text": "m <id>"}`, at a fixed
   overall rate (`--rate` messages/s, send times jittered by ±half an interval; each round
   goes through all visitors in a new random order). Latency = the moment the agent's
   socket receives the message frame (`{"type": "message", "conversation", "id", …}`) −
   the moment the visitor sent it, on this process's monotonic clock. A message not at
   the agent `--timeout` seconds after the last send is lost. The visitor's `ack` is timed
   too.
5. **Bot answers**: `--bot-chats` new visitors (hello without a token; German and English
   alternately) with the 1,000 conversations still connected; after 20 warm-up questions,
   each asks one knowledge question at `--bot-rate` per second; latency = send → the bot's
   message frame (sender `bot`) at the visitor.

Configurations (`--configs`): `embedded-1` the embedded default (SQLite, no Redis, one web
process); `embedded-2` two web processes, signals crossing through the database table each
process polls every `CASEWORK_REALTIME_POLL_SECONDS`; `redis-2` Channels' Redis layer
(`redis://127.0.0.1:6379/15`, only DB 15 is flushed, before and after) with two processes;
`pg-redis-2` the same on PostgreSQL (a fresh database, dropped at the end).

Baseline, in the same invocation: a bare relay, a tiny ASGI app in this file (`BareRelay`)
served by uvicorn on 127.0.0.1 in one process, speaking the same protocol without a
database (welcome, ack, the message forwarded to the agent's socket, an immediate bot
reply), driven by the same client code with the same connections and rate. Ratios are
ours ÷ bare.

CPU: the server's worker processes (and PostgreSQL's backends of the bench database) during
each phase, per message; this client's own CPU share and its scheduler's lateness (when the
client saturates, its latencies are its own). `--profile`: after each configuration's run,
on its database, in a child process, the server's work for one message step by step as the
consumers call it (CPU ms, SQL statements), then cProfile over the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dataset
import measure
import report
import servers
from websockets.exceptions import ConnectionClosed

HOST = servers.HOST
BENCH_DIR = Path(__file__).resolve().parent
REDIS_URL = "redis://127.0.0.1:6379/15"
PG_DATABASE = "casework_bench_chat"
TARGET_ROUND_TRIP_P99_MS = 100.0
TARGET_BOT_P99_MS = 200.0
CHAT_UNITS = 33  # routing's default units for a chat (ChannelCapacity)
OPEN_AT_ONCE = 50
WARM_UP_MESSAGES = 100
WARM_UP_QUESTIONS = 20
BOT_QUESTIONS = {
    "de": [
        "Welche Tarife gibt es fürs Ausland?",
        "Was kostet die Option Welt im Monat?",
        "Wie kann ich meinen Vertrag kündigen?",
        "Wie aktiviere ich meine eSIM?",
    ],
    "en": [
        "Which tariffs are there for travelling abroad?",
        "How much does the international option cost?",
        "How do I cancel my contract?",
        "How do I activate my eSIM?",
    ],
}


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    workers: int
    redis: bool = False
    pg: bool = False


CONFIGS = {
    c.name: c
    for c in (
        Config("embedded-1", "embedded default: SQLite, no Redis, 1 process", 1),
        Config("embedded-2", "SQLite, signals through the database table, 2 processes", 2),
        Config("redis-2", "SQLite + Redis channel layer, 2 processes", 2, redis=True),
        Config("pg-redis-2", "PostgreSQL + Redis channel layer, 2 processes", 2, True, True),
    )
}


# ---------------------------------------------------------------------------------------
# Setup (runs in a child process: Django is set up for one configuration)


def seed(plan_path: Path, connections: int, agents: int) -> None:
    """Everything the run needs, through the ORM; the plan (tokens, sessions) as JSON."""
    import secrets
    from datetime import timedelta

    import django

    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from casework.chat.intents import train_intents
    from casework.chat.models import ChatMessage, Conversation, ConversationState, Sender
    from casework.demo.knowledge import load_knowledge
    from casework.kernel import clock
    from casework.kernel.actors import Actor
    from casework.routing.models import Agent, AgentStatus, Queue, Team
    from casework.routing.presence import set_presence

    began = time.perf_counter()
    actor = Actor.system("bench")
    per_agent = -(-connections // agents)
    now = clock.now()
    plan: dict[str, Any] = {"agents": [], "visitors": []}
    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            code="bench-chat", defaults={"name_de": "Chat", "name_en": "Chat"}
        )
        Queue.objects.get_or_create(
            code="bench-chat", defaults={"name_de": "Chat", "name_en": "Chat", "team": team}
        )
        agent_rows = []
        for number in range(agents):
            user = get_user_model().objects.create_user(
                username=f"bench-chat-{number:02d}",
                first_name=f"Agent {number:02d}",
                password=None,
            )
            agent = Agent.objects.create(user=user, role="agent")
            agent.teams.add(team)
            agent_rows.append((agent, user))
    for agent, user in agent_rows:
        set_presence(agent.pk, "available", actor=actor)
        AgentStatus.objects.filter(agent=agent).update(
            capacity_units=CHAT_UNITS * (per_agent + 10), used_units=CHAT_UNITS * per_agent
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        plan["agents"].append({"id": agent.pk, "session": session.session_key})
    with transaction.atomic():
        conversations = Conversation.objects.bulk_create(
            Conversation(
                token=secrets.token_urlsafe(32),
                state=ConversationState.AGENT,
                language="de",
                agent=agent_rows[i % agents][0],
                intent="human",
                handover_reason="asked-for-person",
                handed_over_at=now - timedelta(minutes=2),
                last_seq=3,
            )
            for i in range(connections)
        )
        messages = []
        for i, conversation in enumerate(conversations):
            agent, user = agent_rows[i % agents]
            messages += [
                ChatMessage(conversation=conversation, seq=1, sender=Sender.BOT,
                            text="Hallo! Ich bin der digitale Assistent. Wie kann ich helfen?"),
                ChatMessage(conversation=conversation, seq=2, sender=Sender.CUSTOMER,
                            text="Ich möchte mit jemandem sprechen."),
                ChatMessage(conversation=conversation, seq=3, sender=Sender.SYSTEM,
                            text=f"{user.first_name} ist dem Chat beigetreten."),
            ]  # fmt: skip
        ChatMessage.objects.bulk_create(messages, batch_size=3000)
    for i, conversation in enumerate(conversations):
        plan["visitors"].append(
            {"token": conversation.token, "conversation": conversation.pk, "after": 3,
             "agent": agent_rows[i % agents][0].pk}
        )  # fmt: skip
    seeded = time.perf_counter()
    train_intents(actor=actor, trained_by="bench")
    articles = load_knowledge()
    plan["seconds"] = {
        "agents_and_chats": round(seeded - began, 2),
        "intents_and_knowledge": round(time.perf_counter() - seeded, 2),
    }
    plan["articles"] = articles
    plan_path.write_text(json.dumps(plan))


def bare_plan(connections: int, agents: int) -> dict[str, Any]:
    """The same shape of plan for the bare relay (no database: it reads the plan)."""
    plan: dict[str, Any] = {"agents": [], "visitors": []}
    for number in range(agents):
        plan["agents"].append({"id": number + 1, "session": f"bare-session-{number:02d}"})
    for i in range(connections):
        plan["visitors"].append(
            {"token": f"bare-{i:06d}-{random.getrandbits(64):016x}", "conversation": i + 1,
             "after": 3, "agent": i % agents + 1}
        )  # fmt: skip
    return plan


# ---------------------------------------------------------------------------------------
# The bare relay: the same protocol, no database (the baseline; runs in a child process)


class BareRelay:
    """A tiny ASGI app: visitors' messages acknowledged and forwarded to their agent's socket
    as the product does, the bot answering at once; nothing stored."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.agent_of_session = {a["session"]: a["id"] for a in plan["agents"]}
        self.chats = {
            v["token"]: [v["conversation"], v["agent"], v["after"]] for v in plan["visitors"]
        }
        self.agent_sockets: dict[int, Any] = {}
        self.next_conversation = len(self.chats) + 1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            body = b'{"openapi": "3.1.0"}'
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "websocket":
            return
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        if scope["path"].endswith("/agent/"):
            await self._agent(scope, receive, send)
        else:
            await self._visitor(receive, send)

    async def _agent(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        cookies = dict(scope.get("headers") or []).get(b"cookie", b"").decode()
        session = cookies.partition("sessionid=")[2].split(";")[0]
        agent = self.agent_of_session.get(session)
        if agent is None:
            await send({"type": "websocket.close", "code": 4403})
            return
        await send({"type": "websocket.accept"})
        self.agent_sockets[agent] = send
        while (await receive())["type"] != "websocket.disconnect":
            pass
        self.agent_sockets.pop(agent, None)

    async def _visitor(self, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        chat: list[Any] | None = None

        async def send_json(data: dict[str, Any]) -> None:
            await send({"type": "websocket.send", "text": json.dumps(data)})

        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            content = json.loads(event.get("text") or "{}")
            kind = content.get("type")
            if kind == "hello":
                token = content.get("token") or ""
                chat = self.chats.get(token)
                if chat is None:
                    token = f"bare-bot-{random.getrandbits(64):016x}"
                    chat = self.chats[token] = [self.next_conversation, None, 0]
                    self.next_conversation += 1
                state = "agent" if chat[1] else "bot"
                await send_json({"type": "welcome", "token": token, "state": state})
                if chat[1] is None:
                    chat[2] += 1
                    await send_json({"type": "message", "seq": chat[2], "sender": "bot",
                                     "name": "Bot", "text": "Hello!"})  # fmt: skip
            elif kind == "message" and chat is not None:
                chat[2] += 1
                message = {"type": "message", "seq": chat[2], "sender": "customer", "name": "Kunde",
                           "text": content.get("text"), "id": content.get("id")}  # fmt: skip
                await send_json({"type": "ack", "id": content.get("id"), "seq": chat[2]})
                await send_json(message)
                if chat[1] is None:
                    chat[2] += 1
                    await send_json({"type": "message", "seq": chat[2], "sender": "bot",
                                     "name": "Bot", "text": "An answer."})  # fmt: skip
                elif (agent_send := self.agent_sockets.get(chat[1])) is not None:
                    forwarded = {**message, "conversation": chat[0], "internal": False}
                    await agent_send({"type": "websocket.send", "text": json.dumps(forwarded)})
                    await agent_send({"type": "websocket.send",
                                      "text": '{"type": "desk", "kind": "message"}'})  # fmt: skip


def serve_bare(port: int, plan_path: Path) -> None:
    import uvicorn

    app = BareRelay(json.loads(plan_path.read_text()))
    uvicorn.run(app, host=HOST, port=port, log_level="warning", lifespan="off")


# ---------------------------------------------------------------------------------------
# Servers


class ChatServer(servers.CaseworkServer):
    """`casework serve --asgi`. With one worker uvicorn serves in the `casework` process
    itself (no children): that process is the worker."""

    def _wait_ready(self, *, timeout_seconds: float) -> None:
        if self.workers > 1:
            super()._wait_ready(timeout_seconds=timeout_seconds)
            return
        _wait_http(self, timeout_seconds)
        assert self.process is not None
        self.worker_pids = [self.process.pid]


class BareServer(ChatServer):
    """The bare relay under uvicorn, one process."""

    def __init__(self, plan_path: Path, *, log_path: Path) -> None:
        super().__init__(dict(os.environ), workers=1, log_path=log_path, asgi=True)
        self.plan_path = plan_path

    def start(self) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare",
                   str(self.port), "--plan", str(self.plan_path)]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        print(f"server: bare relay on {HOST}:{self.port} (pid {self.process.pid})")
        self._wait_ready(timeout_seconds=30)


def _wait_http(server: servers.CaseworkServer, timeout_seconds: float) -> None:
    assert server.process is not None
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"server exited with {server.process.returncode}; see {server.log_path}"
            )
        try:
            url = f"http://{HOST}:{server.port}/api/v1/openapi.json"
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not answer within {timeout_seconds} s")


def socket_owners(pids: list[int]) -> dict[int, int]:
    """Client port → the server process holding that connection (from /proc)."""
    inode_pid = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for descriptor in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
                    if target.startswith("socket:["):
                        inode_pid[target[8:-1]] = pid
    owners = {}
    with open("/proc/net/tcp") as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            pid = inode_pid.get(fields[9])
            if pid is not None:
                owners[int(fields[2].split(":")[1], 16)] = pid
    return owners


def postgres_backends() -> list[int]:
    import psycopg

    with psycopg.connect(f"{dataset.PG_SERVER_URL}/postgres", connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_DATABASE]
        ).fetchall()
    return [row[0] for row in rows]


class CpuMeter:
    """CPU seconds of the server's workers, PostgreSQL's backends and this client."""

    def __init__(self, worker_pids: list[int], pg: bool) -> None:
        self.worker_pids, self.pg = worker_pids, pg

    def snapshot(self) -> dict[str, Any]:
        pg = {pid: servers.cpu_seconds(pid) for pid in postgres_backends()} if self.pg else {}
        times = os.times()
        return {
            "at": time.monotonic(),
            "workers": {pid: servers.cpu_seconds(pid) for pid in self.worker_pids},
            "pg": pg,
            "client": times.user + times.system,
        }

    @staticmethod
    def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        workers = sum(after["workers"][p] - before["workers"].get(p, 0.0) for p in after["workers"])
        pg = sum(v - before["pg"].get(pid, 0.0) for pid, v in after["pg"].items())
        return {
            "seconds": after["at"] - before["at"],
            "server": workers,
            "per_worker": {
                str(p): round(after["workers"][p] - before["workers"].get(p, 0.0), 2)
                for p in after["workers"]
            },
            "pg": pg,
            "client": after["client"] - before["client"],
        }


# ---------------------------------------------------------------------------------------
# The client: one asyncio process


@dataclass
class Visitor:
    index: int
    token: str
    conversation: int
    agent: int
    after: int
    socket: Any = None
    port: int = 0
    welcomed: asyncio.Future[dict[str, Any]] | None = None
    greeted: asyncio.Future[None] | None = None
    asked_at: float | None = None


@dataclass
class Phase:
    """What the client saw in one phase."""

    sent_at: dict[str, float] = field(default_factory=dict)  # message id → send time
    arrived: dict[str, float] = field(default_factory=dict)  # at the agent
    acked: dict[str, float] = field(default_factory=dict)
    bot: list[float] = field(default_factory=list)
    bot_from_knowledge: int = 0
    bot_kinds: Counter[str] = field(default_factory=Counter)
    lateness: list[float] = field(default_factory=list)  # scheduler: actual − planned send
    errors: Counter[str] = field(default_factory=Counter)
    cross: set[str] = field(default_factory=set)  # visitor and agent in different processes


class Client:
    def __init__(self, port: int, plan: dict[str, Any], timeout: float) -> None:
        self.port = port
        self.plan = plan
        self.timeout = timeout
        self.visitors = [
            Visitor(i, v["token"], v["conversation"], v["agent"], v["after"])
            for i, v in enumerate(plan["visitors"])
        ]
        self.agent_sockets: dict[int, Any] = {}
        self.agent_ports: dict[int, int] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.phase = Phase()
        self.connect_latency: list[float] = []
        self.bot_visitors: list[Visitor] = []
        self.frames = Counter[str]()

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    async def _connect(self, path: str, headers: dict[str, str] | None = None) -> Any:
        from websockets.asyncio.client import connect

        return await connect(
            f"{self.url}{path}",
            additional_headers=headers,
            open_timeout=60,
            max_queue=None,
            compression=None,
        )

    async def connect_agents(self) -> None:
        origin = f"http://{HOST}:{self.port}"
        for agent in self.plan["agents"]:
            headers = {"Cookie": f"sessionid={agent['session']}", "Origin": origin}
            socket = await self._connect("/chat/ws/agent/", headers)
            self.agent_sockets[agent["id"]] = socket
            self.agent_ports[agent["id"]] = socket.local_address[1]
            self.tasks.append(asyncio.create_task(self._read_agent(socket)))
        await asyncio.sleep(0.5)  # the consumer joins its chats' groups after accepting
        for agent_id, socket in self.agent_sockets.items():
            if socket.close_code is not None:
                raise SystemExit(f"agent {agent_id}: socket closed ({socket.close_code})")

    async def _read_agent(self, socket: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in socket:
                now = time.monotonic()
                data = json.loads(raw)
                self.frames[f"agent {data.get('type')}"] += 1
                if data.get("type") == "message" and data.get("sender") == "customer":
                    message_id = data.get("id")
                    if message_id in self.phase.sent_at and message_id not in self.phase.arrived:
                        self.phase.arrived[message_id] = now

    async def connect_visitor(self, visitor: Visitor, language: str = "de") -> None:
        began = time.monotonic()
        loop = asyncio.get_running_loop()
        visitor.welcomed = loop.create_future()
        visitor.greeted = loop.create_future()
        visitor.socket = await self._connect("/chat/ws/visitor/")
        visitor.port = visitor.socket.local_address[1]
        self.tasks.append(asyncio.create_task(self._read_visitor(visitor)))
        hello = {"type": "hello", "token": visitor.token, "after": visitor.after,
                 "language": language, "page": "http://127.0.0.1/bench"}  # fmt: skip
        await visitor.socket.send(json.dumps(hello))
        welcome = await asyncio.wait_for(visitor.welcomed, 60)
        visitor.token = welcome["token"]
        self.connect_latency.append(time.monotonic() - began)

    async def _read_visitor(self, visitor: Visitor) -> None:
        with contextlib.suppress(Exception):
            async for raw in visitor.socket:
                now = time.monotonic()
                data = json.loads(raw)
                kind = data.get("type")
                self.frames[f"visitor {kind}"] += 1
                if kind == "welcome" and visitor.welcomed and not visitor.welcomed.done():
                    visitor.welcomed.set_result(data)
                elif kind == "ack":
                    self.phase.acked.setdefault(str(data.get("id")), now)
                elif kind == "error":
                    self.phase.errors[str(data.get("code"))] += 1
                elif kind == "message" and data.get("sender") in ("bot", "system"):
                    visitor.after = max(visitor.after, int(data.get("seq") or 0))
                    if visitor.greeted and not visitor.greeted.done():
                        visitor.greeted.set_result(None)
                    elif visitor.asked_at is not None and data.get("sender") == "bot":
                        self.phase.bot.append(now - visitor.asked_at)
                        visitor.asked_at = None
                        self.phase.bot_from_knowledge += bool(data.get("sources"))
                        self.phase.bot_kinds[_bot_kind(data)] += 1

    async def connect_visitors(self, visitors: list[Visitor], *, alternate: bool = False) -> float:
        began = time.monotonic()
        gate = asyncio.Semaphore(OPEN_AT_ONCE)

        async def one(visitor: Visitor) -> None:
            async with gate:
                language = ("de", "en")[visitor.index % 2] if alternate else "de"
                await self.connect_visitor(visitor, language)

        await asyncio.gather(*(one(v) for v in visitors))
        return time.monotonic() - began

    def mark_cross(self, owners: dict[int, int]) -> Counter[str]:
        """Which visitors sit in another server process than their agent."""
        spread: Counter[str] = Counter()
        self.crossing = set()
        for visitor in self.visitors:
            mine = owners.get(visitor.port)
            theirs = owners.get(self.agent_ports[visitor.agent])
            spread[str(mine)] += 1
            if mine != theirs:
                self.crossing.add(visitor.index)
        return spread

    async def round_trip(self, sends: list[int], rate: float, tag: str) -> Phase:
        """`sends`: visitor indexes in sending order, at `rate` a second."""
        self.phase = phase = Phase()
        interval = 1.0 / rate
        start = time.monotonic() + 0.2
        for number, index in enumerate(sends):
            planned = start + (number + random.uniform(-0.5, 0.5)) * interval
            delay = planned - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            visitor = self.visitors[index]
            message_id = f"{tag}-{number}"
            now = time.monotonic()
            phase.lateness.append(max(0.0, now - planned))
            phase.sent_at[message_id] = now
            if index in getattr(self, "crossing", ()):
                phase.cross.add(message_id)
            try:
                await visitor.socket.send(
                    json.dumps({"type": "message", "id": message_id, "text": f"m {message_id}"})
                )
            except ConnectionClosed:
                phase.errors["send failed: visitor's socket closed by the server"] += 1
        deadline = time.monotonic() + self.timeout
        while len(phase.arrived) < len(phase.sent_at) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the last acks
        self.count_closed(phase)
        return phase

    def count_closed(self, phase: Phase) -> None:
        """Sockets the server dropped (the client never closes one before the end)."""
        visitors = sum(
            1
            for v in self.visitors + self.bot_visitors
            if v.socket is not None and v.socket.close_code is not None
        )
        agents = sum(1 for s in self.agent_sockets.values() if s.close_code is not None)
        if visitors:
            phase.errors["visitor sockets closed by the server (so far)"] = visitors
        if agents:
            phase.errors["agent sockets closed by the server (so far)"] = agents

    async def bot_questions(self, visitors: list[Visitor], rate: float) -> Phase:
        self.phase = phase = Phase()
        interval = 1.0 / rate
        start = time.monotonic() + 0.2
        for number, visitor in enumerate(visitors):
            planned = start + (number + random.uniform(-0.5, 0.5)) * interval
            delay = planned - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            language = ("de", "en")[visitor.index % 2]
            questions = BOT_QUESTIONS[language]
            text = questions[number % len(questions)]
            message_id = f"bot-{visitor.index}-{number}"
            visitor.asked_at = now = time.monotonic()
            phase.lateness.append(max(0.0, now - planned))
            phase.sent_at[message_id] = now
            try:
                await visitor.socket.send(
                    json.dumps({"type": "message", "id": message_id, "text": text})
                )
            except ConnectionClosed:
                visitor.asked_at = None
                phase.errors["send failed: visitor's socket closed by the server"] += 1
        deadline = time.monotonic() + self.timeout
        while any(v.asked_at is not None for v in visitors) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return phase

    async def close(self) -> None:
        sockets = [v.socket for v in self.visitors + self.bot_visitors if v.socket is not None]
        sockets += list(self.agent_sockets.values())
        for start in range(0, len(sockets), 200):
            await asyncio.gather(
                *(s.close() for s in sockets[start : start + 200]), return_exceptions=True
            )
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _bot_kind(data: dict[str, Any]) -> str:
    if data.get("sources"):
        return "knowledge"
    if data.get("choices"):
        return "choices (not understood / hand-over)"
    return "other"


def send_order(visitors: int, messages: int, rng: random.Random) -> list[int]:
    order: list[int] = []
    for _ in range(messages):
        round_ = list(range(visitors))
        rng.shuffle(round_)
        order += round_
    return order


@dataclass
class RoundTrip:
    """One offered rate."""

    rate: float
    sent: int = 0
    lost: int = 0
    latency: measure.Latency | None = None
    ack: measure.Latency | None = None
    cross: measure.Latency | None = None
    same: measure.Latency | None = None
    achieved_rate: float = float("nan")
    cpu: dict[str, Any] = field(default_factory=dict)
    lateness_p99_ms: float = float("nan")
    machine: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("latency", "ack", "cross", "same"):
            value = getattr(self, key)
            data[key] = value.as_dict() if value else None
        return data


@dataclass
class Figures:
    name: str
    label: str
    workers: int
    connect_seconds: float = float("nan")
    connect: measure.Latency | None = None
    round_trips: list[RoundTrip] = field(default_factory=list)
    bot: measure.Latency | None = None
    bot_asked: int = 0
    bot_kinds: dict[str, int] = field(default_factory=dict)
    bot_cpu: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    spread: dict[str, int] = field(default_factory=dict)
    setup_seconds: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)

    def at(self, rate: float) -> RoundTrip | None:
        return next((r for r in self.round_trips if r.rate == rate), None)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["round_trips"] = [r.as_dict() for r in self.round_trips]
        for key in ("connect", "bot"):
            value = getattr(self, key)
            data[key] = value.as_dict() if value else None
        return data


def wait_idle(meter: CpuMeter, max_seconds: float = 60.0) -> None:
    """Until the server's workers stand (nearly) still: a backlog of a saturated phase
    must not spill into the next one."""
    deadline = time.monotonic() + max_seconds
    previous = sum(meter.snapshot()["workers"].values())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(meter.snapshot()["workers"].values())
        if now - previous < 0.05 * max(1, len(meter.worker_pids)):
            return
        previous = now


async def measure_rate(
    client: Client, meter: CpuMeter, order: list[int], rate: float, tag: str
) -> RoundTrip:
    result = RoundTrip(rate)
    await asyncio.to_thread(wait_idle, meter)
    before = meter.snapshot()
    with measure.MachineLoad() as load:
        phase = await client.round_trip(order, rate, tag)
    after = meter.snapshot()
    result.machine = load.figures
    result.cpu = CpuMeter.delta(before, after)
    latency = {m: phase.arrived[m] - phase.sent_at[m] for m in phase.arrived}
    result.sent = len(phase.sent_at)
    result.lost = result.sent - len(latency)
    result.latency = measure.Latency.of(list(latency.values()))
    result.ack = measure.Latency.of(
        [phase.acked[m] - phase.sent_at[m] for m in phase.acked if m in phase.sent_at]
    )
    result.cross = measure.Latency.of([v for m, v in latency.items() if m in phase.cross])
    result.same = measure.Latency.of([v for m, v in latency.items() if m not in phase.cross])
    sends = sorted(phase.sent_at.values())
    result.achieved_rate = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0
    result.lateness_p99_ms = measure.percentile(phase.lateness, 99) * 1000
    print(
        f"  round trip at {rate:g}/s: {result.sent} sent, {result.lost} lost, p50 "
        f"{result.latency.p50:.1f} ms, p99 {result.latency.p99:.1f} ms; server CPU "
        f"{result.cpu['server']:.1f} s, client CPU {result.cpu['client']:.1f} s in "
        f"{result.cpu['seconds']:.1f} s; {load.describe()}"
    )
    return result


async def drive(
    port: int, plan: dict[str, Any], args: argparse.Namespace, meter: CpuMeter, figures: Figures
) -> None:
    rng = random.Random(args.seed)
    client = Client(port, plan, args.timeout)
    try:
        await client.connect_agents()
        figures.connect_seconds = await client.connect_visitors(client.visitors)
        figures.connect = measure.Latency.of(client.connect_latency)
        owners = socket_owners(meter.worker_pids)
        figures.spread = dict(client.mark_cross(owners))
        print(
            f"  connected {len(client.visitors)} visitors + {len(client.agent_sockets)} agents "
            f"in {figures.connect_seconds:.1f} s (by server process: {figures.spread}; "
            f"{len(client.crossing)} visitors in another process than their agent)"
        )
        warm = [rng.randrange(len(client.visitors)) for _ in range(WARM_UP_MESSAGES)]
        await client.round_trip(warm, min(args.rates[0], 50.0), "warm")
        for number, rate in enumerate(args.rates):
            order = send_order(len(client.visitors), args.messages, rng)
            figures.round_trips.append(await measure_rate(client, meter, order, rate, f"r{number}"))
            figures.errors.update(
                {f"{rate:g}/s {code}": n for code, n in client.phase.errors.items()}
            )
        # Bot answers, with the conversations above still connected.
        await asyncio.to_thread(wait_idle, meter)
        first = len(client.visitors)
        count = args.bot_chats + WARM_UP_QUESTIONS
        client.bot_visitors = [Visitor(first + i, "", 0, 0, 0) for i in range(count)]
        await client.connect_visitors(client.bot_visitors, alternate=True)
        await asyncio.wait_for(
            asyncio.gather(*(v.greeted for v in client.bot_visitors if v.greeted)), 60
        )
        await client.bot_questions(client.bot_visitors[:WARM_UP_QUESTIONS], args.bot_rate)
        await asyncio.to_thread(wait_idle, meter)
        before = meter.snapshot()
        asked = client.bot_visitors[WARM_UP_QUESTIONS:]
        bot_phase = await client.bot_questions(asked, args.bot_rate)
        figures.bot_cpu = CpuMeter.delta(before, meter.snapshot())
        figures.bot = measure.Latency.of(bot_phase.bot)
        figures.bot_asked = len(bot_phase.sent_at)
        figures.bot_kinds = dict(bot_phase.bot_kinds)
        for code, n in bot_phase.errors.items():
            figures.errors[f"bot {code}"] = n
        print(
            f"  bot: {figures.bot.n} of {figures.bot_asked} answered ({figures.bot_kinds}), "
            f"p50 {figures.bot.p50:.1f} ms, p99 {figures.bot.p99:.1f} ms"
        )
        figures.frames = dict(client.frames)
    finally:
        await client.close()


def run_client(port: int, plan: dict[str, Any], args: argparse.Namespace, meter: CpuMeter,
               figures: Figures) -> None:  # fmt: skip
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(drive(port, plan, args, meter, figures))


# ---------------------------------------------------------------------------------------
# Configurations


def environment(config: Config, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("CASEWORK_DATABASE_URL", "CASEWORK_REDIS_URL"):
        env.pop(key, None)
    env.update(
        {
            "CASEWORK_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": dataset.SETTINGS_MODULE,
            "CASEWORK_CHAT_MESSAGES_PER_MINUTE": "100000",
            "CASEWORK_CHAT_STARTS_PER_MINUTE": "100000",
            "CASEWORK_LOG_LEVEL": "WARNING",
        }
    )
    if config.pg:
        env["CASEWORK_DATABASE_URL"] = f"{dataset.PG_SERVER_URL}/{PG_DATABASE}"
    if config.redis:
        env["CASEWORK_REDIS_URL"] = REDIS_URL
    no_proxy = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    env["no_proxy"] = env["NO_PROXY"] = no_proxy
    return env


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def run_config(config: Config, args: argparse.Namespace, work: Path) -> Figures:
    figures = Figures(config.name, config.label, config.workers)
    data_dir = work / config.name
    data_dir.mkdir()
    env = environment(config, data_dir)
    try:
        if config.pg:
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            dataset._pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
        if config.redis:
            flush_redis()
        began = time.perf_counter()
        migrate = [str(servers.VENV_BIN / "casework"), "migrate", "-v", "0"]
        subprocess.run(migrate, env=env, check=True, timeout=600)
        migrated = time.perf_counter()
        plan_path = data_dir / "plan.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--seed-into",
                   str(plan_path), "--connections", str(args.connections),
                   "--agents", str(args.agents)]  # fmt: skip
        subprocess.run(command, env=env, check=True, timeout=600)
        plan = json.loads(plan_path.read_text())
        figures.setup_seconds = {"migrate": round(migrated - began, 1), **plan["seconds"]}
        print(f"  setup: {figures.setup_seconds} ({plan['articles']} articles)")
        server_env = dict(env)
        measure.wait_for_quiet(args.quiet_wait)
        with ChatServer(
            server_env, workers=config.workers, log_path=data_dir / "server.log", asgi=True
        ) as server:
            meter = CpuMeter(server.worker_pids, config.pg)
            run_client(server.port, plan, args, meter, figures)
            problems = server.logged_exceptions()
            if problems:
                print(f"  server log: {dict(problems)}")
                figures.errors.update({f"log: {k}": v for k, v in problems.items()})
        if args.profile:
            command = [sys.executable, str(Path(__file__).resolve()), "--breakdown",
                       str(plan_path)]  # fmt: skip
            subprocess.run(command, env=env, check=True, timeout=600)
    finally:
        if config.redis:
            with contextlib.suppress(Exception):
                flush_redis()
        if config.pg:
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    return figures


def run_bare(args: argparse.Namespace, work: Path) -> Figures:
    figures = Figures("bare relay", "bare ASGI relay under uvicorn, no database, 1 process", 1)
    plan = bare_plan(args.connections, args.agents)
    plan_path = work / "bare-plan.json"
    plan_path.write_text(json.dumps(plan))
    measure.wait_for_quiet(args.quiet_wait)
    with BareServer(plan_path, log_path=work / "bare.log") as server:
        meter = CpuMeter(server.worker_pids, pg=False)
        run_client(server.port, plan, args, meter, figures)
    return figures


def breakdown(plan_path: Path, count: int = 200) -> None:
    """In-process, after the run, on the configuration's database: the work the server does
    for one message, step by step as the consumers call it, in CPU ms and SQL statements;
    then cProfile over the same."""
    import cProfile

    import django

    django.setup()
    from casework.chat import consumers, services
    from casework.kernel import realtime

    plan = json.loads(plan_path.read_text())
    visitors = plan["visitors"][:count]
    floor = [0]
    steps = {
        "post_customer_message": lambda i, v: services.post_customer_message(
            v["token"], f"breakdown {i}", client_id=f"breakdown-{i}"
        ),
        "_visitor_messages (×2 per message)": (
            lambda i, v: consumers._visitor_messages(v["conversation"], v["after"])
        ),
        "_agent_messages": lambda i, v: consumers._agent_messages(
            v["conversation"], v["after"], v["agent"]
        ),
        "realtime._rows_after (poller, 50/s)": (lambda i, v: realtime._rows_after(floor[0])),
    }
    rows = []
    for name, step in steps.items():
        floor[0] = realtime._latest_id()  # the poller finds nothing new: its usual case
        counter = measure.QueryCounter()
        began_cpu, began = time.process_time(), time.perf_counter()
        with counter.installed():
            for i, visitor in enumerate(visitors):
                step(i, visitor)
        cpu = (time.process_time() - began_cpu) / len(visitors) * 1000
        wall = (time.perf_counter() - began) / len(visitors) * 1000
        shapes = ", ".join(f"{k} {v / len(visitors):g}" for k, v in counter.shapes.most_common())
        rows.append((name, cpu, wall, counter.total / len(visitors), shapes))
    report.print_table(
        f"Server work per message, in-process ({len(visitors)} messages, one at a time)",
        ["step", "CPU ms", "wall ms", "statements", "statements by shape"],
        rows,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for i, visitor in enumerate(plan["visitors"][count : 2 * count]):
        services.post_customer_message(visitor["token"], f"p {i}", client_id=f"profiled-{i}")
        consumers._visitor_messages(visitor["conversation"], visitor["after"])
        consumers._visitor_messages(visitor["conversation"], visitor["after"])
        consumers._agent_messages(visitor["conversation"], visitor["after"], visitor["agent"])
    profiler.disable()
    print(f"\ncProfile, {count} messages (post + 2 visitor flushes + agent flush), cumulative:")
    print(measure.profile_top(profiler, sort="cumulative", limit=35))


# ---------------------------------------------------------------------------------------
# Report


def ratio(ours: measure.Latency | None, bare: measure.Latency | None, key: str) -> float:
    if ours is None or bare is None or not ours.n or not getattr(bare, key):
        return float("nan")
    return getattr(ours, key) / getattr(bare, key)


def print_report(
    results: list[Figures], bare: Figures | None, args: argparse.Namespace
) -> list[report.Check]:
    nan = float("nan")
    every = ([bare] if bare else []) + results
    rows = []
    for rate in args.rates:
        base = bare.at(rate) if bare else None
        for f in every:
            r = f.at(rate)
            if r is None or r.latency is None:
                continue
            rt, cpu, n = r.latency, r.cpu, max(1, r.sent)
            rows.append((
                f.name, f.workers, f"{rate:g}", r.sent, r.lost, rt.p50, rt.p95, rt.p99, rt.max,
                r.achieved_rate, ratio(rt, base.latency if base else None, "p50"),
                ratio(rt, base.latency if base else None, "p99"),
                1000 * cpu.get("server", nan) / n, 1000 * cpu.get("pg", nan) / n,
                cpu.get("client", nan) / max(cpu.get("seconds", 1), 1e-9),
                r.machine.get("cpu_share_of_others", nan),
            ))  # fmt: skip
    report.print_table(
        f"Round trip customer → agent screen, {args.connections:,} visitors + {args.agents} "
        f"agents connected, {args.messages} message(s) per visitor per rate (ms)",
        ["config", "procs", "offered/s", "sent", "lost", "p50", "p95", "p99", "max", "sent/s",
         "p50 ÷ bare", "p99 ÷ bare", "server CPU ms/msg", "PG CPU ms/msg", "client CPU",
         "others' CPU"],
        rows,
    )  # fmt: skip
    rows = []
    for rate in args.rates:
        for f in every:
            r = f.at(rate)
            if r is None or r.latency is None:
                continue
            same, cross, ack = r.same, r.cross, r.ack
            rows.append((
                f.name, f"{rate:g}", ack.p50 if ack else nan, ack.p99 if ack else nan,
                same.n if same else 0, same.p50 if same else nan, same.p99 if same else nan,
                cross.n if cross else 0, cross.p50 if cross else nan,
                cross.p99 if cross else nan, r.lateness_p99_ms,
            ))  # fmt: skip
    report.print_table(
        "Details (ms): the visitor's ack; round trip with visitor and agent in the same / in "
        "another server process; the client's scheduler lateness",
        ["config", "offered/s", "ack p50", "ack p99", "same n", "same p50", "same p99",
         "cross n", "cross p50", "cross p99", "client late p99"],
        rows,
    )  # fmt: skip
    rows = []
    for f in every:
        b = f.bot
        rows.append((
            f.name, f.connect_seconds, f.connect.p50 if f.connect else nan,
            f.connect.p99 if f.connect else nan, json.dumps(f.spread),
            f.bot_asked, b.n if b else 0, f.bot_kinds.get("knowledge", 0),
            b.p50 if b else nan, b.p95 if b else nan, b.p99 if b else nan, b.max if b else nan,
            ratio(b, bare.bot if bare else None, "p50"),
            ratio(b, bare.bot if bare else None, "p99"),
            1000 * f.bot_cpu.get("server", nan) / max(1, f.bot_asked),
        ))  # fmt: skip
    report.print_table(
        f"Connecting {args.connections:,} visitors (s, ms); bot answers: {args.bot_chats} new "
        f"chats asking a knowledge question at {args.bot_rate:g}/s, the others connected (ms)",
        ["config", "connect all", "welcome p50", "welcome p99", "visitors by process",
         "asked", "answered", "from knowledge", "bot p50", "bot p95", "bot p99", "bot max",
         "p50 ÷ bare", "p99 ÷ bare", "server CPU ms/answer"],
        rows,
    )  # fmt: skip
    for f in every:
        if f.errors:
            print(f"errors in {f.name}: {f.errors}")
    checks = []
    for f in results:
        for r in f.round_trips:
            p99 = r.latency.p99 if r.latency and r.lost == 0 else nan
            checks.append(report.Check(
                f"{f.name}: round-trip p99, {args.connections:,} connections, {r.rate:g}/s",
                p99, TARGET_ROUND_TRIP_P99_MS, "ms"))  # fmt: skip
        checks.append(report.Check(f"{f.name}: bot answer p99", f.bot.p99 if f.bot else nan,
                                   TARGET_BOT_P99_MS, "ms"))  # fmt: skip
    report.print_checks(checks)
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, of {', '.join(CONFIGS)}")  # fmt: skip
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1, help="per visitor and rate")
    parser.add_argument(
        "--rate", default="25,100", help="messages/s of all visitors; several: one phase each"
    )
    parser.add_argument("--bot-chats", type=int, default=100)
    parser.add_argument("--bot-rate", type=float, default=10.0, help="questions/s")
    parser.add_argument("--timeout", type=float, default=30.0, help="s after the last send")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument(
        "--profile", action="store_true", help="the server's work per message, in-process"
    )
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed-into", dest="seed_plan", type=Path, help=argparse.SUPPRESS)
    measure.add_quiet_wait_option(parser)
    parser.set_defaults(quiet_wait=10)
    args, _ = parser.parse_known_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.plan)
        return
    if args.breakdown:
        breakdown(args.breakdown)
        return
    if args.seed_plan:
        seed(args.seed_plan, args.connections, args.agents)
        return
    args.rates = [float(rate) for rate in args.rate.split(",") if rate.strip()]
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: servers stop, dirs go

    facts = report.machine_facts()
    report.print_header(
        "Chat load: concurrent chat connections, round trip customer → agent, bot answers",
        facts,
        {
            "load": f"{args.connections:,} visitors + {args.agents} agents, {args.messages} "
            f"message(s) each at {args.rate} /s; {args.bot_chats} bot questions at "
            f"{args.bot_rate:g}/s",
            "configs": ", ".join(names) + ("" if args.no_bare else " + bare relay"),
            "client": "one asyncio process (uvloop), websockets "
            + _version("websockets")
            + ", uvicorn "
            + _version("uvicorn"),
        },
    )
    work = Path(tempfile.mkdtemp(prefix="casework-chat-load-"))
    results: list[Figures] = []
    bare = None
    try:
        if not args.no_bare:
            print("\n== bare relay (baseline)")
            bare = run_bare(args, work)
        for name in names:
            print(f"\n== {name}: {CONFIGS[name].label}")
            try:
                results.append(run_config(CONFIGS[name], args, work))
            except Exception as error:  # noqa: BLE001  (report the others all the same)
                print(f"  {name} failed: {type(error).__name__}: {error}")
                failed = Figures(name, CONFIGS[name].label, CONFIGS[name].workers)
                failed.errors["run failed"] = 1
                results.append(failed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = print_report(results, bare, args)
    report.write_results(
        "chat_load",
        "all",
        {
            "machine": facts,
            "args": {k: v for k, v in vars(args).items() if v is not None},
            "bare": bare.as_dict() if bare else None,
            "configs": [f.as_dict() for f in results],
            "checks": [check.as_dict() for check in checks],
        },
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    try:
        return version(package)
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    main()

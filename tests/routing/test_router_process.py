"""`casework router`: the engine in a process of its own, asked by the channels over
loopback (docs/adr/0013). The process runs against the test database; the test is the web
process, with CASEWORK_ROUTER=process."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from casework.channels.phone.models import AgentLine, Call, CallState, ConnectionKind, CtiConnection
from casework.events.models import Event
from casework.kernel import secrets
from casework.routing import lease, port
from casework.routing.errors import NoPendingOffer, NoRoute, RouterUnavailable, UnknownWorkItem
from casework.routing.lease import RouterOwnsTables
from casework.routing.models import (
    Agent,
    AgentStatus,
    Offer,
    OfferStatus,
    Queue,
    Team,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.port import EmbeddedRouter, get_router
from casework.routing.presence import set_presence
from casework.routing.remote import RemoteRouter
from casework.routing.router import NewWorkItem
from casework.routing.wire import connection_file
from tests.channels.phone.conftest import SECRET, signed_headers
from tests.factories import AgentFactory, QueueFactory, SkillFactory
from tests.routing.conftest import SYSTEM, as_agent, eventually

pytestmark = pytest.mark.django_db(transaction=True)


def _available_agent(queue_code: str = "service") -> Agent:
    """An agent at the desk, before the router process starts (it loads them)."""
    Queue.objects.filter(code=queue_code).exists() or QueueFactory(code=queue_code)
    agent = AgentFactory()
    set_presence(agent.pk, "available", actor=SYSTEM)
    return agent


def test_the_channels_ask_the_router_process_and_it_writes_behind(router_process):
    agent = _available_agent()
    router_process.start()
    router = get_router()
    assert isinstance(router, RemoteRouter)

    item = router.submit(NewWorkItem(channel="phone", external_id="call-1", queue="service"),
                         actor=SYSTEM)  # fmt: skip
    assert (item.status, item.agent_id) == (WorkItemStatus.OFFERED, agent.pk)
    assert router.submit(NewWorkItem(channel="phone", external_id="call-1", queue="service"),
                         actor=SYSTEM) == item  # fmt: skip
    assert eventually(lambda: Offer.objects.filter(item_id=item.id, agent=agent).exists())

    accepted = router.accept(item.id, actor=as_agent(agent))
    assert accepted.status == WorkItemStatus.ACCEPTED
    completed = router.complete(item.id, actor=as_agent(agent))
    assert router.item(item.id) == completed
    assert eventually(
        lambda: WorkItem.objects.filter(pk=item.id, status=WorkItemStatus.COMPLETED).exists()
    )
    assert Offer.objects.get(item_id=item.id).status == OfferStatus.ACCEPTED
    assert router.item(10**9) is None


def test_the_process_answers_a_caller_inside_its_transaction_across_lease_renewals(
    router_process,
):
    """On SQLite a caller's transaction holds the database's write lock while it waits for
    the answer: the process must never write the database before it answers."""
    _available_agent()
    router_process.start()
    router = get_router()
    slowest = 0.0
    with transaction.atomic():
        Team.objects.create(code="lock-holder", name_de="x", name_en="x")  # the write lock
        deadline = time.monotonic() + 3 * lease.RENEW_SECONDS
        number = 0
        while time.monotonic() < deadline:
            number += 1
            started = time.monotonic()
            item = router.submit(
                NewWorkItem(channel="chat", external_id=f"chat-{number}", queue="service"),
                actor=SYSTEM,
            )
            router.withdraw(item.id, actor=SYSTEM)
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
    assert slowest < 2.0  # a renewal in its way would have waited for this transaction
    assert number > 10


def test_domain_errors_come_back_as_themselves(router_process):
    agent = _available_agent()
    router_process.start()
    router = get_router()
    with pytest.raises(UnknownWorkItem) as unknown:
        router.accept(10**9, actor=as_agent(agent))
    assert unknown.value.details == {"item_id": 10**9}
    with pytest.raises(NoRoute):
        router.submit(NewWorkItem(channel="phone", queue="no-such-queue"), actor=SYSTEM)
    item = router.submit(NewWorkItem(channel="phone", queue="service"), actor=SYSTEM)
    other = AgentFactory()
    with pytest.raises(NoPendingOffer):
        router.accept(item.id, actor=as_agent(other))


def test_while_the_process_owns_the_tables_nothing_else_writes_them(router_process):
    _available_agent()
    router_process.start()
    lease.forget_check()
    with pytest.raises(RouterOwnsTables):
        EmbeddedRouter().submit(NewWorkItem(channel="phone", queue="service"), actor=SYSTEM)

    second = router_process.start(expect_ready=False)
    second.communicate(timeout=60)
    assert second.returncode != 0
    assert "owns the routing tables" in router_process.log()

    assert router_process.stop() == 0
    assert lease.holder() is None  # released when it stopped
    assert not connection_file().exists()


def test_the_process_killed_loses_no_call_and_a_new_one_takes_over(
    router_process, client, settings
):
    phone_queue = QueueFactory(code="phone-service")
    cti = CtiConnection.objects.create(
        code="pbx", name="PBX", kind=ConnectionKind.GENERIC, secret=secrets.encrypt(SECRET),
        default_queue=phone_queue,
    )  # fmt: skip
    agent = _available_agent("phone-service")
    AgentLine.objects.create(agent=agent, extension="201")

    def post(event: str, call_id: str, **fields: Any):  # noqa: ANN202
        body = json.dumps({"event": event, "call_id": call_id, **fields}).encode()
        return client.post(f"/api/v1/cti/generic/{cti.code}/events", data=body,
                           content_type="application/json", **signed_headers(body))  # fmt: skip

    router_process.start()
    answer = post("new_call", "c1", caller="030 2345 6789")
    assert answer.status_code == 200, answer.content
    assert answer.json()["agent"]["extension"] == "201"

    router_process.kill()  # while the call rings; its offer was written (or not) behind
    port._routers.clear()
    second = post("new_call", "c2", caller="030 9999 9999")
    assert second.status_code == 200, second.content  # the telephone system queues the caller
    assert (second.json()["action"], second.json()["agent"]) == ("queue", None)
    assert "router does not answer" in second.json()["warning"]
    assert Call.objects.get(provider_call_id="c2").route_request is not None  # kept
    # An event that needs the router for itself is refused, not recorded: sent again later.
    refused = post("hangup", "c1", cause="normal")
    assert refused.status_code == 503, refused.content
    assert refused.json()["code"] == "router_unavailable"

    router_process.start()  # the killed one's lease is taken over at once (its pid is gone)
    again = post("new_call", "c2", caller="030 9999 9999")
    assert again.status_code == 200, again.content
    call = Call.objects.get(provider_call_id="c2")
    assert call.route_request is None and call.work_item_id is not None
    assert call.state in (CallState.WAITING, CallState.RINGING)
    # The first call's item and offer, decided and answered but perhaps never written by
    # the killed process, were written from its decision log: the new process knows the
    # item (its offer still rings at line 201, or has rung out meanwhile and moved on).
    first = Call.objects.get(provider_call_id="c1")
    item = get_router().item(first.work_item_id)  # type: ignore[arg-type]
    assert item is not None and item.external_id == f"call-{first.pk}"
    assert Offer.objects.filter(item_id=item.id, agent=agent).count() == 1
    offered = Event.objects.filter(code="work_item.offered", object_id=item.id)
    assert offered.count() == 1


def test_an_administrators_changes_reach_the_router_process(router_process, client):
    german = SkillFactory(code="lang-de")
    agent = _available_agent()
    router_process.start()
    router = get_router()
    german_call = NewWorkItem(channel="phone", queue="service", required_skills={"lang-de": 5})
    assert router.submit(german_call, actor=SYSTEM).status == WorkItemStatus.QUEUED

    admin = get_user_model().objects.create_superuser("admin", password=None)
    client.force_login(admin)
    page = f"/admin/routing/agent/{agent.pk}/change/"
    form = {"user": agent.user_id, "role": agent.role, "teams": [],
            "agentskill_set-TOTAL_FORMS": 1, "agentskill_set-INITIAL_FORMS": 0,
            "agentskill_set-0-skill": german.pk, "agentskill_set-0-proficiency": 7}  # fmt: skip
    saved = client.post(page, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert router.submit(german_call, actor=SYSTEM).agent_id == agent.pk  # a new one

    saved = client.post(f"/admin/routing/agentstatus/{agent.pk}/change/", {"capacity_units": 200})
    assert saved.status_code == 302
    second = router.submit(NewWorkItem(channel="phone", queue="service"), actor=SYSTEM)
    assert second.agent_id == agent.pk  # room for a second call now
    assert eventually(lambda: AgentStatus.objects.get(agent=agent).used_units == 200)


def test_a_wrong_secret_or_a_bad_request_is_refused(router_process):
    router_process.start()

    def talk(*lines: bytes) -> list[dict]:
        with socket.create_connection(("127.0.0.1", router_process.port), timeout=5) as sock:
            for line in lines:
                sock.sendall(line + b"\n")
            sock.shutdown(socket.SHUT_WR)
            return [json.loads(answer) for answer in sock.makefile("rb")]

    refused = talk(b'{"secret": "wrong"}', b'{"op": "item", "args": {"item_id": 1}}')
    assert refused == [{"error": {"code": "unauthorized", "message": "wrong secret"}}]
    assert oct(connection_file().stat().st_mode & 0o777) == "0o600"
    secret = json.dumps({"secret": json.loads(connection_file().read_text())["secret"]})
    answers = talk(
        secret.encode(),
        b'{"op": "item", "args": {"item_id": 1}}',
        b'{"op": "drop_tables", "args": {}}',
        b'{"op": "item", "args": {"item_id": "one"}}',
        b"[1]",
        b"not json",
        b'{"op": "item", "args": {"item_id": 1}}',  # not read: the connection has ended
    )
    unknown = {"error": {"code": "not_found", "message": "no such operation"}}
    assert answers[:3] == [{"answer": {}}, {"answer": {"item": None}}, unknown]
    assert [answer["error"]["code"] for answer in answers[3:]] == ["invalid_input"] * 3
    assert len(answers) == 6


def test_a_refused_client_reads_its_answer_and_the_end_even_while_it_sends_on(router_process):
    # Closed with requests still unread, the socket would reset the connection, and the
    # refusal could be lost under the reset.
    router_process.start()
    request = b'{"op": "item", "args": {"item_id": 1}}\n'

    with socket.create_connection(("127.0.0.1", router_process.port), timeout=5) as sock:
        # More than the server reads at once: requests are still unread when it refuses.
        sock.sendall(b'{"secret": "wrong"}\n' + request * 20_000)
        answers = [json.loads(line) for line in sock.makefile("rb")]  # until the server's end

    assert answers == [{"error": {"code": "unauthorized", "message": "wrong secret"}}]


def test_without_a_router_process_the_remote_router_says_so(router_process):
    with pytest.raises(RouterUnavailable):
        get_router().item(1)

"""The case engine on the shipped case types: straight through, exceptions, four eyes,
sub-cases and escalation, and service levels in business hours across a holiday."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from casework.cases import process, sla
from casework.cases.models import (
    Case,
    CaseSla,
    CaseStatus,
    Priority,
    ProcessStatus,
    Task,
    TaskKind,
    TaskStatus,
)
from casework.channels.email.models import OutboundEmail
from casework.events.models import Event
from casework.events.services import recording_transaction, savepoints_left_out
from casework.intake.messages import InboundMessage
from casework.intake.services import ingest
from casework.kernel import clock
from casework.kernel.errors import InvalidInput, PermissionDenied
from casework.kernel.models import Job
from casework.routing.queries import actor_for_agent
from tests.engine import ADMIN, open_process_case, run_jobs
from tests.factories import (
    AgentFactory,
    CaseFactory,
    ContractFactory,
    CustomerFactory,
    IdentifierFactory,
)

pytestmark = pytest.mark.django_db


class Billing(BaseHTTPRequestHandler):
    """A billing system on loopback: answers a booking reference, or fails on demand."""

    fail = False
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Billing.calls.append(body)
        if Billing.fail:
            self.send_response(503)
            self.end_headers()
            return
        answer = json.dumps({"reference": f"B-{len(Billing.calls)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def billing(settings) -> Iterator[type[Billing]]:  # noqa: ANN001
    server = HTTPServer(("127.0.0.1", 0), Billing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Billing.fail, Billing.calls = False, []
    settings.CASEWORK_INTEGRATIONS_ALLOW_PRIVATE = True
    settings.CASEWORK_INTEGRATION_ENDPOINTS = {
        "https://billing.example.invalid": f"http://127.0.0.1:{server.server_port}"
    }
    yield Billing
    server.shutdown()


def codes(case: Case) -> list[str]:
    return list(
        Event.objects.filter(object_type="case", object_id=case.pk)
        .order_by("seq")
        .values_list("code", flat=True)
    )


def retention_customer(segment: str = "gold", ends_in_days: int = 60) -> Any:
    customer = CustomerFactory(segment=segment)
    IdentifierFactory(customer=customer, kind="email", value=f"{customer.customer_number}@ex.de")
    today = clock.localtime(clock.now()).date()
    ContractFactory(
        customer=customer,
        start_date=today - dt.timedelta(days=900),
        end_date=today + dt.timedelta(days=ends_in_days),
    )
    return customer


def test_a_retention_order_runs_straight_through_without_a_person(engine, billing):
    customer = retention_customer("gold")

    case = open_process_case("retention-order", customer_id=customer.pk, data={"campaign": "w26"})
    run_jobs()

    case.refresh_from_db()
    assert case.process_status == ProcessStatus.COMPLETED and case.stage == "offer-accepted"
    assert case.status == CaseStatus.RESOLVED
    assert case.data["offer"] == "discount-20" and case.data["order_reference"] == "B-1"
    assert case.data["offer_name"] == "Rabatt 20 %"
    contract = customer.contracts.get()
    assert contract.monthly_fee == Decimal("15.99")  # 20 % off 19.99, booked on the contract
    assert Billing.calls[0]["offer"] == "discount-20"
    assert (
        not Task.objects.filter(case=case, kind__in=["form", "work", "approval", "exception"])
        .exclude(status="done")
        .exists()
    )
    decision = Event.objects.get(code="case.decision_taken", object_id=case.pk)
    assert decision.payload["rules"][0]["id"] == "gold-loyal"
    assert decision.payload["inputs"]["segment"] == "gold"
    assert "notification.sent" in codes(case)
    confirmation = OutboundEmail.objects.get(case=case, kind="notification")
    assert confirmation.to_address == f"{customer.customer_number}@ex.de"
    assert "Rabatt 20 %" in confirmation.body_text and "B-1" in confirmation.body_text
    assert case.reference in confirmation.body_text
    assert CaseSla.objects.get(case=case, kind="resolution").met_at is not None


def test_no_matching_rule_becomes_an_exception_a_person_decides(engine, billing):
    customer = retention_customer("unknown-segment")

    case = open_process_case("retention-order", customer_id=customer.pk, data={"campaign": "w26"})
    run_jobs()

    case.refresh_from_db()
    assert case.process_status == ProcessStatus.EXCEPTION
    task = Task.objects.get(case=case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    assert "retention-offer" in task.details["reason"]
    assert task.details["options"] == ["retry", "fix_data", "choose_outcome", "cancel"]
    agent = AgentFactory(teams=[case.queue.team])
    with pytest.raises(InvalidInput):
        process.complete_task(task, actor=actor_for_agent(agent), option="choose_outcome", data={})

    process.complete_task(
        task, actor=actor_for_agent(agent), option="choose_outcome", data={"offer": "discount-10"}
    )
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "offer-accepted" and case.data["offer"] == "discount-10"
    assert Billing.calls[0]["offer"] == "discount-10"


def test_an_integration_that_stays_down_becomes_an_exception_and_retry_goes_on(engine, billing):
    customer = retention_customer("silver")
    Billing.fail = True

    case = open_process_case("retention-order", customer_id=customer.pk, data={"campaign": "w26"})
    run_jobs(rounds=40)

    case.refresh_from_db()
    assert case.process_status == ProcessStatus.EXCEPTION
    assert len(Billing.calls) == 6  # retries: 5, plus the first attempt
    task = Task.objects.get(case=case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    assert "503" in task.details["reason"]
    Billing.fail = False

    process.complete_task(task, actor=ADMIN, option="retry")
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "offer-accepted" and case.data["order_reference"] == "B-7"


def test_goodwill_above_50_eur_needs_a_second_persons_approval(engine, billing):
    customer = retention_customer()
    case = open_process_case("complaint-goodwill", customer_id=customer.pk)
    run_jobs()
    worker = AgentFactory(teams=[case.queue.team])
    colleague = AgentFactory(teams=[case.queue.team])

    form = Task.objects.get(case=case, kind=TaskKind.FORM, status=TaskStatus.OPEN)
    assert form.details["fields"] == ["complaint_reason", "description"]
    with pytest.raises(InvalidInput):
        process.complete_task(form, actor=actor_for_agent(worker), data={"description": "kaputt"})
    process.complete_task(
        form, actor=actor_for_agent(worker), data={"complaint_reason": "outage", "description": "x"}
    )
    run_jobs()
    assessment = Task.objects.get(case=case, kind=TaskKind.WORK, step_key="assess-complaint")
    assert assessment.queue.code == "complaints" and assessment.due_at is not None
    process.complete_task(assessment, actor=actor_for_agent(worker))
    run_jobs()
    goodwill = Task.objects.get(case=case, step_key="record-goodwill", status=TaskStatus.OPEN)
    process.complete_task(
        goodwill,
        actor=actor_for_agent(worker),
        data={"goodwill_amount": 80, "goodwill_reason": "Ausfall"},
    )
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "approval"
    approval = Task.objects.get(case=case, kind=TaskKind.APPROVAL, status=TaskStatus.OPEN)
    assert approval.queue.code == "complaints-supervisors"
    with pytest.raises(PermissionDenied):
        process.complete_task(approval, actor=actor_for_agent(worker), approved=True)
    process.complete_task(approval, actor=actor_for_agent(colleague), approved=True)
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "resolved" and case.status == CaseStatus.RESOLVED
    assert Billing.calls == [
        {"customer": customer.customer_number, "amount": 80, "reason": "Ausfall"}
    ]


def test_goodwill_up_to_50_eur_needs_no_approval(engine, billing):
    case = open_process_case("complaint-goodwill", customer_id=retention_customer().pk)
    run_jobs()
    agent = actor_for_agent(AgentFactory(teams=[case.queue.team]))
    for step_key, data in (
        ("capture-complaint", {"complaint_reason": "billing_error"}),
        ("assess-complaint", None),
        ("record-goodwill", {"goodwill_amount": 20}),
    ):
        process.complete_task(
            Task.objects.get(case=case, step_key=step_key, status=TaskStatus.OPEN),
            actor=agent,
            data=data,
        )
        run_jobs()

    case.refresh_from_db()
    assert case.stage == "resolved"
    assert not Task.objects.filter(case=case, kind=TaskKind.APPROVAL).exists()


def test_a_department_sub_case_moves_the_parent_on_when_it_closes(engine):
    member = retention_customer()
    case = open_process_case("collecting-society-request", customer_id=member.pk)
    run_jobs()
    agent = actor_for_agent(AgentFactory(teams=[case.queue.team]))
    form = Task.objects.get(case=case, step_key="capture-request", status=TaskStatus.OPEN)

    process.complete_task(
        form,
        actor=agent,
        data={"topic": "licensing", "member_number": "1234567", "question": "Darf ich?"},
    )
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "first-level" and case.step == "wait-for-department"
    child = Case.objects.get(parent=case)
    assert child.process_key == "licensing-request" and child.queue.code == "licensing"
    assert child.data["question"] == "Darf ich?"
    licensing = actor_for_agent(AgentFactory(teams=[child.queue.team]))
    process.complete_task(
        Task.objects.get(case=child, step_key="answer-department-question"), actor=licensing
    )
    run_jobs()
    process.complete_task(
        Task.objects.get(case=child, step_key="record-answer", status=TaskStatus.OPEN),
        actor=licensing,
        data={"answer": "Ja, mit Lizenz."},
    )
    run_jobs()

    child.refresh_from_db()
    case.refresh_from_db()
    assert child.status == CaseStatus.RESOLVED
    assert case.process_status == ProcessStatus.WAITING and case.step == "answer-first-level"
    assert Task.objects.filter(case=case, step_key="answer-first-level", status="open").exists()


def test_an_agent_escalates_to_second_level_with_a_reason(engine):
    case = open_process_case("collecting-society-request", customer_id=retention_customer().pk)
    run_jobs()
    agent = actor_for_agent(AgentFactory(teams=[case.queue.team]))
    process.complete_task(
        Task.objects.get(case=case, step_key="capture-request", status=TaskStatus.OPEN),
        actor=agent,
        data={"topic": "membership"},
    )
    run_jobs()
    case.refresh_from_db()
    assert case.stage == "first-level"
    assert [code for code, _de, _en in process.available_actions(case)] == [
        "escalate",
        "withdraw",
    ]
    with pytest.raises(InvalidInput):
        process.take_action(case, "escalate", reason=" ", actor=agent)

    process.take_action(case, "escalate", reason="Rechtsfrage", actor=agent)
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "second-level"
    task = Task.objects.get(case=case, step_key="answer-second-level", status=TaskStatus.OPEN)
    assert task.queue.code == "member-service-2nd-level" and task.queue.team.tier == 2
    assert not Task.objects.filter(case=case, step_key="answer-first-level", status="open").exists()
    assert Event.objects.get(code="case.action_taken", object_id=case.pk).payload["reason"] == (
        "Rechtsfrage"
    )


def test_sla_breach_counts_business_hours_across_christmas(engine, monkeypatch):
    berlin = dt.timezone(dt.timedelta(hours=1))
    now = {"at": dt.datetime(2026, 12, 24, 16, 0, tzinfo=berlin)}  # Thursday, 16:00
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    case = open_process_case(
        "complaint-goodwill", customer_id=retention_customer().pk, priority=Priority.NORMAL
    )

    first = CaseSla.objects.get(case=case, kind="first_response")
    # 8 business hours: 2 on Thursday, none on Christmas Day (Friday) or the weekend,
    # 6 on Monday.
    assert first.due_at == dt.datetime(2026, 12, 28, 14, 0, tzinfo=berlin)
    now["at"] = dt.datetime(2026, 12, 28, 13, 0, tzinfo=berlin)
    run_jobs()
    assert not Event.objects.filter(code="sla.breached", object_id=case.pk).exists()
    assert Event.objects.filter(code="sla.warning", object_id=case.pk).exists()

    now["at"] = dt.datetime(2026, 12, 28, 14, 1, tzinfo=berlin)
    run_jobs()

    breach = Event.objects.get(code="sla.breached", object_id=case.pk)
    assert breach.payload["kind"] == "first_response"
    case.refresh_from_db()
    assert case.priority == Priority.HIGH  # raise_priority
    assert case.queue.code == "complaints-supervisors"  # escalate
    assert Event.objects.filter(code="sla.supervisor_notified", object_id=case.pk).exists()


def test_waiting_for_the_customer_pauses_the_clock(engine, monkeypatch):
    berlin = dt.timezone(dt.timedelta(hours=1))
    now = {"at": dt.datetime(2026, 11, 23, 9, 0, tzinfo=berlin)}  # Monday
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    child = open_process_case("licensing-request", customer_id=retention_customer().pk)
    run_jobs()
    agent = actor_for_agent(AgentFactory(teams=[child.queue.team]))
    process.complete_task(
        Task.objects.get(case=child, step_key="answer-department-question"), actor=agent
    )
    run_jobs()
    process.complete_task(
        Task.objects.get(case=child, step_key="record-answer", status=TaskStatus.OPEN),
        actor=agent,
        data={"answer": "Welches Werk?", "needs_clarification": True},
    )
    run_jobs()
    child.refresh_from_db()
    assert child.stage == "clarification" and child.process_status == ProcessStatus.WAITING
    resolution = CaseSla.objects.get(case=child, kind="resolution")
    due_before = resolution.due_at
    assert resolution.paused_at is not None

    now["at"] = dt.datetime(2026, 11, 24, 9, 0, tzinfo=berlin)  # a business day later
    ingest(
        InboundMessage(
            channel="email",
            external_id="<clarified@example.de>",
            received_at=now["at"],
            customer_id=child.customer_id,
            case_id=child.pk,
            subject="Das Werk heißt Sommerlied",
        )
    )

    resolution.refresh_from_db()
    assert resolution.paused_at is None
    # Paused for one business day (10 hours): due Friday 09:00 becomes Monday 09:00.
    assert due_before == dt.datetime(2026, 11, 27, 9, 0, tzinfo=berlin)
    assert resolution.due_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=berlin)
    run_jobs()
    child.refresh_from_db()
    assert child.stage == "review"


def test_publishing_a_changed_text_under_the_same_version_is_refused(engine):
    definition = process.registry().get("retention-order")
    with pytest.raises(process.ProcessConflict):
        process.publish(definition, source="changed", sha256="0" * 64, actor=ADMIN)


def test_open_cases_move_to_a_new_version_only_when_asked_and_mapped(engine, settings, tmp_path):
    shipped = process.registry().get("collecting-society-request")
    case = open_process_case("collecting-society-request", customer_id=retention_customer().pk)
    run_jobs()
    agent = actor_for_agent(AgentFactory(teams=[case.queue.team]))
    process.complete_task(
        Task.objects.get(case=case, step_key="capture-request", status=TaskStatus.OPEN),
        actor=agent,
        data={"topic": "membership"},
    )
    run_jobs()
    case.refresh_from_db()
    assert (case.stage, case.step) == ("first-level", "answer-first-level")
    # Version 2 calls the first level "level-1".
    source = Path(shipped.source)
    text = source.read_text(encoding="utf-8").replace("version: 1", "version: 2")
    text = text.replace("key: first-level", "key: level-1").replace(
        "to: first-level", "to: level-1"
    )
    (tmp_path / "decisions").mkdir()
    for table in (source.parent / "decisions").iterdir():
        (tmp_path / "decisions" / table.name).write_text(table.read_text(encoding="utf-8"))
    (tmp_path / source.name).write_text(text, encoding="utf-8")
    settings.CASEWORK_CASETYPES_DIR = str(tmp_path)
    process.publish_configured(["collecting-society-request"], actor=ADMIN)

    assert open_process_case("collecting-society-request").process_version == 2
    case.refresh_from_db()
    assert case.process_version == 1  # a case keeps its version until it is moved
    with pytest.raises(InvalidInput):
        process.migrate_open_cases(
            "collecting-society-request", from_version=1, to_version=2, actor=ADMIN
        )
    preview = process.migrate_open_cases(
        "collecting-society-request",
        from_version=1,
        to_version=2,
        stage_map={"first-level": "level-1"},
        actor=ADMIN,
        dry_run=True,
    )
    assert [(m.stage_before, m.stage_after) for m in preview] == [("first-level", "level-1")]
    case.refresh_from_db()
    assert case.process_version == 1

    process.migrate_open_cases(
        "collecting-society-request",
        from_version=1,
        to_version=2,
        stage_map={"first-level": "level-1"},
        actor=ADMIN,
    )

    case.refresh_from_db()
    assert (case.process_version, case.stage, case.step) == (2, "level-1", "answer-first-level")
    assert Task.objects.get(case=case, step_key="answer-first-level", status="open")
    assert Event.objects.filter(code="case.process_migrated", object_id=case.pk).exists()


def test_references_reserved_before_a_batch_are_used_and_the_rest_given_back():
    from casework.cases.models import CaseSequence
    from casework.cases.services import next_case_references, references_reserved
    from casework.kernel import clock

    now = clock.now()
    year = clock.localtime(now).year
    (before,) = next_case_references(now, 1)
    counted = int(before.rsplit("-", 1)[1])

    with references_reserved(5):
        with references_reserved(50):  # within a reservation nothing more is counted
            first, second = next_references_in_block(2)
        assert CaseSequence.objects.get(year=year).last_number == counted + 5
    # The three unused numbers are given back: the counter was still at their top.
    assert CaseSequence.objects.get(year=year).last_number == counted + 2
    assert (first, second) == (f"CW-{year}-{counted + 1:06d}", f"CW-{year}-{counted + 2:06d}")

    with references_reserved(4):
        (taken,) = next_references_in_block(1)
        next_case_references(now, 1)  # someone else counts on meanwhile: no giving back
    assert CaseSequence.objects.get(year=year).last_number == counted + 2 + 4 + 1
    assert taken == f"CW-{year}-{counted + 3:06d}"


def next_references_in_block(count: int) -> list[str]:
    from casework.cases.services import _references_for
    from casework.kernel import clock

    return _references_for(clock.now(), count)


def test_clocks_held_back_while_a_case_opens_are_written_before_they_pause(engine):
    definition = process.published_definition("licensing-request")
    case = CaseFactory()
    # Held back only where nothing rolls back halfway (a straight-through batch).
    with recording_transaction(), savepoints_left_out(), sla.timers_when_still_running():
        sla.start_clocks(case, definition)
        assert not CaseSla.objects.filter(
            case=case
        ).exists()  # a straight-through run may meet them
        sla.pause_clocks(case)

    rows = CaseSla.objects.filter(case=case)
    assert sorted(row.kind for row in rows) == ["first_response", "resolution"]
    assert all(row.paused_at is not None and row.met_at is None for row in rows)
    # The running clocks have their timers, keyed by the written rows.
    assert Job.objects.filter(
        kind="cases.sla_due", payload__sla_id__in=[r.pk for r in rows]
    ).exists()

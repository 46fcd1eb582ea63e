"""Action steps: code the product ships, named in a case type, run in the case's
transaction; a failure is an exception task and leaves none of the action's writes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from casework.cases import actions, process
from casework.cases.models import Case, ProcessStatus, Task, TaskKind, TaskStatus
from casework.cases.services import case_keys_reserved
from casework.customers.models import Interest
from casework.kernel import clock
from casework.kernel.models import Job
from tests.cases.definitions.test_loading import problems_of, write
from tests.engine import ADMIN, open_process_case, run_jobs
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

STAMPED = """\
key: stamped-request
version: 1
name: {de: Gestempelt, en: Stamped}
service_type: advice
data:
  type: object
  additionalProperties: false
  properties:
    stamp: {type: string}
    fail: {type: boolean}
stages:
  - key: open
    name: {de: Offen, en: Open}
    steps:
      - key: stamp
        kind: action
        action: tests.stamp
    transitions:
      - to: done
  - key: done
    name: {de: Erledigt, en: Done}
    final: true
routing:
  queue: retention
"""


@actions.action("tests.stamp")
def stamp(case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
    Interest.objects.create(customer_id=case.customer_id, tag="stamped", recorded_at=clock.now())
    if case.data.get("fail"):
        raise actions.ActionFailed("the stamp pad is dry", options=("retry", "cancel"))
    return {"stamp": "done"}


@pytest.fixture
def stamped(engine, settings, tmp_path: Path):  # noqa: ANN001, ANN201
    write(tmp_path, STAMPED, "stamped-request.yaml")
    settings.CASEWORK_CASETYPES_DIR = str(tmp_path)
    process.reload_definitions()
    process.publish_configured(["stamped-request"], actor=ADMIN)


def test_an_action_runs_in_the_cases_transaction_and_sets_its_data(stamped):
    customer = CustomerFactory()
    case = open_process_case("stamped-request", customer_id=customer.pk)
    run_jobs()

    case.refresh_from_db()
    assert case.process_status == ProcessStatus.COMPLETED and case.data["stamp"] == "done"
    assert Interest.objects.filter(customer=customer, tag="stamped").count() == 1


def test_a_failed_action_is_an_exception_and_its_writes_are_undone(stamped):
    customer = CustomerFactory()
    case = open_process_case("stamped-request", customer_id=customer.pk, data={"fail": True})
    run_jobs()

    case.refresh_from_db()
    assert case.process_status == ProcessStatus.EXCEPTION
    task = Task.objects.get(case=case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    assert task.details["reason"] == "the stamp pad is dry"
    assert task.details["options"] == ["retry", "cancel"]
    assert not Interest.objects.filter(customer=customer).exists()


def test_an_unknown_action_is_reported_with_file_and_line(tmp_path):
    path = write(tmp_path, STAMPED.replace("tests.stamp", "tests.stomp"), "stamped.yaml")
    [problem] = problems_of(path)
    assert problem.startswith('stamped.yaml:17: step "stamp": unknown action "tests.stomp"')
    assert "tests.stamp" in problem


def test_a_case_opened_with_a_reserved_key_is_written_as_opened_when_its_advance_fails(
    stamped, monkeypatch
):
    def jams(case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
        raise RuntimeError("the stamp machine jammed")

    # The action reads the case's row: the case is inserted before it, in the advance's
    # savepoint, and that insert is rolled back with the rest.
    monkeypatch.setitem(actions._registered, "tests.stamp", jams)
    with case_keys_reserved(1):
        case = open_process_case("stamped-request", customer_id=CustomerFactory().pk)

    assert case.stage == "open" and case.process_status == ProcessStatus.RUNNING
    assert Job.objects.get(kind="cases.advance").payload["case_id"] == case.pk

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder

from casework.events.chain import ChainEntry, canonical_json, entry_hash, entry_hash_with
from casework.events.models import Event
from casework.events.services import _as_stored, verify_chain
from casework.intake.services import ingest
from tests.intake.test_pipeline import mail

pytestmark = pytest.mark.django_db


def test_untouched_chain_verifies(email_intake):
    ingest(mail())
    ingest(mail("<m2@example.de>", address="b@example.de"))

    result = verify_chain()

    assert result.is_intact
    assert result.checked == Event.objects.count() == 8


def test_an_edited_row_is_named_as_the_first_break(email_intake):
    ingest(mail())
    ingest(mail("<m2@example.de>", address="b@example.de"))
    Event.objects.filter(seq=3).update(payload={"forged": True})

    result = verify_chain()

    assert result.first_broken_seq == 3
    assert "content" in result.reason


def test_a_deleted_row_is_found(email_intake):
    ingest(mail())
    Event.objects.filter(seq=2).delete()

    assert verify_chain().first_broken_seq == 2


def test_audit_verify_command_exits_non_zero_on_tampering(email_intake, capsys):
    ingest(mail())
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    Event.objects.filter(seq=1).update(actor_label="someone else")

    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")

    assert exit_info.value.code == 1
    assert "entry 1" in capsys.readouterr().err


def test_events_of_a_failed_inner_block_are_dropped_and_the_rest_is_chained():
    from django.db import transaction

    from casework.events.services import record, recording_transaction
    from casework.kernel.actors import Actor

    actor = Actor.system("test")
    with recording_transaction():
        record("case.updated", actor=actor, object_type="case", object_id=1)
        try:
            with recording_transaction():
                record("case.updated", actor=actor, object_type="case", object_id=2)
                raise ValueError("the inner change fails")
        except ValueError:
            pass
        record("case.updated", actor=actor, object_type="case", object_id=3)

    assert list(Event.objects.order_by("seq").values_list("seq", "object_id")) == [(1, 1), (2, 3)]
    assert verify_chain().is_intact
    with pytest.raises(RuntimeError, match="recording_transaction"):
        record("case.updated", actor=actor, object_type="case", object_id=4)
    with recording_transaction(), transaction.atomic(), pytest.raises(RuntimeError):
        record("case.updated", actor=actor, object_type="case", object_id=5)


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1, "b": "x", "c": None, "d": True, "e": 2.5},
        {"before": {"presence": "busy"}, "after": {"presence": "available"}, "ids": [1, 2]},
        {"at": dt.datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=dt.UTC)},
        {"amount": Decimal("10.50"), "pair": (1, 2)},
        {"nested": [{"when": dt.date(2026, 12, 24)}]},
        {"times": [dt.datetime(2026, 11, 30, 9, 0), dt.time(9, 30, 0, 500000)]},
        {"waited": dt.timedelta(minutes=3, seconds=2), "id": uuid.UUID(int=7)},
        {"at": dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))},
        {1: "an integer key"},
    ],
)
def test_a_payload_is_kept_as_the_database_gives_it_back(payload):
    # What is hashed must be what is stored and read: a JSON round trip's result.
    expected = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))

    kept = _as_stored(payload)

    assert kept == expected and json.dumps(kept) == json.dumps(expected)
    assert kept is not payload


def test_the_hash_of_an_entry_is_the_sha256_of_its_canonical_json_list():
    # The format every stored chain was hashed with; changing it breaks them all.
    entry = ChainEntry(
        seq=7,
        occurred_at=dt.datetime(2026, 11, 30, 9, 0, 0, 120000, tzinfo=dt.UTC),
        code="case.opened",
        actor_kind="agent",
        actor_id=3,
        actor_label="agent:Jörg",
        object_type="case",
        object_id=41,
        payload={"z": [1, {"b": None, "a": "ä"}], "a": 2.5},
        prev_hash="f" * 64,
    )
    canonical = json.dumps(
        [7, "2026-11-30T09:00:00.120000+00:00", "case.opened", "agent", 3, "agent:Jörg",
         "case", 41, entry.payload, "f" * 64],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )  # fmt: skip

    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert entry_hash(entry) == expected
    assert entry_hash_with(entry, canonical_json(entry.payload)) == expected


@pytest.mark.parametrize("prev_hash", ["0" * 64, 'f"],"x', "f\\ü"])
def test_the_previous_hash_is_spelled_as_json_spells_it_whatever_a_row_holds(prev_hash):
    # A hash is quoted as it is; what a tampered row may hold instead goes through JSON.
    entry = ChainEntry(1, dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "case.opened", "system",
                       None, "intake", "case", 1, {}, prev_hash)  # fmt: skip
    canonical = json.dumps(
        [1, "2026-11-30T00:00:00.000000+00:00", "case.opened", "system", None, "intake",
         "case", 1, {}, prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip

    assert entry_hash(entry) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_a_block_taking_the_head_last_runs_its_deferred_work_before_the_events_are_chained():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casework.events.services import record, recording_transaction, when_appending
    from casework.kernel.actors import Actor

    actor = Actor.system("test")
    done: list[int] = []

    def later(n: int) -> None:
        done.append(n)
        record("case.updated", actor=actor, object_type="case", object_id=n)

    with (
        CaptureQueriesContext(connection) as statements,
        recording_transaction(head_last=True),
    ):
        first_statement = len(statements.captured_queries)
        record("case.updated", actor=actor, object_type="case", object_id=1)
        when_appending(lambda: later(10))
        try:
            with recording_transaction():
                when_appending(lambda: later(20))  # dropped with its block
                raise ValueError("the inner change fails")
        except ValueError:
            pass
        with recording_transaction():
            when_appending(lambda: later(30))
        assert done == []

    # Nothing was locked at the start: the head is taken when the block ends.
    assert not any("chainhead" in q["sql"] for q in statements.captured_queries[:first_statement])
    assert done == [10, 30]
    assert list(Event.objects.order_by("seq").values_list("object_id", flat=True)) == [1, 10, 30]
    assert verify_chain().is_intact
    with recording_transaction(), pytest.raises(RuntimeError, match="head_last"):
        when_appending(lambda: later(40))

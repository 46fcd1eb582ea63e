"""`casework ledger verify` against a ledger changed behind the application's back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from casework.kernel.actors import Actor
from casework.partners import services
from casework.partners.ledger_chain import FIELDS, BreakKind, LedgerBreak, entry_hash
from casework.partners.models import CommissionEntry
from tests.partners.factories import PartnerFactory, supervisor, tamper

pytestmark = pytest.mark.django_db

ORDERS = Actor.system("orders")
TABLE = "partners_commissionentry"


@pytest.fixture
def ledger() -> list[CommissionEntry]:
    partners = [PartnerFactory(), PartnerFactory()]
    return [
        services.record_commission(partners[n % 2], f"O-{n}", "rule", Decimal(10 + n), ORDERS)
        for n in range(1, 21)
    ]


def broken(**options) -> LedgerBreak | None:  # noqa: ANN003
    result = services.verify_ledger(batch_size=options.pop("batch_size", 6), **options)
    return result.broken


def test_an_untouched_ledger_verifies_and_the_command_says_so(ledger, capsys):  # noqa: ANN001
    assert broken() is None
    call_command("ledger", "verify")
    out = capsys.readouterr().out
    assert f"ledger intact: 20 entries verified, head {ledger[-1].hash}" in out


def test_an_empty_ledger_verifies(capsys):  # noqa: ANN001
    call_command("ledger", "verify")
    assert "ledger intact: 0 entries verified" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_to_change_or_delete_an_entry(ledger):  # noqa: ANN001
    for statement in (
        f"UPDATE {TABLE} SET amount = 999 WHERE seq = 5",
        f"DELETE FROM {TABLE} WHERE seq = 5",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert CommissionEntry.objects.get(seq=5).amount == Decimal("15.00")
    assert broken() is None


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite has no trigger")
def test_sqlite_lets_raw_sql_through_and_verify_finds_it(ledger):  # noqa: ANN001
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET amount = 999 WHERE seq = 5")
    assert broken() == LedgerBreak(BreakKind.CHANGED, 5)


def test_a_changed_amount_is_named_and_the_command_exits_1(ledger, capsys):  # noqa: ANN001
    tamper(f"UPDATE {TABLE} SET amount = 999 WHERE seq = 13")

    assert broken() == LedgerBreak(BreakKind.CHANGED, 13)
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", "verify")
    assert exit_info.value.code == 1
    assert "ledger BROKEN: entry 13 was changed (12 entries before it verified)" in (
        capsys.readouterr().err
    )


def test_a_deleted_entry_is_named(ledger):  # noqa: ANN001
    tamper(f"DELETE FROM {TABLE} WHERE seq = 7")
    assert broken() == LedgerBreak(BreakKind.MISSING, 7)


def test_deleting_the_last_entries_is_found_by_the_head(ledger):  # noqa: ANN001
    tamper(f"DELETE FROM {TABLE} WHERE seq >= 19")
    assert broken() == LedgerBreak(BreakKind.MISSING, 19)


def _shift(from_seq: int, by: int) -> None:
    # In two steps: a unique column cannot take overlapping numbers in one statement.
    tamper(f"UPDATE {TABLE} SET seq = seq + 1000000 WHERE seq >= %s", [from_seq])
    tamper(f"UPDATE {TABLE} SET seq = seq - 1000000 + %s WHERE seq >= 1000000", [by])


def _forge(seq: int, prev_hash: str, partner_id: int, order: str = "FORGED") -> None:
    entry = CommissionEntry.objects.get(seq=1)
    row = (
        seq,
        partner_id,
        order,
        "rule",
        Decimal("500.00"),
        "commission",
        None,
        "",
        entry.recorded_at,
        "system:orders",
        "",
        prev_hash,
    )
    columns = ", ".join(FIELDS)
    values = (*row[:8], entry.recorded_at, *row[9:], entry_hash(row))
    tamper(f"INSERT INTO {TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(FIELDS))})", values)


def test_an_inserted_entry_is_named(ledger):  # noqa: ANN001
    _shift(9, 1)
    _forge(9, ledger[7].hash, ledger[0].partner_id)

    assert broken() == LedgerBreak(BreakKind.INSERTED, 9)


def test_an_entry_appended_behind_the_heads_back_is_named(ledger):  # noqa: ANN001
    _forge(21, ledger[-1].hash, ledger[0].partner_id)

    assert broken() == LedgerBreak(BreakKind.AFTER_HEAD, 21)


def test_swapped_entries_are_named(ledger):  # noqa: ANN001
    tamper(f"UPDATE {TABLE} SET seq = 1000000 WHERE seq = 11")
    tamper(f"UPDATE {TABLE} SET seq = 11 WHERE seq = 12")
    tamper(f"UPDATE {TABLE} SET seq = 12 WHERE seq = 1000000")

    assert broken() == LedgerBreak(BreakKind.MOVED, 11, other=12)


def test_a_rewritten_entry_with_a_recomputed_hash_is_named(ledger):  # noqa: ANN001
    row = list(CommissionEntry.objects.filter(seq=4).values_list(*FIELDS).get())
    row[4] = Decimal("999.00")
    tamper(f"UPDATE {TABLE} SET amount = %s, hash = %s WHERE seq = 4", [row[4], entry_hash(row)])

    assert broken() == LedgerBreak(BreakKind.REHASHED, 4, other=5)
    assert "entry 4 was changed and its hash recomputed" in services.verify_ledger().problem


def test_a_rewritten_tail_is_caught_by_the_head_and_by_a_statements_hash(ledger):  # noqa: ANN001
    prev = ledger[14].hash
    for seq in range(16, 21):
        row = list(CommissionEntry.objects.filter(seq=seq).values_list(*FIELDS).get())
        row[4], row[11] = Decimal("1.00"), prev
        prev = entry_hash(row)
        tamper(
            f"UPDATE {TABLE} SET amount = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [row[4], row[11], prev, seq],
        )

    assert broken() == LedgerBreak(BreakKind.HEAD_MISMATCH, 20, detail=ledger[-1].hash)
    # Had the forger moved the head too, the hash on an earlier statement still tells.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE partners_ledgerhead SET last_hash = %s WHERE id = 1", [prev])
    assert broken() is None
    assert broken(anchors={17: ledger[16].hash}) == LedgerBreak(
        BreakKind.ANCHOR, 17, detail=ledger[16].hash
    )


def test_the_command_checks_anchors(ledger, capsys):  # noqa: ANN001
    call_command("ledger", "verify", "--anchor", f"7:{ledger[6].hash}")
    assert "ledger intact" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        call_command("ledger", "verify", "--anchor", f"7:{ledger[5].hash}")
    assert "entry 7 does not have the hash" in capsys.readouterr().err


def test_reversals_keep_the_chain_verifiable(ledger):  # noqa: ANN001
    request = services.request_reversal(ledger[3], "cancelled", supervisor("anna", 1))
    services.approve_reversal(request, supervisor("ben", 2))
    assert services.verify_ledger().is_intact
    tamper(f"UPDATE {TABLE} SET reason = 'nothing to see' WHERE seq = 21")
    assert broken() == LedgerBreak(BreakKind.CHANGED, 21)

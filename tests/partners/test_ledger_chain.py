"""The chain's pure functions: the canonical form, and naming the first break."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.partners.ledger_chain import (
    GENESIS_HASH,
    BreakKind,
    ChainCursor,
    LedgerBreak,
    canonical,
    canonical_json,
    diagnose,
    entry_hash,
)

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def chain(count: int) -> list[tuple]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        row = (
            seq,
            1 + seq % 3,
            f"A-{seq}",
            "tariff-row-2",
            Decimal("12.50"),
            "commission",
            None,
            "",
            AT + dt.timedelta(minutes=seq),
            "system:orders",
            "",
            prev,
        )
        prev = entry_hash(row)
        rows.append((*row, prev))
    return rows


def rehash(rows: list[tuple], start: int) -> list[tuple]:
    """Renumber rows from index `start` on (and link them), as a forger would."""
    fixed = list(rows[:start])
    prev = fixed[-1][12] if fixed else GENESIS_HASH
    for row in rows[start:]:
        body = (len(fixed) + 1, *row[1:11], prev)
        prev = entry_hash(body)
        fixed.append((*body, prev))
    return fixed


def first_break(rows: list[tuple], **anchors_and_more) -> LedgerBreak | None:
    cursor = ChainCursor(anchors=anchors_and_more.get("anchors"))
    index = cursor.feed(rows)
    if index is None:
        return cursor.check_end(head_seq=len(rows), head_hash=rows[-1][12])
    return diagnose(
        rows[index],
        expected_seq=cursor.next_seq,
        expected_prev=cursor.prev_hash,
        before=rows[max(index - 64, 0) : index],
        after=rows[index + 1 : index + 65],
        anchors=cursor.anchors,
    )


def test_the_canonical_form_is_sorted_compact_json_in_utc_with_two_decimals():
    row = (
        7,
        3,
        "Bestellung-Ä1",
        "rule",
        Decimal("-5.5"),
        "reversal",
        6,
        "Storno",
        dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "agent:anna",
        "agent:ben",
        "f" * 64,
    )
    text = canonical(row)
    assert json.loads(text) == {
        "format": 1,
        "seq": 7,
        "partner": 3,
        "order": "Bestellung-Ä1",
        "rule": "rule",
        "amount": "-5.50",
        "kind": "reversal",
        "reverses": 6,
        "reason": "Storno",
        "recorded_at": "2026-11-02T09:30:00.000000Z",
        "recorded_by": "agent:anna",
        "approved_by": "agent:ben",
        "prev_hash": "f" * 64,
    }
    assert text.startswith('{"amount":"-5.50","approved_by":"agent:ben",')
    assert "Ä" in text  # not escaped
    assert entry_hash(row) == entry_hash(row)
    assert entry_hash(row) != entry_hash((*row[:4], Decimal("-5.51"), *row[5:]))


@given(
    seq=st.integers(1, 2**63 - 1),
    partner=st.integers(1, 2**63 - 1),
    texts=st.lists(st.text(), min_size=6, max_size=6),
    cents=st.integers(-999_999_999_999, 999_999_999_999).filter(bool),
    reverses=st.none() | st.integers(1, 2**63 - 1),
    moment=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=2))]),
    ),
)
def test_the_fast_canonical_text_is_the_json_modules(seq, partner, texts, cents, reverses, moment):  # noqa: ANN001
    order, rule, kind, reason, by, approved = texts
    row = (
        seq,
        partner,
        order,
        rule,
        Decimal(cents).scaleb(-2),
        kind,
        reverses,
        reason,
        moment,
        by,
        approved,
        "ab" * 32,
    )
    assert canonical(row) == canonical_json(row)
    assert json.loads(canonical(row))["amount"] == f"{Decimal(cents).scaleb(-2):.2f}"


def test_a_naive_time_is_refused():
    row = chain(1)[0]
    with pytest.raises(ValueError):
        entry_hash((*row[:8], AT.replace(tzinfo=None), *row[9:]))


def test_an_untouched_chain_walks_through_in_batches():
    rows = chain(50)
    cursor = ChainCursor()
    for start in range(0, 50, 7):
        assert cursor.feed(rows[start : start + 7]) is None
    assert cursor.checked == 50
    assert cursor.check_end(head_seq=50, head_hash=rows[-1][12]) is None


def test_a_changed_amount_is_named():
    rows = chain(10)
    rows[4] = (*rows[4][:4], Decimal("99.00"), *rows[4][5:])
    assert first_break(rows) == LedgerBreak(BreakKind.CHANGED, 5)


def test_a_removed_entry_is_named_with_or_without_renumbering():
    rows = chain(10)
    assert first_break(rows[:3] + rows[4:]) == LedgerBreak(BreakKind.MISSING, 4)
    renumbered = rows[:3] + [(row[0] - 1, *row[1:]) for row in rows[4:]]
    assert first_break(renumbered) == LedgerBreak(BreakKind.MISSING, 4)


def test_an_inserted_entry_is_named_by_the_entry_it_was_put_before():
    rows = chain(10)
    forged_body = (
        4,
        1,
        "FORGED",
        "rule",
        Decimal("500.00"),
        "commission",
        None,
        "",
        AT,
        "system:orders",
        "",
        rows[2][12],
    )
    forged = (*forged_body, entry_hash(forged_body))
    shifted = [(row[0] + 1, *row[1:]) for row in rows[3:]]
    assert first_break(rows[:3] + [forged] + shifted) == LedgerBreak(BreakKind.INSERTED, 4)
    # A forgery with a made-up hash: the entry after it still shows where it belonged.
    clumsy = (*forged_body, "0" * 64)
    assert first_break(rows[:3] + [clumsy] + shifted) == LedgerBreak(BreakKind.INSERTED, 4)
    # Later entries renumbered and re-hashed, but the first of them still points back.
    relinked = rows[:3] + [forged] + [(row[0] + 1, *row[1:]) for row in rows[3:]]
    relinked[4] = (*relinked[4][:12], entry_hash(relinked[4]))
    assert first_break(relinked) == LedgerBreak(BreakKind.INSERTED, 4)


def test_swapped_entries_are_named():
    rows = chain(10)
    swapped = rows[:4] + [(5, *rows[5][1:]), (6, *rows[4][1:])] + rows[6:]
    assert first_break(swapped) == LedgerBreak(BreakKind.MOVED, 5, other=6)


def test_a_changed_and_rehashed_entry_is_named_by_its_successor():
    rows = chain(10)
    body = (*rows[4][:4], Decimal("99.00"), *rows[4][5:12])
    rows[4] = (*body, entry_hash(body))
    assert first_break(rows) == LedgerBreak(BreakKind.REHASHED, 5, other=6)
    whole_tail = rehash(rows, 4)
    # Everything after it re-hashed too: only the head (or an anchor) can tell.
    cursor = ChainCursor()
    assert cursor.feed(whole_tail) is None
    original_head = chain(10)[-1][12]
    assert cursor.check_end(head_seq=10, head_hash=original_head) == LedgerBreak(
        BreakKind.HEAD_MISMATCH, 10, detail=original_head
    )
    anchored = first_break(whole_tail, anchors={7: chain(10)[6][12]})
    assert anchored == LedgerBreak(BreakKind.ANCHOR, 7, detail=chain(10)[6][12])


def test_the_end_of_the_chain_is_checked_against_the_head():
    rows = chain(5)
    cursor = ChainCursor()
    cursor.feed(rows[:4])
    assert cursor.check_end(head_seq=5, head_hash=rows[4][12]) == LedgerBreak(BreakKind.MISSING, 5)
    cursor = ChainCursor()
    cursor.feed(rows)
    assert cursor.check_end(head_seq=5, head_hash=rows[4][12], beyond_head=6) == LedgerBreak(
        BreakKind.AFTER_HEAD, 6
    )
    cursor = ChainCursor(anchors={9: "a" * 64})
    cursor.feed(rows)
    assert cursor.check_end(head_seq=5, head_hash=rows[4][12]) == LedgerBreak(BreakKind.MISSING, 9)

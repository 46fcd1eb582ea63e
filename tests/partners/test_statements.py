"""Monthly statements: the German calendar month's entries, totals, the chain hash; CSV and
PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import translation

from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput
from casework.partners import services
from casework.partners.statements import (
    build_statement,
    month_bounds,
    parse_month,
    statement_csv,
    statement_pdf,
)
from tests.partners.factories import PartnerFactory, supervisor, tamper

pytestmark = pytest.mark.django_db

ORDERS = Actor.system("orders")
NOVEMBER = dt.date(2026, 11, 1)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def record(partner, order: str, amount: str, when: dt.datetime):  # noqa: ANN001, ANN201
    with clock.running_at(when):
        return services.record_commission(partner, order, "tariff/row-2", amount, ORDERS)


@pytest.fixture
def november():  # noqa: ANN201
    """Müller's November in German time, with another partner's entries between."""
    mueller = PartnerFactory(code="mueller", name="Funkhaus Müller & Söhne")
    other = PartnerFactory(code="other")
    record(mueller, "OCT-1", "7.00", at(2026, 10, 31, 22, 59))  # 31 Oct, 23:59 in Berlin
    first = record(mueller, "NOV-1", "12.50", at(2026, 10, 31, 23, 0))  # 1 Nov, 00:00
    record(other, "X-1", "99.00", at(2026, 11, 5, 10))
    second = record(mueller, "NOV-2", "1234.50", at(2026, 11, 10, 10))
    with clock.running_at(at(2026, 11, 20, 10)):
        request = services.request_reversal(first, "cancelled", supervisor("anna", 1))
        services.approve_reversal(request, supervisor("ben", 2))
    last = record(mueller, "NOV-3", "20.00", at(2026, 11, 30, 22, 59))  # 23:59 in Berlin
    record(mueller, "DEC-1", "5.00", at(2026, 11, 30, 23, 0))  # 1 Dec, 00:00
    return mueller, first, second, last


def test_months_are_german_calendar_months():
    assert parse_month("2026-11") == NOVEMBER
    start, end = month_bounds(dt.date(2026, 12, 1))
    assert (start.astimezone(dt.UTC), end.astimezone(dt.UTC)) == (
        at(2026, 11, 30, 23),
        at(2026, 12, 31, 23),
    )
    for bad in ("2026-13", "2026-1", "11/2026", "", "1999-12"):
        with pytest.raises(InvalidInput):
            parse_month(bad)


def test_a_statement_lists_the_months_entries_with_totals_and_the_chain_hash(november):  # noqa: ANN001
    mueller, first, second, last = november
    with clock.running_at(at(2026, 12, 1, 8)):
        statement = build_statement(mueller, NOVEMBER)

    assert [line.order_reference for line in statement.lines] == [
        "NOV-1",
        "NOV-2",
        "NOV-1",
        "NOV-3",
    ]
    assert [line.kind for line in statement.lines] == [
        "commission",
        "commission",
        "reversal",
        "commission",
    ]
    assert statement.lines[2].reverses == first.seq
    assert (statement.commission_count, statement.commission_total) == (3, Decimal("1267.00"))
    assert (statement.reversal_count, statement.reversal_total) == (1, Decimal("-12.50"))
    assert statement.total == Decimal("1254.50")
    assert (statement.chain_seq, statement.chain_hash) == (last.seq, last.hash)
    head_seq, head_hash = services.read_head()
    assert (statement.head_seq, statement.head_hash) == (head_seq, head_hash) == (7, head_hash)
    assert statement.is_final
    with clock.running_at(at(2026, 11, 30, 12)):
        assert not build_statement(mueller, NOVEMBER).is_final


def test_a_month_without_entries_has_no_chain_hash_but_the_head(november):  # noqa: ANN001
    statement = build_statement(november[0], dt.date(2026, 9, 1))
    assert statement.lines == () and statement.total == Decimal("0.00")
    assert statement.chain_hash is None and statement.head_seq == 7
    assert b"no entries in this month" in statement_pdf(statement)
    assert "no entries in this month" in statement_csv(statement).decode("utf-8-sig")


def test_a_changed_entry_stops_the_statement(november):  # noqa: ANN001
    tamper("UPDATE partners_commissionentry SET amount = 1.00 WHERE seq = 4")
    with pytest.raises(Conflict, match="entry 4"):
        build_statement(november[0], NOVEMBER)


def test_the_csv_opens_in_german_excel(november):  # noqa: ANN001
    mueller, *_, last = november
    with clock.running_at(at(2026, 12, 1, 8)), translation.override("de"):
        body = statement_csv(build_statement(mueller, NOVEMBER))

    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][1] == "Funkhaus Müller & Söhne (mueller)"
    assert [last.hash] == [row[1] for row in rows if row and row[0].endswith(f" {last.seq}")]
    header = rows.index([]) + 1
    entries = rows[header + 1 :]
    assert [row[5] for row in entries] == ["12,50", "1234,50", "-12,50", "20,00"]
    assert entries[0][1] == "2026-11-01 00:00:00"  # German time
    assert entries[-1][-1] == last.hash and entries[-1][-2] == entries[-2][-1]
    assert [row[2] for row in rows[:header] if row and row[0].startswith("Summe")] == ["1254,50"]


def test_the_csv_in_english_has_decimal_points(november):  # noqa: ANN001
    with translation.override("en"):
        text = statement_csv(build_statement(november[0], NOVEMBER)).decode("utf-8-sig")
    assert ";1234.50;" in text and ";Total (EUR);" not in text and "Total (EUR);;1254.50" in text


def test_the_pdf_carries_the_chain_hash_and_is_well_formed(november):  # noqa: ANN001
    mueller, *_, last = november
    with clock.running_at(at(2026, 12, 1, 8)), translation.override("de"):
        body = statement_pdf(build_statement(mueller, NOVEMBER))

    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    assert last.hash.encode() in body
    assert services.read_head()[1].encode() in body
    assert "Funkhaus Müller & Söhne".encode("cp1252") in body
    assert b"1.267,00 \x80" in body  # the euro sign in WinAnsi
    _check_xref(body)


def test_a_long_statement_runs_over_pages(db):  # noqa: ANN001
    partner = PartnerFactory()
    for n in range(150):
        record(partner, f"O-{n}", "1.00", at(2026, 11, 2, 9) + dt.timedelta(minutes=n))
    body = statement_pdf(build_statement(partner, NOVEMBER))
    pages = int(re.search(rb"/Type /Pages /Kids \[[^]]*\] /Count (\d+)", body).group(1))
    assert pages >= 2
    assert f"page {pages} of {pages}".encode() in body
    _check_xref(body)


def _check_xref(body: bytes) -> None:
    """Every object the cross-reference table names starts where it says."""
    start = int(body.rsplit(b"startxref", 1)[1].split()[0])
    assert body[start:].startswith(b"xref")
    lines = body[start:].split(b"\n")
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number].split()[0])
        assert body[offset:].startswith(b"%d 0 obj" % number)


def test_the_command_writes_a_statement(november, tmp_path, capsys):  # noqa: ANN001
    from django.core.management import call_command

    target = tmp_path / "statement.pdf"
    call_command("ledger", "statement", "mueller", "2026-11", "--output", str(target))

    last = november[-1]
    assert target.read_bytes().startswith(b"%PDF") and last.hash.encode() in target.read_bytes()
    assert f"4 entries, total 1254.50 EUR, chain hash {last.hash}" in capsys.readouterr().out
    call_command("ledger", "statement", "mueller", "2026-11", "--format", "csv", "-o", str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("ledger", "statement", "nobody", "2026-11")
    with pytest.raises(CommandError):
        call_command("ledger", "statement", "mueller")

"""Monthly commission statements of a partner: the entries recorded in a calendar month in
German time, their totals, and the ledger's chain hash at the statement's last entry — the
hash that commits to that entry and to every entry before it, of all partners. As CSV
(semicolons, UTF-8 with a byte order mark, as German Excel opens it) and as PDF."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from casework.kernel import clock
from casework.kernel.errors import Conflict, InvalidInput
from casework.partners import pdf
from casework.partners.ledger_chain import FIELDS, HASH, SEQ, entry_hash
from casework.partners.models import CommissionEntry, EntryKind, Partner
from casework.partners.services import read_head

# Statements are accounting documents: their months are German calendar months whatever
# time zone the installation shows, so the same statement always lists the same entries.
STATEMENT_ZONE = ZoneInfo("Europe/Berlin")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> date:
    """ "2026-11" → the month's first day."""
    match = _MONTH.match((text or "").strip())
    if match is None or int(match.group(1)) < 2000:
        raise InvalidInput(
            _("“%(month)s” is not a month: use YYYY-MM, e.g. 2026-11") % {"month": text},
            field="month",
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first and the next month's first moment, in German time."""
    start = datetime(month.year, month.month, 1, tzinfo=STATEMENT_ZONE)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    end = datetime(following.year, following.month, 1, tzinfo=STATEMENT_ZONE)
    return start, end


@dataclass(frozen=True)
class StatementLine:
    seq: int
    kind: str
    order_reference: str
    rule: str
    amount: Decimal
    reverses: int | None
    reason: str
    recorded_at: datetime
    recorded_by: str
    approved_by: str
    prev_hash: str
    hash: str

    @property
    def kind_label(self) -> str:
        return str(EntryKind(self.kind).label)


@dataclass(frozen=True)
class Statement:
    partner_code: str
    partner_name: str
    is_sandbox: bool
    month: date
    period_start: datetime
    period_end: datetime
    lines: tuple[StatementLine, ...]
    commission_count: int
    commission_total: Decimal
    reversal_count: int
    reversal_total: Decimal
    total: Decimal
    # The last entry of the statement and its hash: it proves the listed entries and every
    # entry before them. None for a month without entries.
    chain_seq: int | None
    chain_hash: str | None
    # The ledger's head when the statement was made.
    head_seq: int
    head_hash: str
    created_at: datetime

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def is_final(self) -> bool:
        """The month is over: no entry can join it any more."""
        return self.created_at >= self.period_end

    @property
    def filename_stem(self) -> str:
        return f"commissions-{self.partner_code}-{self.month_text}"


def build_statement(partner: Partner, month: date) -> Statement:
    """The statement as the ledger stands now. Each listed entry's hash is recomputed; an
    entry that does not match it stops the statement (`casework ledger verify` says more)."""
    created_at = clock.now()
    # The head first: entries up to it are committed, so the statement and its head agree.
    head_seq, head_hash = read_head()
    start, end = month_bounds(month)
    rows = list(
        CommissionEntry.objects.filter(
            partner_id=partner.pk, recorded_at__gte=start, recorded_at__lt=end, seq__lte=head_seq
        )
        .order_by("seq")
        .values_list(*FIELDS)
    )
    lines = []
    for row in rows:
        if entry_hash(row) != row[HASH]:
            raise Conflict(
                _(
                    "ledger entry %(seq)s does not match its hash: the ledger was changed, no "
                    "statement can be made (casework ledger verify names the first "
                    "inconsistency)"
                )
                % {"seq": row[SEQ]},
                entry=row[SEQ],
            )
        values = dict(zip(FIELDS, row, strict=True))
        lines.append(
            StatementLine(
                seq=values["seq"],
                kind=values["kind"],
                order_reference=values["order_reference"],
                rule=values["rule"],
                amount=values["amount"],
                reverses=values["reverses_id"],
                reason=values["reason"],
                recorded_at=values["recorded_at"],
                recorded_by=values["recorded_by"],
                approved_by=values["approved_by"],
                prev_hash=values["prev_hash"],
                hash=values["hash"],
            )
        )
    commissions = [line.amount for line in lines if line.kind == EntryKind.COMMISSION]
    reversals = [line.amount for line in lines if line.kind == EntryKind.REVERSAL]
    zero = Decimal("0.00")
    return Statement(
        partner_code=partner.code,
        partner_name=partner.name,
        is_sandbox=partner.is_sandbox,
        month=month,
        period_start=start,
        period_end=end,
        lines=tuple(lines),
        commission_count=len(commissions),
        commission_total=sum(commissions, zero),
        reversal_count=len(reversals),
        reversal_total=sum(reversals, zero),
        total=sum(commissions, zero) + sum(reversals, zero),
        chain_seq=lines[-1].seq if lines else None,
        chain_hash=lines[-1].hash if lines else None,
        head_seq=head_seq,
        head_hash=head_hash,
        created_at=created_at,
    )


# --- rendering -----------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    return moment.astimezone(STATEMENT_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _euros(amount: Decimal, *, grouping: bool = False) -> str:
    return number_format(amount, 2, force_grouping=grouping)


def _status(statement: Statement) -> str:
    return (
        _("final: the month is over")
        if statement.is_final
        else _("provisional: the month is not over yet")
    )


def statement_csv(statement: Statement) -> bytes:
    """Semicolon-separated, UTF-8 with a byte order mark, CRLF: German Excel opens it as it
    is. A summary first, then one row per entry with its hashes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [_("Commission statement"), f"{statement.partner_name} ({statement.partner_code})"]
    )
    writer.writerow([_("Month"), statement.month_text])
    writer.writerow(
        [
            _("Period (German time)"),
            _local(statement.period_start),
            _local(statement.period_end),
        ]
    )
    writer.writerow([_("Status"), _status(statement)])
    if statement.is_sandbox:
        writer.writerow([_("Test partner: not for payment")])
    writer.writerow(
        [
            _("Commissions"),
            statement.commission_count,
            _euros(statement.commission_total),
        ]
    )
    writer.writerow([_("Reversals"), statement.reversal_count, _euros(statement.reversal_total)])
    writer.writerow([_("Total (EUR)"), "", _euros(statement.total)])
    writer.writerow(_chain_row(statement))
    writer.writerow(
        [
            _("Ledger head when created (entry %(seq)s)") % {"seq": statement.head_seq},
            statement.head_hash,
        ]
    )
    writer.writerow([_("Created at"), _local(statement.created_at)])
    writer.writerow([])
    writer.writerow(
        [
            _("Entry no."),
            _("Recorded at"),
            _("Kind"),
            _("Order reference"),
            _("Rule"),
            _("Amount (EUR)"),
            _("Reverses entry"),
            _("Reason"),
            _("Recorded by"),
            _("Approved by"),
            _("Previous hash"),
            _("Hash"),
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                line.seq,
                _local(line.recorded_at),
                line.kind_label,
                line.order_reference,
                line.rule,
                _euros(line.amount),
                line.reverses or "",
                line.reason,
                line.recorded_by,
                line.approved_by,
                line.prev_hash,
                line.hash,
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _chain_row(statement: Statement) -> list[str]:
    if statement.chain_hash is None:
        return [_("Chain hash"), _("no entries in this month")]
    return [
        _("Chain hash at entry %(seq)s") % {"seq": statement.chain_seq},
        statement.chain_hash,
    ]


# Table columns of the PDF: (width in characters, right-aligned). Right-aligned cells
# (numbers) are never shortened; the amount column holds the largest, -9.999.999.999,99.
_COLUMNS = ((9, True), (16, False), (10, False), (18, False), (17, False), (17, True), (12, False))
_MARGIN = 42.0
_TABLE_SIZE = 8.0


def statement_pdf(statement: Statement) -> bytes:
    """One or more A4 pages: the summary with the chain hash, then the entries."""
    title = _("Commission statement")
    document = pdf.Document(
        title=f"{title} {statement.partner_code} {statement.month_text}",
        subject=statement.chain_hash or statement.head_hash,
        keywords=f"chain-hash {statement.chain_hash or '-'} head {statement.head_hash}",
    )
    width, height = document.size
    page = document.new_page()
    y = height - _MARGIN - 14
    page.text(_MARGIN, y, title, font="bold", size=16)
    y -= 24
    summary = [
        (_("Partner"), f"{statement.partner_name} ({statement.partner_code})"),
        (_("Month"), statement.month_text),
        (
            _("Period (German time)"),
            f"{_local(statement.period_start)} – {_local(statement.period_end)}",
        ),
        (_("Status"), _status(statement)),
        (
            _("Commissions"),
            f"{statement.commission_count} · {_euros(statement.commission_total, grouping=True)} €",
        ),
        (
            _("Reversals"),
            f"{statement.reversal_count} · {_euros(statement.reversal_total, grouping=True)} €",
        ),
        (_("Total (EUR)"), f"{_euros(statement.total, grouping=True)} €"),
        (_("Created at"), _local(statement.created_at)),
    ]
    if statement.is_sandbox:
        summary.insert(0, (_("Test partner: not for payment"), ""))
    for label, value in summary:
        page.text(_MARGIN, y, label, font="bold", size=10)
        page.text(_MARGIN + 150, y, value, size=10)
        y -= 14
    y -= 6
    chain_label, chain_value = _chain_row(statement)
    for label, value in (
        (chain_label, chain_value),
        (
            _("Ledger head when created (entry %(seq)s)") % {"seq": statement.head_seq},
            statement.head_hash,
        ),
    ):
        page.text(_MARGIN, y, label, font="bold", size=10)
        y -= 12
        page.text(_MARGIN, y, value, font="mono", size=9)
        y -= 16
    page.text(
        _MARGIN,
        y,
        _(
            "The chain hash covers the entry named and every ledger entry before it; "
            "the ledger's verification recomputes it."
        ),
        size=8,
    )
    y -= 22

    heading = _table_row(
        [
            _("Entry no."),
            _("Recorded at"),
            _("Kind"),
            _("Order reference"),
            _("Rule"),
            _("Amount (EUR)"),
            _("Hash"),
        ]
    )
    line_height = _TABLE_SIZE * 1.5
    bottom = _MARGIN + 24

    def start_table(page: pdf.Page, y: float) -> float:
        page.text(_MARGIN, y, heading, font="mono-bold", size=_TABLE_SIZE)
        page.rule(_MARGIN, y - 3, width - _MARGIN, y - 3)
        return y - line_height

    y = start_table(page, y)
    if not statement.lines:
        page.text(_MARGIN, y, _("no entries in this month"), size=9)
    for line in statement.lines:
        if y < bottom:
            page = document.new_page()
            y = start_table(page, height - _MARGIN - 10)
        page.text(
            _MARGIN,
            y,
            _table_row(
                [
                    str(line.seq),
                    _local(line.recorded_at)[:16],
                    line.kind_label,
                    line.order_reference,
                    line.rule,
                    _euros(line.amount, grouping=True),
                    line.hash[:12],
                ]
            ),
            font="mono",
            size=_TABLE_SIZE,
        )
        y -= line_height
    total_pages = len(document.pages)
    for number, each in enumerate(document.pages, start=1):
        each.text(
            _MARGIN,
            _MARGIN - 12,
            _("%(partner)s · %(month)s · page %(page)s of %(pages)s")
            % {
                "partner": statement.partner_code,
                "month": statement.month_text,
                "page": number,
                "pages": total_pages,
            },
            size=7,
        )
    return document.render(created_at=statement.created_at)


def _table_row(cells: list[str]) -> str:
    parts = []
    for (size, right), cell in zip(_COLUMNS, cells, strict=True):
        text = cell if len(cell) <= size or right else cell[: size - 1] + "…"
        parts.append(text.rjust(size) if right else text.ljust(size))
    return " ".join(parts)

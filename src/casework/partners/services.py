"""Writing the commission ledger, and proving it untampered.

Every write runs in `events.services.recording_transaction()` (which locks the event chain
head first) and then locks the ledger head, so writers take their locks in one order and
the ledger's numbers stay gapless and its chain linear. A batch that takes the chain head
only at its end (`head_last`, a batch of retention orders) chains its commissions then,
after the chain head, so the order of the two heads is the same. Entries are only ever inserted; a
correction is a reversal entry that a second person approved (docs/partner-ledger.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils.translation import gettext as _

from casework.events.services import (
    head_taken_last,
    leaving_out_savepoints,
    record,
    recording_transaction,
    when_appending,
)
from casework.kernel import clock, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from casework.partners.ledger_chain import (
    FIELDS,
    GENESIS_HASH,
    SEQ,
    BreakKind,
    ChainCursor,
    LedgerBreak,
    diagnose,
    entry_hash,
)
from casework.partners.models import (
    CommissionEntry,
    EntryKind,
    LedgerHead,
    Partner,
    PartnerAccount,
    ReversalRequest,
    ReversalStatus,
)

_CENT = Decimal("0.01")
_LARGEST_AMOUNT = Decimal("9999999999.99")

# --- the head ------------------------------------------------------------------------------

_HEAD_TABLE = LedgerHead._meta.db_table
_ENTRY_TABLE = CommissionEntry._meta.db_table
_READ_HEAD = f"SELECT last_seq, last_hash FROM {_HEAD_TABLE} WHERE id = 1"
_CREATE_HEAD = (
    f"INSERT INTO {_HEAD_TABLE} (id, last_seq, last_hash) VALUES (1, 0, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
_MOVE_HEAD = f"UPDATE {_HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1"


def _lock_head() -> tuple[int, str]:
    """The head, locked until the transaction ends (SQLite's IMMEDIATE transactions hold
    the database's write lock already)."""
    statement = _READ_HEAD + (" FOR UPDATE" if connection.features.has_select_for_update else "")
    row = sql.fetch_one(statement, [])
    if row is None:
        # A migration creates the head; an emptied database (a test flush) lacks it.
        sql.execute(_CREATE_HEAD, [GENESIS_HASH])
        row = sql.fetch_one(statement, [])
    return row  # type: ignore[return-value]


def read_head() -> tuple[int, str]:
    """The last number and hash, as committed (no lock)."""
    row = sql.fetch_one(_READ_HEAD, [])
    return row if row is not None else (0, GENESIS_HASH)  # type: ignore[return-value]


def _append(head: tuple[int, str], **content: Any) -> CommissionEntry:
    """Chain and insert one entry after `head` (locked by the caller) and move the head."""
    entry = CommissionEntry(recorded_at=clock.now(), **content)
    _chain(head, entry)
    return entry


def _chain(head: tuple[int, str], entry: CommissionEntry) -> tuple[int, str]:
    """Number, hash and insert `entry` after `head` (locked by the caller), move the head;
    the new head."""
    last_seq, last_hash = head
    entry.seq, entry.prev_hash = last_seq + 1, last_hash
    entry.hash = entry_hash(_row(entry))
    entry.save(force_insert=True)
    sql.execute(_MOVE_HEAD, [entry.seq, entry.hash])
    return entry.seq, entry.hash


def _row(entry: CommissionEntry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in FIELDS)


# --- commissions ---------------------------------------------------------------------------


def record_commission(
    partner: Partner, order_reference: str, rule: str, amount: Decimal | str | int, actor: Actor
) -> CommissionEntry:
    """The commission for one processed order of a partner. Idempotent: the same order
    again answers the entry it already has (never a second commission); with another
    amount or rule it is refused. In a transaction that takes the chain head last it is
    only checked now and chained at the end (no savepoint needed: nothing is written)."""
    if head_taken_last():
        return _record_commission(partner, order_reference, rule, amount, actor)
    with recording_transaction():
        return _record_commission(partner, order_reference, rule, amount, actor)


# Set by `commissions_chained_together()`: the block's entries, with their actors.
_together: ContextVar[list[tuple[CommissionEntry, Actor]] | None] = ContextVar(
    "casework_commissions_together", default=None
)


@contextmanager
def commissions_chained_together() -> Iterator[None]:
    """Within a transaction that takes the chain head last and leaves out savepoints (a
    straight-through chunk of retention orders): the commissions recorded inside are
    chained together at the end — one read of the ledger's head, one insert, one move of
    the head — and are not looked up first: the partner's row read by the caller counts,
    and a second commission for an order fails on the unique constraint, which fails the
    block, whose caller runs it again the careful way."""
    if not (head_taken_last() and leaving_out_savepoints()):
        raise RuntimeError(
            "commissions_chained_together() needs a head-last batch without savepoints"
        )
    entries: list[tuple[CommissionEntry, Actor]] = []
    token = _together.set(entries)
    try:
        yield
    finally:
        _together.reset(token)
    if entries:
        when_appending(lambda: _chain_together(entries))


def _chain_together(entries: list[tuple[CommissionEntry, Actor]]) -> None:
    last_seq, last_hash = _lock_head()
    for entry, _actor in entries:
        entry.seq, entry.prev_hash = last_seq + 1, last_hash
        entry.hash = entry_hash(_row(entry))
        last_seq, last_hash = entry.seq, entry.hash
    sql.insert_returning([entry for entry, _actor in entries])
    sql.execute(_MOVE_HEAD, [last_seq, last_hash])
    for entry, actor in entries:
        _record_commission_event(entry, actor)


def _record_commission(
    partner: Partner, order_reference: str, rule: str, amount: Decimal | str | int, actor: Actor
) -> CommissionEntry:
    order_reference = _text(order_reference, "order_reference", 100, _("order reference"))
    rule = _text(rule, "rule", 200, _("rule"))
    amount = _amount(amount)
    together = _together.get()
    if together is not None:
        _refuse_if_inactive(partner)
        entry = _new_commission(partner, order_reference, rule, amount, actor)
        together.append((entry, actor))
        return entry
    # In a batch that takes the chain head last the ledger's head is taken then too
    # (`_chain_later`); a second commission it missed fails on the unique constraint.
    later = head_taken_last()
    head = None if later else _lock_head()
    existing = _commission_of(partner, order_reference)
    if existing is not None:
        if existing.amount == amount and existing.rule == rule:
            return existing
        raise Conflict(
            _(
                "order %(order)s of partner %(partner)s already has commission entry "
                "%(seq)s (%(amount)s EUR by rule “%(rule)s”); a second commission "
                "(%(new_amount)s EUR by rule “%(new_rule)s”) is refused"
            )
            % {
                "order": order_reference,
                "partner": existing.partner.code,
                "seq": existing.seq,
                "amount": existing.amount,
                "rule": existing.rule,
                "new_amount": amount,
                "new_rule": rule,
            },
            field="order_reference",
            entry=existing.seq,
        )
    partner = Partner.objects.get(pk=partner.pk)
    _refuse_if_inactive(partner)
    entry = _new_commission(partner, order_reference, rule, amount, actor)
    if later:
        when_appending(lambda: _chain_later(entry, actor))
        return entry
    _chain(head, entry)  # type: ignore[arg-type]
    _record_commission_event(entry, actor)
    return entry


def _refuse_if_inactive(partner: Partner) -> None:
    if not partner.is_active:
        raise Conflict(
            _("partner %(partner)s is not active: no new commissions") % {"partner": partner.code},
            field="partner",
        )


def _new_commission(
    partner: Partner, order_reference: str, rule: str, amount: Decimal, actor: Actor
) -> CommissionEntry:
    return CommissionEntry(
        partner=partner,
        order_reference=order_reference,
        rule=rule,
        amount=amount,
        kind=EntryKind.COMMISSION,
        recorded_by=actor.label,
        recorded_at=clock.now(),
    )


def _chain_later(entry: CommissionEntry, actor: Actor) -> None:
    _chain(_lock_head(), entry)
    _record_commission_event(entry, actor)


def _commission_of(partner: Partner, order_reference: str) -> CommissionEntry | None:
    return (
        CommissionEntry.objects.filter(
            partner_id=partner.pk, order_reference=order_reference, kind=EntryKind.COMMISSION
        )
        .select_related("partner")
        .first()
    )


def _record_commission_event(entry: CommissionEntry, actor: Actor) -> None:
    record(
        "partner.commission_recorded",
        actor=actor,
        object_type="commission_entry",
        object_id=entry.pk,
        payload={
            "partner": entry.partner.code,
            "order": entry.order_reference,
            "rule": entry.rule,
            "amount": str(entry.amount),
            "seq": entry.seq,
            "hash": entry.hash,
        },
    )


def _text(value: str, field: str, limit: int, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("%(field)s is required") % {"field": label}, field=field)
    if len(value) > limit:
        raise InvalidInput(
            _("%(field)s has more than %(limit)s characters") % {"field": label, "limit": limit},
            field=field,
        )
    if "\x00" in value:
        raise InvalidInput(_("%(field)s contains a NUL character") % {"field": label}, field=field)
    return value


def _amount(value: Decimal | str | int) -> Decimal:
    if isinstance(value, bool):
        value = "invalid"
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise InvalidInput(
            _("the amount %(amount)s is not a number") % {"amount": value}, field="amount"
        )
    if amount != amount.quantize(_CENT):
        raise InvalidInput(
            _("the amount %(amount)s has more than two decimal places") % {"amount": value},
            field="amount",
        )
    if not Decimal(0) < amount <= _LARGEST_AMOUNT:
        raise InvalidInput(
            _("a commission must be more than 0 and at most %(largest)s EUR")
            % {"largest": _LARGEST_AMOUNT},
            field="amount",
        )
    return amount.quantize(_CENT)


# --- reversals -----------------------------------------------------------------------------


@recording_transaction()
def request_reversal(entry: CommissionEntry, reason: str, actor: Actor) -> ReversalRequest:
    """Ask for a commission to be reversed; a second person approves it (or not)."""
    if not actor.is_supervisor:
        raise PermissionDenied(_("only supervisors and administrators may request reversals"))
    reason = _text(reason, "reason", 2000, _("reason"))
    _lock_head()
    entry = CommissionEntry.objects.select_related("partner").get(pk=entry.pk)
    _check_reversible(entry)
    if ReversalRequest.objects.filter(entry=entry, status=ReversalStatus.PENDING).exists():
        raise Conflict(
            _("a reversal of entry %(seq)s is already waiting for approval") % {"seq": entry.seq}
        )
    request = ReversalRequest.objects.create(
        entry=entry,
        reason=reason,
        requested_at=clock.now(),
        requested_by=actor.label,
        requested_by_kind=actor.kind.value,
        requested_by_id=actor.id,
    )
    record(
        "partner.reversal_requested",
        actor=actor,
        object_type="commission_entry",
        object_id=entry.pk,
        payload={"request": request.pk, "seq": entry.seq, "reason": reason},
    )
    return request


def _check_reversible(entry: CommissionEntry) -> None:
    if entry.kind != EntryKind.COMMISSION:
        raise InvalidInput(
            _("entry %(seq)s is a reversal itself; only commissions can be reversed")
            % {"seq": entry.seq},
            field="entry",
        )
    reversal = CommissionEntry.objects.filter(reverses_id=entry.seq).first()
    if reversal is not None:
        raise Conflict(
            _("entry %(seq)s was already reversed by entry %(reversal)s")
            % {"seq": entry.seq, "reversal": reversal.seq},
            field="entry",
        )


def check_reversible(entry: CommissionEntry) -> None:
    """Raise the error a reversal request for `entry` would meet now (for forms)."""
    _check_reversible(entry)


@recording_transaction()
def approve_reversal(request: ReversalRequest, actor: Actor) -> ReversalRequest:
    """A second person approves: the reversal entry is appended (the full amount, negative)."""
    _check_decider(actor)
    head = _lock_head()
    request = _pending(request)
    if _same_person(request, actor):
        raise PermissionDenied(
            _("a reversal must be approved by a second person, not by its requester")
        )
    entry = request.entry
    _check_reversible(entry)
    reversal = _append(
        head,
        partner=entry.partner,
        order_reference=entry.order_reference,
        rule=entry.rule,
        amount=-entry.amount,
        kind=EntryKind.REVERSAL,
        reverses=entry,
        reason=request.reason,
        recorded_by=request.requested_by,
        approved_by=actor.label,
    )
    ReversalRequest.objects.filter(pk=request.pk).update(
        status=ReversalStatus.APPROVED,
        decided_at=reversal.recorded_at,
        decided_by=actor.label,
        reversal_entry=reversal,
    )
    request.refresh_from_db()
    record(
        "partner.reversal_approved",
        actor=actor,
        object_type="commission_entry",
        object_id=entry.pk,
        payload={
            "request": request.pk,
            "seq": entry.seq,
            "reversal_seq": reversal.seq,
            "amount": str(reversal.amount),
            "hash": reversal.hash,
        },
    )
    return request


@recording_transaction()
def reject_reversal(request: ReversalRequest, actor: Actor, note: str = "") -> ReversalRequest:
    """The reversal is not made (its requester may withdraw it like this, too)."""
    _check_decider(actor)
    request = _pending(request)
    note = (note or "").strip()[:2000]
    ReversalRequest.objects.filter(pk=request.pk).update(
        status=ReversalStatus.REJECTED,
        decided_at=clock.now(),
        decided_by=actor.label,
        decision_note=note,
    )
    request.refresh_from_db()
    record(
        "partner.reversal_rejected",
        actor=actor,
        object_type="commission_entry",
        object_id=request.entry_id,
        payload={"request": request.pk, "seq": request.entry.seq, "note": note},
    )
    return request


def _check_decider(actor: Actor) -> None:
    if actor.kind != ActorKind.AGENT or not actor.is_supervisor:
        raise PermissionDenied(_("only supervisors and administrators may decide on reversals"))


def _pending(request: ReversalRequest) -> ReversalRequest:
    query = ReversalRequest.objects.select_related("entry__partner").filter(pk=request.pk)
    if connection.features.has_select_for_update:
        query = query.select_for_update(of=("self",))
    current = query.first()
    if current is None:
        raise NotFound(_("no such reversal request"))
    if current.status != ReversalStatus.PENDING:
        raise Conflict(
            _("the reversal request was already decided: %(status)s")
            % {"status": current.get_status_display()}
        )
    return current


def _same_person(request: ReversalRequest, actor: Actor) -> bool:
    if request.requested_by == actor.label:
        return True
    if (
        request.requested_by_id is not None
        and request.requested_by_kind == actor.kind.value
        and request.requested_by_id == actor.id
    ):
        return True
    # One user may appear as "user:name" (no agent profile) and later as "agent:name".
    if request.requested_by_kind == ActorKind.AGENT.value and actor.kind == ActorKind.AGENT:
        return request.requested_by.partition(":")[2] == actor.label.partition(":")[2]
    return False


# --- partners and their users --------------------------------------------------------------


def partner_account_for_user(user: AbstractBaseUser) -> PartnerAccount | None:
    """The account of an active partner a user acts through, if any."""
    return (
        PartnerAccount.objects.select_related("partner")
        .filter(user=user, partner__is_active=True)
        .first()
    )


def get_partner(code: str) -> Partner:
    partner = Partner.objects.filter(code=code).first()
    if partner is None:
        raise NotFound(_("no partner “%(code)s”") % {"code": code}, field="code")
    return partner


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerVerification:
    checked: int
    head_seq: int
    head_hash: str
    broken: LedgerBreak | None = None

    @property
    def is_intact(self) -> bool:
        return self.broken is None

    @property
    def problem(self) -> str:
        return describe_break(self.broken) if self.broken is not None else ""


def verify_ledger(
    *, batch_size: int = 20_000, anchors: Mapping[int, str] | None = None
) -> LedgerVerification:
    """Recompute every entry's hash in sequence order and check every link, the head, and
    the hashes given in `anchors` (seq → hash, e.g. from statements a partner received).

    The bulk of the walk reads without locks (up to the head as it was when the walk
    began; later appends cannot change what is already there). The rest — entries
    appended meanwhile, the head, anything beyond the head — is checked under the head's
    lock, so a concurrent append is not mistaken for tampering."""
    cursor = ChainCursor(anchors=anchors)
    head_seq, _hash = read_head()
    broken = _walk(cursor, head_seq, batch_size)
    if broken is None:
        with transaction.atomic():
            head_seq, head_hash = _lock_head()
            broken = _walk(cursor, head_seq, batch_size)
            if broken is None:
                beyond = sql.fetch_one(
                    f"SELECT MIN(seq) FROM {_ENTRY_TABLE} WHERE seq > %s", [head_seq]
                )
                broken = cursor.check_end(
                    head_seq=head_seq,
                    head_hash=head_hash,
                    beyond_head=beyond[0] if beyond else None,
                )
    else:
        head_seq, head_hash = read_head()
    return LedgerVerification(cursor.checked, head_seq, head_hash, broken)


def _walk(cursor: ChainCursor, up_to: int, batch_size: int) -> LedgerBreak | None:
    while cursor.next_seq <= up_to:
        # A range of numbers, not "the next N rows": each read costs the same, whatever the
        # planner believes about the table. The first starts below 1: an entry numbered 0
        # would be an insertion too.
        low = cursor.next_seq if cursor.checked else 0
        high = min(cursor.next_seq + batch_size, up_to + 1)
        rows = list(
            CommissionEntry.objects.filter(seq__gte=low, seq__lt=high)
            .order_by("seq")
            .values_list(*FIELDS)
        )
        if not rows:
            after = CommissionEntry.objects.filter(seq__gte=high).order_by("seq")
            rows = list(after.values_list(*FIELDS)[:1])
            if not rows:
                return None  # the end: the head tells whether entries are missing
        index = cursor.feed(rows)
        if index is not None:
            return _diagnose(cursor, rows[index])
    return None


def _diagnose(cursor: ChainCursor, row: tuple[Any, ...]) -> LedgerBreak:
    window = 64
    before = list(
        CommissionEntry.objects.filter(
            seq__gte=max(cursor.next_seq - window, 1), seq__lt=cursor.next_seq
        )
        .order_by("seq")
        .values_list(*FIELDS)
    )
    after = list(
        CommissionEntry.objects.filter(seq__gt=row[SEQ])
        .order_by("seq")
        .values_list(*FIELDS)[:window]
    )
    return diagnose(
        row,
        expected_seq=cursor.next_seq,
        expected_prev=cursor.prev_hash,
        before=before,
        after=after,
        anchors=cursor.anchors,
    )


def describe_break(broken: LedgerBreak) -> str:
    values = {"seq": broken.seq, "other": broken.other, "hash": broken.detail}
    texts = {
        BreakKind.MISSING: _("entry %(seq)s is missing"),
        BreakKind.CHANGED: _("entry %(seq)s was changed"),
        BreakKind.REHASHED: _(
            "entry %(seq)s was changed and its hash recomputed: entry %(other)s no longer "
            "points to it"
        ),
        BreakKind.INSERTED: _("an entry was inserted before entry %(seq)s"),
        BreakKind.MOVED: _("entry %(seq)s was moved to position %(other)s"),
        BreakKind.HEAD_MISMATCH: _(
            "the ledger head does not match entry %(seq)s: the entry or the head was changed"
        ),
        BreakKind.AFTER_HEAD: _(
            "an entry was inserted after the last one: entry %(seq)s lies beyond the ledger head"
        ),
        BreakKind.ANCHOR: _("entry %(seq)s does not have the hash %(hash)s given for it"),
    }
    return texts[broken.kind] % values


def commissions_for_order(partner: Partner, order_reference: str) -> list[CommissionEntry]:
    """A partner's entries for one order: the commission and, if made, its reversal. An
    order another partner holds is refused as such, and an unknown one is not found."""
    order_reference = (order_reference or "").strip()
    entries = list(
        CommissionEntry.objects.filter(order_reference=order_reference)
        .select_related("partner")
        .order_by("seq")
    )
    own = [entry for entry in entries if entry.partner_id == partner.pk]
    if own:
        return own
    if entries:
        raise PermissionDenied(
            _("order %(order)s belongs to another partner") % {"order": order_reference},
            field="order",
        )
    raise NotFound(
        _("no commission for order %(order)s") % {"order": order_reference}, field="order"
    )

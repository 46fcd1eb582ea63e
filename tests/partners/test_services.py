"""Recording commissions and reversals: never twice, corrections by a second person."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from casework.events.models import Event
from casework.events.services import verify_chain
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, PermissionDenied
from casework.partners import services
from casework.partners.ledger_chain import GENESIS_HASH, entry_hash
from casework.partners.models import (
    CommissionEntry,
    EntryKind,
    LedgerHead,
    LedgerIsAppendOnly,
    ReversalStatus,
)
from tests.partners.factories import PartnerFactory, supervisor

pytestmark = pytest.mark.django_db

ORDERS = Actor.system("orders")
ANNA = supervisor("anna", 1)
BEN = supervisor("ben", 2)


def test_a_commission_is_chained_and_recorded_as_an_event():
    partner = PartnerFactory(code="funk-shop")
    with clock.running_at(dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)):
        first = services.record_commission(partner, "R-1", "tariff-table/row-3", "12.5", ORDERS)
        second = services.record_commission(partner, " R-2 ", "tariff-table/row-1", 20, ORDERS)

    assert (first.seq, first.amount, first.kind, first.prev_hash) == (
        1,
        Decimal("12.50"),
        EntryKind.COMMISSION,
        GENESIS_HASH,
    )
    assert first.recorded_at == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    assert first.recorded_by == "system:orders"
    assert (second.seq, second.order_reference, second.prev_hash) == (2, "R-2", first.hash)
    stored = CommissionEntry.objects.get(seq=1)
    assert entry_hash([getattr(stored, f) for f in services.FIELDS]) == stored.hash
    head = LedgerHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (2, second.hash)
    event = Event.objects.get(code="partner.commission_recorded", object_id=first.pk)
    assert event.payload["order"] == "R-1" and event.payload["amount"] == "12.50"
    assert verify_chain().is_intact


def test_the_chain_stays_intact_over_many_appends_of_several_partners():
    partners = [PartnerFactory() for _ in range(3)]
    for n in range(150):
        services.record_commission(partners[n % 3], f"O-{n}", "rule", Decimal(n + 1), ORDERS)

    result = services.verify_ledger(batch_size=40)

    assert result.is_intact, result.problem
    assert result.checked == result.head_seq == 150
    assert list(CommissionEntry.objects.values_list("seq", flat=True)) == list(range(1, 151))


def test_the_same_order_again_answers_the_first_entry_and_never_a_second_commission():
    partner = PartnerFactory(code="funk-shop")
    first = services.record_commission(partner, "R-1", "row-3", Decimal("12.50"), ORDERS)

    again = services.record_commission(partner, "R-1", "row-3", "12.50", ORDERS)

    assert again.pk == first.pk
    assert CommissionEntry.objects.count() == 1
    with pytest.raises(Conflict) as refused:
        services.record_commission(partner, "R-1", "row-4", Decimal("15.00"), ORDERS)
    assert "R-1" in refused.value.message and "entry 1" in refused.value.message
    assert "15.00" in refused.value.message and "row-4" in refused.value.message
    assert CommissionEntry.objects.count() == 1
    # Another partner's order with the same reference is another order.
    other = services.record_commission(PartnerFactory(), "R-1", "row-3", "12.50", ORDERS)
    assert other.seq == 2


def test_the_database_refuses_a_second_commission_for_an_order_too():
    from django.db import IntegrityError, transaction

    partner = PartnerFactory()
    first = services.record_commission(partner, "R-1", "rule", "1.00", ORDERS)
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionEntry.objects.create(
            seq=2,
            partner=partner,
            order_reference="R-1",
            rule="rule",
            amount=Decimal("1.00"),
            kind=EntryKind.COMMISSION,
            recorded_at=first.recorded_at,
            recorded_by="x",
            prev_hash=first.hash,
            hash="0" * 64,
        )


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0", "amount"),
        ("-1", "amount"),
        ("1.005", "amount"),
        ("abc", "amount"),
        ("NaN", "amount"),
        ("10000000000", "amount"),
        (True, "amount"),
    ],
)
def test_bad_amounts_are_refused(amount, field):  # noqa: ANN001
    with pytest.raises(InvalidInput) as refused:
        services.record_commission(PartnerFactory(), "R-1", "rule", amount, ORDERS)
    assert refused.value.details["field"] == field
    assert CommissionEntry.objects.count() == 0


def test_an_order_and_a_rule_are_required_and_an_inactive_partner_earns_nothing():
    partner = PartnerFactory()
    with pytest.raises(InvalidInput):
        services.record_commission(partner, "  ", "rule", "1.00", ORDERS)
    with pytest.raises(InvalidInput):
        services.record_commission(partner, "R-1", "", "1.00", ORDERS)
    with pytest.raises(InvalidInput):
        services.record_commission(partner, "R\x00", "rule", "1.00", ORDERS)
    with pytest.raises(InvalidInput):
        services.record_commission(partner, "R" * 101, "rule", "1.00", ORDERS)
    services.record_commission(partner, "R-1", "rule", "1.00", ORDERS)
    partner.is_active = False
    partner.save()
    with pytest.raises(Conflict):
        services.record_commission(partner, "R-2", "rule", "1.00", ORDERS)
    # A repeat of what was recorded before still answers the entry.
    assert services.record_commission(partner, "R-1", "rule", "1.00", ORDERS).seq == 1


def test_a_reversal_needs_a_second_person():
    partner = PartnerFactory()
    entry = services.record_commission(partner, "R-1", "rule", Decimal("12.50"), ORDERS)
    request = services.request_reversal(entry, "order cancelled within 14 days", ANNA)

    with pytest.raises(PermissionDenied):
        services.approve_reversal(request, ANNA)
    # The same person without an agent profile, by user name, is the same person.
    same_user = Actor(kind=ANNA.kind, id=None, label="user:anna", role=ANNA.role)
    with pytest.raises(PermissionDenied):
        services.approve_reversal(request, same_user)
    with pytest.raises(PermissionDenied):
        services.approve_reversal(request, ORDERS)  # the system is no second person
    assert CommissionEntry.objects.count() == 1

    approved = services.approve_reversal(request, BEN)

    reversal = approved.reversal_entry
    assert approved.status == ReversalStatus.APPROVED and approved.decided_by == "agent:ben"
    assert (reversal.seq, reversal.kind, reversal.amount) == (2, "reversal", Decimal("-12.50"))
    assert (reversal.reverses_id, reversal.order_reference, reversal.partner_id) == (
        1,
        "R-1",
        partner.pk,
    )
    assert (reversal.reason, reversal.recorded_by, reversal.approved_by) == (
        "order cancelled within 14 days",
        "agent:anna",
        "agent:ben",
    )
    assert reversal.prev_hash == entry.hash
    assert services.verify_ledger().is_intact
    assert list(
        Event.objects.filter(code__startswith="partner.")
        .order_by("seq")
        .values_list("code", flat=True)
    ) == ["partner.commission_recorded", "partner.reversal_requested", "partner.reversal_approved"]


def test_an_entry_is_reversed_once_at_most():
    entry = services.record_commission(PartnerFactory(), "R-1", "rule", "5.00", ORDERS)
    first = services.request_reversal(entry, "cancelled", ANNA)
    with pytest.raises(Conflict):
        services.request_reversal(entry, "cancelled twice", BEN)  # one is waiting already
    services.approve_reversal(first, BEN)

    with pytest.raises(Conflict) as refused:
        services.request_reversal(entry, "again", ANNA)
    assert "entry 2" in refused.value.message
    with pytest.raises(Conflict):
        services.approve_reversal(first, BEN)  # decided already
    reversal = CommissionEntry.objects.get(seq=2)
    with pytest.raises(InvalidInput):
        services.request_reversal(reversal, "reverse the reversal", ANNA)
    assert CommissionEntry.objects.count() == 2


def test_a_rejected_reversal_leaves_the_ledger_alone_and_may_be_asked_again():
    entry = services.record_commission(PartnerFactory(), "R-1", "rule", "5.00", ORDERS)
    request = services.request_reversal(entry, "cancelled?", ANNA)

    rejected = services.reject_reversal(request, BEN, "the customer kept the contract")

    assert rejected.status == ReversalStatus.REJECTED
    assert rejected.decision_note == "the customer kept the contract"
    assert CommissionEntry.objects.count() == 1
    with pytest.raises(Conflict):
        services.approve_reversal(request, BEN)
    assert services.request_reversal(entry, "cancelled after all", ANNA).status == "pending"


def test_only_supervisors_request_and_decide():
    entry = services.record_commission(PartnerFactory(), "R-1", "rule", "5.00", ORDERS)
    agent = Actor(kind=ANNA.kind, id=7, label="agent:carl", role=None)
    with pytest.raises(PermissionDenied):
        services.request_reversal(entry, "cancelled", agent)
    with pytest.raises(InvalidInput):
        services.request_reversal(entry, "  ", ANNA)
    request = services.request_reversal(entry, "cancelled", ORDERS)  # the system may ask
    with pytest.raises(PermissionDenied):
        services.reject_reversal(request, agent)
    assert services.approve_reversal(request, ANNA).status == ReversalStatus.APPROVED


def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    entry = services.record_commission(PartnerFactory(), "R-1", "rule", "5.00", ORDERS)
    entry.amount = Decimal("500.00")
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        CommissionEntry.objects.filter(seq=1).update(amount=Decimal("500.00"))
    with pytest.raises(LedgerIsAppendOnly):
        CommissionEntry.objects.all().delete()
    assert CommissionEntry.objects.get(seq=1).amount == Decimal("5.00")


def test_a_partner_sees_its_own_order_and_is_refused_another_partners():
    mine, theirs = PartnerFactory(), PartnerFactory()
    services.record_commission(mine, "R-1", "rule", "5.00", ORDERS)
    services.record_commission(theirs, "R-2", "rule", "5.00", ORDERS)

    assert [e.seq for e in services.commissions_for_order(mine, "R-1")] == [1]
    with pytest.raises(PermissionDenied):
        services.commissions_for_order(mine, "R-2")
    from casework.kernel.errors import NotFound

    with pytest.raises(NotFound):
        services.commissions_for_order(mine, "R-3")

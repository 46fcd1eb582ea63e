from __future__ import annotations

import datetime as dt

import pytest

from casework.customers.merging import list_duplicate_suspects, merge_customers, undo_merge
from casework.customers.models import Customer, CustomerIdentifier
from casework.events.models import Event
from casework.kernel.errors import Conflict, InvalidInput
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    IdentifierFactory,
    InteractionFactory,
)

pytestmark = pytest.mark.django_db


def test_merge_moves_everything_and_undo_restores_exactly(system_actor):
    phone_record = CustomerFactory(first_name="Helmut", last_name="Berger")
    email_record = CustomerFactory(first_name="H.", last_name="Berger")
    IdentifierFactory(customer=email_record, kind="email", value="helmut@example.de")
    case = CaseFactory(customer=email_record)
    interaction = InteractionFactory(customer=email_record, case=case)

    merge = merge_customers(phone_record, email_record, actor=system_actor)

    assert CustomerIdentifier.objects.get(value="helmut@example.de").customer == phone_record
    case.refresh_from_db()
    interaction.refresh_from_db()
    assert case.customer == phone_record and interaction.customer == phone_record
    assert Customer.objects.get(pk=email_record.pk).merged_into == phone_record
    assert Event.objects.filter(code="customer.merged", object_id=phone_record.pk).exists()

    later = InteractionFactory(customer=phone_record)
    undo_merge(merge, actor=system_actor)

    case.refresh_from_db()
    interaction.refresh_from_db()
    later.refresh_from_db()
    assert case.customer == email_record and interaction.customer == email_record
    assert later.customer == phone_record  # created after the merge: stays with the survivor
    assert CustomerIdentifier.objects.get(value="helmut@example.de").customer == email_record
    assert Customer.objects.get(pk=email_record.pk).merged_into is None
    with pytest.raises(Conflict):
        undo_merge(merge, actor=system_actor)


def test_merging_into_itself_or_twice_is_refused(system_actor):
    first, second = CustomerFactory(), CustomerFactory()
    with pytest.raises(InvalidInput):
        merge_customers(first, first, actor=system_actor)
    merge_customers(first, second, actor=system_actor)
    with pytest.raises(Conflict):
        merge_customers(first, second, actor=system_actor)


def test_duplicate_suspects_by_name_and_birth_date_and_by_address():
    born = dt.date(1950, 3, 14)
    a = CustomerFactory(first_name="Helmut", last_name="Berger", birth_date=born)
    b = CustomerFactory(first_name="Helmut", last_name="Berger", birth_date=born)
    c = CustomerFactory(
        first_name="Jana", last_name="Wolff", street="Hauptstraße 1", postal_code="10115"
    )
    d = CustomerFactory(
        first_name="J.", last_name="Wolff", street="Hauptstraße 1", postal_code="10115"
    )
    CustomerFactory(first_name="Helmut", last_name="Berger", birth_date=dt.date(1960, 1, 1))

    pairs = {(s.first.pk, s.second.pk, s.reason) for s in list_duplicate_suspects()}

    assert (a.pk, b.pk, "name_and_birth_date") in pairs
    assert (c.pk, d.pk, "address") in pairs
    assert len(pairs) == 2

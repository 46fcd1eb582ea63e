"""Merging two records of one person, undoing a merge, and finding likely duplicates.

A merge moves every row that points at the duplicate (identifiers, contracts, interactions,
cases, …) to the survivor. Which tables those are is read from the model relations, so a
package that adds a table with a customer foreign key takes part without changes here. The
ids moved are kept on the `CustomerMerge`, which is what makes the undo exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, ForeignKey, Model
from django.utils.translation import gettext as _

from casework.customers.models import Customer, CustomerMerge, PaymentMethod
from casework.events.services import record, recording_transaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound

# Relations that describe merges themselves and must never move.
_NOT_MOVED = {
    ("customers.customer", "merged_into"),
    ("customers.customermerge", "survivor"),
    ("customers.customermerge", "merged"),
}


def _customer_relations() -> list[tuple[type[Model], str]]:
    relations = []
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if (
                isinstance(model_field, ForeignKey)
                and model_field.related_model is Customer
                and (model._meta.label_lower, model_field.name) not in _NOT_MOVED
            ):
                relations.append((model, model_field.name))
    return relations


@recording_transaction()
def merge_customers(survivor: Customer, duplicate: Customer, *, actor: Actor) -> CustomerMerge:
    if survivor.pk == duplicate.pk:
        raise InvalidInput(_("a customer cannot be merged into itself"))
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.merged_into_id or duplicate.merged_into_id:
        raise Conflict(_("one of the customers has been merged already"))
    moved: dict[str, list[int]] = {}
    for model, field_name in _customer_relations():
        rows = model._default_manager.filter(**{field_name: duplicate})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            model._default_manager.filter(pk__in=ids).update(**{field_name: survivor})
            moved[f"{model._meta.label_lower}.{field_name}"] = ids
    # The survivor keeps its own default payment method.
    if PaymentMethod.objects.filter(customer=survivor, is_default=True).count() > 1:
        PaymentMethod.objects.filter(
            pk__in=moved.get("customers.paymentmethod.customer", [])
        ).update(is_default=False)
    duplicate.merged_into = survivor
    duplicate.save(update_fields=["merged_into", "updated_at"])
    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged=duplicate,
        moved=moved,
        merged_at=clock.now(),
        merged_by=actor.label,
    )
    record(
        "customer.merged",
        actor=actor,
        object_type="customer",
        object_id=survivor.pk,
        payload={"merge_id": merge.pk, "merged_customer_id": duplicate.pk, "moved": moved},
    )
    return merge


@recording_transaction()
def undo_merge(merge: CustomerMerge, *, actor: Actor) -> CustomerMerge:
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise Conflict(_("this merge has been undone already"))
    models_by_label = {model._meta.label_lower: model for model in apps.get_models()}
    for key, ids in merge.moved.items():
        label, field_name = key.rsplit(".", 1)
        model = models_by_label[label]
        # Rows created on the survivor after the merge stay there; only moved rows return.
        model._default_manager.filter(pk__in=ids, **{field_name: merge.survivor_id}).update(
            **{field_name: merge.merged_id}
        )
    Customer.objects.filter(pk=merge.merged_id).update(merged_into=None, updated_at=clock.now())
    merge.undone_at, merge.undone_by = clock.now(), actor.label
    merge.save(update_fields=["undone_at", "undone_by"])
    record(
        "customer.merge_undone",
        actor=actor,
        object_type="customer",
        object_id=merge.survivor_id,
        payload={"merge_id": merge.pk, "restored_customer_id": merge.merged_id},
    )
    return merge


def get_merge(merge_id: int) -> CustomerMerge:
    merge = CustomerMerge.objects.filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(
            _("merge %(merge_id)s not found") % {"merge_id": merge_id}, merge_id=merge_id
        )
    return merge


@dataclass(frozen=True)
class DuplicateSuspect:
    first: Customer
    second: Customer
    reason: str  # "name_and_birth_date", "address", "bank_account"


def list_duplicate_suspects(limit: int = 100) -> list[DuplicateSuspect]:
    """Pairs that look like one person twice, for a person to review (never merged
    automatically)."""
    active = Customer.objects.filter(merged_into__isnull=True)
    groups: list[tuple[str, list[int]]] = []
    by_name = (
        active.exclude(birth_date=None)
        .exclude(last_name="")
        .values("search_name", "birth_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)[:limit]
    )
    for row in by_name:
        ids = active.filter(search_name=row["search_name"], birth_date=row["birth_date"])
        groups.append(("name_and_birth_date", list(ids.values_list("pk", flat=True))))
    by_address = (
        active.exclude(street="")
        .values("last_name", "street", "postal_code")
        .annotate(n=Count("id"))
        .filter(n__gt=1)[:limit]
    )
    for row in by_address:
        ids = active.filter(
            last_name=row["last_name"], street=row["street"], postal_code=row["postal_code"]
        )
        groups.append(("address", list(ids.values_list("pk", flat=True))))
    by_iban = (
        PaymentMethod.objects.exclude(iban="")
        .filter(customer__merged_into__isnull=True)
        .values("iban")
        .annotate(n=Count("customer", distinct=True))
        .filter(n__gt=1)[:limit]
    )
    for row in by_iban:
        ids = PaymentMethod.objects.filter(iban=row["iban"]).values_list("customer_id", flat=True)
        groups.append(("bank_account", sorted(set(ids))))
    customers = Customer.objects.in_bulk({pk for _, ids in groups for pk in ids})
    suspects: list[DuplicateSuspect] = []
    seen: set[tuple[int, int]] = set()
    for reason, ids in groups:
        ids = sorted(ids)
        for i, first_id in enumerate(ids):
            for second_id in ids[i + 1 :]:
                if (first_id, second_id) not in seen:
                    seen.add((first_id, second_id))
                    suspects.append(
                        DuplicateSuspect(customers[first_id], customers[second_id], reason)
                    )
    return suspects[:limit]

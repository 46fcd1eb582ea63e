"""Putting contacts where they belong: link a case to its customer, merge two cases of one
matter, split a contact off into a case of its own, forward a case to another queue.

Each operation is one transaction with its events; nothing is deleted (a merged case is
closed and points to the case it went into)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.cases.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    Case,
    CaseStatus,
    Task,
    TaskStatus,
)
from casework.cases.services import (
    CaseChanges,
    NewCase,
    add_note,
    assign_case,
    ensure_open_task,
    get_queue,
    lock_case,
    open_case,
    update_case,
)
from casework.customers.models import Customer
from casework.customers.services import add_identifiers_if_free
from casework.events.services import record, recording_transaction
from casework.interactions.models import Interaction
from casework.interactions.services import move_interactions
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict
from casework.routing.models import Queue


class CannotRegroup(Conflict):
    code = "cannot_regroup"


@recording_transaction()
def link_customer(case: Case, customer: Customer, *, actor: Actor) -> Case:
    """The agent says who the sender of a case without customer is. The case and its
    contacts become that customer's, the sender's addresses become the customer's
    identifiers (where nobody has them yet), and a case held for identification moves on
    to the queue it was meant for."""
    case = lock_case(case)
    if case.customer_id is not None:
        raise CannotRegroup(
            _("case %(reference)s belongs to a customer already") % {"reference": case.reference}
        )
    while customer.merged_into_id:  # link to the surviving record of a merged customer
        customer = Customer.objects.get(pk=customer.merged_into_id)
    contacts = list(Interaction.objects.filter(case=case).order_by("occurred_at", "pk"))
    case.customer = customer
    case.save(update_fields=["customer", "updated_at"])
    move_interactions(
        [entry.pk for entry in contacts if entry.customer_id is None],
        case_id=case.pk,
        customer_id=customer.pk,
    )
    senders = [
        (item["kind"], item["value"])
        for entry in contacts
        for item in entry.payload.get("sender_identifiers", [])
    ]
    added = add_identifiers_if_free(customer, senders, actor=actor)
    record(
        "case.customer_linked",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={
            "customer_id": customer.pk,
            "identifiers_added": [f"{kind}:{value}" for kind, value in added],
        },
    )
    held = [entry for entry in contacts if "queue_after_identification" in entry.payload]
    if held:
        code = held[0].payload["queue_after_identification"]
        target = get_queue(code) if code else case.case_type.default_queue
        update_case(case, CaseChanges(queue=target), actor=actor)
        case.refresh_from_db()
    return case


@recording_transaction()
def merge_cases(source: Case, target: Case, *, actor: Actor) -> Case:
    """Two cases turned out to be one matter: the source's contacts and notes move to the
    target, the source is closed with a pointer to the target. Returns the target."""
    if source.pk == target.pk:
        raise CannotRegroup(_("a case cannot be merged into itself"))
    # Always lock in id order: two agents merging the same pair crosswise must not deadlock.
    first, second = sorted([source, target], key=lambda case: case.pk)
    locked = {case.pk: lock_case(case) for case in (first, second)}
    source, target = locked[source.pk], locked[target.pk]
    for case in (source, target):
        if case.status not in OPEN_STATUSES:
            raise CannotRegroup(
                _("case %(reference)s is %(status)s; only open cases can be merged")
                % {"reference": case.reference, "status": CaseStatus(case.status).label}
            )
    if None not in (source.customer_id, target.customer_id) and (
        source.customer_id != target.customer_id
    ):
        raise CannotRegroup(
            _("%(source)s and %(target)s belong to different customers")
            % {"source": source.reference, "target": target.reference}
        )
    customer_id = target.customer_id or source.customer_id
    moved = list(Interaction.objects.filter(case=source).values_list("pk", flat=True))
    move_interactions(moved, case_id=target.pk, customer_id=customer_id)
    if target.customer_id is None and customer_id is not None:
        target.customer_id = customer_id
        target.save(update_fields=["customer", "updated_at"])
    now = clock.now()
    for task in Task.objects.filter(case=source, status__in=OPEN_TASK_STATUSES):
        task.status, task.completed_at = TaskStatus.CANCELLED, now
        task.save(update_fields=["status", "completed_at", "updated_at"])
        record(
            "task.cancelled",
            actor=actor,
            object_type="task",
            object_id=task.pk,
            payload={"case_id": source.pk, "reason": "case merged"},
        )
    source.status, source.merged_into, source.last_activity_at = CaseStatus.CLOSED, target, now
    source.save(update_fields=["status", "merged_into", "last_activity_at", "updated_at"])
    record(
        "case.merged",
        actor=actor,
        object_type="case",
        object_id=source.pk,
        payload={
            "into_case_id": target.pk,
            "into_reference": target.reference,
            "interaction_ids": moved,
        },
    )
    ensure_open_task(target, title=target.subject, actor=actor)
    add_note(
        target,
        _("Merged %(source)s into this case (%(count)s contacts moved).")
        % {"source": source.reference, "count": len(moved)},
        actor=actor,
    )
    return target


@recording_transaction()
def split_off(interaction: Interaction, *, subject: str = "", actor: Actor) -> Case:
    """A contact raises a matter of its own: it leaves its case for a new case of the same
    customer and case type, in the same queue. Returns the new case."""
    if interaction.case_id is None:
        raise CannotRegroup(_("this contact is not part of a case"))
    source = lock_case(interaction.case)
    others = Interaction.objects.filter(case=source).exclude(pk=interaction.pk)
    if not others.exclude(channel="note").exists():
        raise CannotRegroup(
            _("this is the only contact of %(reference)s; there is nothing to split off")
            % {"reference": source.reference}
        )
    new_case = open_case(
        NewCase(
            case_type=source.case_type,
            subject=subject or interaction.subject or source.subject,
            customer_id=source.customer_id,
            queue=source.queue,
            priority=source.priority,
            service_type=source.service_type,
        ),
        actor=actor,
    )
    move_interactions([interaction.pk], case_id=new_case.pk, customer_id=source.customer_id)
    record(
        "case.split",
        actor=actor,
        object_type="case",
        object_id=source.pk,
        payload={"interaction_id": interaction.pk, "new_case_id": new_case.pk},
    )
    add_note(
        source,
        _("A contact was split off into %(reference)s.") % {"reference": new_case.reference},
        actor=actor,
    )
    add_note(
        new_case,
        _("Split off from %(reference)s.") % {"reference": source.reference},
        actor=actor,
    )
    return new_case


@recording_transaction()
def forward_case(case: Case, queue: Queue, *, note: str, actor: Actor) -> Case:
    """Hand a case to another queue (another team or level) with a word for whoever picks
    it up. The case and its open work leave their owner and wait in the new queue."""
    case = lock_case(case)
    if case.status not in OPEN_STATUSES:
        raise CannotRegroup(
            _("case %(reference)s is %(status)s; only open cases can be forwarded")
            % {"reference": case.reference, "status": CaseStatus(case.status).label}
        )
    if queue.pk == case.queue_id and case.owner_id is None:
        raise CannotRegroup(
            _("case %(reference)s waits in %(queue)s already")
            % {"reference": case.reference, "queue": queue.name}
        )
    previous_queue = case.queue.code
    case = assign_case(case, None, actor=actor)
    case = update_case(case, CaseChanges(queue=queue), actor=actor)
    ensure_open_task(case, title=case.subject, actor=actor)
    record(
        "case.forwarded",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"from_queue": previous_queue, "to_queue": queue.code, "note": note},
    )
    add_note(
        case,
        _("Forwarded to %(queue)s: %(note)s") % {"queue": queue.name, "note": note},
        actor=actor,
    )
    return case

"""Reads of cases and tasks, scoped to what the actor may see.

Agents and supervisors see the cases in their teams' queues and the cases they own;
admins see all. `access_case` fails the same way for "missing" and for "not yours".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from casework.cases.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    Case,
    ResolutionCode,
    Task,
    TaskStatus,
)
from casework.interactions.models import Attachment, Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import NotFound


def visible_cases(actor: Actor) -> QuerySet[Case]:
    """Cases in the actor's teams' queues, cases they own, and cases with open work for
    their teams (an approval for the supervisors, a task for a specialist team)."""
    cases = Case.objects.all()
    if actor.is_admin:
        return cases
    open_work_here = Task.objects.filter(
        case_id=OuterRef("pk"), status__in=OPEN_TASK_STATUSES, queue__team_id__in=actor.team_ids
    )
    return cases.filter(
        Q(queue__team_id__in=actor.team_ids) | Q(owner_id=actor.id) | Exists(open_work_here)
    )


def access_case(actor: Actor, case_id: int) -> Case:
    case = (
        visible_cases(actor)
        .select_related(
            "case_type", "queue__team", "owner__user", "customer", "resolution_code", "parent"
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("case %(case_id)s not found") % {"case_id": case_id}, case_id=case_id)
    return case


def access_contact(actor: Actor, case_id: int, interaction_id: int) -> Interaction:
    """A contact of a case the actor may see; `NotFound` when either is missing or
    forbidden, or when the contact belongs to another case."""
    case = access_case(actor, case_id)
    contact = Interaction.objects.filter(pk=interaction_id, case=case).first()
    if contact is None:
        raise NotFound(
            _("contact %(interaction_id)s not found") % {"interaction_id": interaction_id},
            interaction_id=interaction_id,
        )
    return contact


def access_attachment(actor: Actor, attachment_id: int) -> Attachment:
    """An attachment of a contact on a case the actor may see (missing and forbidden alike
    are `NotFound`)."""
    attachment = (
        Attachment.objects.select_related("interaction")
        .filter(pk=attachment_id, interaction__case_id__in=visible_cases(actor).values("pk"))
        .first()
    )
    if attachment is None:
        raise NotFound(
            _("attachment %(attachment_id)s not found") % {"attachment_id": attachment_id},
            attachment_id=attachment_id,
        )
    return attachment


def find_case_by_reference(actor: Actor, reference: str) -> Case | None:
    return visible_cases(actor).filter(reference=reference.upper()).first()


@dataclass(frozen=True)
class CaseFilter:
    status: Sequence[str] = ()
    queue_code: str | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    service_type: str | None = None
    is_open: bool | None = None


def list_cases(
    actor: Actor, case_filter: CaseFilter, *, offset: int = 0, limit: int = 50
) -> list[Case]:
    cases = visible_cases(actor).select_related("case_type", "queue", "owner__user", "customer")
    if case_filter.status:
        cases = cases.filter(status__in=case_filter.status)
    if case_filter.is_open is not None:
        open_filter = Q(status__in=OPEN_STATUSES)
        cases = cases.filter(open_filter if case_filter.is_open else ~open_filter)
    if case_filter.queue_code:
        cases = cases.filter(queue__code=case_filter.queue_code)
    if case_filter.owner_id is not None:
        cases = cases.filter(owner_id=case_filter.owner_id)
    if case_filter.customer_id is not None:
        cases = cases.filter(customer_id=case_filter.customer_id)
    if case_filter.service_type:
        cases = cases.filter(service_type=case_filter.service_type)
    return list(cases.order_by("-priority", "-last_activity_at", "-id")[offset : offset + limit])


def list_open_cases_of_customer(actor: Actor, customer_id: int) -> tuple[list[Case], int]:
    """The open cases the actor may see, and how many more exist in other departments."""
    open_cases = Case.objects.filter(customer_id=customer_id, status__in=OPEN_STATUSES)
    visible = list(
        visible_cases(actor)
        .filter(customer_id=customer_id, status__in=OPEN_STATUSES)
        .select_related("case_type", "queue", "owner__user")
        .order_by("-last_activity_at")
    )
    return visible, open_cases.count() - len(visible)


def list_my_tasks(actor: Actor) -> list[Task]:
    if actor.id is None:  # an administrator without an agent profile has no own work
        return []
    return list(
        Task.objects.filter(assignee_id=actor.id, status__in=OPEN_TASK_STATUSES)
        .select_related("case__customer", "case__case_type", "queue")
        .order_by("-priority", "due_at", "created_at")
    )


def list_queue_tasks(actor: Actor, queue_code: str, *, limit: int = 100) -> list[Task]:
    tasks = Task.objects.filter(queue__code=queue_code, status__in=OPEN_TASK_STATUSES)
    if not actor.is_admin:
        tasks = tasks.filter(queue__team_id__in=actor.team_ids)
    return list(
        tasks.select_related(
            "case__customer", "case__case_type", "assignee__user", "queue"
        ).order_by("-priority", "due_at", "created_at")[:limit]
    )


def list_open_tasks_of_case(case_id: int) -> list[Task]:
    return list(
        Task.objects.filter(case_id=case_id, status__in=OPEN_TASK_STATUSES)
        .select_related("assignee__user", "queue")
        .order_by("created_at")
    )


def search_cases(actor: Actor, text: str, *, limit: int = 20) -> list[Case]:
    """Cases the actor may see whose reference is `text` (listed first) or whose subject
    contains it."""
    text = " ".join(text.split())
    if not text:
        return []
    cases = visible_cases(actor).select_related("case_type", "queue", "owner__user", "customer")
    found = list(cases.filter(reference=text.upper()))
    found += (
        cases.filter(subject__icontains=text)
        .exclude(pk__in=[c.pk for c in found])
        .order_by("-last_activity_at", "-id")[: max(limit - len(found), 0)]
    )
    return found


@dataclass(frozen=True)
class QueueTaskCounts:
    open_tasks: int  # open or in progress
    waiting: int  # open and nobody has taken it yet


def count_open_tasks_by_queue(actor: Actor) -> dict[int, QueueTaskCounts]:
    """Per queue id the actor may see: how much work is in it and how much is waiting.
    Queues without open tasks are missing from the result."""
    tasks = Task.objects.filter(status__in=OPEN_TASK_STATUSES)
    if not actor.is_admin:
        tasks = tasks.filter(queue__team_id__in=actor.team_ids)
    rows = (
        tasks.values("queue_id")
        .annotate(
            open_tasks=Count("id"),
            waiting=Count("id", filter=Q(status=TaskStatus.OPEN, assignee__isnull=True)),
        )
        .order_by()
    )
    return {row["queue_id"]: QueueTaskCounts(row["open_tasks"], row["waiting"]) for row in rows}


def list_resolution_codes() -> list[ResolutionCode]:
    """The codes a case may be resolved with now."""
    return list(ResolutionCode.objects.filter(is_active=True).order_by("code"))

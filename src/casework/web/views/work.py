"""Where an agent's work comes from: their own tasks and cases, the queues, "get next"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from casework.cases.queries import (
    CaseFilter,
    QueueTaskCounts,
    count_open_tasks_by_queue,
    list_cases,
    list_my_tasks,
    list_queue_tasks,
)
from casework.cases.services import get_next_task
from casework.kernel.actors import Actor
from casework.routing.models import Queue
from casework.routing.queries import access_queue, list_queues_for
from casework.web.desk import desk_view


@require_GET
@desk_view
def my_work(request: HttpRequest, actor: Actor) -> HttpResponse:
    # An administrator without an agent record has no tasks or cases of their own.
    is_agent = actor.id is not None
    return render(
        request,
        "web/my_work.html",
        {
            "tasks": list_my_tasks(actor) if is_agent else [],
            "owned_cases": (
                list_cases(actor, CaseFilter(owner_id=actor.id, is_open=True)) if is_agent else []
            ),
            "queue_rows": _queue_rows(actor),
        },
    )


@require_GET
@desk_view
def queue_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(
        request,
        "web/queue_list.html",
        {"queue_rows": _queue_rows(actor)},
    )


def _queue_rows(actor: Actor) -> list[tuple[Queue, QueueTaskCounts]]:
    counts = count_open_tasks_by_queue(actor)
    empty = QueueTaskCounts(open_tasks=0, waiting=0)
    return [(queue, counts.get(queue.pk, empty)) for queue in list_queues_for(actor)]


@require_GET
@desk_view
def queue_detail(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    queue = access_queue(actor, code)
    return render(
        request,
        "web/queue_detail.html",
        {"queue": queue, "tasks": list_queue_tasks(actor, queue.code)},
    )


@require_POST
@desk_view
def next_task(request: HttpRequest, actor: Actor) -> HttpResponse:
    task = get_next_task(actor)
    if task is None:
        messages.info(request, _("Nothing is waiting in your queues."))
        return redirect("web:my_work")
    messages.success(request, _("This case is yours now: %(title)s") % {"title": task.title})
    return redirect("web:case", case_id=task.case_id)

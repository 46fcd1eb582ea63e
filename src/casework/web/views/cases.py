"""The case screen: the case with its contacts and notes, the small forms that change it,
and beside it the customer's 360 view.

Each form posts to its own URL. With htmx the response is the panel the form lives in
(`summary`: facts and actions, `notes`: notes and the note form); without it, a redirect
back to the case screen. Invalid input answers 422 with the form and its errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from casework.cases.models import Case
from casework.cases.queries import (
    access_case,
    find_case_by_reference,
    list_open_tasks_of_case,
    list_resolution_codes,
)
from casework.cases.regrouping import forward_case, link_customer, merge_cases
from casework.cases.services import CaseChanges, add_note, assign_case, resolve_case, update_case
from casework.channels.email.outbound import find_mail_to_answer, reply_by_email
from casework.customers.models import Channel
from casework.customers.queries import (
    access_customer,
    customer_360,
    list_customers_by_ids,
    search_customers,
)
from casework.intake.classification import (
    CORRECTABLE_TASKS,
    TaskLabel,
    correct_label,
    correct_service_type,
    correctable_labels,
)
from casework.interactions.files import store_upload
from casework.interactions.models import Interaction
from casework.interactions.queries import list_for_case
from casework.kernel.actors import Actor
from casework.kernel.errors import NotFound
from casework.knowledge.queries import list_filled_templates
from casework.routing.queries import list_all_queues, list_assignable_agents
from casework.web.desk import desk_view, is_htmx
from casework.web.forms import (
    AssignForm,
    ClassificationForm,
    EmailReplyForm,
    ForwardForm,
    LinkCustomerForm,
    MergeCaseForm,
    NoteForm,
    PageForm,
    PriorityForm,
    ResolveForm,
    SearchForm,
    ServiceTypeForm,
    SplitForm,
    StatusForm,
)
from casework.web.templatetags.desk import label_name, task_label
from casework.web.views.process import process_context

SUMMARY = "web/cases/_summary.html"
NOTES = "web/cases/_notes.html"


@require_GET
@desk_view
def case_detail(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    return render(request, "web/cases/detail.html", _page_context(request, actor, case))


@require_POST
@desk_view
def case_note(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, actor, case, NOTES, note_form=form)
    add_note(case, form.cleaned_data["text"], actor=actor)
    messages.success(request, _("Note added."))
    return _changed(request, actor, case, NOTES)


@require_POST
@desk_view
def case_status(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, status_form=form)
    update_case(case, CaseChanges(status=form.cleaned_data["status"]), actor=actor)
    messages.success(request, _("Status changed."))
    return _changed(request, actor, case, SUMMARY)


@require_POST
@desk_view
def case_priority(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, priority_form=form)
    update_case(case, CaseChanges(priority=form.cleaned_data["priority"]), actor=actor)
    messages.success(request, _("Priority changed."))
    return _changed(request, actor, case, SUMMARY)


@require_POST
@desk_view
def case_service_type(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = ServiceTypeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, service_type_form=form)
    correct_service_type(case, form.cleaned_data["service_type"], actor=actor)
    messages.success(request, _("Service type changed; the classifier learns from it."))
    return _changed(request, actor, case, SUMMARY)


@require_POST
@desk_view
def case_classification(
    request: HttpRequest, actor: Actor, case_id: int, task: str
) -> HttpResponse:
    """An agent corrects the topic, urgency or sentiment of the case's first message."""
    case = access_case(actor, case_id)
    if task not in CORRECTABLE_TASKS:
        raise NotFound(_("“%(task)s” cannot be corrected here") % {"task": task})
    shown = {item.task: item for item in correctable_labels(case)}
    if task not in shown:
        raise NotFound(_("there is nothing to correct for “%(task)s”") % {"task": task})
    form = _classification_form(shown[task], data=request.POST)
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, classification_forms={task: form})
    correct_label(case, task, form.cleaned_data["label"], actor=actor)
    messages.success(request, _CORRECTED[task])
    return _changed(request, actor, case, SUMMARY)


_CORRECTED = {
    "topic": _lazy("Topic corrected; the classifier learns from it."),
    "urgency": _lazy("Urgency corrected; the classifier learns from it."),
    "sentiment": _lazy("Sentiment corrected; the classifier learns from it."),
}


def _classification_form(item: TaskLabel, data: Any = None) -> ClassificationForm:
    return ClassificationForm(
        data,
        prefix=item.task,
        task_label=task_label(item.task),
        choices=[(label, label_name(label)) for label in item.choices],
        initial={"label": item.label},
    )


@require_POST
@desk_view
def case_assign(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = AssignForm(request.POST, agents=list_assignable_agents(actor))
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, assign_form=form)
    agent = form.chosen_agent()
    assign_case(case, agent, actor=actor)
    if agent is None:
        messages.success(request, _("The case is back in its queue."))
    else:
        messages.success(request, _("Assigned to %(agent)s.") % {"agent": agent.display_name})
    return _changed(request, actor, case, SUMMARY)


@require_POST
@desk_view
def case_resolve(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = ResolveForm(request.POST, codes=list_resolution_codes())
    if not form.is_valid():
        return _invalid(request, actor, case, SUMMARY, resolve_form=form)
    resolve_case(
        case,
        resolution_code=form.cleaned_data["resolution_code"],
        note=form.cleaned_data["note"],
        actor=actor,
    )
    messages.success(request, _("Case resolved."))
    # Resolving changes more than the summary (the customer's open cases): reload all.
    return _reload_case(request, case)


@require_POST
@desk_view
def case_email_reply(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = EmailReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid_page(request, actor, case, email_form=form)
    reply_by_email(
        case,
        form.cleaned_data["text"],
        actor=actor,
        attachments=[store_upload(upload) for upload in form.cleaned_data["attachments"]],
        quote=form.cleaned_data["quote"],
    )
    messages.success(request, _("Your reply is on its way to the customer."))
    return _reload_case(request, case)


@require_POST
@desk_view
def case_forward(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = ForwardForm(request.POST, queues=list_all_queues())
    if not form.is_valid():
        return _invalid_page(request, actor, case, forward_form=form)
    queue = form.chosen_queue()
    forward_case(case, queue, note=form.cleaned_data["note"], actor=actor)
    messages.success(request, _("Forwarded to %(queue)s.") % {"queue": queue.name})
    # The case may now be out of the agent's sight (another team's queue): go to their work.
    return _refresh_or_redirect(request, "web:my_work")


@require_POST
@desk_view
def case_merge(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = MergeCaseForm(request.POST)
    if not form.is_valid():
        return _invalid_page(request, actor, case, merge_form=form)
    target = find_case_by_reference(actor, form.cleaned_data["reference"])
    if target is None:
        raise NotFound(
            _("case %(reference)s not found") % {"reference": form.cleaned_data["reference"]}
        )
    merged = merge_cases(case, target, actor=actor)
    messages.success(
        request,
        _("%(source)s was merged into %(target)s.")
        % {"source": case.reference, "target": merged.reference},
    )
    return _refresh_or_redirect(request, "web:case", case_id=merged.pk)


@require_POST
@desk_view
def case_link_customer(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = LinkCustomerForm(request.POST)
    if not form.is_valid():
        return _invalid_page(request, actor, case)
    customer = access_customer(actor, form.cleaned_data["customer"])
    link_customer(case, customer, actor=actor)
    messages.success(
        request,
        _("The case now belongs to %(customer)s.") % {"customer": customer.display_name},
    )
    return _refresh_or_redirect(request, "web:case", case_id=case.pk)


def _reload_case(request: HttpRequest, case: Case) -> HttpResponse:
    """The whole case screen again: htmx reloads the page, a plain form redirects to it."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("web:case", case_id=case.pk)


def _refresh_or_redirect(request: HttpRequest, to: str, **kwargs: Any) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse(to, kwargs=kwargs or None)
        return response
    return redirect(to, **kwargs)


def _invalid_page(request: HttpRequest, actor: Actor, case: Case, **bound: Form) -> HttpResponse:
    return render(
        request,
        "web/cases/detail.html",
        _page_context(request, actor, case, **bound),
        status=422,
    )


def _changed(request: HttpRequest, actor: Actor, case: Case, panel: str) -> HttpResponse:
    if not is_htmx(request):
        return redirect("web:case", case_id=case.pk)
    fresh = access_case(actor, case.pk)
    return render(request, panel, _panel_context(actor, fresh, panel, oob_flash=True))


def _invalid(
    request: HttpRequest, actor: Actor, case: Case, panel: str, **bound: Any
) -> HttpResponse:
    if is_htmx(request):
        return render(request, panel, _panel_context(actor, case, panel, **bound), status=422)
    return render(
        request, "web/cases/detail.html", _page_context(request, actor, case, **bound), status=422
    )


def _panel_context(actor: Actor, case: Case, panel: str, **extra: Any) -> dict[str, Any]:
    if panel == NOTES:
        return {**_notes_context(case, list_for_case(case.pk)), **extra}
    forms = extra.pop("classification_forms", None)
    return {**_summary_context(actor, case, forms), **extra}


def _summary_context(
    actor: Actor, case: Case, classification_forms: dict[str, ClassificationForm] | None = None
) -> dict[str, Any]:
    labels = correctable_labels(case)
    context: dict[str, Any] = {
        "case": case,
        "tasks": list_open_tasks_of_case(case.pk),
        "labels": labels,
    }
    if case.is_open:
        given = classification_forms or {}
        context["classification_forms"] = [
            (item.task, given.get(item.task) or _classification_form(item)) for item in labels
        ]
        context |= {
            "status_form": StatusForm(initial={"status": case.status}),
            "priority_form": PriorityForm(initial={"priority": case.priority}),
            "service_type_form": ServiceTypeForm(initial={"service_type": case.service_type}),
            "assign_form": AssignForm(
                agents=list_assignable_agents(actor), initial={"agent": case.owner_id}
            ),
            # A case with a process is resolved by its process (or an action it offers).
            "resolve_form": None
            if case.process_key
            else ResolveForm(codes=list_resolution_codes()),
        }
    return context


def _notes_context(case: Case, interactions: Sequence[Interaction]) -> dict[str, Any]:
    return {
        "case": case,
        "notes": [entry for entry in interactions if entry.channel == Channel.NOTE],
        "note_form": NoteForm(),
    }


def _page_context(request: HttpRequest, actor: Actor, case: Case, **bound: Any) -> dict[str, Any]:
    interactions = list_for_case(case.pk)
    forms = bound.pop("classification_forms", None)
    context = {
        **_summary_context(actor, case, forms),
        **_notes_context(case, interactions),
        "contacts": [entry for entry in interactions if entry.channel != Channel.NOTE],
        "can_reply_by_email": case.is_open and find_mail_to_answer(case) is not None,
        "email_form": EmailReplyForm(),
        "reply_templates": list_filled_templates(case, actor) if case.is_open else [],
        "can_split": case.is_open
        and sum(1 for entry in interactions if entry.channel != Channel.NOTE) > 1,
        "split_form": SplitForm(),
        **bound,
    }
    context.update(process_context(case))
    if case.is_open:
        context.setdefault("forward_form", ForwardForm(queues=list_all_queues()))
        context.setdefault("merge_form", MergeCaseForm())
    if case.customer_id is not None:
        page = PageForm.page_from(request.GET)
        context["view"] = customer_360(actor, case.customer_id, page=page)
    else:
        context["candidates"] = list_customers_by_ids(actor, candidate_customer_ids(interactions))
        find = SearchForm(request.GET)
        context["find_form"] = find
        if find.is_valid() and find.cleaned_data["q"]:
            context["found"] = search_customers(find.cleaned_data["q"], limit=10)
        context["link_form"] = LinkCustomerForm()
    return context


def candidate_customer_ids(interactions: Sequence[Interaction]) -> list[int]:
    """The customers intake could not decide between (ambiguous identification)."""
    ids: list[int] = []
    for entry in interactions:
        ids.extend(int(pk) for pk in entry.payload.get("candidate_customer_ids", []))
    return list(dict.fromkeys(ids))

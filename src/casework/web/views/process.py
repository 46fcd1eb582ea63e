"""The case's process on the case screen: the current step's work (a form generated from
the case type's schema, a task to finish, an approval, an exception to decide) and the
actions the stage offers. Thin: the case engine decides, these views parse and show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework.cases import process
from casework.cases.history import case_history
from casework.cases.models import OPEN_TASK_STATUSES, Case, CaseSla, Task, TaskKind
from casework.cases.queries import access_case
from casework.cases.sla import describe as describe_sla
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput, NotFound
from casework.web.desk import desk_view
from casework.web.process_forms import form_values, step_form


class ActionForm(forms.Form):
    action = forms.CharField(max_length=80)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.TextInput(attrs={"size": 40})
    )


@dataclass
class TaskPanel:
    task: Task
    title: str
    form: forms.Form | None
    fix_form: forms.Form | None = None
    outcome_form: forms.Form | None = None


def process_context(case: Case, *, bound: dict[int, forms.Form] | None = None) -> dict[str, Any]:
    """What the case screen shows of the process; empty for a case without one."""
    view = process.process_view(case)
    if view is None:
        return {}
    schema = view.definition.data_schema
    panels = []
    for task in (
        Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES)
        .exclude(kind=TaskKind.WORK, step_key="")
        .order_by("created_at", "pk")
    ):
        panels.append(_panel(task, case, schema, (bound or {}).get(task.pk)))
    language = (get_language() or "de")[:2]
    return {
        "process": view,
        "process_language": language,
        "process_tasks": panels,
        "action_form": ActionForm(),
        "slas": [(sla, describe_sla(sla)) for sla in CaseSla.objects.filter(case=case)],
        "history": case_history(case.pk),
    }


def _panel(task: Task, case: Case, schema: dict[str, Any], bound: forms.Form | None) -> TaskPanel:
    titles = task.details.get("title", {})
    title = titles.get((get_language() or "de")[:2]) or task.title
    panel = TaskPanel(task, title, None)
    if task.kind == TaskKind.FORM:
        panel.form = bound or step_form(
            schema,
            task.details.get("fields", []),
            task.details.get("required", []),
            initial=case.data,
            prefix=f"t{task.pk}",
        )
    elif task.kind == TaskKind.EXCEPTION:
        options = task.details.get("options", [])
        if "fix_data" in options:
            panel.fix_form = step_form(
                schema,
                list(schema.get("properties", {})),
                [],
                initial=case.data,
                prefix=f"f{task.pk}",
            )
        if "choose_outcome" in options and task.step_key:
            step = process.definition_of(case).step(task.step_key)
            outputs = list(getattr(step, "output_mapping", {}).items())
            panel.outcome_form = forms.Form(prefix=f"o{task.pk}")
            for output, field in outputs:
                panel.outcome_form.fields[output] = step_form(
                    schema, [field], [field], initial={}
                ).fields[field]
    return panel


@require_POST
@desk_view
def task_complete(request: HttpRequest, actor: Actor, case_id: int, task_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    task = Task.objects.filter(pk=task_id, case=case).first()
    if task is None:
        raise NotFound(_("task %(id)s not found") % {"id": task_id})
    note = request.POST.get("note", "").strip()[:2000]
    if task.kind == TaskKind.FORM:
        schema = process.definition_of(case).data_schema
        form = step_form(
            schema,
            task.details.get("fields", []),
            task.details.get("required", []),
            initial=case.data,
            data=request.POST,
            prefix=f"t{task.pk}",
        )
        if not form.is_valid():
            raise InvalidInput(_("please check the form: %(errors)s") % {"errors": _errors(form)})
        process.complete_task(task, actor=actor, data=form_values(form), note=note)
    elif task.kind == TaskKind.APPROVAL:
        decision = request.POST.get("decision")
        if decision not in ("approve", "decline"):
            raise InvalidInput(_("say whether you approve"), field="decision")
        process.complete_task(task, actor=actor, approved=decision == "approve", note=note)
    elif task.kind == TaskKind.EXCEPTION:
        option = request.POST.get("option", "")
        data = _exception_data(case, task, option, request)
        process.complete_task(task, actor=actor, option=option, data=data, note=note)
    else:
        process.complete_task(task, actor=actor, note=note)
    messages.success(request, _("Done. The case goes on."))
    return redirect("web:case", case_id=case.pk)


def _exception_data(case: Case, task: Task, option: str, request: HttpRequest) -> dict[str, Any]:
    panel = _panel(task, case, process.definition_of(case).data_schema, None)
    form = {"fix_data": panel.fix_form, "choose_outcome": panel.outcome_form}.get(option)
    if form is None:
        return {}
    bound = forms.Form(data=request.POST, prefix=form.prefix)
    bound.fields = form.fields
    if not bound.is_valid():
        raise InvalidInput(_("please check the form: %(errors)s") % {"errors": _errors(bound)})
    return form_values(bound)


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


@require_POST
@desk_view
def case_action(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = ActionForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("give a reason"), field="reason")
    process.take_action(
        case, form.cleaned_data["action"], reason=form.cleaned_data["reason"], actor=actor
    )
    messages.success(request, _("Done. The case goes on."))
    return redirect("web:case", case_id=case.pk)

"""The phone bar on every desk page: presence in one click, the screen pop of a call
ringing at the agent's line, the running call, its wrap-up, the callbacks to make.
`static/phone/phone.js` loads the bar and reloads it on the agent's real-time signals; its
forms post with htmx and get the bar back (plain posts return to the page they came from)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from casework.cases.models import CaseType
from casework.channels.phone import queries, services
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.routing.models import AgentStatus, PresenceState
from casework.routing.port import get_router
from casework.web.desk import back_url, desk_view, is_htmx


@require_GET
@desk_view
def bar(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _render_bar(request, actor)


def _render_bar(request: HttpRequest, actor: Actor) -> HttpResponse:
    if actor.id is None:  # an administrator without an agent profile has no line
        return HttpResponse("")
    current = queries.desk_call(actor.id)
    status = AgentStatus.objects.filter(agent_id=actor.id).select_related("presence").first()
    since = status.presence_since_at if status else None
    return render(
        request,
        "phone/_bar.html",
        {
            "status": status,
            # A state set on an earlier day shows its date too.
            "since_today": since is not None
            and clock.localtime(since).date() == clock.localtime(clock.now()).date(),
            "presence_states": PresenceState.objects.filter(is_selectable=True),
            "current": current,
            "caller": queries.caller_view(actor, current.call) if current else None,
            "wrap_up_codes": queries.wrap_up_codes() if current else [],
            "case_types": queries.case_types_for_calls() if current else [],
            "with_presence": not _on_chat_console(request),
            "callbacks": queries.callbacks_to_make(actor.id),
        },
    )


def _on_chat_console(request: HttpRequest) -> bool:
    """The chat console has its own presence switch: there the bar shows calls only."""
    page = urlsplit(request.headers.get("HX-Current-URL", "")).path
    return page.startswith(reverse("chat:console"))


def _done(request: HttpRequest, actor: Actor) -> HttpResponse:
    if is_htmx(request):
        return _render_bar(request, actor)
    return redirect(back_url(request))


@require_POST
@desk_view
def presence(request: HttpRequest, actor: Actor) -> HttpResponse:
    get_router().set_presence(actor.id or 0, request.POST.get("state", ""), actor=actor)
    return _done(request, actor)


@require_POST
@desk_view
def accept(request: HttpRequest, actor: Actor, item_id: int) -> HttpResponse:
    get_router().accept(item_id, actor=actor)
    return _done(request, actor)


@require_POST
@desk_view
def decline(request: HttpRequest, actor: Actor, item_id: int) -> HttpResponse:
    get_router().decline(item_id, actor=actor)
    return _done(request, actor)


@require_POST
@desk_view
def link_case(request: HttpRequest, actor: Actor, call_id: int) -> HttpResponse:
    services.link_to_case(call_id, _int(request.POST.get("case"), "case"), actor=actor)
    return _done(request, actor)


@require_POST
@desk_view
def new_case(request: HttpRequest, actor: Actor, call_id: int) -> HttpResponse:
    code = request.POST.get("case_type", "")
    case_type = CaseType.objects.filter(code=code, is_active=True).first()
    if case_type is None:
        raise InvalidInput(_("choose a case type"), field="case_type")
    case = services.open_case_for_call(
        call_id, case_type=case_type, subject=request.POST.get("subject", ""), actor=actor
    )
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("web:case", kwargs={"case_id": case.pk})
        return response
    return redirect("web:case", case_id=case.pk)


@require_POST
@desk_view
def register_caller(request: HttpRequest, actor: Actor, call_id: int) -> HttpResponse:
    services.register_caller(
        call_id,
        first_name=request.POST.get("first_name", ""),
        last_name=request.POST.get("last_name", ""),
        email=request.POST.get("email", ""),
        actor=actor,
    )
    return _done(request, actor)


@require_POST
@desk_view
def wrap_up(request: HttpRequest, actor: Actor, call_id: int) -> HttpResponse:
    services.wrap_up(
        call_id,
        code=request.POST.get("code", ""),
        note=request.POST.get("note", ""),
        actor=actor,
    )
    return _done(request, actor)


def _int(value: str | None, field: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise InvalidInput(_("choose one"), field=field) from None

"""The chat on the web: the widget's HTTP fallback (when WebSockets are blocked), a page
that shows the widget as a website embeds it, and the agents' chat console.

Thin: `chat.services` writes, `chat.queries` reads. The widget's endpoints speak JSON, are
open to every site that embeds the widget (CORS without credentials) and act only on the
chat token the widget holds; the portal's session counts only on our own pages."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.cases.queries import access_case
from casework.chat import queries, services
from casework.chat.identity import read_identity, sign_identity
from casework.chat.models import Conversation
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput
from casework.knowledge.queries import list_filled_templates
from casework.routing.models import Agent, PresenceState, Queue, WorkItem
from casework.routing.port import get_router
from casework.routing.queries import find_agent_status
from casework.web.desk import desk_view, is_htmx

# --- The widget's HTTP fallback ---


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    return response


def _json(data: dict[str, Any], status: int = 200) -> HttpResponse:
    return _cors(JsonResponse(data, status=status))


def _error(error: DomainError) -> HttpResponse:
    return _json(
        {"type": "error", "code": error.code, "message": str(error.message), **error.details},
        status=error.status,
    )


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(_("the request body is not valid JSON")) from error
    if not isinstance(data, dict):
        raise InvalidInput(_("the request body must be a JSON object"))
    return data


def widget_api(view):  # noqa: ANN001, ANN201
    """JSON in and out, CORS, preflight answered, domain errors as JSON with their status."""

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204))
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return _error(error)

    return wrapper


@widget_api
@require_http_methods(["POST", "OPTIONS"])
def api_hello(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    language = str(data.get("language") or "de")[:2]
    customer, context = None, {}
    if data.get("identity"):
        proved = read_identity(str(data["identity"]))
        customer, context = proved.customer, proved.context
    elif _same_site(request):
        from casework.portal.sessions import signed_in_customer

        customer = signed_in_customer(request)
    with translation.override(language):
        conversation = services.resume_or_start(
            token=str(data.get("token") or ""),
            client_address=request.META.get("REMOTE_ADDR") or None,
            language=language,
            page_url=str(data.get("page") or "")[:1000],
            customer=customer,
            context=context,
        )
    after = data.get("after") if isinstance(data.get("after"), int) else 0
    return _json(
        {
            "type": "welcome",
            "token": conversation.token,
            "state": conversation.state,
            "messages": _messages(conversation, after),
        }
    )


def _same_site(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.get_host()}"


def _messages(conversation: Conversation, after: int) -> list[dict[str, Any]]:
    return [services.message_json(m) for m in services.messages_after(conversation, after)]


@widget_api
@require_http_methods(["GET", "POST", "OPTIONS"])
def api_messages(request: HttpRequest) -> HttpResponse:
    """GET: the messages after `after` (the widget polls); POST: the visitor sends one."""
    if request.method == "GET":
        conversation = services.get_conversation(request.GET.get("token", ""))
        try:
            after = int(request.GET.get("after", "0"))
        except ValueError as error:
            raise InvalidInput(_("after must be a message number"), field="after") from error
        return _json({"state": conversation.state, "messages": _messages(conversation, after)})
    data = _body(request)
    client_id = str(data.get("id") or "")
    posted = services.post_customer_message(
        str(data.get("token") or ""), str(data.get("text") or ""), client_id=client_id
    )
    return _json({"type": "ack", "id": client_id, "seq": posted.message.seq})


@widget_api
@require_http_methods(["POST", "OPTIONS"])
def api_upload(request: HttpRequest) -> HttpResponse:
    """A file from the visitor (multipart: `token`, `id`, `file`)."""
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput(_("choose a file to send"), field="file")
    client_id = request.POST.get("id", "")
    posted = services.post_customer_file(
        request.POST.get("token", ""),
        upload.name or "",
        b"".join(upload.chunks()),  # bounded by the request size limit
        client_id=client_id,
    )
    return _json({"type": "ack", "id": client_id, "seq": posted.message.seq})


@widget_api
@require_http_methods(["POST", "OPTIONS"])
def api_identify(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    found = services.identify_visitor(
        str(data.get("token") or ""),
        name=str(data.get("name") or ""),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
    )
    return _json({"type": "identified", "known": found})


@widget_api
@require_http_methods(["POST", "OPTIONS"])
def api_leave(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    conversation = services.end_conversation(str(data.get("token") or ""), actor=services.SYSTEM)
    return _json({"type": "left", "state": conversation.state})


@require_GET
def widget_demo(request: HttpRequest) -> HttpResponse:
    """A plain page with the widget as any website embeds it (the snippet is shown too)."""
    identity = request.GET.get("identity", "")
    return render(
        request,
        "chat/widget_demo.html",
        {"identity": identity, "snippet_src": request.build_absolute_uri("/static/chat/widget.js")},
    )


def identity_for(customer_number: str | None, **context: Any) -> str:
    """For our own pages that embed the widget for a customer they know."""
    return sign_identity(customer_number, context=context)


# --- The agents' chat console ---


class TransferForm(forms.Form):
    """To a colleague (the router offers it to them first) or to a queue's agents."""

    agent = forms.ModelChoiceField(
        queryset=Agent.objects.select_related("user").order_by("user__username"),
        required=False,
        label=_lazy("colleague"),
    )
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.order_by("code"), required=False, label=_lazy("queue")
    )
    note = forms.CharField(max_length=1000, required=False, label=_lazy("note for them"))


class EndForm(forms.Form):
    wrap_up = forms.CharField(max_length=2000, required=False)


@require_GET
@desk_view
def console(request: HttpRequest, actor: Actor) -> HttpResponse:
    chats = list(queries.open_chats(actor.id or 0))
    chosen = request.GET.get("chat")
    current = next((c for c in chats if str(c.pk) == chosen), chats[0] if chats else None)
    return render(request, "chat/console.html", _console_context(actor, current, chats))


@require_GET
@desk_view
def console_sidebar(request: HttpRequest, actor: Actor) -> HttpResponse:
    chats = list(queries.open_chats(actor.id or 0))
    current_id = request.GET.get("chat")
    return render(
        request,
        "chat/_sidebar.html",
        {
            "offers": queries.pending_offers(actor.id or 0),
            "chats": chats,
            "current_id": int(current_id) if current_id and current_id.isdigit() else None,
            **_presence_context(actor),
        },
    )


def _presence_context(actor: Actor) -> dict[str, Any]:
    status = find_agent_status(actor.id or 0)
    return {
        "presence": status.presence if status else None,
        "presence_states": PresenceState.objects.filter(is_selectable=True).order_by("code"),
    }


def _console_context(
    actor: Actor, current: Conversation | None, chats: list[Conversation]
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "offers": queries.pending_offers(actor.id or 0),
        "chats": chats,
        "current": current,
        "current_id": current.pk if current else None,
        "transfer_form": TransferForm(),
        "end_form": EndForm(),
        **_presence_context(actor),
    }
    if current is not None:
        context["messages_"] = queries.transcript_messages(current)
        context["articles"] = queries.knowledge_for(current)
        context["templates"] = list_filled_templates(current.case, actor) if current.case else []
        context["other_cases"] = queries.other_open_cases(current, actor)
    return context


@require_POST
@desk_view
def accept(request: HttpRequest, actor: Actor, item_id: int) -> HttpResponse:
    """Take an offered chat (into the console) or callback (to its case)."""
    if WorkItem.objects.filter(pk=item_id, channel="chat").exists():
        conversation = services.accept_chat(item_id, actor=actor)
        return redirect(f"{reverse('chat:console')}?chat={conversation.pk}")
    item = services.accept_callback(item_id, actor=actor)
    if item.case_id:
        return redirect("web:case", case_id=item.case_id)
    if item.customer_id:  # booked in the portal or the phone menu: who to call
        return redirect("web:customer", customer_id=item.customer_id)
    return redirect("chat:console")


@require_POST
@desk_view
def presence(request: HttpRequest, actor: Actor) -> HttpResponse:
    """One click: available for chats and calls, on a break, offline."""
    get_router().set_presence(actor.id or 0, request.POST.get("state", ""), actor=actor)
    return redirect(request.POST.get("next") or reverse("chat:console"))


@require_POST
@desk_view
def decline(request: HttpRequest, actor: Actor, item_id: int) -> HttpResponse:
    get_router().decline(item_id, actor=actor)
    return redirect("chat:console")


@require_POST
@desk_view
def send(request: HttpRequest, actor: Actor, conversation_id: int) -> HttpResponse:
    services.post_agent_message(
        conversation_id,
        request.POST.get("text", ""),
        actor=actor,
        is_internal=request.POST.get("internal") == "1",
    )
    if is_htmx(request):
        return HttpResponse(status=204)
    return redirect(f"{reverse('chat:console')}?chat={conversation_id}")


@require_POST
@desk_view
def transfer(request: HttpRequest, actor: Actor, conversation_id: int) -> HttpResponse:
    form = TransferForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("choose a colleague or a queue to transfer the chat to"), field="to")
    queue = form.cleaned_data["queue"]
    services.transfer(
        conversation_id,
        actor=actor,
        note=form.cleaned_data["note"],
        to_agent=form.cleaned_data["agent"],
        to_queue=queue.code if queue else None,
    )
    return redirect("chat:console")


@require_POST
@desk_view
def link(request: HttpRequest, actor: Actor, conversation_id: int) -> HttpResponse:
    case_id = request.POST.get("case", "")
    if not case_id.isdigit():
        raise InvalidInput(_("choose the case to link the chat to"), field="case")
    services.link_to_case(conversation_id, access_case(actor, int(case_id)), actor=actor)
    return redirect(f"{reverse('chat:console')}?chat={conversation_id}")


@require_POST
@desk_view
def end(request: HttpRequest, actor: Actor, conversation_id: int) -> HttpResponse:
    form = EndForm(request.POST)
    wrap_up = form.cleaned_data["wrap_up"] if form.is_valid() else ""
    services.end_conversation(conversation_id=conversation_id, actor=actor, wrap_up=wrap_up)
    return redirect("chat:console")

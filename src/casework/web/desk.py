"""What every agent-desktop view shares: sign-in, the actor, and the one place where a
`DomainError` becomes something the agent sees.

A view decorated with `desk_view` receives the `Actor` as its second argument. Errors:
`NotFound` is a 404 page for "missing" and "not yours" alike; any other `DomainError`
becomes a message banner (after a normal POST: on the page the form came from; after an
htmx request: swapped into the banner area) or, on a GET, an error page with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, NotFound
from casework.routing.queries import actor_for_user

P = ParamSpec("P")

# What the agent reads first, by HTTP status; the domain's own message follows it.
_ERROR_TITLES = {
    400: _("This could not be done."),
    403: _("You are not allowed to do this."),
    404: _("Not found."),
    409: _("This is not possible in the current state."),
    422: _("The input is not valid."),
}


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def desk_view(
    view: Callable[Concatenate[HttpRequest, Actor, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if is_htmx(request):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                return response
            return redirect_to_login(request.get_full_path())
        actor = actor_for_user(request.user)
        if actor is None:
            return error_page(
                request,
                status=403,
                title=_("No agent account"),
                message=_("Your user account is not set up as an agent. Ask an administrator."),
            )
        request.actor = actor  # type: ignore[attr-defined]  # for the navigation
        try:
            return view(request, actor, *args, **kwargs)
        except DomainError as error:
            return domain_error_response(request, error)

    return wrapper


def error_text(error: DomainError) -> str:
    title = _ERROR_TITLES.get(error.status, _ERROR_TITLES[400])
    # The domain translates its messages when it raises them, in the request's language.
    # Domain messages are written to fit mid-sentence (API, import reports); as a sentence
    # of their own they start upper-case and end with a full stop.
    sentence = capfirst(error.message)
    if not sentence.endswith((".", "!", "?")):
        sentence += "."
    return f"{title} {sentence}"


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    if is_htmx(request):
        messages.error(request, error_text(error))
        response = render(request, "web/_flash.html", status=error.status)
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "outerHTML"
        return response
    if isinstance(error, NotFound) or request.method != "POST":
        title = _ERROR_TITLES.get(error.status, _ERROR_TITLES[400])
        return error_page(request, status=error.status, title=title, message=error.message)
    messages.error(request, error_text(error))
    return redirect(back_url(request))


def back_url(request: HttpRequest) -> str:
    """Where a normal form POST returns to: its `next` field or the page it came from."""
    for candidate in (request.POST.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return resolve_url("web:my_work")


def error_page(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "web/error.html", {"title": title, "message": message}, status=status)

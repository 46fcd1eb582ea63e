"""The customer portal's pages. Thin: `casework.portal` decides and writes; these views
parse the request, know who is signed in (`portal.sessions`), pick the customer's
language, call one service and render.

Every page but the sign-in pages needs a signed-in customer; every object a URL names is
loaded through the portal's scoped accessors, which answer "not found" alike for missing
and for someone else's. Signed-in pages are never cached.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.customers.models import Channel, Consent, Customer
from casework.interactions.files import read_bytes
from casework.kernel.errors import DomainError, InvalidInput, NotFound
from casework.portal import callbacks as portal_callbacks
from casework.portal import cases as portal_cases
from casework.portal import offers as portal_offers
from casework.portal import preferences as portal_preferences
from casework.portal import request_forms, signin
from casework.portal.sessions import end_session, signed_in_customer, start_session
from casework.portal.uploads import ALLOWED_TYPES, Upload, max_upload_bytes

P = ParamSpec("P")
LANGUAGE_KEY = "portal_language"
NEXT_KEY = "portal_next"


@dataclass(frozen=True)
class PortalContext:
    customer: Customer | None
    language: str


def client_of(request: HttpRequest) -> signin.Client:
    # The direct peer's address: behind a proxy, the proxy sets REMOTE_ADDR (docs/portal.md).
    return signin.Client(
        address=request.META.get("REMOTE_ADDR", "") or "",
        user_agent=request.headers.get("User-Agent", ""),
    )


def portal_language(request: HttpRequest, customer: Customer | None) -> str:
    """The switch's choice, else the customer's language, else the browser's."""
    chosen = request.session.get(LANGUAGE_KEY)
    if chosen in ("de", "en"):
        return str(chosen)
    if customer is not None and customer.language[:2] in ("de", "en"):
        return customer.language[:2]
    return (translation.get_language_from_request(request) or "de")[:2]


def _portal(
    *, signed_in: bool
) -> Callable[
    [Callable[Concatenate[HttpRequest, Any, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    def decorate(
        view: Callable[Concatenate[HttpRequest, Any, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            customer = signed_in_customer(request)
            language = portal_language(request, customer)
            with translation.override(language):
                if signed_in and customer is None:
                    request.session[NEXT_KEY] = request.get_full_path()
                    return redirect("portal:sign_in")
                request.portal = PortalContext(customer, language)  # type: ignore[attr-defined]
                try:
                    response = view(request, customer, *args, **kwargs)
                except DomainError as error:
                    response = _error_page(request, error)
                response["Content-Language"] = language
            if customer is not None:
                add_never_cache_headers(response)
            return response

        return wrapper

    return decorate


customer_page = _portal(signed_in=True)
public_page = _portal(signed_in=False)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        f"portal/{template}",
        {"portal": request.portal, **context},  # type: ignore[attr-defined]
        status=status,
    )


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    title = _("Not found") if isinstance(error, NotFound) else _("This did not work")
    return _render(
        request, "error.html", {"title": title, "message": error.message}, status=error.status
    )


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if (
        candidate
        and candidate.startswith("/portal/")
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()})
    ):
        return candidate
    return None


# -- signing in and out ----------------------------------------------------------------------


@require_GET
@public_page
def home(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    return redirect("portal:cases" if customer is not None else "portal:sign_in")


@require_http_methods(["GET", "POST"])
@public_page
def sign_in(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    if request.method == "GET":
        return _render(request, "sign_in.html", {"email": "", "section": "sign_in"})
    email = request.POST.get("email", "")
    try:
        signin.request_sign_in_link(
            email,
            client=client_of(request),
            language=request.portal.language,  # type: ignore[attr-defined]
        )
    except InvalidInput as error:
        return _render(
            request, "sign_in.html", {"email": email, "link_error": error.message}, status=422
        )
    except signin.RateLimited as error:
        return _render(
            request, "sign_in.html", {"email": email, "link_error": error.message}, status=429
        )
    # The same answer whether or not the address is a customer's.
    return redirect("portal:link_sent")


@require_GET
@public_page
def link_sent(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    return _render(request, "link_sent.html", {"minutes": signin.link_minutes()})


@require_POST
@public_page
def password_sign_in(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    email = request.POST.get("email", "")
    try:
        found = signin.sign_in_with_password(
            email, request.POST.get("password", ""), client=client_of(request)
        )
    except (InvalidInput, signin.RateLimited) as error:
        return _render(
            request,
            "sign_in.html",
            {"password_email": email, "password_error": error.message},
            status=error.status,
        )
    if found is None:
        return _render(
            request,
            "sign_in.html",
            {
                "password_email": email,
                "password_error": _("The e-mail address or the password is not right."),
            },
            status=422,
        )
    return _signed_in(request, found)


@require_http_methods(["GET", "POST"])
@public_page
def link(request: HttpRequest, customer: Customer | None, token: str) -> HttpResponse:
    # A GET only asks: mail scanners that open links must not use them up.
    if request.method == "GET":
        state = signin.link_state(token)
        context: dict[str, Any] = {"token": token, "state": state.value}
        if state != signin.LinkState.VALID:
            context["message"] = signin.invalid_link_message(state)
        response = _render(
            request,
            "link.html",
            context,
            status=200 if state == signin.LinkState.VALID else 410,
        )
    else:
        try:
            found = signin.redeem_link(token, client=client_of(request))
        except signin.InvalidLink as error:
            response = _render(
                request,
                "link.html",
                {"token": token, "state": "invalid", "message": error.message},
                status=410,
            )
        else:
            response = _signed_in(request, found)
    # The token is in this page's address: it must not travel on as a referrer.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _signed_in(request: HttpRequest, customer: Customer) -> HttpResponse:
    wanted = request.session.pop(NEXT_KEY, None)
    start_session(request, customer)
    return redirect(_safe_next(request, wanted) or reverse("portal:cases"))


@require_POST
@public_page
def sign_out(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    if customer is not None:
        signin.record_sign_out(customer, client=client_of(request))
    end_session(request)
    messages.info(request, _("You are signed out."))
    return redirect("portal:sign_in")


@require_POST
@public_page
def language(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    chosen = request.POST.get("language", "")
    if chosen in ("de", "en"):
        request.session[LANGUAGE_KEY] = chosen
    return redirect(_safe_next(request, request.POST.get("next")) or reverse("portal:home"))


# -- cases -------------------------------------------------------------------------------------


@require_GET
@customer_page
def cases(request: HttpRequest, customer: Customer) -> HttpResponse:
    rows = [
        {"case": case, "status": portal_cases.status_words(case)}
        for case in portal_cases.list_cases_of(customer)
    ]
    return _render(request, "cases.html", {"rows": rows, "section": "cases"})


def _case_context(customer: Customer, case_id: int) -> dict[str, Any]:
    case = portal_cases.access_case(customer, case_id)
    return {
        "case": case,
        "status": portal_cases.status_words(case),
        "history": portal_cases.list_history(customer, case),
        "submission_id": uuid.uuid4().hex,
        "accept": ",".join(f".{extension}" for extension in ALLOWED_TYPES),
        "allowed_types": ", ".join(
            sorted({extension.upper() for extension in ALLOWED_TYPES if extension != "jpeg"})
        ),
        "max_bytes": max_upload_bytes(),
        "section": "cases",
    }


@require_GET
@customer_page
def case(request: HttpRequest, customer: Customer, case_id: int) -> HttpResponse:
    return _render(request, "case.html", _case_context(customer, case_id))


@require_POST
@customer_page
def reply(request: HttpRequest, customer: Customer, case_id: int) -> HttpResponse:
    case = portal_cases.access_case(customer, case_id)
    text = request.POST.get("text", "")
    uploads = [
        Upload(filename=upload.name or "", content=upload.read())
        for upload in request.FILES.getlist("files")
    ]
    try:
        portal_cases.reply_to_case(
            customer,
            case,
            portal_cases.Reply(
                text=text, uploads=uploads, submission_id=request.POST.get("submission_id", "")
            ),
        )
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context = _case_context(customer, case_id)
        return _render(
            request,
            "case.html",
            {**context, "text": text, "reply_error": error.message},
            status=error.status,
        )
    messages.success(request, _("Thank you, your message has been sent."))
    return redirect(reverse("portal:case", kwargs={"case_id": case.pk}) + "#history-end")


@require_GET
@customer_page
def attachment(request: HttpRequest, customer: Customer, attachment_id: int) -> HttpResponse:
    document = portal_cases.access_attachment(customer, attachment_id)
    response = FileResponse(
        io.BytesIO(read_bytes(document.sha256)),
        content_type=document.content_type,
        as_attachment=True,
        filename=document.filename,
    )
    response["Content-Security-Policy"] = "sandbox"
    return response


# -- requests ------------------------------------------------------------------------------------


@require_GET
@customer_page
def requests(request: HttpRequest, customer: Customer) -> HttpResponse:
    forms = request_forms.list_offered_forms(request.portal.language)  # type: ignore[attr-defined]
    return _render(request, "requests.html", {"forms": forms, "section": "requests"})


@require_http_methods(["GET", "POST"])
@customer_page
def request_form(request: HttpRequest, customer: Customer, code: str) -> HttpResponse:
    language = request.portal.language  # type: ignore[attr-defined]
    offered = request_forms.get_offered_form(code, language)
    specs = request_forms.field_specs(offered, language)
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {spec.name: request.POST.get(spec.name, "") for spec in specs}
        try:
            created = request_forms.submit_request(
                customer,
                offered,
                values,
                submission_id=request.POST.get("submission_id", ""),
                language=language,
            )
        except request_forms.FormInvalid as error:
            errors, status = error.errors, error.status
        except InvalidInput as error:
            errors, status = {"": [error.message]}, error.status
        else:
            messages.success(
                request,
                _("Thank you, your request has been received. Its reference is %(reference)s.")
                % {"reference": created.reference},
            )
            return redirect("portal:case", case_id=created.pk)
    fields = [
        {"spec": spec, "value": values.get(spec.name, ""), "errors": errors.get(spec.name, [])}
        for spec in specs
    ]
    return _render(
        request,
        "request_form.html",
        {
            "offered": offered,
            "fields": fields,
            "form_errors": errors.get("", []),
            "has_errors": bool(errors),
            "submission_id": request.POST.get("submission_id") or uuid.uuid4().hex,
            "section": "requests",
        },
        status=status,
    )


# -- offers --------------------------------------------------------------------------------------


@require_GET
@customer_page
def offers(request: HttpRequest, customer: Customer) -> HttpResponse:
    rows = portal_offers.list_portal_offers(customer, request.portal.language)  # type: ignore[attr-defined]
    return _render(request, "offers.html", {"rows": rows, "section": "offers"})


@require_http_methods(["GET", "POST"])
@customer_page
def offer(request: HttpRequest, customer: Customer, code: str) -> HttpResponse:
    language = request.portal.language  # type: ignore[attr-defined]
    error_message, status = "", 200
    if request.method == "POST":
        is_accepted = request.POST.get("answer") == "accept"
        try:
            result = portal_offers.answer_offer(
                customer,
                code,
                is_accepted=is_accepted,
                is_confirmed=request.POST.get("confirm") == "yes",
                shown_sha256=request.POST.get("text_sha256", ""),
                client=client_of(request),
                language=language,
            )
        except NotFound:
            raise
        except DomainError as error:
            if error.code == "offer_unknown":
                raise NotFound(_("This offer is not available to you.")) from error
            error_message, status = error.message, error.status
        else:
            if not result.is_new:
                messages.info(request, _("You had answered this offer already."))
            elif is_accepted:
                messages.success(request, _("Thank you, you have accepted the offer."))
            else:
                messages.info(request, _("You have declined the offer."))
            return redirect("portal:offer", code=code)
    row = portal_offers.get_offer_page(customer, code, language)
    return _render(
        request,
        "offer.html",
        {
            "row": row,
            "accepted": portal_offers.find_acceptance(customer, code),
            "error": error_message,
            "section": "offers",
        },
        status=status,
    )


# -- settings ------------------------------------------------------------------------------------


def _settings_context(customer: Customer, **extra: Any) -> dict[str, Any]:
    consents = portal_preferences.current_consents(customer)
    return {
        "channels": [
            (value, Channel(value).label) for value in portal_preferences.PREFERRED_CHANNELS
        ],
        "languages": [("de", "Deutsch"), ("en", "English")],
        "consents": [
            {"purpose": value, "label": label, "is_granted": bool(consents.get(value))}
            for value, label in Consent.Purpose.choices
        ],
        "has_password": signin.has_password(customer),
        "section": "settings",
        **extra,
    }


@require_http_methods(["GET", "POST"])
@customer_page
def callback(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Book a callback: a number and a two-hour slot; the open ones can be called off."""
    error = None
    if request.method == "POST":
        try:
            portal_callbacks.book(
                customer,
                number=request.POST.get("number", ""),
                slot=request.POST.get("slot", ""),
                note=request.POST.get("note", ""),
            )
        except InvalidInput as invalid:
            error = invalid.message
        else:
            messages.success(request, _("We will call you back in the time you chose."))
            return redirect("portal:callback")
    return _render(
        request,
        "callback.html",
        {
            "section": "callback",
            "numbers": portal_callbacks.phone_numbers(customer),
            "slots": portal_callbacks.slots(),
            "open_callbacks": portal_callbacks.open_callbacks(customer),
            "error": error,
        },
        status=422 if error else 200,
    )


@require_POST
@customer_page
def callback_cancel(request: HttpRequest, customer: Customer, callback_id: int) -> HttpResponse:
    portal_callbacks.cancel(customer, callback_id)
    messages.success(request, _("The callback is cancelled."))
    return redirect("portal:callback")


@require_http_methods(["GET", "POST"])
@customer_page
def settings_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    if request.method == "GET":
        return _render(request, "settings.html", _settings_context(customer))
    wanted = portal_preferences.Preferences(
        preferred_channel=request.POST.get("preferred_channel", ""),
        language=request.POST.get("language", ""),
        consents={
            purpose: request.POST.get(f"consent_{purpose}") == "yes"
            for purpose in Consent.Purpose.values
        },
    )
    try:
        changed = portal_preferences.change_preferences(customer, wanted, client=client_of(request))
    except InvalidInput as error:
        return _render(
            request,
            "settings.html",
            _settings_context(customer, preferences_error=error.message),
            status=error.status,
        )
    if changed and wanted.language != request.portal.language:  # type: ignore[attr-defined]
        request.session[LANGUAGE_KEY] = wanted.language
    messages.success(
        request, _("Your settings are saved.") if changed else _("Nothing was changed.")
    )
    return redirect("portal:settings")


@require_POST
@customer_page
def password(request: HttpRequest, customer: Customer) -> HttpResponse:
    try:
        signin.set_password(
            customer, request.POST.get("password1", ""), request.POST.get("password2", "")
        )
    except InvalidInput as error:
        return _render(
            request,
            "settings.html",
            _settings_context(customer, password_error=error.message),
            status=error.status,
        )
    messages.success(request, _("Your password is set."))
    return redirect("portal:settings")

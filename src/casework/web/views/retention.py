"""Retention on the web: the customer's response page behind the link and QR code of a
campaign (no sign-in: the code is the key), the open-tracking image and unsubscribing;
on the desk, an agent recording a response given on the phone, the mail room uploading
scanned response cards, and the campaigns with their print runs."""

from __future__ import annotations

import base64

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.cases.queries import access_attachment
from casework.chat.identity import sign_identity
from casework.customers.queries import access_customer
from casework.interactions.files import read_bytes
from casework.kernel.actors import Actor
from casework.kernel.errors import PermissionDenied
from casework.offers.models import Offer
from casework.retention import campaigns, queue, scans
from casework.retention.models import Campaign, CampaignChannel, ResponseChannel
from casework.retention.queries import campaign_figures
from casework.retention.responses import IncomingResponse, receive
from casework.web.desk import desk_view

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PUBLIC_ACTOR = Actor.system("response-page")


@never_cache
@require_http_methods(["GET", "POST"])
def response_page(request: HttpRequest, code: str) -> HttpResponse:
    recipient = campaigns.recipient_for_code(code)
    if recipient is None:
        return render(request, "web/retention/unknown_code.html", {"code": code}, status=404)
    language = "en" if recipient.customer.language.startswith("en") else "de"
    with translation.override(language):
        page = {
            "recipient": recipient,
            "offer_name": recipient.offer.name_in(language),
            "description": recipient.offer.description(language),
            # The personal link proves who the customer is: the chat starts knowing them
            # and the offer they came for.
            "chat_identity": sign_identity(
                recipient.customer.customer_number,
                context={"offer": recipient.offer.code, "campaign": recipient.campaign.code},
            ),
            "language": language,
        }
        if request.method == "GET":
            campaigns.record_click(recipient)
            return render(request, "web/retention/response.html", page)
        choice = request.POST.get("choice", "")
        if choice not in ("accept", "decline"):
            page["error"] = _("Please choose yes or no.")
            return render(request, "web/retention/response.html", page, status=422)
        # Decided by the worker with other answers (ADR 18); the page waits a moment to
        # show the outcome, else it says the confirmation follows.
        accepted = queue.accept(
            IncomingResponse(channel=ResponseChannel.WEB, code=code, choice=choice),
            actor=Actor.customer(recipient.customer_id),
        )
        entry = queue.wait_until_received(
            accepted.entry, seconds=settings.CASEWORK_RETENTION_PAGE_WAIT_SECONDS
        )
        return render(request, "web/retention/response_done.html", {"response": entry.response})


@never_cache
@require_GET
def response_opened(request: HttpRequest, code: str) -> HttpResponse:
    recipient = campaigns.recipient_for_code(code)
    if recipient is not None:
        campaigns.record_open(recipient)
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, code: str) -> HttpResponse:
    recipient = campaigns.recipient_for_code(code)
    if recipient is None:
        return render(request, "web/retention/unknown_code.html", {"code": code}, status=404)
    with translation.override(recipient.customer.language or "de"):
        done = request.method == "POST"
        if done:
            campaigns.unsubscribe(recipient)
        return render(
            request, "web/retention/unsubscribe.html", {"recipient": recipient, "done": done}
        )


class PhoneResponseForm(forms.Form):
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.filter(is_active=True, kind="offer"),
        required=False,
        label=gettext_lazy("Offer"),
        to_field_name="code",
    )
    code = forms.CharField(
        required=False, max_length=40, label=gettext_lazy("Response code (if the customer has one)")
    )
    choice = forms.ChoiceField(
        choices=[("accept", gettext_lazy("accepts")), ("decline", gettext_lazy("declines"))],
        label=gettext_lazy("The customer"),
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Note"),
    )

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("offer") and not data.get("code"):
            raise forms.ValidationError(_("Choose the offer or enter the response code."))
        return data


@require_POST
@desk_view
def phone_response(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    customer = access_customer(actor, customer_id)
    form = PhoneResponseForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("web:customer", customer_id=customer.pk)
    received = receive(
        IncomingResponse(
            channel=ResponseChannel.PHONE,
            code=form.cleaned_data["code"],
            choice=form.cleaned_data["choice"],
            customer=customer,
            offer_code=form.cleaned_data["offer"].code if form.cleaned_data["offer"] else "",
            remarks=form.cleaned_data["note"],
            agent_user_id=request.user.pk,
        ),
        actor=actor,
    )
    response = received.response
    if response.case_id:
        messages.success(
            request,
            _("The response is recorded; retention order %(reference)s is open.")
            % {"reference": response.case.reference},
        )
        return redirect("web:case", case_id=response.case_id)
    messages.success(request, _("The customer's answer is recorded."))
    return redirect("web:customer", customer_id=customer.pk)


class ScanUploadForm(forms.Form):
    scan = forms.FileField(label=gettext_lazy("Scanned response cards (PDF or image)"))


@require_http_methods(["GET", "POST"])
@desk_view
def scan_upload(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = ScanUploadForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = scans.receive_scan_upload(form.cleaned_data["scan"], actor=actor)
    return render(request, "web/retention/scans.html", {"form": form, "results": results})


@require_POST
@desk_view
def attachment_as_scan(request: HttpRequest, actor: Actor, attachment_id: int) -> HttpResponse:
    """A scanned card that came by e-mail: read like an upload, the results shown."""
    attachment = access_attachment(actor, attachment_id)
    results = scans.receive_scan(
        read_bytes(attachment.sha256),
        filename=attachment.filename,
        content_type=attachment.content_type,
        actor=actor,
        source="email",
    )
    return render(
        request, "web/retention/scans.html", {"form": ScanUploadForm(), "results": results}
    )


def _require_supervisor(actor: Actor) -> None:
    if not (actor.is_admin or actor.role == "supervisor"):
        raise PermissionDenied(_("only supervisors and administrators may do this"))


@require_GET
@desk_view
def campaign_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    _require_supervisor(actor)
    return render(request, "web/retention/campaigns.html", {"campaigns": campaign_figures()})


@require_POST
@desk_view
def campaign_letters(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    """The next print run of a letter campaign, as one PDF."""
    _require_supervisor(actor)
    campaign = get_object_or_404(Campaign, pk=campaign_id, channel=CampaignChannel.LETTER)
    pdf, count = campaigns.print_letters(campaign)
    if not count:
        messages.info(request, _("There are no letters left to print."))
        return redirect("web:campaigns")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{campaign.code}-letters.pdf"'
    return response

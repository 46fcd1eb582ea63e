"""One contact of a case, read closely: the mail's original formatting, its headers and
original bytes, its attachments; and splitting it off into a case of its own.

The original formatting is HTML from strangers. It was sanitised when it arrived (nh3);
here it is also served as a document of its own, loaded into a sandboxed iframe (no
scripts, no same-origin access) under a Content-Security-Policy that allows neither
scripts nor remote content — three fences, so one mistake is not a breach.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from casework.cases.queries import access_attachment, access_contact
from casework.cases.regrouping import split_off
from casework.channels.email.reading import header_block, original_message
from casework.interactions.files import path_for
from casework.kernel.actors import Actor
from casework.kernel.errors import NotFound
from casework.web.desk import desk_view, is_htmx
from casework.web.forms import SplitForm

# Inline styles are what HTML mail is made of; everything else stays shut. Images only as
# inline data: a remote image would tell the sender that the mail was read.
MAIL_DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


@require_GET
@xframe_options_sameorigin
@desk_view
def contact_html(request: HttpRequest, actor: Actor, case_id: int, contact_id: int) -> HttpResponse:
    contact = access_contact(actor, case_id, contact_id)
    html = contact.payload.get("html") or ""
    if not html:
        raise NotFound(_("this contact has no formatted version"))
    response = render(request, "web/cases/contact_document.html", {"html": html})
    response["Content-Security-Policy"] = MAIL_DOCUMENT_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@desk_view
def contact_headers(
    request: HttpRequest, actor: Actor, case_id: int, contact_id: int
) -> HttpResponse:
    contact = access_contact(actor, case_id, contact_id)
    raw = original_message(contact.pk)
    if raw is None:
        raise NotFound(_("the original of this contact is not kept"))
    context = {"case_id": case_id, "contact": contact, "headers": header_block(raw)}
    template = "web/cases/_headers.html" if is_htmx(request) else "web/cases/headers.html"
    return render(request, template, context)


@require_GET
@desk_view
def contact_original(
    request: HttpRequest, actor: Actor, case_id: int, contact_id: int
) -> HttpResponse:
    contact = access_contact(actor, case_id, contact_id)
    raw = original_message(contact.pk)
    if raw is None:
        raise NotFound(_("the original of this contact is not kept"))
    response = HttpResponse(raw, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.eml"'
    return response


@require_GET
@desk_view
def attachment_download(request: HttpRequest, actor: Actor, attachment_id: int) -> HttpResponse:
    attachment = access_attachment(actor, attachment_id)
    path = path_for(attachment.sha256)
    if not attachment.is_stored or not path.exists():
        raise NotFound(_("the file %(name)s was not stored") % {"name": attachment.filename})
    # Always a download, never rendered here: a file from a stranger must not run as a page
    # of this site (HTML, SVG with script).
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.filename or f"attachment-{attachment.pk}",
        content_type="application/octet-stream",
    )


@require_POST
@desk_view
def contact_split(
    request: HttpRequest, actor: Actor, case_id: int, contact_id: int
) -> HttpResponse:
    contact = access_contact(actor, case_id, contact_id)
    form = SplitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The subject is too long."))
        return redirect("web:case", case_id=case_id)
    new_case = split_off(contact, subject=form.cleaned_data["subject"], actor=actor)
    messages.success(
        request, _("The contact is now case %(reference)s.") % {"reference": new_case.reference}
    )
    return redirect("web:case", case_id=new_case.pk)

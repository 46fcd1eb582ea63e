"""The customer's own cases as the portal shows them, and the customer's replies.

Every lookup is scoped to the signed-in customer and fails the same way for "missing" and
"not yours" (`NotFound`), so ids cannot be probed. The customer sees the contacts of a case
in both directions on every channel, never internal notes. Sub-cases (work handed to
another department) and cases merged into another are the organisation's business: the
customer sees the case they opened.

A reply goes through the intake pipeline like an e-mail would: it is an inbound `portal`
interaction on the case, reopens a resolved case, wakes a process that waited for the
customer, and keeps the routing and SLA rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.cases.models import Case, CaseStatus
from casework.customers.models import Channel, Customer
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import IntakeResult, ingest
from casework.interactions.files import StoredFile, store_bytes
from casework.interactions.models import Attachment, Direction, Interaction
from casework.kernel import clock
from casework.kernel.errors import Conflict, InvalidInput, NotFound
from casework.portal.uploads import Upload, check_uploads

VISIBLE_DIRECTIONS = (Direction.INBOUND, Direction.OUTBOUND)

# The status in the customer's words.
STATUS_WORDS = {
    CaseStatus.NEW: gettext_lazy("Received"),
    CaseStatus.OPEN: gettext_lazy("In progress"),
    CaseStatus.PENDING: gettext_lazy("Waiting for information"),
    CaseStatus.RESOLVED: gettext_lazy("Answered"),
    CaseStatus.CLOSED: gettext_lazy("Closed"),
}

MAX_REPLY_CHARS = 10_000
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


def status_words(case: Case) -> str:
    return str(STATUS_WORDS.get(case.status, case.status))


def _own_cases(customer: Customer):  # noqa: ANN202 - a QuerySet[Case]
    return Case.objects.filter(customer=customer, parent__isnull=True, merged_into__isnull=True)


def list_cases_of(customer: Customer) -> list[Case]:
    return list(
        _own_cases(customer).select_related("case_type").order_by("-last_activity_at", "-pk")
    )


def access_case(customer: Customer, case_id: int) -> Case:
    case = _own_cases(customer).select_related("case_type").filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("There is no such case."))
    return case


def _visible(interactions):  # noqa: ANN001, ANN202 - QuerySet[Interaction] in and out
    return interactions.filter(direction__in=VISIBLE_DIRECTIONS).exclude(channel=Channel.NOTE)


def list_history(customer: Customer, case: Case) -> list[Interaction]:
    """The case's contacts the customer may see, oldest first, with their files."""
    return list(
        _visible(Interaction.objects.filter(case=case, customer=customer))
        .prefetch_related(
            Prefetch(
                "attachments", queryset=Attachment.objects.filter(is_stored=True).order_by("pk")
            )
        )
        .order_by("occurred_at", "pk")
    )


def access_attachment(customer: Customer, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("interaction__case")
        .filter(
            pk=attachment_id,
            is_stored=True,
            interaction__customer=customer,
            interaction__direction__in=VISIBLE_DIRECTIONS,
        )
        .exclude(interaction__channel=Channel.NOTE)
        .first()
    )
    case = attachment.interaction.case if attachment is not None else None
    if attachment is None or (case is not None and case.customer_id != customer.pk):
        raise NotFound(_("There is no such document."))
    return attachment


@dataclass(frozen=True)
class Reply:
    text: str
    uploads: Sequence[Upload] = ()
    # The form's own id: the same form sent twice (a double click, a retry) is one reply.
    submission_id: str = ""


def reply_to_case(customer: Customer, case: Case, reply: Reply) -> IntakeResult:
    """The customer's message (and documents) on their case, through the intake pipeline.
    Files are checked before anything is written; a refused file refuses the reply."""
    text = reply.text.strip()
    if not text and not reply.uploads:
        raise InvalidInput(_("Please write a message or attach a document."), field="text")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(
            _("Please keep the message under %(count)d characters.") % {"count": MAX_REPLY_CHARS},
            field="text",
        )
    if case.status == CaseStatus.CLOSED:
        raise Conflict(_("This case is closed. Please start a new request."), field="text")
    checked = check_uploads(reply.uploads)
    # Stored before the transaction: a failure leaves an unreferenced file, never a
    # reference without its file (`interactions.files`).
    stored = tuple(
        StoredFile(
            filename=upload.filename,
            content_type=upload.content_type,
            size_bytes=len(upload.content),
            sha256=store_bytes(upload.content),
        )
        for upload in checked
    )
    if not text:
        text = _("Documents sent: %(names)s") % {
            "names": ", ".join(upload.filename for upload in checked)
        }
    # A form without a proper id of its own (an old page) is taken as a new reply.
    submission_id = reply.submission_id
    if not _SUBMISSION_ID.fullmatch(submission_id):
        submission_id = uuid.uuid4().hex
    return ingest(
        InboundMessage(
            channel=Channel.PORTAL,
            external_id=f"portal:reply:{customer.pk}:{submission_id}",
            received_at=clock.now(),
            sender=(SenderIdentifier("customer_number", customer.customer_number),),
            sender_name=customer.display_name,
            subject=_("Message in the portal: %(reference)s") % {"reference": case.reference},
            text=text,
            customer_id=customer.pk,
            case_id=case.pk,
            attachments=stored,
        )
    )

"""Quarantined mail, processed again after a fix (a case type switched back on, a mailbox
configured, a parser bug fixed).

The quarantined row keeps its bytes and history: a successful new attempt is stored as a
row of its own like any received mail, and the quarantined row points to it
(`reprocessed_as`). An attempt that fails again changes nothing but the reason."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.channels.email.models import RawEmail, RawEmailStatus
from casework.channels.email.services import ReceivedEmail, prepare_email, store_email
from casework.events.services import record, recording_transaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, NotFound


class NotQuarantined(Conflict):
    code = "not_quarantined"


class _StillQuarantined(Exception):
    """Rolls back an attempt that quarantined the mail again."""

    def __init__(self, received: ReceivedEmail) -> None:
        self.received = received


@dataclass(frozen=True)
class Reprocessed:
    raw_email_id: int
    status: str  # the new attempt's RawEmailStatus, or "quarantined" when it failed again
    case_reference: str | None
    reason: str = ""


def reprocess(raw_email_id: int, *, actor: Actor) -> Reprocessed:
    with recording_transaction():
        quarantined = RawEmail.objects.select_for_update().filter(pk=raw_email_id).first()
        if quarantined is None:
            raise NotFound(_("received e-mail %(id)s not found") % {"id": raw_email_id})
        if quarantined.status != RawEmailStatus.QUARANTINED:
            raise NotQuarantined(
                _("received e-mail %(id)s is %(status)s, not quarantined")
                % {"id": raw_email_id, "status": RawEmailStatus(quarantined.status).label}
            )
        prepared = prepare_email(
            bytes(quarantined.content),
            envelope_from=quarantined.envelope_from,
            mailbox=quarantined.mailbox,
        )
        try:
            with recording_transaction():
                received = store_email(prepared)
                if received.status == RawEmailStatus.QUARANTINED:
                    raise _StillQuarantined(received)
        except _StillQuarantined as again:
            quarantined.reason = _("%(reason)s (tried again %(when)s)") % {
                "reason": again.received.reason,
                "when": date_format(clock.localtime(clock.now()), "SHORT_DATETIME_FORMAT"),
            }
            quarantined.save(update_fields=["reason"])
            return Reprocessed(
                quarantined.pk, RawEmailStatus.QUARANTINED, None, again.received.reason
            )
        quarantined.status = RawEmailStatus.REPROCESSED
        quarantined.reprocessed_as_id = received.raw_email_id
        quarantined.save(update_fields=["status", "reprocessed_as"])
        record(
            "email.reprocessed",
            actor=actor,
            object_type="raw_email",
            object_id=quarantined.pk,
            payload={
                "as_raw_email_id": received.raw_email_id,
                "status": received.status,
                "case_reference": received.case_reference,
            },
        )
    return Reprocessed(received.raw_email_id, received.status, received.case_reference)

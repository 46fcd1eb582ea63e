"""A case's history in plain words, from the event log: what happened, who did it, why.

The log stores codes and data; this turns each entry into a sentence in the reader's
language ("Rule gold-loyal of table retention-offer decided: offer = discount-20")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casework.events.models import Event
from casework.events.types import label

# Events that say nothing an agent needs to read in the case's story.
_QUIET = frozenset({"case.step_skipped", "sla.started", "customer.viewed"})


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    text: str
    code: str


def case_history(case_id: int, *, limit: int = 200) -> list[HistoryEntry]:
    """The newest `limit` entries of the case, newest first."""
    events = (
        Event.objects.filter(object_type="case", object_id=case_id)
        .exclude(code__in=_QUIET)
        .order_by("-seq")[:limit]
    )
    return [
        HistoryEntry(event.occurred_at, _who(event), describe(event), event.code)
        for event in events
    ]


def _who(event: Event) -> str:
    kind, _colon, name = event.actor_label.partition(":")
    if event.actor_kind == "system":
        return _("Casework (%(part)s)") % {"part": name or kind}
    return name or event.actor_label


def _when(iso: str) -> str:
    moment = parse_datetime(iso)
    return date_format(localtime(moment), "SHORT_DATETIME_FORMAT") if moment else iso


def _sla(text: str) -> Callable[[Mapping[str, Any]], str]:
    def render(p: Mapping[str, Any]) -> str:
        kind = {"first_response": _("first response"), "resolution": _("resolution")}
        values = {**p, "kind": kind.get(p["kind"], p["kind"])}
        if "due_at" in p:
            values["due_at"] = _when(p["due_at"])
        return _(text) % values

    return render


def _values(mapping: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} = {value}" for key, value in mapping.items()) or "—"


def describe(event: Event) -> str:
    describer = _DESCRIBERS.get(event.code)
    payload = event.payload or {}
    if describer is None:
        return str(label(event.code)).capitalize()
    try:
        return describer(payload)
    except (KeyError, TypeError, ValueError):
        return str(label(event.code)).capitalize()  # an older payload shape: say what it was


_DESCRIBERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "case.opened": lambda p: _("Case opened in queue %(queue)s") % {"queue": p["queue"]},
    "case.process_started": lambda p: _(
        "Process %(process)s v%(version)s started in stage %(stage)s"
    )
    % p,
    "case.stage_changed": lambda p: (
        _("Stage %(before)s → %(after)s") % p + (f" ({p['reason']})" if p.get("reason") else "")
    ),
    "case.step_completed": lambda p: _("Step %(step)s done") % p,
    "case.decision_taken": lambda p: (
        _("Decided by rule %(rules)s of table %(table)s: %(outputs)s")
        % {
            "rules": ", ".join(str(rule["id"]) for rule in p.get("rules", [])) or "—",
            "table": p["table"],
            "outputs": _values(p.get("outputs", {})),
        }
        if not p.get("by_person")
        else _("Outcome chosen by a person for step %(step)s: %(outputs)s")
        % {"step": p["step"], "outputs": _values(p.get("outputs", {}))}
    ),
    "case.decision_failed": lambda p: _("No rule of table %(table)s fits: %(inputs)s")
    % {"table": p["table"], "inputs": _values(p.get("inputs", {}))},
    "case.data_changed": lambda p: _("Data changed: %(after)s") % {"after": _values(p["after"])},
    "case.waiting": lambda p: {
        "person": _("Waiting for a person (step %(step)s)"),
        "approval": _("Waiting for approval (step %(step)s)"),
        "customer": _("Waiting for the customer (step %(step)s)"),
        "date": _("Waiting for a date (step %(step)s)"),
        "subcases": _("Waiting for the departments' sub-cases (step %(step)s)"),
        "integration": _("Waiting for another system (step %(step)s)"),
    }.get(p["waiting_for"], _("Waiting (step %(step)s)"))
    % p,
    "case.resumed": lambda p: _("Process continues: %(reason)s") % p,
    "case.subcase_opened": lambda p: _("Sub-case %(reference)s opened (%(case_type)s)") % p,
    "case.integration_called": lambda p: _("Other system answered: %(result)s")
    % {"result": _values(p.get("result", {}))},
    "case.exception_raised": lambda p: _("Exception: %(reason)s") % p,
    "case.exception_resolved": lambda p: _("Exception decided: %(option)s") % p,
    "case.action_taken": lambda p: _("%(action)s: %(reason)s") % p,
    "case.process_completed": lambda p: _("Process completed in stage %(stage)s") % p,
    "case.process_migrated": lambda p: _("Moved from v%(old)s to v%(new)s of its case type")
    % {"old": p["before"]["version"], "new": p["after"]["version"]},
    "case.assigned": lambda p: _("Owner changed"),
    "case.resolved": lambda p: _("Resolved (%(code)s)") % {"code": p["resolution_code"]},
    "case.reopened": lambda p: _("Reopened: %(reason)s") % p,
    "case.forwarded": lambda p: _("Forwarded from %(from_queue)s to %(to_queue)s: %(note)s") % p,
    "case.merged": lambda p: _("Merged into %(into_reference)s") % p,
    "case.customer_linked": lambda p: _("Linked to its customer"),
    "sla.warning": _sla(gettext_noop("Service level %(kind)s at risk (due %(due_at)s)")),
    "sla.breached": _sla(gettext_noop("Service level %(kind)s breached (was due %(due_at)s)")),
    "sla.met": _sla(gettext_noop("Service level %(kind)s met")),
    "sla.paused": _sla(
        gettext_noop("Service level %(kind)s paused while waiting for the customer")
    ),
    "sla.resumed": _sla(gettext_noop("Service level %(kind)s running again, due %(due_at)s")),
    "sla.supervisor_notified": lambda p: _("Supervisor of %(queue)s notified") % p,
    "notification.sent": lambda p: _("Customer informed (%(template)s) by %(channel)s to %(to)s")
    % p,
    "notification.skipped": lambda p: _("Customer could not be informed (%(template)s): %(reason)s")
    % p,
}

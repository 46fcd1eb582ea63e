"""What the agent's desk shows of calls: the call that concerns them now (ringing at their
line, in conversation, waiting for its wrap-up) and the screen pop's view of the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q

from casework.cases.models import Case, CaseType
from casework.cases.queries import list_open_cases_of_customer
from casework.channels.phone.models import (
    Call,
    CallbackRequest,
    CallDirection,
    CallState,
    WrapUpCode,
)
from casework.customers.models import Contract, ContractStatus, PaymentMethod
from casework.interactions.models import Interaction
from casework.interactions.queries import timeline_for_customer
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.routing.models import WorkItem, WorkItemStatus

# A call ended longer ago than this no longer asks its agent for a wrap-up on every page.
_WRAP_UP_WITHIN = timedelta(hours=12)


@dataclass(frozen=True)
class DeskCall:
    call: Call
    # "ringing" (the screen pop), "talking", "wrap_up"
    stage: str
    offered_item: WorkItem | None = None


@dataclass(frozen=True)
class CallerView:
    """The screen pop: who calls, what they have, what is open, what happened lately."""

    contracts: list[Contract]
    payment_methods: list[PaymentMethod]
    open_cases: list[Case]
    hidden_open_cases: int
    recent: list[Interaction]


def desk_call(agent_id: int) -> DeskCall | None:
    """The call that concerns the agent now, the most pressing first."""
    offered = (
        WorkItem.objects.filter(
            channel="phone",
            agent_id=agent_id,
            status__in=[WorkItemStatus.OFFERED, WorkItemStatus.ACCEPTED],
        )
        .order_by("-queued_at")
        .first()
    )
    if offered is not None:
        call = _calls().filter(work_item=offered, state__in=_NOT_ANSWERED).first()
        if call is not None:
            return DeskCall(call, "ringing", offered)
    dialling = _calls().filter(
        agent_id=agent_id, direction=CallDirection.OUTBOUND, state__in=_NOT_ANSWERED
    )
    talking = _calls().filter(agent_id=agent_id, state=CallState.ANSWERED)
    call = talking.order_by("-answered_at").first() or dialling.order_by("-started_at").first()
    if call is not None:
        return DeskCall(call, "talking" if call.state == CallState.ANSWERED else "ringing")
    ended = (
        _calls()
        .filter(
            agent_id=agent_id,
            state=CallState.ENDED,
            wrapped_at__isnull=True,
            answered_at__isnull=False,
            ended_at__gte=clock.now() - _WRAP_UP_WITHIN,
        )
        .order_by("-ended_at")
        .first()
    )
    return DeskCall(ended, "wrap_up") if ended is not None else None


_NOT_ANSWERED = [CallState.WAITING, CallState.RINGING]


def _calls():  # noqa: ANN202
    return Call.objects.select_related("customer", "case", "hotline", "wrap_up")


def caller_view(actor: Actor, call: Call) -> CallerView | None:
    if call.customer_id is None:
        return None
    open_cases, hidden = list_open_cases_of_customer(actor, call.customer_id)
    recent = [
        entry
        for entry in timeline_for_customer(call.customer_id, page=1, page_size=6).entries
        if entry.pk != call.interaction_id
    ][:5]
    return CallerView(
        contracts=list(
            Contract.objects.filter(customer_id=call.customer_id)
            .filter(Q(status=ContractStatus.ACTIVE) | Q(status=ContractStatus.ORDERED))
            .select_related("product")
            .prefetch_related("options")
            .order_by("-start_date")
        ),
        payment_methods=list(PaymentMethod.objects.filter(customer_id=call.customer_id)),
        open_cases=open_cases,
        hidden_open_cases=hidden,
        recent=recent,
    )


# Installed by migration 0002; re-created if the table was emptied (as routing's states).
DEFAULT_WRAP_UP_CODES = [
    ("advice", "Beratung", "advice", 10),
    ("order", "Bestellung / Vertrag", "order / contract", 20),
    ("billing", "Rechnung", "billing", 30),
    ("fault", "Störung", "fault", 40),
    ("complaint", "Beschwerde", "complaint", 50),
    ("cancellation", "Kündigung", "cancellation", 60),
    ("other", "Sonstiges", "other", 90),
]


@dataclass(frozen=True)
class CallbackToMake:
    item: WorkItem
    request: CallbackRequest | None  # None for a callback asked for in a chat


def callbacks_to_make(agent_id: int) -> list[CallbackToMake]:
    """Callbacks the agent has taken and not yet made (the outbound call that reaches the
    customer completes them)."""
    items = list(
        WorkItem.objects.filter(
            channel="callback", agent_id=agent_id, status=WorkItemStatus.ACCEPTED
        )
        .select_related("customer", "case")
        .order_by("accepted_at")[:10]
    )
    requests = {
        request.work_item_id: request
        for request in CallbackRequest.objects.filter(work_item__in=items)
    }
    return [CallbackToMake(item, requests.get(item.pk)) for item in items]


def wrap_up_codes() -> list[WrapUpCode]:
    if not WrapUpCode.objects.exists():
        for code, name_de, name_en, order in DEFAULT_WRAP_UP_CODES:
            WrapUpCode.objects.get_or_create(
                code=code, defaults={"name_de": name_de, "name_en": name_en, "order": order}
            )
    return list(WrapUpCode.objects.filter(is_active=True))


def case_types_for_calls() -> list[CaseType]:
    return list(CaseType.objects.filter(is_active=True).order_by("code"))

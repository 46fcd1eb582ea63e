"""The retention order's own steps (`kind: action` in `retention-order` version 2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.actions import ActionFailed, action
from casework.cases.definitions.loading import SHIPPED_CASETYPES_DIR
from casework.cases.models import Case
from casework.customers.models import Contract
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.offers import services as offer_services
from casework.offers.facts import facts_of
from casework.offers.models import Offer
from casework.partners import services as ledger
from casework.partners.models import Partner
from casework.rules import decisions

ACTOR = Actor.system("retention")
# Set by `rows_known()`: offers and partners by code, read already by the caller.
_known: ContextVar[dict[tuple[type, str], Any] | None] = ContextVar(
    "casework_retention_actions_known", default=None
)
# The channel an answer came on, as the customers' channels name it.
_CHANNELS = {"web": "portal", "letter": "letter", "phone": "phone", "partner": "partner"}


@contextmanager
def rows_known(offers: Iterable[Offer], partners: Iterable[Partner]) -> Iterator[None]:
    """Within the block the steps take these offers and partners instead of reading them
    again (a batch of orders has read them for its checks)."""
    known: dict[tuple[type, str], Any] = {(Offer, offer.code): offer for offer in offers}
    known.update({(Partner, partner.code): partner for partner in partners})
    token = _known.set(known)
    try:
        yield
    finally:
        _known.reset(token)


# Set by `contracts_locked_ahead()`: customer id → newest active contract (None: none).
_contracts: ContextVar[dict[int, Contract | None] | None] = ContextVar(
    "casework_retention_actions_contracts", default=None
)


@contextmanager
def contracts_locked_ahead(customer_ids: Iterable[int]) -> Iterator[None]:
    """Within the block the apply-offer step takes these customers' newest active
    contracts from one read that locks them all, instead of one each. The step changes
    them in memory, so only where nothing rolls back halfway
    (`events.services.savepoints_left_out`): a savepoint taken back would leave a
    contract changed in memory only."""
    contracts: dict[int, Contract | None] = dict.fromkeys(customer_ids)
    for contract in (
        # The contracts' rows, not their products', which many contracts share.
        Contract.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(customer_id__in=list(contracts), status="active")
        .order_by("customer_id", "-start_date", "-pk")
    ):
        if contracts[contract.customer_id] is None:
            contracts[contract.customer_id] = contract
    token = _contracts.set(contracts)
    try:
        yield
    finally:
        _contracts.reset(token)


def _by_code(model: type[Offer] | type[Partner], code: str) -> Any:
    known = _known.get()
    found = known.get((model, code)) if known is not None else None
    return found if found is not None else model.objects.filter(code=code).first()


@action("retention.check-order", reads_case_row=False, fails_before_writing=True)
def check_order(case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
    """What was found wrong when the response arrived (`responses.receive`) stops the order
    for a person: they may let it go on ("skip") or cancel it."""
    problem = case.data.get("problem")
    if problem:
        raise ActionFailed(case.data.get("problem_text") or problem, options=("skip", "cancel"))
    return {}


@action("retention.apply-offer", reads_case_row=False, fails_before_writing=True)
def apply_offer(case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The contract changes as the offer says; the answer is kept for the next-best-offer's
    learning. The words of the change go into the customer's confirmation."""
    offer = _by_code(Offer, case.data.get("offer", ""))
    if offer is None:
        raise ActionFailed(
            _("the offer “%(offer)s” is not in the offer catalogue")
            % {"offer": case.data.get("offer", "")}
        )
    contract = _contract_of(case)
    if contract is None:
        raise ActionFailed(_("the customer has no active contract the offer could change"))
    today = clock.localtime(clock.now()).date()
    # Learning needs the facts the customer accepted on, not the contract the offer made.
    facts = facts_of(case.customer, today)
    changes = offer_services.apply_offer_to_contract(contract, offer, actor=ACTOR, today=today)
    offer_services.record_answer(
        case.customer,
        offer,
        is_accepted=True,
        channel=_CHANNELS.get(case.data.get("channel", ""), "api"),
        actor=ACTOR,
        case=case,
        contract=contract,
        facts=facts,
    )
    language = _language(case)
    with translation.override(language):
        described = "; ".join(offer_services.describe_changes(changes))
    return {"offer_name": offer.name_in(language), "contract_change": described}


@action("retention.record-commission", reads_case_row=False, fails_before_writing=True)
def record_commission(case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The partner's commission for this order, as the commission table sets it; the ledger
    refuses a second commission for the same order."""
    partner = _by_code(Partner, case.data.get("partner", ""))
    if partner is None:
        raise ActionFailed(
            _("sales partner “%(partner)s” is unknown") % {"partner": case.data.get("partner")}
        )
    result = decisions.evaluate(commission_table(), context)
    if not isinstance(result, decisions.Decision):
        raise ActionFailed(
            _("no commission rule fits the offer “%(offer)s”") % {"offer": case.data.get("offer")}
        )
    amount = Decimal(str(result.outputs["amount"]))
    rule = f"{result.table}:{result.matched[0].id}"
    entry = ledger.record_commission(
        partner, case.data.get("partner_order", ""), rule, amount, actor=ACTOR
    )
    return {"commission": float(entry.amount)}


@cache
def commission_table() -> decisions.DecisionTable:
    path = SHIPPED_CASETYPES_DIR / "decisions" / "partner-commission.yaml"
    return decisions.load_table(path, display="decisions/partner-commission.yaml")


def _contract_of(case: Case) -> Contract | None:
    # The contract's row, not its product's, which many contracts share.
    queryset = Contract.objects.select_for_update(of=("self",)).select_related("product")
    if case.contract_id:
        return queryset.filter(pk=case.contract_id).first()
    if not case.customer_id:
        return None
    known = _contracts.get()
    if known is not None and case.customer_id in known:
        return known[case.customer_id]
    return (
        queryset.filter(customer_id=case.customer_id, status="active")
        .order_by("-start_date", "-pk")
        .first()
    )


def _language(case: Case) -> str:
    return case.customer.language if case.customer_id else "de"

"""Next best offer: the offers and actions a customer is eligible for now, ranked, each with
its reasons in plain words. The agent's case screen, the API and the chat bot call
`next_best_offers()`; docs/next-best-offer.md explains the numbers.

Eligible is an offer that is active, within its validity dates, whose eligibility rule holds
over the customer's facts, that the customer has not accepted before and has not declined
in the last `DECLINE_PAUSE_DAYS` days. Its score is

    score = propensity × max(value, VALUE_FLOOR) × business_weight

where the propensity comes from `propensity.py` (a model trained on past decisions, or the
offer's smoothed acceptance rate).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import get_language

from casework.customers.models import Customer
from casework.kernel import clock
from casework.offers import propensity
from casework.offers.facts import facts_of
from casework.offers.models import (
    DecisionOutcome,
    Offer,
    OfferDecision,
    PropensityModel,
)
from casework.offers.rules import compile_rule, fill, lookup, show
from casework.rules.expressions import ExpressionError

logger = logging.getLogger(__name__)

# A declined offer rests this long before it is proposed again: asking again on the next
# call annoys the customer and teaches the model nothing new.
DECLINE_PAUSE_DAYS = 30
# An action that brings no money (a goodwill credit, a warranty extension) is worth this
# much in the score, so it still ranks among the actions by propensity × weight. To let it
# compete with offers, give it a value (the margin it keeps) or a higher business weight.
VALUE_FLOOR = Decimal("1.00")


class PropensitySource:
    MODEL = "model"  # the offer's own logistic regression
    RATE = "rate"  # its acceptance rate, smoothed towards all offers' rate


@dataclass(frozen=True)
class Eligibility:
    """Why the offer may be proposed: its rule and the facts the rule read, as shown."""

    rule: str  # "" when the offer is open to every customer
    facts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Suggestion:
    offer: Offer
    score: float
    propensity: float
    propensity_source: str
    reasons: list[str]
    eligibility: Eligibility

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class Assessment:
    """One offer for one customer: the facts it was judged on and, if eligible now (by its
    dates and rule), the suggestion."""

    facts: Mapping[str, Any]
    suggestion: Suggestion | None


def next_best_offers(
    customer: Customer,
    *,
    today: date | None = None,
    limit: int = 5,
    kinds: Collection[str] | None = None,
) -> list[Suggestion]:
    """The best `limit` eligible offers and actions for the customer, best first (ties by
    code). `kinds` narrows to `OfferKind` values. Reasons are in the active language."""
    if limit <= 0:
        return []
    today = today or _today()
    offers = list(_current_offers(today, kinds))
    if not offers:
        return []
    accepted, declined = _earlier_decisions(customer)
    offers = [offer for offer in offers if offer.pk not in accepted and offer.pk not in declined]
    if not offers:
        return []
    facts = facts_of(customer, today)
    estimator = Estimator.load()
    suggestions = [
        suggestion
        for offer in offers
        if (suggestion := _suggest(offer, facts, estimator)) is not None
    ]
    suggestions.sort(key=lambda suggestion: (-suggestion.score, suggestion.offer.code))
    return suggestions[:limit]


def assess_offer(customer: Customer, offer: Offer, *, today: date | None = None) -> Assessment:
    """The offer judged by its own dates and rule only (not by earlier decisions): whether
    a customer who asks for it now may have it."""
    today = today or _today()
    facts = facts_of(customer, today)
    if not offer.is_active or not _is_valid_on(offer, today):
        return Assessment(facts, None)
    return Assessment(facts, _suggest(offer, facts, Estimator.load()))


def _today() -> date:
    return clock.localtime(clock.now()).date()


def _current_offers(today: date, kinds: Collection[str] | None) -> QuerySet[Offer]:
    offers = Offer.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=today),
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        is_active=True,
    ).prefetch_related("reasons")
    if kinds is not None:
        offers = offers.filter(kind__in=list(kinds))
    return offers


def _is_valid_on(offer: Offer, today: date) -> bool:
    return (offer.valid_from is None or offer.valid_from <= today) and (
        offer.valid_until is None or offer.valid_until >= today
    )


def _earlier_decisions(customer: Customer) -> tuple[set[int], set[int]]:
    """The offers the customer accepted ever, and those declined in the pause."""
    pause_start = clock.now() - timedelta(days=DECLINE_PAUSE_DAYS)
    accepted, declined = set(), set()
    for offer_id, outcome, decided_at in OfferDecision.objects.filter(
        customer=customer
    ).values_list("offer_id", "outcome", "decided_at"):
        if outcome == DecisionOutcome.ACCEPTED:
            accepted.add(offer_id)
        elif decided_at >= pause_start:
            declined.add(offer_id)
    return accepted, declined


def _suggest(offer: Offer, facts: Mapping[str, Any], estimator: Estimator) -> Suggestion | None:
    try:
        rule = compile_rule(offer.eligibility)
        if rule is not None and not rule.is_true(facts):
            return None
        reasons = _reasons(offer, facts)
    except ExpressionError as error:
        # Saved rules compile (the model checks them); a fact of an unexpected type can
        # still fail. One broken offer must not hide the others.
        logger.warning("offer %s: rule failed: %s", offer.code, error)
        return None
    chance, source = estimator.propensity(offer, facts)
    worth = max(offer.value, VALUE_FLOOR) * offer.business_weight
    return Suggestion(
        offer=offer,
        score=round(chance * float(worth), 4),
        propensity=round(chance, 4),
        propensity_source=source,
        reasons=reasons,
        eligibility=Eligibility(
            rule=offer.eligibility.strip(),
            facts=tuple(
                (name, show(lookup(facts, name)))
                for name in sorted(rule.names if rule is not None else ())
            ),
        ),
    )


def _reasons(offer: Offer, facts: Mapping[str, Any]) -> list[str]:
    language = get_language() or "de"
    texts = []
    for reason in offer.reasons.all():
        condition = compile_rule(reason.condition)
        if condition is None or condition.is_true(facts):
            texts.append(fill(reason.text(language), facts))
    return texts


class Estimator:
    """The propensities of one ranking: the newest trained model, and for offers without
    one, the acceptance counts so far (so a decision counts at once, before retraining)."""

    def __init__(
        self,
        models: Mapping[str, propensity.OfferModel],
        counts: Mapping[int, tuple[int, int]],
    ) -> None:
        self.models = models
        self.counts = counts
        accepted = sum(yes for yes, _ in counts.values())
        decided = sum(total for _, total in counts.values())
        self.prior = propensity.prior_rate(accepted, decided)

    @classmethod
    def load(cls) -> Estimator:
        newest = PropensityModel.objects.order_by("-trained_at", "-pk").first()
        models = propensity.offer_models(newest.parameters if newest else None)
        counts: Counter[tuple[int, str]] = Counter()
        for offer_id, outcome, number in (
            OfferDecision.objects.values("offer_id", "outcome")
            .annotate(number=Count("pk"))
            .values_list("offer_id", "outcome", "number")
            .order_by()
        ):
            counts[(offer_id, outcome)] = number
        offer_ids = {offer_id for offer_id, _outcome in counts}
        return cls(
            models,
            {
                offer_id: (
                    counts[(offer_id, DecisionOutcome.ACCEPTED)],
                    counts[(offer_id, DecisionOutcome.ACCEPTED)]
                    + counts[(offer_id, DecisionOutcome.DECLINED)],
                )
                for offer_id in offer_ids
            },
        )

    def propensity(self, offer: Offer, facts: Mapping[str, Any]) -> tuple[float, str]:
        model = self.models.get(offer.code)
        if model is not None:
            indicators = propensity.features(facts, offer.interest_tag)
            return propensity.predict(model, indicators), PropensitySource.MODEL
        accepted, decided = self.counts.get(offer.pk, (0, 0))
        return propensity.smoothed_rate(accepted, decided, self.prior), PropensitySource.RATE

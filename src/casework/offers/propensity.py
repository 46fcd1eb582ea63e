"""How likely a customer is to accept an offer, learnt from earlier decisions. Pure: no
Django, no database; scikit-learn only while fitting.

Features are a few bands of the customer facts a decision was taken on (segment, age,
days until the contract ends, tenure, monthly data volume) and whether the customer's
interests include the offer's interest tag; each is a 0/1 indicator, so a model reads as
"gold customers: +0.8". Per offer with enough decisions of both kinds, an L2-regularised
logistic regression over them gives the propensity; otherwise the offer's acceptance rate,
smoothed towards the rate over all offers (a Beta prior), so one lucky "yes" does not put a
new offer first. Both are deterministic: the same decisions give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

# Version of the feature definitions below: a stored model trained on other features is
# not used (the ranking falls back to the smoothed rates until the next training).
FEATURES_VERSION = 1
# An offer gets a model of its own from this many decisions on, with at least
# MIN_EACH_OUTCOME acceptances and as many declines (else the fit only learns the intercept).
MIN_DECISIONS = 30
MIN_EACH_OUTCOME = 5
# The Beta prior's weight, in decisions: an offer's own rate counts half at 10 decisions.
PRIOR_STRENGTH = 10.0
# Inverse regularisation strength: the indicators are few and often rare, keep them modest.
REGULARISATION_C = 1.0


class OfferModel(TypedDict):
    intercept: float
    weights: dict[str, float]
    decisions: int
    accepted: int


@dataclass(frozen=True)
class Example:
    features: dict[str, float]
    is_accepted: bool


# Banded facts: (feature, section, fact, ((upper limit, band), …), band above the limits).
_BANDS = (
    ("age", "customer", "age", ((30, "<30"), (45, "30-44"), (60, "45-59")), "60+"),
    (
        "ends_in_days",
        "contract",
        "ends_in_days",
        ((31, "<=30"), (91, "31-90"), (366, "91-365")),
        ">365",
    ),
    (
        "tenure_months",
        "contract",
        "tenure_months",
        ((12, "<12"), (24, "12-23"), (60, "24-59")),
        "60+",
    ),
    ("data_usage_gb", "contract", "data_usage_gb", ((0.5, "none"), (3, "<3"), (15, "3-15")), "15+"),
)


def features(facts: Mapping[str, Any], interest_tag: str) -> dict[str, float]:
    """The indicators of one decision situation. `facts` may be live facts or their JSON
    snapshot (numbers as text, dates as ISO text)."""
    customer = facts.get("customer") or {}
    indicators = {f"segment={customer.get('segment') or 'none'}": 1.0}
    for name, section, fact, limits, top in _BANDS:
        value = (facts.get(section) or {}).get(fact)
        indicators[f"{name}={_band(value, limits, top)}"] = 1.0
    interests = customer.get("interests") or []
    indicators["interest_match"] = 1.0 if interest_tag and interest_tag in interests else 0.0
    return indicators


def _band(value: object, limits: Sequence[tuple[float, str]], top: str) -> str:
    number = _number(value)
    if number is None:
        return "unknown"
    for below, name in limits:
        if number < below:
            return name
    return top


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def predict(model: OfferModel, indicators: Mapping[str, float]) -> float:
    """The model's probability of acceptance: the logistic of intercept + Σ weight·x."""
    weights = model["weights"]
    logit = model["intercept"] + sum(
        weights.get(name, 0.0) * value for name, value in indicators.items()
    )
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))


def prior_rate(accepted: int, decisions: int) -> float:
    """The acceptance rate over all offers, itself smoothed (Laplace): 0.5 with no history."""
    return (accepted + 1.0) / (decisions + 2.0)


def smoothed_rate(accepted: int, decisions: int, prior: float) -> float:
    """The posterior mean of the offer's rate under a Beta(k·prior, k·(1 − prior)) prior."""
    return (accepted + PRIOR_STRENGTH * prior) / (decisions + PRIOR_STRENGTH)


def has_enough(examples: Sequence[Example]) -> bool:
    accepted = sum(1 for example in examples if example.is_accepted)
    return len(examples) >= MIN_DECISIONS and min(accepted, len(examples) - accepted) >= (
        MIN_EACH_OUTCOME
    )


def fit(examples: Sequence[Example]) -> OfferModel:
    """A logistic regression over the examples' indicators (call `has_enough` first)."""
    from sklearn.linear_model import LogisticRegression  # training only

    names = sorted({name for example in examples for name in example.features})
    rows = [[example.features.get(name, 0.0) for name in names] for example in examples]
    labels = [1 if example.is_accepted else 0 for example in examples]
    regression = LogisticRegression(C=REGULARISATION_C, solver="lbfgs", max_iter=1000)
    regression.fit(rows, labels)
    weights = {
        name: round(float(weight), 6)
        for name, weight in zip(names, regression.coef_[0], strict=True)
        if round(float(weight), 6) != 0.0
    }
    return OfferModel(
        intercept=round(float(regression.intercept_[0]), 6),
        weights=weights,
        decisions=len(examples),
        accepted=sum(labels),
    )


def train(examples_by_offer: Mapping[str, Sequence[Example]]) -> dict[str, Any]:
    """The parameters of a training run: a model for each offer with enough decisions."""
    offers = {
        code: fit(examples)
        for code, examples in sorted(examples_by_offer.items())
        if has_enough(examples)
    }
    return {"features_version": FEATURES_VERSION, "offers": offers}


def offer_models(parameters: Mapping[str, Any] | None) -> dict[str, OfferModel]:
    """The per-offer models of stored parameters; none if they were made for other features."""
    if not parameters or parameters.get("features_version") != FEATURES_VERSION:
        return {}
    return dict(parameters.get("offers") or {})

"""The propensity arithmetic, without a database: features, the smoothed rate, the model."""

from __future__ import annotations

import math

from casework.offers import propensity
from casework.offers.propensity import Example, OfferModel


def test_features_are_bands_of_the_facts_and_the_interest_match():
    facts = {
        "customer": {"segment": "gold", "age": 46, "interests": ["international-tariffs"]},
        "contract": {"ends_in_days": 23, "tenure_months": 30, "data_usage_gb": "0.00"},
    }

    assert propensity.features(facts, "international-tariffs") == {
        "segment=gold": 1.0,
        "age=45-59": 1.0,
        "ends_in_days=<=30": 1.0,
        "tenure_months=24-59": 1.0,
        "data_usage_gb=none": 1.0,
        "interest_match": 1.0,
    }
    assert propensity.features({}, "")["segment=none"] == 1.0
    assert propensity.features({}, "")["age=unknown"] == 1.0
    assert propensity.features({}, "")["interest_match"] == 0.0


def test_the_rate_is_smoothed_towards_all_offers_rate():
    prior = propensity.prior_rate(30, 100)
    assert math.isclose(prior, 31 / 102)
    assert propensity.smoothed_rate(0, 0, prior) == prior  # no decisions: the prior
    assert math.isclose(propensity.smoothed_rate(1, 1, 0.3), 4 / 11)  # one lucky "yes"
    assert math.isclose(propensity.smoothed_rate(900, 1000, 0.3), 903 / 1010)


def test_prediction_is_the_logistic_of_the_weighted_sum():
    model = OfferModel(intercept=-1.0, weights={"a": 2.0, "b": -0.5}, decisions=50, accepted=20)

    assert math.isclose(propensity.predict(model, {"a": 1.0, "b": 0.0}), 1 / (1 + math.exp(-1)))
    assert math.isclose(propensity.predict(model, {"c": 1.0}), 1 / (1 + math.exp(1)))
    assert (
        propensity.predict(OfferModel(intercept=1e6, weights={}, decisions=1, accepted=1), {}) < 1.0
    )


def test_an_offer_gets_a_model_only_with_enough_of_both_answers():
    yes = [Example({"x=1": 1.0}, True)] * 26
    no = [Example({"x=0": 1.0}, False)] * 4

    assert not propensity.has_enough(yes + no)  # 30 decisions, but only 4 declines
    assert propensity.has_enough(yes + no + no[:1])
    assert propensity.train({"few": yes[:10], "enough": yes + no + no[:1]})["offers"].keys() == {
        "enough"
    }


def test_a_stored_model_for_other_features_is_ignored():
    assert propensity.offer_models(None) == {}
    assert propensity.offer_models({"features_version": 0, "offers": {"a": {}}}) == {}
    assert propensity.offer_models(
        {"features_version": propensity.FEATURES_VERSION, "offers": {"a": {}}}
    ) == {"a": {}}

"""The fraud reference scenario: generator, drift, heuristic, model family."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from scenario_helpers import (
    DRIFT_START,
    Trained,
    check_concept,
    check_covariate,
    check_deterministic,
    check_fast,
    check_heuristic_bounds,
    check_layout,
    check_model_beats_heuristic,
    check_prior,
    feature_dicts,
    generate,
    positive_rate,
    train_before_drift,
)

from riskops.errors import InputError
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Drift
from riskops.scenarios.fraud import COVARIATE_DEFAULT, FraudScenario

SCENARIO = FraudScenario()
RISKY = {
    "amount": 2400.0, "hour_of_day": 3, "account_age_days": 5, "txn_count_24h": 9,
    "distance_from_home_km": 1200.0, "failed_auth_7d": 4, "card_present": "no",
    "channel": "web", "new_device": "yes",
}
SAFE = {
    "amount": 35.0, "hour_of_day": 14, "account_age_days": 2000, "txn_count_24h": 1,
    "distance_from_home_km": 4.0, "failed_auth_7d": 0, "card_present": "yes",
    "channel": "pos", "new_device": "no",
}


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train_before_drift(SCENARIO)


def test_get_scenario_returns_fraud() -> None:
    assert isinstance(get_scenario("fraud"), FraudScenario)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    check_deterministic(SCENARIO)


def test_columns_dtypes_ranges_sorted_timestamps_and_tenants() -> None:
    check_layout(SCENARIO)


def test_generates_200k_rows_in_under_5_seconds() -> None:
    check_fast(SCENARIO)


def test_fraud_rate_is_about_5_percent() -> None:
    assert 0.03 <= positive_rate(SCENARIO, generate(SCENARIO, 50_000, seed=3)) <= 0.08


def test_younger_cardholders_look_riskier_for_fairness_audits() -> None:
    frame = generate(SCENARIO, 50_000)
    by_age = frame.groupby("cardholder_age_band")["account_age_days"].median()
    assert by_age["18-25"] < by_age["61+"]
    rates = frame.groupby("cardholder_age_band")["label"].apply(lambda s: (s == "1").mean())
    assert rates["18-25"] > rates["61+"]


def test_covariate_drift_shifts_amount_and_distance_by_default() -> None:
    check_covariate(SCENARIO, COVARIATE_DEFAULT)


def test_covariate_drift_shifts_named_count_and_category() -> None:
    check_covariate(SCENARIO, ("txn_count_24h", "channel"))


def test_prior_drift_doubles_the_fraud_rate() -> None:
    check_prior(SCENARIO)


def test_concept_drift_costs_a_pre_drift_model_auc(trained: Trained) -> None:
    check_concept(SCENARIO, trained, min_loss=0.15)


def test_model_beats_heuristic_and_constant_on_later_slice(trained: Trained) -> None:
    check_model_beats_heuristic(SCENARIO, trained, min_auc=0.75, margin=0.05)


def test_unknown_drift_feature_names_the_features() -> None:
    message = r"unknown drift feature\(s\) balance; .* are amount, hour_of_day"
    with pytest.raises(InputError, match=message):
        generate(SCENARIO, 100, drift=Drift("covariate", DRIFT_START, ("balance",)))


def test_heuristic_flags_a_risky_payment_with_its_reasons() -> None:
    result = SCENARIO.heuristic(RISKY)
    assert result.score == 1.0 and result.label == "1"
    assert "account younger than 60 days" in result.reasons
    assert "first payment from a new device" in result.reasons
    assert "card not present, over 100 km from home" in result.reasons


def test_heuristic_passes_an_ordinary_payment() -> None:
    assert SCENARIO.heuristic(SAFE).score == 0.0
    assert SCENARIO.heuristic(SAFE).reasons == ()


@pytest.mark.parametrize("features", [{}, dict.fromkeys(RISKY), {"amount": "lots"},
                                      {"amount": float("nan"), "card_present": 3}])
def test_heuristic_treats_missing_and_unreadable_values_as_neutral(
    features: dict[str, Any],
) -> None:
    result = SCENARIO.heuristic(features)
    assert result.score == 0.0 and result.label == "0" and result.reasons == ()


def test_heuristic_single_rule_scores_its_points() -> None:
    result = SCENARIO.heuristic({"hour_of_day": 2})
    assert result.score == pytest.approx(0.25)
    assert result.reasons == ("night-time payment (00:00-05:59)",)


@settings(max_examples=200, deadline=None)
@given(feature_dicts(SCENARIO.schema))
def test_heuristic_score_is_in_bounds_for_any_in_range_features(
    features: dict[str, Any],
) -> None:
    check_heuristic_bounds(SCENARIO, features)


def test_fitted_model_needs_only_trusted_skops_types(trained: Trained) -> None:
    import skops.io as sio

    from riskops.registry.loader import untrusted_types_in

    data = sio.dumps(trained.model)
    assert untrusted_types_in(data, (), subject="fraud model") is None

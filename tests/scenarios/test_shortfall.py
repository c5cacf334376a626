"""The shortfall reference scenario: generator, drift, heuristic, model family."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from scenario_helpers import (
    DRIFT_START,
    Trained,
    after,
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
from riskops.scenarios.shortfall import COVARIATE_DEFAULT, ShortfallScenario

SCENARIO = ShortfallScenario()
RISKY = {
    "balance_to_liability_ratio": 0.5, "days_to_cycle_close": 10, "revenue_change_pct": -30.0,
    "missed_payments_12m": 3, "months_registered": 8, "estimated_liability": 40_000.0,
    "payment_plan": "none", "filing_method": "paper", "seasonal_business": "no",
}
SAFE = {
    "balance_to_liability_ratio": 2.1, "days_to_cycle_close": 60, "revenue_change_pct": 4.0,
    "missed_payments_12m": 0, "months_registered": 140, "estimated_liability": 250_000.0,
    "payment_plan": "monthly", "filing_method": "e_file", "seasonal_business": "no",
}


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train_before_drift(SCENARIO)


def test_get_scenario_returns_shortfall() -> None:
    assert isinstance(get_scenario("shortfall"), ShortfallScenario)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    check_deterministic(SCENARIO)


def test_columns_dtypes_ranges_sorted_timestamps_and_tenants() -> None:
    check_layout(SCENARIO)


def test_generates_200k_rows_in_under_5_seconds() -> None:
    check_fast(SCENARIO)


def test_shortfall_rate_is_between_10_and_20_percent() -> None:
    assert 0.10 <= positive_rate(SCENARIO, generate(SCENARIO, 50_000, seed=3)) <= 0.20


def test_younger_owners_run_newer_businesses_for_fairness_audits() -> None:
    frame = generate(SCENARIO, 50_000)
    months = frame.groupby("owner_age_band")["months_registered"].median()
    assert months["under_30"] < months["60+"]
    paper = frame.groupby("owner_age_band")["filing_method"].apply(lambda s: (s == "paper").mean())
    assert paper["60+"] > paper["30-44"]


def test_covariate_drift_lowers_cover_and_revenue_by_default() -> None:
    check_covariate(SCENARIO, COVARIATE_DEFAULT)
    frame = generate(SCENARIO, 20_000, drift=Drift("covariate", DRIFT_START))
    late = after(frame)
    for name in COVARIATE_DEFAULT:
        assert frame.loc[late, name].median() < frame.loc[~late, name].median()


def test_covariate_drift_shifts_named_liability_and_plan() -> None:
    check_covariate(SCENARIO, ("estimated_liability", "payment_plan"))


def test_prior_drift_doubles_the_shortfall_rate() -> None:
    check_prior(SCENARIO)


def test_concept_drift_costs_a_pre_drift_model_auc(trained: Trained) -> None:
    check_concept(SCENARIO, trained, min_loss=0.05)


def test_model_beats_heuristic_and_constant_on_later_slice(trained: Trained) -> None:
    check_model_beats_heuristic(SCENARIO, trained, min_auc=0.75, margin=0.03)


def test_drift_features_only_go_with_covariate_drift() -> None:
    with pytest.raises(InputError, match="only apply to covariate drift, not prior"):
        generate(SCENARIO, 100, drift=Drift("prior", DRIFT_START, ("days_to_cycle_close",)))


def test_heuristic_flags_an_uncovered_account_with_its_reasons() -> None:
    result = SCENARIO.heuristic(RISKY)
    assert result.score == 1.0 and result.label == "1"
    assert result.reasons[0] == "funds cover under 80% of the liability"
    assert "under 30 days to cycle close without full cover" in result.reasons
    assert "funds cover under 100% of the liability" not in result.reasons


def test_heuristic_passes_a_covered_account() -> None:
    result = SCENARIO.heuristic(SAFE)
    assert result.score == 0.0 and result.reasons == ()


def test_heuristic_partial_cover_scores_less_than_low_cover() -> None:
    partial = SCENARIO.heuristic({"balance_to_liability_ratio": 0.9})
    low = SCENARIO.heuristic({"balance_to_liability_ratio": 0.5})
    assert partial.score == pytest.approx(0.2) and low.score == pytest.approx(0.4)
    assert partial.reasons == ("funds cover under 100% of the liability",)


@pytest.mark.parametrize("features", [{}, dict.fromkeys(RISKY), {"missed_payments_12m": "x"},
                                      {"balance_to_liability_ratio": True}])
def test_heuristic_treats_missing_and_unreadable_values_as_neutral(
    features: dict[str, Any],
) -> None:
    result = SCENARIO.heuristic(features)
    assert result.score == 0.0 and result.label == "0" and result.reasons == ()


@settings(max_examples=200, deadline=None)
@given(feature_dicts(SCENARIO.schema))
def test_heuristic_score_is_in_bounds_for_any_in_range_features(
    features: dict[str, Any],
) -> None:
    check_heuristic_bounds(SCENARIO, features)

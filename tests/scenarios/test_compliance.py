"""The compliance reference scenario: generator, drift, heuristic, model, tiered plan."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_helpers import (
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

from riskops.scenarios import get_scenario
from riskops.scenarios.compliance import COVARIATE_DEFAULT, TIERS, ComplianceScenario, tier_for

SCENARIO = ComplianceScenario()
RISKY = {
    "days_since_last_audit": 1100, "open_findings": 8, "overdue_filings": 2,
    "control_test_failure_rate": 0.35, "training_completion": 0.55, "third_party_count": 120,
    "prior_sanctions_5y": 1, "jurisdiction_risk": "high", "ownership_structure": "complex",
}
SAFE = {
    "days_since_last_audit": 200, "open_findings": 1, "overdue_filings": 0,
    "control_test_failure_rate": 0.05, "training_completion": 0.97, "third_party_count": 20,
    "prior_sanctions_5y": 0, "jurisdiction_risk": "low", "ownership_structure": "simple",
}


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train_before_drift(SCENARIO)


def test_get_scenario_returns_compliance() -> None:
    assert isinstance(get_scenario("compliance"), ComplianceScenario)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    check_deterministic(SCENARIO)


def test_columns_dtypes_ranges_sorted_timestamps_and_tenants() -> None:
    check_layout(SCENARIO)


def test_generates_200k_rows_in_under_5_seconds() -> None:
    check_fast(SCENARIO)


def test_breach_rate_is_between_15_and_25_percent() -> None:
    assert 0.15 <= positive_rate(SCENARIO, generate(SCENARIO, 50_000, seed=3)) <= 0.25


def test_owner_gender_links_to_features_for_fairness_audits() -> None:
    frame = generate(SCENARIO, 50_000)
    parties = frame.groupby("owner_gender")["third_party_count"].mean()
    assert parties["female"] < parties["male"]
    complex_share = frame.groupby("owner_gender")["ownership_structure"].apply(
        lambda s: (s == "complex").mean())
    assert complex_share["undisclosed"] > complex_share["male"]


def test_covariate_drift_raises_findings_and_control_failures_by_default() -> None:
    check_covariate(SCENARIO, COVARIATE_DEFAULT)


def test_covariate_drift_shifts_named_third_parties_and_jurisdiction() -> None:
    check_covariate(SCENARIO, ("third_party_count", "jurisdiction_risk"))


def test_prior_drift_doubles_the_breach_rate() -> None:
    check_prior(SCENARIO)


def test_concept_drift_costs_a_pre_drift_model_auc(trained: Trained) -> None:
    check_concept(SCENARIO, trained, min_loss=0.05)


def test_model_beats_heuristic_and_constant_on_later_slice(trained: Trained) -> None:
    check_model_beats_heuristic(SCENARIO, trained, min_auc=0.70, margin=0.03)


# heuristic


def test_heuristic_flags_a_risky_firm_with_its_reasons() -> None:
    result = SCENARIO.heuristic(RISKY)
    assert result.score == 1.0 and result.label == "1"
    assert result.reasons == (
        "5 or more open findings", "overdue regulatory filings", "no audit in the last 2 years",
        "operates in a high-risk jurisdiction", "sanctioned in the last 5 years",
        "compliance training completion under 70%",
    )


def test_heuristic_passes_a_clean_firm() -> None:
    result = SCENARIO.heuristic(SAFE)
    assert result.score == 0.0 and result.reasons == ()


@pytest.mark.parametrize("features", [{}, dict.fromkeys(RISKY), {"open_findings": []},
                                      {"overdue_filings": float("inf")}])
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


# plan


@pytest.mark.parametrize(("score", "tier"), [
    (0.0, "monitor"), (0.29, "monitor"), (0.3, "review"), (0.59, "review"), (0.6, "audit"),
    (1.0, "audit"),
])
def test_score_picks_the_tier(score: float, tier: str) -> None:
    assert tier_for(score).name == tier
    assert {step["tier"] for step in SCENARIO.plan(score, {})} == {tier}


def test_low_risk_clean_firm_gets_only_monitoring() -> None:
    assert SCENARIO.plan(0.1, SAFE) == [{
        "tier": "monitor",
        "action": "Keep automated monitoring on and re-score at the next quarterly review",
        "due_in_days": 90, "reason": "risk score 0.10 is in the monitor tier",
    }]


def test_audit_tier_brings_standard_and_targeted_actions_soonest_first() -> None:
    steps = SCENARIO.plan(0.8, RISKY)
    actions = [step["action"] for step in steps]
    assert actions[:3] == list(TIERS[2].actions)
    assert "File the 2 overdue regulatory filing(s)" in actions
    assert "Close or re-plan the 8 open findings" in actions
    assert "Schedule a full compliance audit" in actions
    assert all(step["due_in_days"] == 7 for step in steps)  # capped by the tier


def test_targeted_actions_keep_their_own_deadline_when_sooner_than_the_tier() -> None:
    steps = SCENARIO.plan(0.45, {"overdue_filings": 1, "training_completion": 0.8})
    due = {step["action"]: step["due_in_days"] for step in steps}
    assert due["File the 1 overdue regulatory filing(s)"] == 14
    assert due["Bring compliance training completion to at least 95%"] == 30
    assert [step["due_in_days"] for step in steps] == sorted(due.values())
    reasons = {step["action"]: step["reason"] for step in steps}
    assert reasons["Bring compliance training completion to at least 95%"] == (
        "training completion is 80%")


@pytest.mark.parametrize("score", [-0.1, 1.01, math.nan, "0.5", None, True])
def test_plan_rejects_a_score_outside_0_1(score: Any) -> None:
    with pytest.raises(ValueError, match="score must be a number in \\[0, 1\\]"):
        SCENARIO.plan(score, {})


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.0), feature_dicts(SCENARIO.schema))
def test_plan_is_deterministic_and_well_formed(score: float, features: dict[str, Any]) -> None:
    steps = SCENARIO.plan(score, features)
    assert steps == SCENARIO.plan(score, dict(features))
    tier = tier_for(score)
    assert len(steps) >= len(tier.actions)
    assert [s["due_in_days"] for s in steps] == sorted(s["due_in_days"] for s in steps)
    for step in steps:
        assert set(step) == {"tier", "action", "due_in_days", "reason"}
        assert step["tier"] == tier.name
        assert 1 <= step["due_in_days"] <= tier.due_in_days

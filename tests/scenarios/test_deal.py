"""The deal reference scenario: generator, seasonality, drift (also within one segment),
heuristic, model family."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
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
    feature_dicts,
    fit,
    generate,
    model_auc,
    positive_rate,
    train_before_drift,
)
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from riskops.errors import InputError
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Drift
from riskops.scenarios.deal import (
    COVARIATE_DEFAULT,
    LARGE_FROM,
    MEDIUM_FROM,
    DealScenario,
    quarter_end_weights,
)
from riskops.scenarios.generate import PRIOR_CAP

SCENARIO = DealScenario()
RISKY = {
    "amount": 400_000.0, "stage": "qualification", "days_in_stage": 120, "days_to_close": -5,
    "stakeholders_engaged": 1, "meetings_30d": 0, "discount_pct": 35.0,
    "competitor_present": "yes", "product_line": "core", "lead_source": "outbound",
}
SAFE = {
    "amount": 30_000.0, "stage": "commit", "days_in_stage": 6, "days_to_close": 12,
    "stakeholders_engaged": 6, "meetings_30d": 5, "discount_pct": 5.0,
    "competitor_present": "no", "product_line": "services", "lead_source": "referral",
}


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train_before_drift(SCENARIO)


def test_get_scenario_returns_deal() -> None:
    assert isinstance(get_scenario("deal"), DealScenario)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    check_deterministic(SCENARIO)


def test_columns_dtypes_ranges_sorted_timestamps_and_tenants() -> None:
    check_layout(SCENARIO, segments=("industry", "region", "deal_size_band"))


def test_generates_200k_rows_in_under_5_seconds() -> None:
    check_fast(SCENARIO)


def test_most_open_deals_are_lost_or_slip() -> None:
    assert 0.65 <= positive_rate(SCENARIO, generate(SCENARIO, 50_000, seed=3)) <= 0.78


def test_deal_size_band_is_the_amount_band() -> None:
    frame = generate(SCENARIO, 20_000)
    expected = np.where(frame["amount"] >= LARGE_FROM, "large",
                        np.where(frame["amount"] >= MEDIUM_FROM, "medium", "small"))
    assert (frame["deal_size_band"] == expected).all()
    assert set(frame["deal_size_band"]) == {"small", "medium", "large"}


def test_quarter_ends_are_busier_and_discounts_rise_near_the_close() -> None:
    # 2024-01-01 + 120 days holds the whole first quarter and its last two weeks.
    frame = generate(SCENARIO, 50_000)
    day = frame["timestamp"].dt.tz_convert("UTC").dt.normalize()
    per_day = day.value_counts()
    march_end = per_day[per_day.index >= pd.Timestamp("2024-03-18", tz="UTC")]
    march_end = march_end[march_end.index <= pd.Timestamp("2024-03-31", tz="UTC")]
    february = per_day[(per_day.index >= pd.Timestamp("2024-02-01", tz="UTC"))
                       & (per_day.index < pd.Timestamp("2024-03-01", tz="UTC"))]
    assert 2.0 < march_end.mean() / february.mean() < 3.0
    asked = frame[frame["discount_pct"] > 0]
    near = asked["days_to_close"].between(0, 20)
    assert asked.loc[near, "discount_pct"].mean() > asked.loc[~near, "discount_pct"].mean() + 3


def test_quarter_end_weights_mark_the_last_14_days_of_each_quarter() -> None:
    weights = quarter_end_weights(date(2024, 3, 1), 45)  # Mar 1 .. Apr 14
    busy = [date(2024, 3, 1 + i) for i in range(31) if weights[i] > 1]
    assert busy == [date(2024, 3, d) for d in range(18, 32)]
    assert (weights[31:] == 1.0).all()


def test_the_sensitive_company_size_links_to_features_only_through_amount() -> None:
    frame = generate(SCENARIO, 50_000)
    amount = frame.groupby("company_size_band")["amount"].median()
    assert amount["smb"] < amount["mid_market"] < amount["enterprise"]
    assert "company_size_band" not in SCENARIO.schema.feature_names


def test_covariate_drift_raises_discount_and_days_in_stage_by_default() -> None:
    check_covariate(SCENARIO, COVARIATE_DEFAULT)
    frame = generate(SCENARIO, 20_000, drift=Drift("covariate", DRIFT_START))
    late = after(frame)
    for name in COVARIATE_DEFAULT:
        assert frame.loc[late, name].mean() > frame.loc[~late, name].mean()


def test_covariate_drift_shifts_named_meetings_and_competitor() -> None:
    check_covariate(SCENARIO, ("meetings_30d", "competitor_present"))


def test_prior_drift_raises_the_loss_rate_towards_the_cap() -> None:
    drifted = generate(SCENARIO, 50_000, drift=Drift("prior", DRIFT_START))
    plain = generate(SCENARIO, 50_000)
    late = after(plain)
    base = positive_rate(SCENARIO, plain[late])
    raised = positive_rate(SCENARIO, drifted[late])
    assert raised == pytest.approx(PRIOR_CAP, abs=0.02) and raised > base + 0.15
    # 72% * 2**0.25 = 86%: under the cap, so smaller drift moves the rate less.
    small = generate(SCENARIO, 50_000, drift=Drift("prior", DRIFT_START, magnitude=0.25))
    assert base + 0.08 < positive_rate(SCENARIO, small[late]) < raised - 0.05
    pd.testing.assert_frame_equal(drifted[~late], plain[~late])


def test_concept_drift_costs_a_pre_drift_model_auc(trained: Trained) -> None:
    check_concept(SCENARIO, trained, min_loss=0.05)


def test_model_beats_heuristic_and_constant_on_later_slice(trained: Trained) -> None:
    check_model_beats_heuristic(SCENARIO, trained, min_auc=0.78, margin=0.06)


def test_the_model_family_beats_a_plain_logistic_regression(trained: Trained) -> None:
    """Why the family is calibrated gradient boosting (docs/scenarios.md has the numbers)."""
    schema = SCENARIO.schema
    plain = Pipeline([
        ("features", ColumnTransformer([
            ("numeric", StandardScaler(), schema.columns("numeric")),
            ("categorical", OneHotEncoder(handle_unknown="ignore"),
             schema.columns("categorical"))])),
        ("classifier", CalibratedClassifierCV(LogisticRegression(max_iter=2000),
                                              method="isotonic", cv=3)),
    ])
    early = trained.plain[~after(trained.plain)]
    late = trained.plain[after(trained.plain)]
    baseline = plain.fit(early[schema.feature_names], early["label"])
    assert model_auc(SCENARIO, trained.model, late) > model_auc(SCENARIO, baseline, late)


def test_drift_in_one_region_leaves_the_other_rows_unchanged() -> None:
    plain = generate(SCENARIO, 20_000)
    drifted = generate(SCENARIO, 20_000,
                       drift=Drift("prior", DRIFT_START, segment=("region", "emea")))
    emea = (plain["region"] == "emea").to_numpy()
    late = after(plain)
    pd.testing.assert_frame_equal(drifted[~(late & emea)], plain[~(late & emea)])
    assert positive_rate(SCENARIO, drifted[late & emea]) > \
        positive_rate(SCENARIO, plain[late & emea]) + 0.15


def test_segment_drift_needs_a_segment_column_and_a_value_that_occurs() -> None:
    with pytest.raises(InputError, match="'stage' is not a segment column; this scenario's "
                                         "segments are industry, region, deal_size_band"):
        generate(SCENARIO, 100, drift=Drift("prior", DRIFT_START, segment=("stage", "commit")))
    with pytest.raises(InputError, match="no generated row has region 'mars'; its values are "
                                         "apac, emea, latam, north_america"):
        generate(SCENARIO, 2_000, drift=Drift("prior", DRIFT_START, segment=("region", "mars")))


def test_drift_features_only_go_with_covariate_drift() -> None:
    with pytest.raises(InputError, match="only apply to covariate drift, not concept"):
        generate(SCENARIO, 100, drift=Drift("concept", DRIFT_START, ("discount_pct",)))


def test_heuristic_flags_a_stalled_overdue_deal_with_its_reasons() -> None:
    result = SCENARIO.heuristic(RISKY)
    assert result.score == 1.0 and result.label == "1"
    assert result.reasons == (
        "stalled: over 45 days in stage", "no meeting in the last 30 days",
        "expected close date has passed", "discount of 25% or more requested",
        "competitor present",
    )


def test_heuristic_passes_an_active_late_stage_deal() -> None:
    result = SCENARIO.heuristic(SAFE)
    assert result.score == 0.0 and result.reasons == ()


def test_heuristic_early_stage_close_to_the_date_is_a_slip_risk() -> None:
    result = SCENARIO.heuristic({"stage": "discovery", "days_to_close": 10})
    assert result.score == pytest.approx(0.2)
    assert result.reasons == ("early stage with under 21 days to close",)
    assert SCENARIO.heuristic({"stage": "negotiation", "days_to_close": 10}).score == 0.0


@pytest.mark.parametrize("features", [{}, dict.fromkeys(RISKY), {"meetings_30d": "x"},
                                      {"days_in_stage": True}])
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


def test_fit_on_generated_rows_scores_in_unit_interval() -> None:
    frame = generate(SCENARIO, 3_000)
    model = fit(SCENARIO, frame)
    scores = SCENARIO.risk_scores(model, frame.head(50))
    assert ((scores >= 0) & (scores <= 1)).all()

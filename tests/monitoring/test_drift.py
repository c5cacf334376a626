"""One variable's drift check: sample floor, missing values, kinds, verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from riskops.monitoring.drift import check_categorical, check_numeric, check_text
from riskops.monitoring.stats import psi
from riskops.monitoring.verdicts import is_degraded, is_drift, psi_verdict

RNG = np.random.default_rng(11)


def test_numeric_check_reports_every_statistic():
    reference, current = RNG.normal(size=500), RNG.normal(1.0, size=300)
    result = check_numeric(reference, current)
    assert result["status"] == "checked"
    assert result["psi"] == pytest.approx(psi(reference, current))
    assert result["drift"] and result["verdict"] == "alert"
    assert {"ks_statistic", "ks_pvalue", "jensen_shannon", "wasserstein_scaled",
            "z_score"} <= result.keys()


def test_numeric_check_skips_under_the_floor_and_says_why():
    result = check_numeric(RNG.normal(size=100), RNG.normal(size=29))
    assert result == {**result, "status": "skipped",
                      "reason": "current window has 29 non-missing values, fewer than the 30 "
                                "a drift check needs"}
    assert "psi" not in result


def test_numeric_check_drops_missing_values_and_reports_the_share():
    reference = np.r_[RNG.normal(size=90), [np.nan] * 10]
    result = check_numeric(reference, [*RNG.normal(size=60), None, None])
    assert result["reference_missing_share"] == pytest.approx(0.1)
    assert result["current_missing_share"] == pytest.approx(2 / 62)
    assert result["reference_rows"] == 90 and result["current_rows"] == 60


def test_numeric_check_of_empty_window_is_skipped():
    assert check_numeric([], RNG.normal(size=50))["status"] == "skipped"


def test_constant_reference_z_score_is_reported_as_none_with_a_note():
    result = check_numeric([1.0] * 40, [2.0] * 40)
    assert result["z_score"] is None and "z-score infinite" in result["note"]
    assert result["drift"]


def test_categorical_check_counts_missing_as_a_category():
    reference = ["pos"] * 60 + ["web"] * 40
    current = ["pos"] * 30 + ["web"] * 20 + [None] * 50
    result = check_categorical(reference, current)
    assert result["current_missing_share"] == 0.5
    assert result["shares"]["(missing)"] == {"reference": 0.0, "current": 0.5}
    assert result["drift"] and result["chi_square_pvalue"] < 1e-6


def test_text_check_measures_length():
    reference = ["short note"] * 50
    current = ["a much longer incident description than before"] * 50
    result = check_text(reference, current)
    assert result["kind"] == "text" and result["measure"] == "length in characters"
    assert result["drift"]


@pytest.mark.parametrize(("value", "verdict"), [(0.0, "stable"), (0.099, "stable"),
                                                (0.1, "monitor"), (0.25, "monitor"),
                                                (0.251, "alert")])
def test_psi_verdict_bands(value, verdict):
    assert psi_verdict(value) == verdict


def test_event_threshold_is_stricter_than_the_alert_band():
    assert is_drift(0.21) and psi_verdict(0.21) == "monitor"
    assert not is_drift(0.2)


def test_degradation_thresholds():
    assert is_degraded("brier", 0.21) and not is_degraded("brier", 0.2)
    assert is_degraded("mae", 0.3) and not is_degraded("roc_auc", 0.1)
    assert not is_degraded("brier", None)

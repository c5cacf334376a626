"""Performance metrics against scikit-learn; CBPE estimates against realised metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    brier_score_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.metrics import (
    mean_absolute_error as sk_mae,
)

from riskops.monitoring.performance import (
    calibrate,
    estimated_confusion,
    estimated_performance,
    estimated_roc_auc,
    label_mix,
    labelled_performance,
    mean_absolute_error,
    override_rate,
)
from riskops.training.metrics import expected_calibration_error


def _calibrated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels drawn as Bernoulli(score): calibrated by construction."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(1.2, 4.0, size=n)
    return (rng.random(n) < scores).astype(int), scores


Y, S = _calibrated(3_000)


def test_labelled_performance_matches_sklearn():
    result = labelled_performance(Y, S, threshold=0.3)
    precision, recall, f1, _ = precision_recall_fscore_support(
        Y, (S >= 0.3).astype(int), average="binary")
    assert result["brier"] == pytest.approx(brier_score_loss(Y, S))
    assert result["mae"] == pytest.approx(sk_mae(Y, S))
    assert result["roc_auc"] == pytest.approx(roc_auc_score(Y, S))
    assert (result["precision"], result["recall"], result["f1"]) == pytest.approx(
        (precision, recall, f1))
    assert result["ece"] == pytest.approx(expected_calibration_error(Y, S))
    assert result["rows"] == len(Y)


def test_labelled_performance_single_class_leaves_auc_undefined():
    result = labelled_performance([0] * 40, np.linspace(0, 0.5, 40), threshold=0.5)
    assert result["roc_auc"] is None
    assert "only one class" in result["undefined"]["roc_auc"]


def test_mean_absolute_error_matches_sklearn():
    assert mean_absolute_error(Y, S) == pytest.approx(sk_mae(Y, S))


def test_mean_absolute_error_names_bad_input():
    with pytest.raises(ValueError, match="scores has values outside"):
        mean_absolute_error([0, 1], [0.5, 1.5])


def test_estimated_roc_auc_equals_weighted_roc_auc():
    # every row once as a positive with weight p and once as a negative with 1 - p
    labels = np.r_[np.ones(S.size), np.zeros(S.size)]
    weighted = roc_auc_score(labels, np.r_[S, S], sample_weight=np.r_[S, 1 - S])
    assert estimated_roc_auc(S) == pytest.approx(weighted)


def test_estimated_roc_auc_with_ties_equals_weighted_roc_auc():
    scores = np.round(S, 1)
    labels = np.r_[np.ones(S.size), np.zeros(S.size)]
    weighted = roc_auc_score(labels, np.r_[scores, scores],
                             sample_weight=np.r_[scores, 1 - scores])
    assert estimated_roc_auc(scores) == pytest.approx(weighted)


def test_estimated_roc_auc_undefined_without_expected_positives():
    assert estimated_roc_auc([0.0, 0.0]) is None


def test_estimated_confusion_sums_to_rows():
    cm = estimated_confusion(S, threshold=0.3)
    assert sum(cm.values()) == pytest.approx(S.size)
    assert cm["tp"] + cm["fp"] == pytest.approx(np.sum(S >= 0.3))


@pytest.mark.parametrize("threshold", [0.2, 0.3, 0.5])
def test_cbpe_estimates_match_realised_metrics_on_calibrated_scores(threshold):
    y, s = _calibrated(20_000, seed=3)
    realised = labelled_performance(y, s, threshold=threshold)
    estimated = estimated_performance(s, threshold=threshold)
    for name, tolerance in (("roc_auc", 0.015), ("precision", 0.03), ("recall", 0.03),
                            ("f1", 0.03), ("brier", 0.005), ("mae", 0.01)):
        assert estimated[name] == pytest.approx(realised[name], abs=tolerance), name
    assert estimated["accuracy"] == pytest.approx(np.mean((s >= threshold) == y), abs=0.01)
    assert estimated["positive_rate"] == pytest.approx(realised["positive_rate"], abs=0.01)


def test_cbpe_with_probabilities_estimates_a_miscalibrated_model():
    rng = np.random.default_rng(5)
    truth = rng.beta(1.2, 4.0, size=40_000)
    y = (rng.random(truth.size) < truth).astype(int)
    skewed = truth ** 0.5  # ranking kept, probabilities overstated
    realised = labelled_performance(y, skewed, threshold=0.5)
    naive = estimated_performance(skewed, threshold=0.5)
    known = estimated_performance(skewed, threshold=0.5, probabilities=truth)
    half = truth.size // 2
    fitted = calibrate(skewed[:half], y[:half], skewed)
    recalibrated = estimated_performance(skewed, threshold=0.5, probabilities=fitted)
    for name in ("brier", "mae", "precision", "recall", "roc_auc"):
        assert known[name] == pytest.approx(realised[name], abs=0.02), name
        assert recalibrated[name] == pytest.approx(realised[name], abs=0.02), name
    assert naive["positive_rate"] - realised["positive_rate"] > 0.1  # raw scores mislead CBPE


def test_estimated_roc_auc_with_probabilities_equals_weighted_roc_auc():
    c = np.clip(S * 1.3, 0, 1)
    labels = np.r_[np.ones(S.size), np.zeros(S.size)]
    weighted = roc_auc_score(labels, np.r_[S, S], sample_weight=np.r_[c, 1 - c])
    assert estimated_roc_auc(S, c) == pytest.approx(weighted)


def test_calibrate_needs_both_classes():
    with pytest.raises(ValueError, match="reference_labels hold only the class 0"):
        calibrate([0.1, 0.2], [0, 0], [0.5])


def test_proxies():
    assert override_rate([True, False, False, True]) == 0.5
    assert label_mix(["1", "0", "0", "0"]) == {"0": 0.75, "1": 0.25}
    with pytest.raises(ValueError, match="overrides is empty"):
        override_rate([])

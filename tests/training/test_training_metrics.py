"""Evaluation metrics against hand-computed values and scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from riskops.training.metrics import (
    METRICS,
    classification_metrics,
    expected_calibration_error,
    metric_deltas,
    segment_metrics,
)


def _sample(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, n)
    y = (rng.random(n) < scores * 1.2).astype(int)
    return y, scores


def test_ece_hand_computed() -> None:
    # bin (0, .5]: rows 0.25, 0.25 with outcomes 0, 1 -> rate .5, mean .25, gap .25, weight .5
    # bin (.5, 1]: rows 0.75, 0.75, 0.75, 1.0 with outcomes 1, 1, 0, 1 -> rate .75,
    #   mean .8125, gap .0625, weight .5
    ece = expected_calibration_error([0, 1, 1, 1, 0, 1], [0.25, 0.25, 0.75, 0.75, 0.75, 1.0],
                                     n_bins=2)
    assert ece == pytest.approx(2 / 6 * 0.25 + 4 / 6 * 0.0625)


def test_ece_edge_values_fall_in_the_lower_bin() -> None:
    # 0.5 sits on the edge: it belongs to (0, 0.5], so both rows share one bin.
    assert expected_calibration_error([0, 1], [0.5, 0.5], n_bins=2) == pytest.approx(0.0)
    assert expected_calibration_error([1], [0.0], n_bins=10) == pytest.approx(1.0)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_matches_calibration_curve_weighted_by_bin_counts(n_bins: int, seed: int) -> None:
    y, p = _sample(seed=seed)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0, 1, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    weights = counts[counts > 0] / len(p)
    oracle = float(np.sum(weights * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(oracle, abs=1e-12)


def test_ece_is_zero_for_perfectly_calibrated_bins() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25] * 4 + [0.75] * 4)
    assert expected_calibration_error(y, p, n_bins=4) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1], [0.1, np.nan], "y_prob contains NaN"),
        ([0, 1], [0.1, np.inf], "y_prob contains NaN or infinity"),
        ([0, 1], [0.1, 1.2], r"y_prob has values outside \[0, 1\]"),
        ([0, 1, 1], [0.1, 0.2], r"different lengths \(3 != 2\)"),
        ([], [], "y_prob is empty"),
        ([0, 2], [0.1, 0.2], "y_true must hold only 0 and 1"),
    ],
)
def test_ece_names_the_bad_input(y: list, p: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(y, p)


def test_ece_needs_a_bin() -> None:
    with pytest.raises(ValueError, match="n_bins must be at least 1, got 0"):
        expected_calibration_error([0, 1], [0.1, 0.2], n_bins=0)


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5])
def test_metrics_equal_sklearn(threshold: float) -> None:
    y, s = _sample(seed=3)
    m = classification_metrics(y, s, threshold)
    predicted = (s >= threshold).astype(int)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, s))
    assert m["f1"] == pytest.approx(f1_score(y, predicted))
    assert m["precision"] == pytest.approx(precision_score(y, predicted))
    assert m["recall"] == pytest.approx(recall_score(y, predicted))
    assert m["brier"] == pytest.approx(brier_score_loss(y, s))
    assert m["log_loss"] == pytest.approx(log_loss(y, s))
    assert m["ece"] == pytest.approx(expected_calibration_error(y, s))
    assert (m["rows"], m["positives"], m["threshold"]) == (len(y), int(y.sum()), threshold)
    assert m["undefined"] == {}


def test_one_class_slice_has_undefined_ranking_metrics_with_the_reason() -> None:
    m = classification_metrics([0, 0, 0], [0.1, 0.7, 0.2], 0.5)
    assert m["roc_auc"] is None and m["pr_auc"] is None
    assert m["undefined"]["roc_auc"] == "only one class in y_true (all 0, 3 rows)"
    assert m["recall"] is None and m["undefined"]["recall"] == "no positives in y_true"
    assert m["f1"] == 0.0 and m["precision"] == 0.0  # one false alarm: defined, and zero
    assert m["brier"] == pytest.approx(brier_score_loss([0, 0, 0], [0.1, 0.7, 0.2]))
    assert m["log_loss"] == pytest.approx(log_loss([0, 0, 0], [0.1, 0.7, 0.2], labels=[0, 1]))


def test_no_positives_and_none_flagged_leaves_f1_undefined() -> None:
    m = classification_metrics([0, 0], [0.1, 0.2], 0.5)
    assert m["f1"] is None and m["precision"] is None
    assert m["undefined"]["f1"] == "no positives in y_true and none predicted"


def test_constant_scores() -> None:
    m = classification_metrics([0, 1, 0, 1], [0.5] * 4, 0.5)
    assert m["roc_auc"] == 0.5
    assert m["recall"] == 1.0 and m["precision"] == 0.5


def test_single_row() -> None:
    m = classification_metrics([1], [0.9], 0.5)
    assert m["roc_auc"] is None and m["f1"] == 1.0 and m["ece"] == pytest.approx(0.1)


def test_scores_of_exactly_zero_and_one_give_a_finite_log_loss() -> None:
    m = classification_metrics([0, 1], [1.0, 0.0], 0.5)
    assert np.isfinite(m["log_loss"]) and m["log_loss"] > 30


def test_nan_scores_are_refused_naming_the_input() -> None:
    with pytest.raises(ValueError, match="scores contains NaN or infinity"):
        classification_metrics([0, 1], [0.2, np.nan], 0.5)


def test_segment_metrics_per_value_with_small_values_skipped() -> None:
    y, s = _sample(n=100, seed=4)
    frame = pd.DataFrame({"region": ["north"] * 70 + ["south"] * 25 + [None] * 5})
    result = segment_metrics(frame, ["region", "absent"], y_true=y, scores=s, threshold=0.3,
                             min_rows=20)
    values = result["region"]["values"]
    assert values["north"] == classification_metrics(y[:70], s[:70], 0.3)
    assert values["south"] == classification_metrics(y[70:95], s[70:95], 0.3)
    assert values["(missing)"] == {"rows": 5, "skipped": "fewer than 20 rows"}
    assert result["absent"] == {"skipped": "column 'absent' is not in the data"}


def test_segment_metrics_needs_aligned_rows() -> None:
    with pytest.raises(ValueError, match="frame has 1 rows but y_true has 2"):
        segment_metrics(pd.DataFrame({"a": [1]}), ["a"], y_true=[0, 1], scores=[0.1, 0.2],
                        threshold=0.5)


def test_metric_deltas_are_candidate_minus_reference() -> None:
    candidate = dict.fromkeys(METRICS, 0.5) | {"roc_auc": 0.9, "pr_auc": None}
    reference = dict.fromkeys(METRICS, 0.5) | {"roc_auc": 0.8}
    deltas = metric_deltas(candidate, reference)
    assert deltas["roc_auc"] == pytest.approx(0.1)
    assert deltas["pr_auc"] is None and deltas["brier"] == 0.0
    assert set(deltas) == set(METRICS)

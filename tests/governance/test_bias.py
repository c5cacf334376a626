"""The bias audit's maths against fairlearn and scikit-learn, a hand-counted table, and
the verdict."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_negative_rate_difference,
    false_positive_rate,
    false_positive_rate_difference,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import brier_score_loss, precision_score, roc_auc_score

from riskops.governance.bias import (
    DIFFERENCES,
    GROUP_METRICS,
    bias_report,
    bias_verdict,
    expected_calibration_error,
)
from riskops.governance.digests import artifacts_digest
from riskops.governance.policy import BiasLimits

# -- realistic data: three groups with different base rates ------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    groups = rng.choice(np.array(["north", "south", "west"]), size=5_000, p=[0.5, 0.3, 0.2])
    base = np.select([groups == "north", groups == "south"], [0.08, 0.2], 0.35)
    labels = (rng.random(5_000) < base).astype(int)
    shift = np.where(groups == "west", 0.1, 0.0)
    scores = np.clip(rng.normal(0.25 + 0.35 * labels + shift, 0.15), 0.0, 1.0)
    return scores, labels, groups


def _ece_oracle(scores: np.ndarray, labels: np.ndarray) -> float:
    """Bins by explicit comparisons: [k/10, (k+1)/10), the last one closed."""
    total = 0.0
    for k in range(10):
        low, high = k / 10, (k + 1) / 10
        inside = (scores >= low) & ((scores < high) if k < 9 else (scores <= high))
        if inside.any():
            total += inside.sum() * abs(labels[inside].mean() - scores[inside].mean())
    return total / scores.size


def test_group_rates_equal_fairlearn_and_sklearn_per_group(sample) -> None:  # type: ignore[no-untyped-def]
    scores, labels, groups = sample
    report = bias_report(scores, labels, {"region": groups}, threshold=0.5, limits=BiasLimits())
    table = report["sensitive"]["region"]["groups"]
    predictions = (scores >= 0.5).astype(int)
    assert sorted(table) == ["north", "south", "west"]
    for name, row in table.items():
        m = groups == name
        y, p, s = labels[m], predictions[m], scores[m]
        assert set(row) == set(GROUP_METRICS)
        assert (row["count"], row["positives"]) == (m.sum(), y.sum())
        assert row["selection_rate"] == pytest.approx(selection_rate(y, p))
        assert row["tpr"] == pytest.approx(true_positive_rate(y, p))
        assert row["fpr"] == pytest.approx(false_positive_rate(y, p))
        assert row["fnr"] == pytest.approx(false_negative_rate(y, p))
        assert row["precision"] == pytest.approx(precision_score(y, p, zero_division=0))
        assert row["roc_auc"] == pytest.approx(roc_auc_score(y, s))
        assert row["brier"] == pytest.approx(brier_score_loss(y, s))
        assert row["calibration_error"] == pytest.approx(_ece_oracle(s, y))
        assert row["too_small"] is False


def test_differences_equal_fairlearn(sample) -> None:  # type: ignore[no-untyped-def]
    scores, labels, groups = sample
    report = bias_report(scores, labels, {"region": groups}, threshold=0.5, limits=BiasLimits())
    diffs = report["sensitive"]["region"]["differences"]
    p = (scores >= 0.5).astype(int)
    kw = {"sensitive_features": groups}
    assert set(diffs) == set(DIFFERENCES)
    assert diffs["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(labels, p, **kw))
    assert diffs["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(labels, p, **kw))
    assert diffs["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(labels, p, **kw))
    assert diffs["equal_opportunity_difference"] == pytest.approx(
        equal_opportunity_difference(labels, p, **kw))
    assert diffs["fpr_difference"] == pytest.approx(
        false_positive_rate_difference(labels, p, **kw))
    assert diffs["fnr_difference"] == pytest.approx(
        false_negative_rate_difference(labels, p, **kw))
    frame = MetricFrame(metrics=lambda y, s: _ece_oracle(s, y), y_true=labels, y_pred=scores,
                        sensitive_features=groups)
    assert diffs["calibration_gap"] == pytest.approx(frame.difference())
    rates = MetricFrame(metrics=selection_rate, y_true=labels, y_pred=p, sensitive_features=groups)
    assert diffs["demographic_parity_ratio"] == pytest.approx(rates.ratio())


def test_report_is_strict_json(sample) -> None:  # type: ignore[no-untyped-def]
    scores, labels, groups = sample
    report = bias_report(scores, labels, {"region": groups}, threshold=0.5, limits=BiasLimits())
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert (report["rows"], report["threshold"]) == (5_000, 0.5)
    assert report["limits"] == {"max_equalized_odds_difference": 0.1,
                                "min_demographic_parity_ratio": 0.8, "min_group_size": 50}


# -- expected calibration error ---------------------------------------------------------


def test_ece_by_hand() -> None:
    # calibration_curve's bins (k/10, (k+1)/10], the first holding 0:
    # [0, 0.1]: 0.1 (label 0) -> 0.1; (0.1, 0.2]: 0.15 (1) -> 0.85;
    # (0.8, 0.9]: 0.9 (1) -> 0.1; (0.9, 1]: 1.0 (1) -> 0
    ece = expected_calibration_error([0.1, 0.15, 0.9, 1.0], [0, 1, 1, 1])
    assert ece == pytest.approx((0.1 + 0.85 + 0.1 + 0.0) / 4)


def test_ece_is_the_one_training_and_monitoring_report() -> None:
    from riskops.training.metrics import expected_calibration_error as training_ece

    scores, labels = [0.1, 0.2, 0.3, 0.3, 0.7, 0.95], [0, 0, 1, 0, 1, 1]
    assert expected_calibration_error(scores, labels) == training_ece(labels, scores)


def test_ece_is_zero_when_every_bin_is_calibrated() -> None:
    assert expected_calibration_error([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0]) == 0.0


# -- a table counted by hand --------------------------------------------------------------

# group a: scores .9 .6 .3 .2, labels 1 0 1 0 -> TP 1, FP 1, FN 1, TN 1
# group b: scores .7 .1 .2,    labels 0 0 0   -> FP 1, TN 2 (no positives)
# group c: scores .5 .5 .5 .5, labels 1 1 0 0 -> TP 2, FP 2 (constant score)
# missing: scores .8 .4,       labels 1 1     -> TP 1, FN 1 (None and NaN; too small)
TINY_SCORES = [0.9, 0.6, 0.3, 0.2, 0.7, 0.1, 0.2, 0.5, 0.5, 0.5, 0.5, 0.8, 0.4]
TINY_LABELS = [1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
TINY_GROUPS = ["a"] * 4 + ["b"] * 3 + ["c"] * 4 + [None, float("nan")]


@pytest.fixture
def tiny() -> dict:  # type: ignore[type-arg]
    return bias_report(TINY_SCORES, TINY_LABELS, {"band": TINY_GROUPS}, threshold=0.5,
                       limits=BiasLimits(min_group_size=3))


def test_hand_counted_group_a(tiny) -> None:  # type: ignore[no-untyped-def]
    a = tiny["sensitive"]["band"]["groups"]["a"]
    assert a == pytest.approx({
        "count": 4, "positives": 2, "selection_rate": 0.5, "tpr": 0.5, "fpr": 0.5,
        "fnr": 0.5, "precision": 0.5,
        "roc_auc": 0.75,  # pairs (pos, neg): (.9,.6) (.9,.2) (.3,.2) ranked right, (.3,.6) not
        "brier": (0.01 + 0.36 + 0.49 + 0.04) / 4,
        "calibration_error": (0.1 + 0.6 + 0.7 + 0.2) / 4,  # one row per bin
        "too_small": False})


def test_group_without_positives_has_no_tpr_fnr_or_auc(tiny) -> None:  # type: ignore[no-untyped-def]
    b = tiny["sensitive"]["band"]["groups"]["b"]
    assert (b["tpr"], b["fnr"], b["roc_auc"]) == (None, None, None)
    assert b["fpr"] == pytest.approx(1 / 3)
    assert b["precision"] == 0.0  # one flagged row, not a positive
    assert b["positives"] == 0


def test_constant_score_group(tiny) -> None:  # type: ignore[no-untyped-def]
    c = tiny["sensitive"]["band"]["groups"]["c"]
    assert (c["selection_rate"], c["tpr"], c["fpr"], c["fnr"]) == (1.0, 1.0, 1.0, 0.0)
    assert (c["roc_auc"], c["brier"], c["calibration_error"]) == (0.5, 0.25, 0.0)


def test_missing_values_form_one_group_that_is_too_small(tiny) -> None:  # type: ignore[no-untyped-def]
    section = tiny["sensitive"]["band"]
    missing = section["groups"]["(missing)"]
    assert (missing["count"], missing["tpr"], missing["fpr"], missing["too_small"]) == (
        2, 0.5, None, True)
    assert section["judged_groups"] == ["a", "b", "c"]
    assert section["too_small_groups"] == ["(missing)"]


def test_differences_ignore_unjudged_groups_and_undefined_rates(tiny) -> None:  # type: ignore[no-untyped-def]
    diffs = tiny["sensitive"]["band"]["differences"]
    assert diffs == pytest.approx({
        "demographic_parity_difference": 1 - 1 / 3,   # c 1.0, b 1/3
        "demographic_parity_ratio": 1 / 3,
        "equalized_odds_difference": 1 - 1 / 3,       # max(tpr 1-.5, fpr 1-1/3)
        "equal_opportunity_difference": 0.5,          # tpr: a .5, c 1 (b has none)
        "fpr_difference": 1 - 1 / 3,
        "fnr_difference": 0.5,                        # fnr: a .5, c 0
        "calibration_gap": 0.4,                       # a .4, c 0
    })


def test_group_values_are_compared_as_text() -> None:
    report = bias_report([0.2, 0.7, 0.4], [0, 1, 0], {"code": [1, "1", 2]}, threshold=0.5,
                         limits=BiasLimits(min_group_size=1))
    assert report["sensitive"]["code"]["groups"]["1"]["count"] == 2


# -- verdict --------------------------------------------------------------------------------


def test_hand_table_fails_naming_column_metric_and_groups(tiny) -> None:  # type: ignore[no-untyped-def]
    assert tiny["status"] == "fail"
    assert tiny["reasons"] == [
        "band: equalized odds difference 0.67 > 0.10 (fpr 1.00 in 'c' vs 0.33 in 'b')",
        "band: demographic parity ratio 0.33 < 0.80 (selection rate 0.33 in 'b' vs 1.00 "
        "in 'c')",
    ]


def test_similar_groups_pass() -> None:
    rng = np.random.default_rng(3)
    groups = rng.choice(np.array(["x", "y"]), size=5_000)
    labels = (rng.random(5_000) < 0.3).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.4 * labels, 0.1), 0, 1)
    report = bias_report(scores, labels, {"g": groups}, threshold=0.5, limits=BiasLimits())
    assert (report["status"], report["reasons"]) == ("pass", [])


def test_column_with_one_judged_group_is_reported_but_does_not_fail() -> None:
    report = bias_report(TINY_SCORES, TINY_LABELS, {"band": TINY_GROUPS}, threshold=0.5,
                         limits=BiasLimits(min_group_size=4))
    section = report["sensitive"]["band"]
    assert section["judged_groups"] == ["a", "c"]
    report = bias_report(TINY_SCORES, TINY_LABELS, {"band": TINY_GROUPS}, threshold=0.5,
                         limits=BiasLimits(min_group_size=5))
    section = report["sensitive"]["band"]
    assert section["judged_groups"] == []
    assert section["differences"] == dict.fromkeys(DIFFERENCES)
    assert report["status"] == "pass"
    assert report["reasons"] == [
        "band: could not be judged: 0 group(s) with at least 5 rows, 2 needed; too small: "
        "'(missing)' (2), 'a' (4), 'b' (3), 'c' (4)."]


def test_verdict_checks_each_limit_alone() -> None:
    section = {"groups": {"p": {"selection_rate": 0.1}, "q": {"selection_rate": 0.2}},
               "judged_groups": ["p", "q"], "too_small_groups": [],
               "differences": {**dict.fromkeys(DIFFERENCES), "demographic_parity_ratio": 0.5,
                               "equalized_odds_difference": 0.05}}
    status, reasons = bias_verdict({"col": section}, BiasLimits())
    assert (status, reasons) == ("fail", [
        "col: demographic parity ratio 0.50 < 0.80 (selection rate 0.10 in 'p' vs 0.20 in "
        "'q')"])
    assert bias_verdict({"col": section}, BiasLimits(min_demographic_parity_ratio=0.5)) == (
        "pass", [])


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("scores", "labels", "message"), [
    ([0.2, 1.5], [0, 1], r"scores must be numbers in \[0, 1\]; 1 are not \(first: 1.5"),
    ([0.2, np.nan], [0, 1], r"scores must be numbers in \[0, 1\]"),
    ([0.2, 0.3], [0, 2], "labels must be 0 or 1"),
    ([0.2, 0.3], [0], r"scores \(2\) and labels \(1\) must have the same length"),
    ([], [], "scores is empty"),
])
def test_bad_arrays_are_named(scores, labels, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        bias_report(scores, labels, {"g": ["a"] * len(scores)}, threshold=0.5,
                    limits=BiasLimits())


def test_sensitive_column_of_wrong_length_is_named() -> None:
    with pytest.raises(ValueError, match="sensitive column 'g' has 1 values; scores have 2"):
        bias_report([0.1, 0.2], [0, 1], {"g": ["a"]}, threshold=0.5, limits=BiasLimits())


# -- the artifacts digest ---------------------------------------------------------------


def test_artifacts_digest_is_sha256_of_sorted_canonical_json() -> None:
    rows = [("models/m/1/z.json", "b" * 64, 7), ("models/m/1/a.skops", "a" * 64, 12)]
    text = ('[{"path":"models/m/1/a.skops","sha256":"' + "a" * 64 + '","size":12},'
            '{"path":"models/m/1/z.json","sha256":"' + "b" * 64 + '","size":7}]')
    assert artifacts_digest(rows) == hashlib.sha256(text.encode()).hexdigest()
    assert artifacts_digest(reversed(rows)) == artifacts_digest(rows)
    assert artifacts_digest([(rows[0][0], rows[0][1], 8), rows[1]]) != artifacts_digest(rows)

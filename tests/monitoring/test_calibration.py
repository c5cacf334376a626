"""Calibration per group, against scikit-learn's brier_score_loss and calibration_curve."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from riskops.monitoring.calibration import group_calibration
from riskops.monitoring.verdicts import calibration_breaches
from riskops.training.metrics import expected_calibration_error


def _sample(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = rng.choice(["emea", "apac", "amer"], size=n, p=[0.5, 0.3, 0.2])
    scores = rng.uniform(size=n)
    truth = np.where(groups == "emea", np.clip(scores + 0.3, 0, 1), scores)  # emea is off
    y = (rng.uniform(size=n) < truth).astype(int)
    return y, scores, groups


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize(("n_bins", "seed"), [(10, 0), (5, 1), (20, 2)])
def test_each_group_matches_brier_score_loss_and_calibration_curve(
        strategy: str, n_bins: int, seed: int) -> None:
    y, s, g = _sample(seed)

    result = group_calibration(y, s, g, n_bins=n_bins, strategy=strategy)

    assert list(result) == ["amer", "apac", "emea"]
    for name, entry in result.items():
        mask = g == name
        assert entry["status"] == "checked"
        assert entry["rows"] == mask.sum() and entry["positives"] == y[mask].sum()
        assert entry["brier"] == pytest.approx(brier_score_loss(y[mask], s[mask]), abs=1e-12)
        prob_true, prob_pred = calibration_curve(y[mask], s[mask], n_bins=n_bins,
                                                 strategy=strategy)
        table = entry["reliability"]
        filled = [i for i, n in enumerate(table["rows"]) if n]
        assert [table["observed_rate"][i] for i in filled] == pytest.approx(prob_true)
        assert [table["mean_predicted"][i] for i in filled] == pytest.approx(prob_pred)
        assert all(table["observed_rate"][i] is None for i, n in enumerate(table["rows"])
                   if not n)
        assert len(table["edges"]) == n_bins + 1 and sum(table["rows"]) == mask.sum()
        # ECE is the bin-weighted gap of the same table
        weights = np.array([table["rows"][i] for i in filled]) / mask.sum()
        assert entry["ece"] == pytest.approx(np.sum(weights * np.abs(prob_true - prob_pred)))
        assert entry["mean_score"] == pytest.approx(s[mask].mean())
        assert entry["observed_rate"] == pytest.approx(y[mask].mean())


def test_the_shifted_group_is_the_one_over_the_thresholds() -> None:
    y, s, g = _sample(3)

    result = group_calibration(y, s, g, min_rows=200)

    breached = {name: [b["metric"] for b in calibration_breaches(entry)]
                for name, entry in result.items()}
    assert breached == {"amer": [], "apac": [], "emea": ["ece"]}
    assert result["emea"]["ece"] == pytest.approx(expected_calibration_error(
        y[g == "emea"], s[g == "emea"]))


def test_hand_computed_two_bins() -> None:
    # bin (0, 0.5]: scores 0.2, 0.4 with outcomes 0, 1; bin (0.5, 1]: 0.9 with outcome 0
    result = group_calibration([0, 1, 0], [0.2, 0.4, 0.9], ["a", "a", "a"], n_bins=2)

    a = result["a"]
    assert a["brier"] == pytest.approx((0.04 + 0.36 + 0.81) / 3)
    assert a["reliability"] == {"edges": [0.0, 0.5, 1.0], "rows": [2, 1],
                                "mean_predicted": [pytest.approx(0.3), 0.9],
                                "observed_rate": [0.5, 0.0]}
    assert a["ece"] == pytest.approx(2 / 3 * 0.2 + 1 / 3 * 0.9)


def test_a_score_on_an_inner_edge_falls_in_the_bin_below() -> None:
    table = group_calibration([1], [0.5], ["a"], n_bins=2)["a"]["reliability"]
    assert table["rows"] == [1, 0]


def test_one_class_group_is_checked_like_any_other() -> None:
    y, s = np.zeros(40, dtype=int), np.linspace(0.0, 0.3, 40)

    entry = group_calibration(y, s, ["x"] * 40)["x"]

    assert entry["status"] == "checked" and entry["positives"] == 0
    assert entry["brier"] == pytest.approx(brier_score_loss(y, s))
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
    table = entry["reliability"]
    assert [v for v in table["mean_predicted"] if v is not None] == pytest.approx(prob_pred)
    assert [v for v in table["observed_rate"] if v is not None] == list(prob_true)
    assert entry["ece"] == pytest.approx(s.mean())  # every outcome 0: the gap is the score


def test_small_and_empty_groups_are_skipped_with_the_reason() -> None:
    y = [0, 1] * 10 + [1, 1]
    s = [0.5] * 22
    g = ["big"] * 20 + ["small"] * 2

    result = group_calibration(y, s, g, min_rows=10, values=["absent"])

    assert result["small"] == {"status": "skipped", "rows": 2, "positives": 2,
                               "reason": "2 labelled rows, fewer than the 10 a calibration "
                                         "check needs"}
    assert result["absent"] == {"status": "skipped", "rows": 0, "positives": 0,
                                "reason": "no labelled rows"}
    assert result["big"]["status"] == "checked"
    assert calibration_breaches(result["small"]) == []


def test_empty_input_reports_only_the_named_groups() -> None:
    assert group_calibration([], [], [], values=["a"]) == {
        "a": {"status": "skipped", "rows": 0, "positives": 0, "reason": "no labelled rows"}}
    assert group_calibration([], [], []) == {}


def test_missing_group_values_form_their_own_group() -> None:
    result = group_calibration([0, 1, 1], [0.1, 0.9, 0.8], ["a", None, float("nan")])
    assert list(result) == ["(missing)", "a"] and result["(missing)"]["rows"] == 2


@pytest.mark.parametrize(("y", "s", "g", "message"), [
    ([0, 1], [0.1, np.nan], ["a", "a"], "scores contains NaN or infinity; every row needs a score"),
    ([0, 2], [0.1, 0.2], ["a", "a"], "y_true must hold only 0 and 1"),
    ([0, 1], [0.1, 1.2], ["a", "a"], r"^scores "),
    ([0, 1], [0.1, 0.2], ["a"], r"groups and y_true have different lengths \(1 != 2\)"),
])
def test_bad_input_is_refused_naming_it(y, s, g, message) -> None:
    with pytest.raises(ValueError, match=message):
        group_calibration(y, s, g)


@pytest.mark.parametrize(("options", "message"), [
    ({"n_bins": 0}, "n_bins must be at least 1, got 0"),
    ({"strategy": "kmeans"}, "strategy must be one of uniform, quantile, got 'kmeans'"),
    ({"min_rows": 0}, "min_rows must be an integer of at least 1, got 0"),
])
def test_bad_options_are_refused_even_without_rows(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        group_calibration([], [], [], **options)


def test_breaches_name_each_metric_over_its_threshold() -> None:
    entry = {"status": "checked", "brier": 0.25, "ece": 0.05}
    assert calibration_breaches(entry) == [{"metric": "brier", "value": 0.25,
                                            "threshold": 0.2}]
    assert calibration_breaches(entry, {"brier": 0.3, "ece": 0.01}) == [
        {"metric": "ece", "value": 0.05, "threshold": 0.01}]


def test_thousands_of_small_groups_fold_into_one_entry_and_the_big_ones_stay_exact():
    from riskops.monitoring.calibration import MAX_SKIPPED_LISTED, OTHER_VALUES

    rng = np.random.default_rng(3)
    n = 30_000
    groups = np.array([f"id-{i}" for i in range(n)], dtype=object)
    groups[:12_000] = "big"      # one value with enough rows
    groups[12_000:12_600] = "mid"
    scores = rng.uniform(size=n)
    y = (rng.uniform(size=n) < scores).astype(int)

    result = group_calibration(y, scores, groups, min_rows=200)

    checked = {k for k, v in result.items() if v["status"] == "checked"}
    assert checked == {"big", "mid"}
    other = result[OTHER_VALUES]
    assert other["values"] == n - 12_600 - MAX_SKIPPED_LISTED
    assert other["rows"] == other["values"] and other["status"] == "skipped"
    assert len(result) == 2 + MAX_SKIPPED_LISTED + 1
    big = groups == "big"
    assert result["big"]["brier"] == pytest.approx(brier_score_loss(y[big], scores[big]))
    assert sum(v["rows"] for v in result.values()) == n

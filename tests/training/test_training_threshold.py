"""The F1-maximising threshold against a brute-force oracle and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from riskops.training.threshold import RULE, choose_threshold, f1_by_threshold


def _brute_force(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    best_t, best_f1 = -1.0, -1.0
    for t in sorted(set(s.tolist())):
        f1 = f1_score(y, (s >= t).astype(int), zero_division=0.0)
        if f1 >= best_f1:  # ascending: ">=" keeps the highest of equal F1
            best_t, best_f1 = t, f1
    return best_t, best_f1


@pytest.mark.parametrize("seed", range(5))
def test_f1_curve_equals_sklearn_at_every_threshold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(200), 2)  # rounded: many ties
    y = (rng.random(200) < s).astype(int)
    thresholds, f1 = f1_by_threshold(y, s)
    assert thresholds.tolist() == sorted(set(s.tolist()))
    for t, value in zip(thresholds, f1, strict=True):
        assert value == pytest.approx(f1_score(y, (s >= t).astype(int)))


@pytest.mark.parametrize("seed", range(5))
def test_choice_matches_the_brute_force_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = np.round(rng.beta(2, 5, 300), 3)
    y = (rng.random(300) < s).astype(int)
    choice = choose_threshold(y, s, fallback=0.5)
    best_t, best_f1 = _brute_force(y, s)
    assert choice.threshold == best_t
    assert choice.f1 == pytest.approx(best_f1)
    assert choice.rule == RULE and choice.reason is None


def test_ties_go_to_the_highest_threshold() -> None:
    # 0.2 flags all four: TP 2, FP 2 -> F1 4/6; 0.3: TP 1, FP 2, FN 1 -> 2/5;
    # 0.4: TP 1, FP 1, FN 1 -> 2/4; 0.6: TP 1, FN 1 -> 2/3. Best 2/3 at 0.2 and 0.6.
    y = np.array([1, 0, 0, 1])
    s = np.array([0.2, 0.3, 0.4, 0.6])
    _, f1 = f1_by_threshold(y, s)
    assert f1.tolist() == pytest.approx([2 / 3, 2 / 5, 1 / 2, 2 / 3])
    assert f1[0] == f1[3]  # exactly equal, from integer counts
    choice = choose_threshold(y, s, fallback=0.5)
    assert choice.threshold == 0.6 and choice.f1 == pytest.approx(2 / 3)


def test_without_positives_the_scenario_default_is_used_with_the_reason() -> None:
    choice = choose_threshold([0, 0, 0], [0.1, 0.2, 0.3], fallback=0.42)
    assert choice.threshold == 0.42 and choice.f1 is None
    assert choice.reason == "no positive rows in the validation slice, F1 cannot choose"
    assert choice.as_dict()["fallback_reason"] == choice.reason


def test_constant_scores_flag_everything() -> None:
    choice = choose_threshold([0, 1, 1], [0.3, 0.3, 0.3], fallback=0.5)
    assert choice.threshold == 0.3 and choice.f1 == pytest.approx(0.8)


def test_nan_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="scores contains NaN"):
        choose_threshold([0, 1], [np.nan, 0.2], fallback=0.5)

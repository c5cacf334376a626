"""Statistics at scale: KS and Wasserstein from one merge, categorical checks from counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.stats import chi2_contingency

from riskops.monitoring import drift, stats


@pytest.mark.parametrize("seed", range(6))
def test_ks_and_wasserstein_match_scipy_with_ties(seed: int):
    rng = np.random.default_rng(seed)
    # Integers: many ties within and across the samples, unsorted.
    reference = rng.integers(0, 7, size=300).astype(float)
    current = rng.integers(2, 9, size=170).astype(float)

    ks, wasserstein = stats.ks_and_wasserstein(reference, current)

    assert ks.statistic == pytest.approx(scipy_stats.ks_2samp(reference, current).statistic)
    assert ks == stats.ks_statistic(reference, current)
    expected = scipy_stats.wasserstein_distance(reference, current) / np.std(reference)
    assert wasserstein == pytest.approx(expected, rel=1e-12)
    assert wasserstein == pytest.approx(stats.wasserstein_scaled(reference, current), rel=1e-12)


def test_ks_and_wasserstein_on_continuous_samples_match_scipy():
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=20_000), rng.normal(0.1, 1.2, size=15_000)

    ks, wasserstein = stats.ks_and_wasserstein(reference, current)

    oracle = scipy_stats.ks_2samp(reference, current, method="asymp")
    assert ks.statistic == pytest.approx(oracle.statistic, abs=1e-12)
    assert ks.pvalue == pytest.approx(oracle.pvalue, rel=1e-6)
    assert wasserstein * np.std(reference) == pytest.approx(
        scipy_stats.wasserstein_distance(reference, current), rel=1e-9)


def test_identical_samples_have_no_distance():
    values = [3.0, 1.0, 2.0, 2.0]
    ks, wasserstein = stats.ks_and_wasserstein(values, values)
    assert (ks.statistic, wasserstein) == (0.0, 0.0)


def test_ks_and_wasserstein_name_the_sample_with_nan():
    with pytest.raises(ValueError, match="current contains NaN"):
        stats.ks_and_wasserstein([1.0, 2.0], [1.0, np.nan])


def test_chi_square_counts_matches_scipy():
    reference, current = [30, 50, 20, 0], [20, 40, 30, 10]

    result = stats.chi_square_counts(reference, current)

    statistic, pvalue, dof, _ = chi2_contingency([reference, current], correction=False)
    assert result.statistic == pytest.approx(statistic)
    assert result.pvalue == pytest.approx(pvalue)
    assert result.dof == dof == 3


def test_chi_square_counts_drops_categories_neither_sample_has():
    with_empty = stats.chi_square_counts([5, 0, 5], [3, 0, 7])
    assert with_empty == stats.chi_square_counts([5, 5], [3, 7])


@pytest.mark.parametrize(("reference", "current", "message"), [
    ([1, 2], [1, 2, 3], "same length"),
    ([1, -2], [1, 2], "non-negative"),
    ([0, 0], [1, 2], "positive total"),
    ([1, np.nan], [1, 2], "reference_counts contains NaN"),
])
def test_chi_square_counts_refuses_bad_counts(reference, current, message):
    with pytest.raises(ValueError, match=message):
        stats.chi_square_counts(reference, current)


def test_category_counts_give_the_check_of_the_values():
    rng = np.random.default_rng(3)
    reference = list(rng.choice(["a", "b", "c", None], size=500, p=[0.5, 0.3, 0.15, 0.05]))
    current = list(rng.choice(["a", "b", "d", None], size=400, p=[0.3, 0.4, 0.2, 0.1]))

    from_counts = drift.check_category_counts(Counter(reference), Counter(current))

    assert from_counts == drift.check_categorical(reference, current)
    assert from_counts["current_missing_share"] == pytest.approx(current.count(None) / 400)
    assert from_counts["categories"] == 5  # a, b, c, d and (missing)


def test_category_counts_merge_keys_that_read_the_same():
    # 1 and "1" are one category, as in check_categorical; NaN is missing.
    result = drift.check_category_counts({1: 20, "1": 20, float("nan"): 10},
                                         {"1": 40, None: 10}, min_samples=1)
    assert result["psi"] == 0.0
    assert set(result["shares"]) == {"1", drift.MISSING}


def test_category_counts_below_the_floor_are_skipped():
    result = drift.check_category_counts({"a": 10}, {"a": 40})
    assert result["status"] == "skipped"
    assert "reference window has 10 values" in result["reason"]


def test_check_numeric_gives_the_standalone_statistics():
    rng = np.random.default_rng(5)
    reference, current = rng.gamma(2.0, size=3000), rng.gamma(2.3, size=2000)

    result = drift.check_numeric(reference, current)

    assert result["psi"] == stats.psi(reference, current)
    assert result["jensen_shannon"] == stats.jensen_shannon(reference, current)
    assert result["ks_statistic"] == stats.ks_statistic(reference, current).statistic
    assert result["wasserstein_scaled"] == pytest.approx(
        stats.wasserstein_scaled(reference, current), rel=1e-12)


def test_jensen_shannon_of_shares_refuses_misaligned_shares():
    with pytest.raises(ValueError, match="same length"):
        stats.jensen_shannon_of_shares([0.5, 0.5], [1.0])

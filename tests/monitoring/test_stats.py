"""Drift statistics against scipy on the same arrays, plus edge cases and properties."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, entropy, ks_2samp, wasserstein_distance

from riskops.monitoring.stats import (
    Bins,
    bin_shares,
    categorical_psi,
    category_shares,
    chi_square,
    drift_z_score,
    drop_missing,
    jensen_shannon,
    ks_statistic,
    psi,
    psi_of_shares,
    reference_bins,
    shares_in,
    wasserstein_scaled,
)

RNG = np.random.default_rng(7)
REF = RNG.normal(size=2_000)
CUR = RNG.normal(0.3, 1.2, size=700)


# --- PSI -----------------------------------------------------------------------------


def test_psi_hand_computed_on_two_values():
    # reference shares (0.5, 0.5); current shares (0.8, 0.2); gap bins empty in both
    value = psi([0, 0, 1, 1], [0, 0, 0, 0, 1], bins=2)
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert value == pytest.approx(by_hand)
    assert value == pytest.approx(entropy([.8, .2], [.5, .5]) + entropy([.5, .5], [.8, .2]))


def test_psi_hand_computed_with_quantile_bins():
    reference = np.arange(1, 101, dtype=float)  # quartile edges 25.75, 50.5, 75.25
    current = np.r_[np.full(10, 10.0), np.full(20, 40.0), np.full(30, 60.0), np.full(40, 90.0)]
    ref = np.array([.25, .25, .25, .25])
    cur = np.array([.1, .2, .3, .4])
    assert psi(reference, current, bins=4) == pytest.approx(np.sum((cur - ref) * np.log(cur / ref)))


def test_psi_quantile_bins_match_numpy_histogram():
    inner = np.quantile(REF, np.linspace(0, 1, 11)[1:-1])
    edges = np.r_[-np.inf, inner, np.inf]
    ref_counts = np.histogram(REF, edges)[0] / REF.size
    cur_counts = np.histogram(CUR, edges)[0] / CUR.size
    ref_shares, cur_shares = bin_shares(REF, CUR, bins=10)
    np.testing.assert_allclose(ref_shares, ref_counts)
    np.testing.assert_allclose(cur_shares, cur_counts)
    expected = np.sum((cur_counts - ref_counts) * np.log(cur_counts / ref_counts))
    assert psi(REF, CUR) == pytest.approx(expected)


def test_psi_empty_bin_counts_as_epsilon():
    # current never reaches the top value: that bin is epsilon there
    value = psi([0, 1] * 50, [0] * 100, bins=2, epsilon=1e-4)
    by_hand = (1 - .5) * math.log(1 / .5) + (1e-4 - .5) * math.log(1e-4 / .5)
    assert value == pytest.approx(by_hand)


def test_psi_of_identical_samples_is_zero():
    assert psi(REF, REF) == 0.0
    assert psi(REF, RNG.permutation(REF)) == 0.0


def test_psi_of_same_distribution_is_small_and_shift_is_large():
    other = np.random.default_rng(1).normal(size=2_000)
    assert psi(REF, other) < 0.02
    assert psi(REF, REF + 1.0) > 0.25


def test_psi_constant_reference_sees_shifts_both_ways():
    constant = np.full(100, 3.0)
    assert psi(constant, constant) == 0.0
    assert psi(constant, np.full(50, 4.0)) > 1
    assert psi(constant, np.full(50, 2.0)) > 1


def test_psi_ties_merge_quantile_edges():
    reference = np.r_[np.zeros(900), np.linspace(1, 10, 100)]  # 90% ties at 0
    ref_shares, _ = bin_shares(reference, reference, bins=10)
    assert ref_shares.size < 11
    assert ref_shares.sum() == pytest.approx(1.0)
    assert psi(reference, np.r_[np.zeros(500), np.linspace(1, 10, 500)]) > 0.25


def test_psi_rejects_nan_naming_the_sample():
    with pytest.raises(ValueError, match="current contains NaN or infinity"):
        psi([0.1, 0.2], [0.1, np.nan])


def test_psi_rejects_empty_naming_the_sample():
    with pytest.raises(ValueError, match="reference is empty"):
        psi([], [1.0])


def test_psi_rejects_bad_options():
    with pytest.raises(ValueError, match="bins must be an integer of at least 2, got 1"):
        psi([1.0, 2.0], [1.0], bins=1)
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, 1\), got 0"):
        psi([1.0, 2.0], [1.0], epsilon=0)


def test_categorical_psi_hand_computed_with_unseen_category():
    value = categorical_psi(["a"] * 50 + ["b"] * 50, ["a"] * 50 + ["c"] * 50, epsilon=1e-4)
    by_hand = ((.5 - 1e-4) * math.log(.5 / 1e-4)        # b: gone from current
               + (1e-4 - .5) * math.log(1e-4 / .5))     # c: unseen in reference
    assert value == pytest.approx(by_hand)


def test_category_shares_compare_as_strings():
    cats, ref, cur = category_shares([1, 1, 2], ["1", "2", "2"])
    assert cats == ["1", "2"]
    np.testing.assert_allclose(ref, [2 / 3, 1 / 3])
    np.testing.assert_allclose(cur, [1 / 3, 2 / 3])


# --- KS, JS, Wasserstein, chi-square, z ---------------------------------------------


def test_ks_matches_scipy():
    ours = ks_statistic(REF, CUR)
    theirs = ks_2samp(REF, CUR, method="asymp")
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-6)


def test_ks_matches_scipy_with_ties():
    reference = RNG.integers(0, 5, 300).astype(float)
    current = RNG.integers(1, 6, 200).astype(float)
    assert ks_statistic(reference, current).statistic == pytest.approx(
        ks_2samp(reference, current).statistic)


def test_jensen_shannon_matches_scipy_on_the_same_bins():
    ref_shares, cur_shares = bin_shares(REF, CUR)
    assert jensen_shannon(REF, CUR) == pytest.approx(
        jensenshannon(ref_shares, cur_shares, base=2))


def test_jensen_shannon_bounds():
    assert jensen_shannon(REF, REF) == 0.0
    assert jensen_shannon(np.zeros(40), np.ones(40)) == pytest.approx(1.0)


def test_wasserstein_scaled_matches_scipy_over_reference_std():
    assert wasserstein_scaled(REF, CUR) == pytest.approx(
        wasserstein_distance(REF, CUR) / np.std(REF))


def test_wasserstein_constant_reference_is_unscaled():
    assert wasserstein_scaled(np.full(30, 2.0), np.full(30, 5.0)) == pytest.approx(3.0)


def test_chi_square_matches_scipy_contingency():
    reference = RNG.choice(["pos", "web", "app", "phone"], p=[.5, .3, .15, .05], size=900)
    current = RNG.choice(["pos", "web", "app", "phone"], p=[.4, .3, .2, .1], size=300)
    table = np.array([[np.sum(reference == c) for c in ("app", "phone", "pos", "web")],
                      [np.sum(current == c) for c in ("app", "phone", "pos", "web")]])
    theirs = chi2_contingency(table, correction=False)
    ours = chi_square(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.pvalue == pytest.approx(theirs.pvalue)
    assert ours.dof == theirs.dof == 3


def test_chi_square_counts_unseen_categories():
    reference = ["a"] * 60 + ["b"] * 40
    current = ["a"] * 30 + ["b"] * 20 + ["new"] * 10
    theirs = chi2_contingency([[60, 40, 0], [30, 20, 10]], correction=False)
    ours = chi_square(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.dof == 2


def test_chi_square_single_category():
    assert tuple(chi_square(["a"] * 5, ["a"] * 9)) == (0.0, 1.0, 0)


def test_drift_z_score_formula():
    reference, current = REF, CUR
    expected = abs(current.mean() - reference.mean()) / (
        np.std(reference, ddof=1) / math.sqrt(current.size))
    assert drift_z_score(reference, current) == pytest.approx(expected)


def test_drift_z_score_constant_reference():
    assert drift_z_score([2.0] * 40, [2.0] * 40) == 0.0
    assert drift_z_score([2.0] * 40, [3.0] * 40) == math.inf


def test_drop_missing_reports_share():
    finite, share = drop_missing([1.0, np.nan, np.inf, 4.0])
    assert finite.tolist() == [1.0, 4.0]
    assert share == 0.5


def test_drop_missing_names_the_empty_argument():
    with pytest.raises(ValueError, match="current is empty"):
        drop_missing([], name="current")


def test_statistics_reject_two_dimensional_input():
    with pytest.raises(ValueError, match=r"reference must be 1-D, got shape \(2, 2\)"):
        ks_statistic([[1, 2], [3, 4]], [1, 2])


# --- properties ----------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(1, 60), elements=finite)


@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_psi_is_non_negative_and_js_is_within_bounds(reference, current):
    assert psi(reference, current) >= -1e-12
    assert 0.0 <= jensen_shannon(reference, current) <= 1.0
    assert 0.0 <= ks_statistic(reference, current).statistic <= 1.0
    assert wasserstein_scaled(reference, current) >= 0.0


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # scipy, 1-row samples
@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_symmetric_statistics_and_scipy_agreement(reference, current):
    ks = ks_statistic(reference, current).statistic
    assert ks == pytest.approx(ks_statistic(current, reference).statistic)
    assert ks == pytest.approx(ks_2samp(reference, current, method="asymp").statistic)
    # Wasserstein-1 is symmetric before scaling by each sample's own reference spread
    forward = wasserstein_scaled(reference, current) * (np.std(reference) or 1.0)
    backward = wasserstein_scaled(current, reference) * (np.std(current) or 1.0)
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-6)
    assert forward == pytest.approx(wasserstein_distance(reference, current), rel=1e-6, abs=1e-6)
    # PSI and JS bin on the reference, so they are symmetric only in the shares
    ref_shares, cur_shares = bin_shares(reference, current)
    assert jensen_shannon(reference, current) == pytest.approx(
        jensenshannon(ref_shares, cur_shares, base=2), abs=1e-7)
    ref_eps = np.where(ref_shares == 0, 1e-4, ref_shares)
    cur_eps = np.where(cur_shares == 0, 1e-4, cur_shares)
    assert psi(reference, current) == pytest.approx(
        np.sum((cur_eps - ref_eps) * np.log(cur_eps / ref_eps)))


@settings(max_examples=100, deadline=None)
@given(samples)
def test_identical_samples_show_no_drift(sample):
    assert psi(sample, sample) == 0.0
    assert jensen_shannon(sample, sample) == pytest.approx(0.0, abs=1e-7)
    assert ks_statistic(sample, sample).statistic == 0.0
    assert wasserstein_scaled(sample, sample) == pytest.approx(0.0, abs=1e-9)
    assert drift_z_score(sample, sample) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=80),
       st.lists(st.sampled_from("abcdef"), min_size=1, max_size=80))
def test_categorical_statistics_properties(reference, current):
    assert categorical_psi(reference, current) >= -1e-12
    result = chi_square(reference, current)
    assert result.statistic >= -1e-9
    assert 0.0 <= result.pvalue <= 1.0
    assert chi_square(current, reference).statistic == pytest.approx(result.statistic)


@pytest.mark.parametrize("reference", [
    np.random.default_rng(3).lognormal(size=4_000),     # quantile bins
    np.repeat([0.0, 1.0, 5.0], 500),                     # value bins
    np.full(200, 7.0),                                   # constant: one value
])
def test_psi_from_stored_bins_equals_psi(reference: np.ndarray) -> None:
    current = np.concatenate([reference[: reference.size // 2] * 1.5, [2.0, 6.0, -1.0]])
    bins = reference_bins(reference, bins=10)
    stored = Bins(bins.kind, tuple(json.loads(json.dumps(list(bins.points)))))  # a profile's trip
    value = psi_of_shares(shares_in(stored, reference), shares_in(stored, current))
    assert value == psi(reference, current)
    assert shares_in(stored, current).size == stored.count


def test_psi_of_shares_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        psi_of_shares([0.5, 0.5], [0.2, 0.3, 0.5])

"""Bins drawn once from a reference: the sorted-input fast paths equal the plain ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskops.binning import (
    Bins,
    bins_of_order_statistics,
    quantile_ranks,
    reference_bins,
    shares_in,
    shares_in_sorted,
)

values = st.lists(st.sampled_from([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0, 7.5]) | st.floats(
    -1e6, 1e6, allow_nan=False), min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(reference=values, current=values, bins=st.integers(2, 12))
def test_shares_in_sorted_equals_shares_in(reference: list[float], current: list[float],
                                          bins: int) -> None:
    drawn = reference_bins(reference, bins=bins)
    expected = shares_in(drawn, current)
    assert shares_in_sorted(drawn, np.sort(np.asarray(current))).tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(reference=values, bins=st.integers(2, 12))
def test_a_sorted_reference_draws_the_same_bins(reference: list[float], bins: int) -> None:
    assert reference_bins(np.sort(np.asarray(reference)), bins=bins) == reference_bins(
        reference, bins=bins)


@pytest.mark.parametrize(("bins", "current", "expected"), [
    # values bins: below 1, at 1, between 1 and 2, at 2, above 2
    (Bins("values", (1.0, 2.0)), [0.0, 1.0, 1.0, 1.5, 2.0, 9.0], [1, 2, 1, 1, 1]),
    # quantile edges: [-inf, 1), [1, 2), [2, inf); an edge value goes right
    (Bins("quantiles", (1.0, 2.0)), [0.0, 1.0, 1.0, 1.5, 2.0, 9.0], [1, 3, 2]),
])
def test_shares_by_hand(bins: Bins, current: list[float], expected: list[int]) -> None:
    shares = shares_in_sorted(bins, np.asarray(current))
    assert (shares * len(current)).round().astype(int).tolist() == expected
    assert shares.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(4))
def test_bins_from_order_statistics_equal_reference_bins_bit_for_bit(seed: int):
    # What a query engine reads of a sorted reference (a few ranks, the first distinct
    # values) gives np.quantile's edges exactly, not approximately.
    rng = np.random.default_rng(seed)
    for n, bins in [(5_000, 10), (1_234, 7), (97, 20), (12, 3)]:
        reference = np.sort(rng.lognormal(size=n) * 1e3)
        lower, upper, weight = quantile_ranks(n, bins=bins)
        got = bins_of_order_statistics(np.unique(reference)[:bins + 1], reference[lower],
                                       reference[upper], weight, bins=bins)
        assert got == reference_bins(reference, bins=bins)


def test_bins_from_order_statistics_of_few_values_are_value_bins():
    reference = np.array([1.0, 1.0, 2.0, 5.0])
    lower, upper, weight = quantile_ranks(reference.size, bins=4)

    got = bins_of_order_statistics([1.0, 2.0, 5.0], reference[lower], reference[upper], weight,
                                   bins=4)

    assert got == reference_bins(reference, bins=4) == Bins("values", (1.0, 2.0, 5.0))

"""Bins drawn once from a reference: the sorted-input fast paths equal the plain ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskops.binning import Bins, reference_bins, shares_in, shares_in_sorted

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

"""Bins drawn once from a reference sample, so later samples land in the same bins.

Below ``monitoring`` (layer 1) because training stores them in a version's
reference profile and monitoring reads them back; ``riskops.monitoring.stats``
re-exports all three names and computes PSI and Jensen-Shannon on them.

    bins = reference_bins(training_column)        # Bins(kind, points), plain floats
    shares_in(bins, training_column)              # the reference shares, stored once
    shares_in(bins, current_column)               # each later window against the same bins
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from riskops.arrays import float_vector

__all__ = ["Bins", "bins_of_order_statistics", "quantile_ranks", "reference_bins", "shares_in",
           "shares_in_sorted"]


def _finite_1d(values: Any, name: str) -> np.ndarray:
    return float_vector(values, name=name,
                        nonfinite_fix="drop them first (riskops.monitoring.stats.drop_missing)")


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer of at least 2, got {bins!r}.")


class Bins(NamedTuple):
    """Bins drawn from a reference sample, kept so later samples land in the same bins.

    ``kind`` is ``"values"`` (the reference had at most ``bins`` distinct
    values: one bin per value, with gap bins below, between and above them;
    ``points`` are the values) or ``"quantiles"`` (``points`` are the inner
    edges, left-closed bins ``[e_i, e_i+1)``, values beyond the reference in
    the end bins). Plain floats, so a profile can store and reload them.
    """

    kind: str
    points: tuple[float, ...]

    @property
    def count(self) -> int:
        """How many bins (shares) a sample gets."""
        n = len(self.points)
        return 2 * n + 1 if self.kind == "values" else n + 1

    def index(self, values: np.ndarray) -> np.ndarray:
        """The bin number of each of ``values`` (finite floats)."""
        points = np.asarray(self.points, dtype=float)
        if self.kind == "quantiles":
            return np.searchsorted(points, values, side="right")
        position = np.searchsorted(points, values, side="left")
        inside = position < points.size
        exact = np.zeros(values.shape, dtype=bool)
        exact[inside] = points[position[inside]] == values[inside]
        return 2 * position + exact


def reference_bins(reference: Any, *, bins: int = 10) -> Bins:
    """The bins ``psi``, ``jensen_shannon`` and ``bin_shares`` draw from ``reference``.

    Few distinct reference values (at most ``bins``): one bin per value plus a
    gap bin below, between and above them, so a shift onto a value the
    reference never had is visible. Otherwise: quantile bins of the reference
    at ``1/bins, ..., (bins-1)/bins``, left-closed, with tied quantiles merged.

    Examples
    --------
    >>> reference_bins([0, 0, 1, 1], bins=2)
    Bins(kind='values', points=(0.0, 1.0))
    >>> reference_bins(range(100), bins=4).points
    (24.75, 49.5, 74.25)
    """
    _check_bins(bins)
    reference = _finite_1d(reference, "reference")
    if reference.size > 1 and bool(np.all(reference[1:] >= reference[:-1])):
        # Already sorted (monitor compare sorts each reference once): no second sort.
        distinct = reference[np.r_[True, reference[1:] != reference[:-1]]]
    else:
        distinct = np.unique(reference)
    if distinct.size <= bins:
        return Bins("values", tuple(float(v) for v in distinct))
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(np.quantile(reference, probabilities))
    return Bins("quantiles", tuple(float(v) for v in edges))


def quantile_ranks(n: int, *, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``reference_bins`` reads a sorted sample of ``n`` values for its quantile edges.

    ``(lower, upper, weight)``: the 0-based ranks of the two values each inner
    edge lies between and the weight of the upper one, exactly as ``np.quantile``
    (method ``linear``) computes them, so an engine that finds the values at
    those ranks (a sort on a cluster) gets the same edges, bit for bit.

    Examples
    --------
    >>> [r.tolist() for r in quantile_ranks(100, bins=4)]
    [[24, 49, 74], [25, 50, 75], [0.75, 0.5, 0.25]]
    """
    _check_bins(bins)
    q = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    virtual = (n - 1) * q  # numpy's virtual index for method "linear"
    previous = np.floor(virtual)
    weight = virtual - previous
    lower = previous.astype(np.intp)
    upper = lower + 1
    above = virtual >= n - 1
    lower[above] = upper[above] = n - 1
    return lower, upper, weight


def bins_of_order_statistics(distinct: Any, lower: Any, upper: Any, weight: Any, *,
                             bins: int = 10) -> Bins:
    """``reference_bins`` from what an engine read of the sorted reference.

    ``distinct``: the reference's smallest distinct values, at most ``bins + 1``
    of them (all of them when there are at most ``bins``); ``lower``/``upper``:
    the values at the ranks ``quantile_ranks`` names, ``weight`` its weights.

    Examples
    --------
    >>> bins_of_order_statistics([0.0, 1.0], [], [], [], bins=2)
    Bins(kind='values', points=(0.0, 1.0))
    >>> lower, upper, weight = quantile_ranks(100, bins=4)
    >>> bins_of_order_statistics(range(5), lower, upper, weight, bins=4).points
    (24.75, 49.5, 74.25)
    """
    _check_bins(bins)
    values = np.asarray(distinct, dtype=float)
    if values.size <= bins:
        return Bins("values", tuple(float(v) for v in values))
    a, b = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    t = np.asarray(weight, dtype=float)
    diff = b - a  # numpy's _lerp: from the nearer end
    edges = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
    return Bins("quantiles", tuple(float(v) for v in np.unique(edges)))


def shares_in(bins: Bins, values: Any, *, name: str = "values") -> np.ndarray:
    """Share of ``values`` (finite numbers) in each of ``bins``; sums to 1.

    Examples
    --------
    >>> shares_in(Bins("quantiles", (0.5,)), [0.0, 1.0, 2.0, 3.0]).tolist()
    [0.25, 0.75]
    """
    array = _finite_1d(values, name)
    return np.bincount(bins.index(array), minlength=bins.count) / array.size


def shares_in_sorted(bins: Bins, values: np.ndarray) -> np.ndarray:
    """``shares_in(bins, values)`` for ``values`` already sorted ascending (and finite).

    The bin boundaries are searched in the sorted values instead of every
    value in the boundaries: ``O(bins log n)`` instead of ``O(n log bins)``.
    The counts are the same integers, so the shares are equal, not close.

    Examples
    --------
    >>> shares_in_sorted(Bins("values", (1.0,)), np.array([0.0, 1.0, 1.0, 3.0])).tolist()
    [0.25, 0.5, 0.25]
    """
    points = np.asarray(bins.points, dtype=float)
    if bins.kind == "quantiles":
        # Bin k holds points[k-1] <= v < points[k]: the boundaries are "how many below".
        boundaries = np.searchsorted(values, points, side="left")
    else:
        # Bin 2j is strictly between points[j-1] and points[j], bin 2j+1 equals points[j].
        lower = np.searchsorted(values, points, side="left")
        upper = np.searchsorted(values, points, side="right")
        boundaries = np.column_stack([lower, upper]).ravel()
    counts = np.diff(np.r_[0, boundaries, values.size])
    return counts / values.size

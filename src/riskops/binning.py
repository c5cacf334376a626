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

__all__ = ["Bins", "reference_bins", "shares_in"]


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
    distinct = np.unique(reference)
    if distinct.size <= bins:
        return Bins("values", tuple(float(v) for v in distinct))
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(np.quantile(reference, probabilities))
    return Bins("quantiles", tuple(float(v) for v in edges))


def shares_in(bins: Bins, values: Any, *, name: str = "values") -> np.ndarray:
    """Share of ``values`` (finite numbers) in each of ``bins``; sums to 1.

    Examples
    --------
    >>> shares_in(Bins("quantiles", (0.5,)), [0.0, 1.0, 2.0, 3.0]).tolist()
    [0.25, 0.75]
    """
    array = _finite_1d(values, name)
    return np.bincount(bins.index(array), minlength=bins.count) / array.size

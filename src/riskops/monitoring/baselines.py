"""A reference column prepared once, and each chunk of a current column measured against it.

A numeric baseline keeps the reference's finite values sorted, its bins
(``stats.reference_bins``) and shares; a chunk then costs one sort, one
histogram on those bins and one merge with the sorted reference (for a
chunk much smaller than the reference, one search in it). A categorical
baseline keeps the reference's count per category. Results are the numbers
``stats.py`` gives on the same arrays (Wasserstein of a small chunk: up to
rounding).

    base = NumericBaseline(reference_values, bins=10)    # NaN = missing
    base.measure(chunk_values)                           # psi, ks, js, wasserstein, shares

    base = CategoricalBaseline(label_counts(encoded))
    base.measure(label_counts(encoded, rows))            # psi, chi-square, shares

A chunk with fewer than ``min_samples`` usable values (numeric: finite;
categorical: rows, missing counted as the category ``(missing)``) is not
measured: ``skipped`` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskops.binning import shares_in_sorted
from riskops.monitoring import stats
from riskops.monitoring.drift import MISSING
from riskops.monitoring.summary_stats import SortedReference
from riskops.monitoring.verdicts import MIN_SAMPLES
from riskops.user_columns import Encoded

__all__ = ["CategoricalBaseline", "NumericBaseline", "label_counts"]


def _too_few(count: int, min_samples: int, what: str, window: str = "chunk") -> str | None:
    if count < min_samples:
        return (f"{window} has {count} {what}, fewer than the {min_samples} a drift check "
                "needs")
    return None


class NumericBaseline:
    """The reference side of a numeric column: sorted finite values, bins and shares."""

    def __init__(self, values: np.ndarray, *, bins: int) -> None:
        finite = values[np.isfinite(values)]
        self.rows = int(values.size)
        self.count = int(finite.size)
        self.missing_share = 1.0 - self.count / self.rows if self.rows else 0.0
        self.sorted = np.sort(finite)
        self.reference = SortedReference(self.sorted)
        self.scale = self.reference.scale
        self.bins: stats.Bins | None = None
        self.shares: np.ndarray | None = None
        if self.count:
            self.bins = stats.reference_bins(self.sorted, bins=bins)
            self.shares = shares_in_sorted(self.bins, self.sorted)

    def describe(self) -> dict[str, Any]:
        """Bins, shares, count, missing share, mean and standard deviation."""
        return {
            "missing_share": self.missing_share, "count": self.count,
            "bins": (None if self.bins is None else
                     {"kind": self.bins.kind, "points": list(self.bins.points)}),
            "categories": None,
            "shares": None if self.shares is None else self.shares.tolist(),
            "mean": float(self.sorted.mean()) if self.count else None,
            "std": self.scale if self.count else None,
        }

    def measure(self, values: np.ndarray, *, min_samples: int = MIN_SAMPLES) -> dict[str, Any]:
        """PSI (the value), KS, JS and scaled Wasserstein of a chunk's values.

        Returns ``value``, ``statistics``, ``missing_share``, ``shares`` (the
        chunk's shares on the reference bins) and ``skipped`` (a reason, or
        ``None``).
        """
        finite = values[np.isfinite(values)]
        missing = 1.0 - finite.size / values.size if values.size else 0.0
        reason = (_too_few(self.count, min_samples, "non-missing values", "reference")
                  or _too_few(int(finite.size), min_samples, "non-missing values"))
        if reason is not None or self.bins is None or self.shares is None:
            return {"value": None, "statistics": None, "missing_share": missing,
                    "shares": None, "skipped": reason}
        current = np.sort(finite)
        shares = shares_in_sorted(self.bins, current)
        psi = stats.psi_of_shares(self.shares, shares)
        ks, wasserstein = self.reference.compare(current)
        return {
            "value": psi,
            "statistics": {
                "psi": psi, "ks": ks.statistic, "ks_pvalue": ks.pvalue,
                "jensen_shannon": stats.jensen_shannon_of_shares(self.shares, shares),
                "wasserstein_scaled": wasserstein,
            },
            "missing_share": missing, "shares": shares.tolist(), "skipped": None,
        }


def label_counts(encoded: Encoded, rows: slice | np.ndarray = slice(None)) -> dict[str, int]:
    """How many of ``rows`` hold each label; missing values count as ``(missing)``.

    Examples
    --------
    >>> label_counts(Encoded(np.array([0, 1, -1, 0]), ["a", "b"]))
    {'(missing)': 1, 'a': 2, 'b': 1}
    """
    codes = encoded.codes[rows]
    counts = np.bincount(codes + 1, minlength=len(encoded.labels) + 1)
    result: dict[str, int] = {}
    if counts[0]:
        result[MISSING] = int(counts[0])
    for index in np.flatnonzero(counts[1:]):
        label = encoded.labels[index]
        result[label] = result.get(label, 0) + int(counts[index + 1])
    return result


class CategoricalBaseline:
    """The reference side of a categorical column: its count per category."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.rows = sum(counts.values())
        self.categories = sorted(counts)
        self.missing_share = counts.get(MISSING, 0) / self.rows if self.rows else 0.0

    def describe(self) -> dict[str, Any]:
        """Categories (sorted), their shares, count and missing share."""
        shares = [self.counts[c] / self.rows for c in self.categories] if self.rows else []
        return {"missing_share": self.missing_share, "count": self.rows, "bins": None,
                "categories": list(self.categories), "shares": shares}

    def measure(self, counts: dict[str, int], *,
                min_samples: int = MIN_SAMPLES) -> dict[str, Any]:
        """PSI over category shares (the value) and the chi-square test of a chunk.

        Returns ``value``, ``statistics``, ``missing_share``, ``categories``
        (the union of both samples', sorted), ``shares`` and
        ``reference_shares`` on them, and ``skipped``.
        """
        rows = sum(counts.values())
        missing = counts.get(MISSING, 0) / rows if rows else 0.0
        reason = (_too_few(self.rows, min_samples, "rows", "reference")
                  or _too_few(rows, min_samples, "rows"))
        if reason is not None:
            return {"value": None, "statistics": None, "missing_share": missing,
                    "shares": None, "categories": None, "reference_shares": None,
                    "skipped": reason}
        categories = sorted(set(self.counts) | set(counts))
        ref_counts = np.array([self.counts.get(c, 0) for c in categories], dtype=float)
        cur_counts = np.array([counts.get(c, 0) for c in categories], dtype=float)
        ref_shares, cur_shares = ref_counts / self.rows, cur_counts / rows
        psi = stats.psi_of_shares(ref_shares, cur_shares)
        chi = stats.chi_square_counts(ref_counts, cur_counts)
        return {
            "value": psi,
            "statistics": {"psi": psi, "chi_square": chi.statistic,
                           "chi_square_pvalue": chi.pvalue, "dof": chi.dof},
            "missing_share": missing, "shares": cur_shares.tolist(),
            "categories": categories, "reference_shares": ref_shares.tolist(),
            "skipped": None,
        }

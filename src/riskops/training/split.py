"""Splits into train, validation and golden slices: by time, by row order, or at random.

Rows are ordered by timestamp (ties by id, so the order never depends on the
file's row order) and cut into consecutive slices: the oldest rows train the
model, the next ones choose the threshold and are compared with production,
the latest ones form the golden set, whose ids are recorded so the same rows
can be scored again.

    split = time_split(frame, timestamp="timestamp", id="id")
    split.train, split.validation, split.golden

Without timestamps, ``ordered_split`` cuts the rows in the order given and
``random_split`` a seeded permutation of them (each slice keeps the rows in
their original order). Slice sizes are the same for all three.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_FRACTIONS: tuple[float, float, float] = (0.70, 0.15, 0.15)
SLICES = ("train", "validation", "golden")


@dataclass(frozen=True)
class Split:
    """Three consecutive, non-overlapping slices of one table, oldest first."""

    train: pd.DataFrame
    validation: pd.DataFrame
    golden: pd.DataFrame
    fractions: tuple[float, float, float]

    def slices(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "validation": self.validation, "golden": self.golden}


def slice_sizes(rows: int, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> tuple[int, int, int]:
    """Row counts of the three slices: train and validation rounded down, golden the rest.

    >>> slice_sizes(1000)
    (700, 150, 150)
    >>> slice_sizes(10, (0.5, 0.25, 0.25))
    (5, 2, 3)
    """
    fractions = check_fractions(fractions)
    n_train = int(np.floor(rows * fractions[0] + 1e-9))
    n_validation = int(np.floor(rows * fractions[1] + 1e-9))
    n_golden = rows - n_train - n_validation
    if min(n_train, n_validation, n_golden) < 1:
        raise ValueError(
            f"{rows} rows cannot be split {fractions} with at least one row in each slice."
        )
    return n_train, n_validation, n_golden


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Three positive fractions summing to 1; ``ValueError`` otherwise."""
    values = tuple(float(f) for f in fractions)
    if len(values) != 3:
        raise ValueError(f"split fractions must be three numbers (train, validation, golden), "
                         f"got {len(values)}.")
    if not all(np.isfinite(f) and f > 0 for f in values) or abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(
            f"split fractions {values} must be positive and sum to 1 (e.g. 0.7, 0.15, 0.15)."
        )
    return values  # type: ignore[return-value]


def time_split(
    frame: pd.DataFrame, *, timestamp: str, id: str,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> Split:
    """Cut ``frame`` by time into train, validation and golden slices.

    Every train timestamp is at or before every validation timestamp, which is
    at or before every golden timestamp. Each slice keeps the original index.

    Raises
    ------
    ValueError
        If the fractions are invalid or leave a slice empty.
    """
    n_train, n_validation, _ = slice_sizes(len(frame), fractions)
    ordered = frame.sort_values([timestamp, id], kind="mergesort")
    times = ordered[timestamp].to_numpy()
    # A cut inside a run of equal timestamps moves back to the run's start, so
    # tied rows all land in the later slice and no slice sees its successor's time.
    first_cut = _boundary(times, n_train)
    second_cut = _boundary(times, n_train + n_validation)
    if not 0 < first_cut < second_cut < len(ordered):
        raise ValueError(
            f"the time split leaves a slice empty because timestamps tie across its cuts "
            f"({len(ordered)} rows, {len(np.unique(times))} distinct timestamps); the data "
            "needs more distinct times."
        )
    return Split(
        train=ordered.iloc[:first_cut],
        validation=ordered.iloc[first_cut:second_cut],
        golden=ordered.iloc[second_cut:],
        fractions=check_fractions(fractions),
    )


def ordered_split(frame: pd.DataFrame, *,
                  fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Split:
    """Cut ``frame`` in its row order: the first rows train, the last form the golden set.

    >>> split = ordered_split(pd.DataFrame({"x": range(10)}), fractions=(0.5, 0.2, 0.3))
    >>> split.golden["x"].tolist()
    [7, 8, 9]
    """
    n_train, n_validation, _ = slice_sizes(len(frame), fractions)
    return Split(
        train=frame.iloc[:n_train],
        validation=frame.iloc[n_train:n_train + n_validation],
        golden=frame.iloc[n_train + n_validation:],
        fractions=check_fractions(fractions),
    )


def random_split(frame: pd.DataFrame, *, seed: int,
                 fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Split:
    """Cut a permutation of ``frame``'s rows drawn with ``numpy.random.default_rng(seed)``;
    each slice keeps its rows in their original order.

    The same rows in the same order and the same seed give the same slices.
    """
    n_train, n_validation, _ = slice_sizes(len(frame), fractions)
    order = np.random.default_rng(seed).permutation(len(frame))
    cuts = np.split(order, [n_train, n_train + n_validation])
    train, validation, golden = (frame.iloc[np.sort(part)] for part in cuts)
    return Split(train=train, validation=validation, golden=golden,
                 fractions=check_fractions(fractions))


def _boundary(times: np.ndarray, cut: int) -> int:
    """``cut`` moved back to the first row holding the same timestamp as row ``cut``."""
    if cut <= 0 or cut >= len(times):
        return cut
    return int(np.searchsorted(times, times[cut], side="left"))


def ids_sha256(ids: Sequence[str] | pd.Series) -> str:
    """SHA-256 of ids joined by newlines, in their order: a fingerprint of a slice."""
    return hashlib.sha256("\n".join(str(i) for i in ids).encode()).hexdigest()

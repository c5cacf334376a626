"""Rows of each segment value (``--segment-col``, repeatable): in the reference, and in
every chunk.

Drift within a segment compares a chunk's rows of one value (``region=north``)
with the reference's rows of the same value, so a shift inside a small
segment is not averaged away by the rest of the population.

    segments = split_segments("region", ref_codes, cur_codes, chunks)
    segments.values               # ["east", "north", ...], the current file's values
    segments.columns              # ["region", "region", ...], the column of each value
    segments.reference_rows[j]    # reference row numbers of value j
    segments.chunk_rows[j][i]     # row numbers of value j in chunk i

``join_segments`` puts several columns' segments in one list, column by
column. Missing segment values form the segment ``(missing)``. Two samples from one
distribution have a PSI of about ``(bins - 1) * (1/n_ref + 1/n_cur)`` on
average, about 0.2 at 50 rows each, so a segment is only measured with at
least ``SEGMENT_MIN_SAMPLES`` values on each side (as ``monitor run`` does).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from riskops.monitoring.chunks import Chunk
from riskops.monitoring.drift import MISSING
from riskops.monitoring.table_columns import Encoded
from riskops.monitoring.windows import SEGMENT_MIN_SAMPLES  # the floor monitor run uses

__all__ = ["SEGMENT_MIN_SAMPLES", "Segments", "join_segments", "split_segments"]


class Segments(NamedTuple):
    """Segment values, the column of each, and their rows; see the module docstring."""

    columns: list[str]
    values: list[str]
    reference_rows: list[np.ndarray]
    chunk_rows: list[list[np.ndarray]]


def _labels(encoded: Encoded) -> list[str]:
    return [MISSING, *encoded.labels]  # code -1 (missing) is label 0 after the shift


def _rows_of(encoded: Encoded, value: str) -> np.ndarray:
    """Row numbers whose label is ``value``."""
    codes = [i for i, label in enumerate(_labels(encoded)) if label == value]
    if not codes:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.isin(encoded.codes + 1, codes))


def split_segments(column: str, reference: Encoded, current: Encoded,
                   chunks: list[Chunk]) -> Segments:
    """The rows of every segment value the current file holds, per chunk.

    Examples
    --------
    >>> from riskops.monitoring.chunks import chunk_by_size
    >>> ref = Encoded(np.array([0, 1, 0]), ["a", "b"])
    >>> cur = Encoded(np.array([1, -1, 1, 1]), ["a", "b"])
    >>> s = split_segments("g", ref, cur, chunk_by_size(4, 2))
    >>> s.values, [r.tolist() for r in s.reference_rows]
    (['(missing)', 'b'], [[], [1]])
    >>> [[r.tolist() for r in per_chunk] for per_chunk in s.chunk_rows]
    [[[1], []], [[0], [2, 3]]]
    """
    present = np.unique(current.codes + 1)
    values = sorted({_labels(current)[i] for i in present})
    reference_rows = [_rows_of(reference, v) for v in values]
    chunk_rows = []
    for value in values:
        rows = _rows_of(current, value)
        per_chunk = []
        for chunk in chunks:
            if isinstance(chunk.rows, slice):
                start, stop, _ = chunk.rows.indices(len(current.codes))
                per_chunk.append(rows[(rows >= start) & (rows < stop)])
            else:
                per_chunk.append(np.intersect1d(rows, chunk.rows, assume_unique=True))
        chunk_rows.append(per_chunk)
    return Segments([column] * len(values), values, reference_rows, chunk_rows)


def join_segments(parts: list[Segments]) -> Segments:
    """The segments of several columns as one, in the order of ``parts``."""
    return Segments([c for p in parts for c in p.columns], [v for p in parts for v in p.values],
                    [r for p in parts for r in p.reference_rows],
                    [r for p in parts for r in p.chunk_rows])

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
from riskops.monitoring.windows import SEGMENT_MIN_SAMPLES  # the floor monitor run uses
from riskops.user_columns import Encoded

__all__ = ["SEGMENT_MIN_SAMPLES", "Segments", "join_segments", "split_segments"]


class Segments(NamedTuple):
    """Segment values, the column of each, and their rows; see the module docstring."""

    columns: list[str]
    values: list[str]
    reference_rows: list[np.ndarray]
    chunk_rows: list[list[np.ndarray]]


def _labels(encoded: Encoded) -> list[str]:
    return [MISSING, *encoded.labels]  # code -1 (missing) is label 0 after the shift


def _rows_by_label(encoded: Encoded) -> dict[str, np.ndarray]:
    """Row numbers (ascending) of each label, in one pass: a column of many values (an
    id) must not cost a scan of every row per value."""
    shifted = encoded.codes + 1
    labels = _labels(encoded)
    counts = np.bincount(shifted, minlength=len(labels))
    order = np.argsort(shifted, kind="stable")  # rows ascending within each code
    found: dict[str, list[np.ndarray]] = {}
    for code, end in enumerate(np.cumsum(counts)):
        if counts[code]:
            found.setdefault(labels[code], []).append(order[end - counts[code]:end])
    return {label: parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
            for label, parts in found.items()}


def _chunk_of_rows(size: int, chunks: list[Chunk]) -> np.ndarray:
    """Each row's chunk number (-1 for a row in none)."""
    owner = np.full(size, -1, dtype=np.int64)
    for i, chunk in enumerate(chunks):
        owner[chunk.rows] = i
    return owner


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
    in_reference, in_current = _rows_by_label(reference), _rows_by_label(current)
    values = sorted(in_current)
    none = np.empty(0, dtype=np.int64)
    reference_rows = [in_reference.get(v, none) for v in values]
    owner = _chunk_of_rows(len(current.codes), chunks)
    chunk_rows = []
    for value in values:
        rows = in_current[value]
        of_row = owner[rows]
        chunk_rows.append([rows[of_row == i] for i in range(len(chunks))])
    return Segments([column] * len(values), values, reference_rows, chunk_rows)


def join_segments(parts: list[Segments]) -> Segments:
    """The segments of several columns as one, in the order of ``parts``."""
    return Segments([c for p in parts for c in p.columns], [v for p in parts for v in p.values],
                    [r for p in parts for r in p.reference_rows],
                    [r for p in parts for r in p.chunk_rows])

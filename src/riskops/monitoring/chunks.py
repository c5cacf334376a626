"""Which rows of a file form each chunk: by calendar period, by row count, or all in one.

Pure numpy: period starts come from ``datetime64`` arithmetic on the whole
column, never from a Python loop over rows.

    chunk_by_period(times, "month")   # one chunk per month that has rows, in time order
    chunk_by_size(10_000, 3_000)      # rows 0-2999, 3000-5999, 6000-8999, 9000-9999
    whole(10_000)                     # one chunk, key "all"

Period keys: day ``2019-04-01``, week ``2019-W14`` (ISO weeks, Monday first),
month ``2019-04``, quarter ``2019-Q2``, year ``2019``. A period chunk's
``start`` is the first instant of the period and ``end`` the first instant
of the next one (the chunk holds ``start <= t < end``); a size chunk or the
whole file spans its first and last time when a time column is given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import numpy as np

__all__ = ["PERIODS", "Chunk", "chunk_by_period", "chunk_by_size", "iso_instant", "whole"]

PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")


class Chunk(NamedTuple):
    """A chunk's key, its time bounds (ISO 8601 or ``None``) and its rows.

    ``rows`` selects from a column: a ``slice`` or sorted row numbers.
    """

    key: str
    start: str | None
    end: str | None
    rows: slice | np.ndarray

    def size(self, total: int) -> int:
        """How many rows the chunk holds in a file of ``total`` rows."""
        if isinstance(self.rows, slice):
            return len(range(*self.rows.indices(total)))
        return int(self.rows.size)


def iso_instant(value: np.datetime64) -> str:
    """A ``datetime64`` instant as ISO 8601 UTC text, e.g. ``2019-04-01T00:00:00+00:00``."""
    micros = int(value.astype("datetime64[us]").astype(np.int64))
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).isoformat()


def _period_starts(times: np.ndarray, period: str) -> np.ndarray:
    """The start (``datetime64[D]``) of the period holding each time."""
    days = times.astype("datetime64[D]")
    if period == "day":
        return days
    if period == "week":
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        return days - weekday.astype("timedelta64[D]")
    months = times.astype("datetime64[M]")
    if period == "month":
        return months.astype("datetime64[D]")
    if period == "quarter":
        index = months.astype(np.int64)
        return (index - index % 3).astype("datetime64[M]").astype("datetime64[D]")
    if period == "year":
        return times.astype("datetime64[Y]").astype("datetime64[D]")
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}.")


def _key_and_end(start: date, period: str) -> tuple[str, date]:
    if period == "day":
        return start.isoformat(), start + timedelta(days=1)
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}", start + timedelta(days=7)
    if period == "month":
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return f"{start.year}-{start.month:02d}", following
    if period == "quarter":
        quarter = (start.month - 1) // 3 + 1
        month = start.month + 3
        following = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        return f"{start.year}-Q{quarter}", following
    return f"{start.year}", date(start.year + 1, 1, 1)


def chunk_by_period(times: np.ndarray, period: str) -> list[Chunk]:
    """One chunk per calendar period that holds rows, in time order.

    Parameters
    ----------
    times : ndarray of datetime64, shape (n_rows,)
        UTC instants, none missing.
    period : {"day", "week", "month", "quarter", "year"}

    Returns
    -------
    chunks : list of Chunk
        Rows as sorted row numbers; periods without rows are left out.

    Examples
    --------
    >>> times = np.array(["2019-03-31T23:00", "2019-04-01", "2019-03-01"], "datetime64[us]")
    >>> [(c.key, c.rows.tolist()) for c in chunk_by_period(times, "month")]
    [('2019-03', [0, 2]), ('2019-04', [1])]
    """
    starts = _period_starts(times, period)
    distinct, inverse = np.unique(starts, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inverse, minlength=distinct.size))]
    chunks = []
    for i, start in enumerate(distinct.astype(object)):
        key, end = _key_and_end(start, period)
        chunks.append(Chunk(key, iso_instant(np.datetime64(start, "us")),
                            iso_instant(np.datetime64(end, "us")),
                            order[bounds[i]:bounds[i + 1]]))
    return chunks


def _span(times: np.ndarray | None, rows: slice) -> tuple[str | None, str | None]:
    if times is None:
        return None, None
    part = times[rows]
    if part.size == 0:
        return None, None
    return iso_instant(part.min()), iso_instant(part.max())


def chunk_by_size(n_rows: int, size: int, times: np.ndarray | None = None) -> list[Chunk]:
    """Consecutive chunks of ``size`` rows in file order, keys ``"0"``, ``"1"``, ...

    The last chunk holds what is left (fewer rows).

    Examples
    --------
    >>> [c.rows for c in chunk_by_size(5, 2)]
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}.")
    chunks = []
    for number, first in enumerate(range(0, n_rows, size)):
        rows = slice(first, min(first + size, n_rows))
        chunks.append(Chunk(str(number), *_span(times, rows), rows))
    return chunks


def whole(n_rows: int, times: np.ndarray | None = None) -> list[Chunk]:
    """Every row in one chunk, key ``"all"``."""
    rows = slice(0, n_rows)
    return [Chunk("all", *_span(times, rows), rows)]

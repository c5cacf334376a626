"""One (tenant, scenario, model) of a Spark window, read as ``inference_log.LogGroup`` is.

    group = window.select("acme", "fraud", "fraud")    # spark_log.SparkLogWindow
    len(group), group.counts("channel"), group.labelled()
    group.compare_numbers(current_group, "amount", bins=10)  # computed by spark_numbers

Counts and numeric summaries come from the window's batched Spark jobs (one
per scenario for all groups); what a statistic needs row by row (labelled
scores, the current scores, override flags, text) is fetched for this group
alone, as Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from riskops.monitoring.drift import NumericSummary, numeric_summary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from riskops.monitoring.spark_log import SparkLogWindow
    from riskops.monitoring.spark_numbers import SparkNumbers

_BASE = ("score", "threshold", "label", "outcome", "override")


class SparkLogGroup:
    """The rows of one (tenant, scenario, model) in one window (``inference_log.LogGroup``)."""

    def __init__(self, table: DataFrame, columns: Mapping[str, tuple[str, str]],
                 key: tuple[str, str], rows: int,
                 served_by: tuple[str, int] | None = None,
                 numbers: tuple[SparkNumbers | None, str] | None = None,
                 window: tuple[SparkLogWindow, str] | None = None) -> None:
        from pyspark.sql import functions as F

        self._table, self._columns, self._key, self._rows = table, columns, key, rows
        self._numbers = numbers if served_by is None else None
        self._window = window if served_by is None else None
        condition = (F.col("tenant_id") == key[0]) & (F.col("model_id") == key[1])
        if served_by is not None:
            condition &= ((F.col("model_name") == served_by[0])
                          & (F.col("model_version") == served_by[1]))
        self._frame = table.where(condition)
        self._versions: dict[tuple[str, int], int] | None = None

    def __len__(self) -> int:
        return self._rows

    def versions(self) -> dict[tuple[str, int], int]:
        """Rows per (model name, version) among the group's rows that name both, sorted."""
        if self._versions is None:
            rows = [] if self._rows == 0 else self._frame.where(
                "model_name IS NOT NULL AND model_version IS NOT NULL") \
                .groupBy("model_name", "model_version").count().collect()
            self._versions = {(str(m), int(v)): int(n) for m, v, n in sorted(rows)}
        return dict(self._versions)

    def version(self, model: str, version: int) -> SparkLogGroup:
        """The rows of this group that ``model`` version ``version`` served."""
        rows = self.versions().get((model, version), 0)
        return SparkLogGroup(self._table, self._columns, self._key, rows, (model, version))

    def _column(self, name: str, kind: str) -> Any:
        from pyspark.sql import functions as F

        if name in _BASE:
            return F.col(name)
        column, stored = self._columns.get(name, ("", "VARCHAR"))
        if not column:
            return F.lit(None).cast("double" if kind == "DOUBLE" else "string")
        if kind == "DOUBLE" and stored != "DOUBLE":
            return F.expr(f"try_cast({column} AS DOUBLE)")
        if kind == "VARCHAR" and stored == "DOUBLE":
            return F.col(column).cast("string")
        return F.col(column)

    def _fetch(self, column: Any, frame: DataFrame | None = None) -> Any:
        table = (self._frame if frame is None else frame).select(column.alias("v")).toArrow()
        return table.column("v")

    def numbers(self, name: str) -> np.ndarray:
        """``name`` as floats, missing values (and values that are not numbers) NaN."""
        if self._rows == 0:
            return np.empty(0)
        return _floats(self._fetch(self._column(name, "DOUBLE")))

    def values(self, name: str) -> np.ndarray:
        """``name`` as an object array of strings, ``None`` where missing."""
        if self._rows == 0:
            return np.empty(0, dtype=object)
        return np.asarray(self._fetch(self._column(name, "VARCHAR")).to_pylist(), dtype=object)

    def counts(self, name: str) -> dict[str | None, int]:
        """How many rows hold each value of ``name`` (as text); ``None`` counts the missing."""
        if self._rows == 0:
            return {}
        if self._window is not None:
            counted = self._window[0].category_counts(self._window[1], *self._key, name)
            if counted is not None:
                return counted
        rows = self._frame.groupBy(self._column(name, "VARCHAR").alias("v")).count().collect()
        return {value: int(n) for value, n in rows}

    def numbers_where(self, name: str, column: str, value: str) -> np.ndarray:
        """``name`` as floats over the rows whose ``column`` (as text) equals ``value``."""
        if self._rows == 0:
            return np.empty(0)
        frame = self._frame.where(self._column(column, "VARCHAR") == value)
        return _floats(self._fetch(self._column(name, "DOUBLE"), frame))

    def compare_numbers(self, current: SparkLogGroup, name: str, *, bins: int,
                        where: tuple[str, str] | None = None) -> NumericSummary:
        """``drift.NumericSummary`` of ``name`` here (the reference) and in ``current``,
        computed in Spark for every group of the scenario at once (``spark_numbers``);
        ``where=(column, value)`` narrows both to the rows whose ``column`` is ``value``."""
        if self._numbers is not None and self._numbers[0] is not None:
            summary = self._numbers[0].summary(self._numbers[1], *self._key, name, bins=bins,
                                               where=where)
            if summary is not None:
                return summary
        if where is None:
            return numeric_summary(self.numbers(name), current.numbers(name), bins=bins)
        return numeric_summary(self.numbers_where(name, *where),
                               current.numbers_where(name, *where), bins=bins)

    def flags(self, name: str) -> np.ndarray:
        """A boolean column (``override``) as a bool array, missing as False."""
        if self._rows == 0:
            return np.empty(0, dtype=bool)
        values = self._fetch(self._column(name, "BOOLEAN")).fill_null(False)
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)

    def mode(self, name: str) -> Any:
        """The most common non-missing value of ``name`` (the smallest among ties), or ``None``."""
        if self._rows == 0:
            return None
        row = (self._frame.select(self._column(name, "DOUBLE").alias("v"))
               .where("v IS NOT NULL").groupBy("v").count()
               .orderBy("count", "v", ascending=[False, True]).limit(1).collect())
        return row[0][0] if row else None

    def distinct(self, name: str) -> int:
        """How many distinct non-missing values ``name`` has (compared as text)."""
        from pyspark.sql import functions as F

        if self._rows == 0:
            return 0
        row = self._frame.select(F.countDistinct(self._column(name, "VARCHAR"))).collect()
        return int(row[0][0])

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """Scores and outcome labels of the rows with an outcome."""
        scores, outcomes, _ = self._labelled(None)
        return scores, outcomes

    def labelled_by(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``labelled()`` with each row's ``column`` (as text, ``None`` where missing)."""
        return self._labelled(column)

    def _labelled(self, column: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from pyspark.sql import functions as F

        if self._rows == 0:
            return np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype=object)
        picked = [F.col("score"), F.col("outcome")]
        if column is not None:
            picked.append(self._column(column, "VARCHAR").alias("g"))
        table = self._frame.where("outcome IS NOT NULL").select(*picked).toArrow()
        groups = (np.asarray(table.column("g").to_pylist(), dtype=object)
                  if column is not None else np.empty(0, dtype=object))
        return (_floats(table.column("score")),
                np.asarray(table.column("outcome").to_pylist(), dtype=object), groups)


def _floats(column: Any) -> np.ndarray:
    """An Arrow double column as floats, nulls as NaN."""
    return np.asarray(column.fill_null(float("nan")).to_numpy(zero_copy_only=False), dtype=float)

"""Numeric drift pushed down to Spark: the ``drift.NumericSummary`` of every numeric column
of every (tenant, model) of a scenario, both windows, in three Spark jobs.

    numbers = SparkNumbers(reference_window, current_window)
    numbers.summary("fraud", "acme", "fraud", "amount", bins=10)        # NumericSummary
    numbers.summary("fraud", "acme", "fraud", "score", bins=10, where=("region", "emea"))

The rows stay on the executors; the driver gets per (tenant, model, column):

1. counts, missing values, mean and standard deviations (one ``GROUP BY``);
2. from the table of distinct values with their count in each window, sorted
   within each (tenant, model, column) by a window function: the KS statistic
   (the largest gap between the two empirical CDFs) and the Wasserstein
   distance (the gaps times the widths between consecutive values, summed);
   in the same pass, the reference's smallest ``bins + 1`` distinct values and
   its values at the ranks ``binning.quantile_ranks`` names: the driver draws
   the reference bins from them (``binning.bins_of_order_statistics``, ``np.quantile``'s edges bit
   for bit);
3. each window's count in each of those bins (the histogram PSI and
   Jensen-Shannon read).

Every statistic is then computed by the same pure functions as for the DuckDB
engine (``drift.check_numeric_summary``); only sums (means, standard deviation,
the Wasserstein sum) are added in another order, so results agree to about 1e-12.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from riskops.binning import Bins, bins_of_order_statistics, quantile_ranks
from riskops.monitoring.drift import NumericSummary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from riskops.monitoring.spark_log import SparkLogWindow

Part = tuple[str, str, str, str]  # tenant, model, column name, segment value ("" for none)
_KEYS = ["t", "m", "k", "s"]


class SparkNumbers:
    """The numeric summaries of both windows, computed per (scenario, segment column, bins)
    on first use and kept for the run."""

    def __init__(self, reference: SparkLogWindow, current: SparkLogWindow) -> None:
        self._windows = (reference, current)
        self._done: dict[tuple[Any, ...], dict[Part, NumericSummary]] = {}

    def summary(self, scenario: str, tenant: str, model: str, name: str, *, bins: int,
                where: tuple[str, str] | None = None) -> NumericSummary | None:
        """The summary of ``name`` (a numeric input or ``score``), or ``None`` when the
        column was not prepared as numeric (the caller then reads the arrays)."""
        names = self._numeric_names(scenario)
        if name not in names:
            return None
        column = where[0] if where is not None else None
        batch = (scenario, column, name if column else None, bins)
        if batch not in self._done:
            self._done[batch] = _summaries(self._windows, scenario,
                                           [name] if column else names, column, bins)
        part = (tenant, model, name, where[1] if where is not None else "")
        return self._done[batch].get(part, _empty())

    def _numeric_names(self, scenario: str) -> list[str]:
        reference, current = self._windows
        names = ["score"]
        for window in (reference, current):
            for name, (_, kind) in window.prepared_columns(scenario).items():
                if kind == "DOUBLE" and name not in names:
                    names.append(name)
        return names


def _long(window: SparkLogWindow, index: int, scenario: str, names: list[str],
          column: str | None) -> DataFrame:
    """One row per (prediction, numeric column): t, m, k (column name), s (segment
    value, "" for none), v (the number, NULL or NaN when missing), w (0 or 1)."""
    from pyspark.sql import functions as F

    table = window.prepared(scenario)
    columns = window.prepared_columns(scenario)
    entries = []
    for name in names:
        source = name if name == "score" else columns.get(name, ("", ""))[0]
        value = F.col(source) if source else F.lit(None).cast("double")
        entries.append(F.struct(F.lit(name).alias("k"), value.cast("double").alias("v")))
    if column is None:
        segment = F.lit("")
    elif column in columns:
        segment = F.col(columns[column][0]).cast("string")
    elif column in ("label", "outcome"):
        segment = F.col(column)
    else:
        segment = F.lit(None).cast("string")
    rows = table.select(F.col("tenant_id").alias("t"), F.col("model_id").alias("m"),
                        segment.alias("s"), F.explode(F.array(*entries)).alias("e"))
    return rows.where(F.col("s").isNotNull()).select(
        "t", "m", "s", F.col("e.k").alias("k"), F.col("e.v").alias("v"),
        F.lit(index).alias("w"))


def _summaries(windows: tuple[SparkLogWindow, SparkLogWindow], scenario: str,
               names: list[str], column: str | None, bins: int) -> dict[Part, NumericSummary]:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    long = _long(windows[0], 0, scenario, names, column).unionByName(
        _long(windows[1], 1, scenario, names, column))
    finite = F.col("v").isNotNull() & ~F.isnan("v") & (F.abs("v") != math.inf)
    number = F.when(finite, F.col("v"))
    totals: dict[tuple[Part, int], Any] = {}
    for row in long.groupBy(*_KEYS, "w").agg(
            F.count(F.lit(1)).alias("total"), F.count(number).alias("n"),
            F.avg(number).alias("mean"), F.stddev_pop(number).alias("std"),
            F.stddev_samp(number).alias("sd")).collect():
        totals[((row.t, row.m, row.k, row.s), row.w)] = row

    # The ranks the reference's quantile edges read, known from its size alone.
    ranks: dict[Part, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for (key, w), row in totals.items():
        cur = totals.get((key, 1))
        if w == 0 and row.n > 0 and cur is not None and cur.n > 0:
            ranks[key] = quantile_ranks(int(row.n), bins=bins)
    wanted = windows[0].spark.createDataFrame(
        [(*key, sorted({int(i) for i in (*lower, *upper)}))
         for key, (lower, upper, _) in ranks.items()] or [("", "", "", "", [])],
        "t string, m string, k string, s string, wanted array<long>")
    distinct = (long.where(finite).groupBy(*_KEYS, "v")
                .agg(F.sum(F.when(F.col("w") == 0, 1).otherwise(0)).alias("r"),
                     F.sum(F.when(F.col("w") == 1, 1).otherwise(0)).alias("c"))).persist()
    try:
        part = Window.partitionBy(*_KEYS)
        upto = part.orderBy("v").rowsBetween(Window.unboundedPreceding, Window.currentRow)
        cdf = distinct.join(F.broadcast(wanted), on=_KEYS).select(
            *_KEYS, "v", "r", "wanted",
            F.sum("r").over(upto).alias("cr"), F.sum("c").over(upto).alias("cc"),
            F.sum("r").over(part).alias("n"), F.sum("c").over(part).alias("nc"),
            F.lead("v").over(part.orderBy("v")).alias("next"),
            F.sum(F.when(F.col("r") > 0, 1).otherwise(0)).over(upto).alias("rank"))
        gap = F.abs(F.col("cr") / F.col("n") - F.col("cc") / F.col("nc"))
        # The reference ranks this distinct value holds: (cr - r) values lie below it.
        held = F.filter("wanted", lambda i: (F.col("cr") - F.col("r") <= i) & (i < F.col("cr")))
        found = F.transform(held, lambda i: F.struct(i.alias("i"), F.col("v").alias("v")))
        rows = cdf.groupBy(*_KEYS).agg(
            F.max(gap).alias("ks"),
            F.sum(gap * (F.col("next") - F.col("v"))).alias("wass"),
            F.sort_array(F.collect_list(F.when((F.col("r") > 0)
                                               & (F.col("rank") <= bins + 1), F.col("v"))))
            .alias("firsts"),
            F.flatten(F.collect_list(F.when(F.size(held) > 0, found))).alias("found"),
        ).collect()
        distances: dict[Part, tuple[float, float]] = {}
        drawn: dict[Part, Bins] = {}
        for r in rows:
            key = (r.t, r.m, r.k, r.s)
            distances[key] = (float(r.ks), float(r.wass or 0.0))
            values = {int(f.i): float(f.v) for f in r.found}
            lower, upper, weight = ranks[key]
            firsts = [float(v) for v in r.firsts]
            drawn[key] = bins_of_order_statistics(
                firsts, *(([values[int(i)] for i in lower], [values[int(i)] for i in upper],
                           weight) if len(firsts) > bins else ([], [], [])), bins=bins)
        counts = _bin_counts(distinct, drawn)
    finally:
        distinct.unpersist()
    out: dict[Part, NumericSummary] = {}
    for key in {key for key, _ in totals}:
        ref, cur = totals.get((key, 0)), totals.get((key, 1))
        n_ref, n_cur = (int(row.n) if row else 0 for row in (ref, cur))
        missing = [1.0 - row.n / row.total if row and row.total else 0.0 for row in (ref, cur)]
        if key not in drawn or ref is None or cur is None:
            out[key] = _empty(n_ref, n_cur, *missing)
            continue
        by_bin = counts.get(key, {})
        ref_counts = np.array([by_bin.get(i, (0, 0))[0] for i in range(drawn[key].count)])
        cur_counts = np.array([by_bin.get(i, (0, 0))[1] for i in range(drawn[key].count)])
        ks, wasserstein = distances[key]
        out[key] = NumericSummary(
            n_ref, n_cur, missing[0], missing[1], ref_counts / n_ref, cur_counts / n_cur,
            ks, wasserstein, float(ref.mean), float(cur.mean), float(ref.std),
            float(ref.sd) if n_ref > 1 and ref.sd is not None else 0.0)
    return out


def _bin_counts(distinct: DataFrame,
                drawn: dict[Part, Bins]) -> dict[Part, dict[int, tuple[int, int]]]:
    """Each window's count in each reference bin (``Bins.index``, in Spark SQL)."""
    from pyspark.sql import functions as F

    if not drawn:
        return {}
    table = distinct.sparkSession.createDataFrame(
        [(*key, b.kind, [float(p) for p in b.points]) for key, b in drawn.items()],
        "t string, m string, k string, s string, kind string, points array<double>")
    below = F.size(F.filter("points", lambda e: e < F.col("v")))
    at_or_below = F.size(F.filter("points", lambda e: e <= F.col("v")))
    index = F.when(F.col("kind") == "quantiles", at_or_below).otherwise(
        2 * below + F.when(F.array_contains("points", F.col("v")), 1).otherwise(0))
    rows = (distinct.join(F.broadcast(table), on=_KEYS).groupBy(*_KEYS, index.alias("i"))
            .agg(F.sum("r").alias("r"), F.sum("c").alias("c")).collect())
    out: dict[Part, dict[int, tuple[int, int]]] = {}
    for r in rows:
        out.setdefault((r.t, r.m, r.k, r.s), {})[int(r.i)] = (int(r.r), int(r.c))
    return out


def _empty(n_ref: int = 0, n_cur: int = 0, ref_missing: float = 0.0,
           cur_missing: float = 0.0) -> NumericSummary:
    """The summary of a part one window has no values of: only its counts matter."""
    none = np.empty(0)
    return NumericSummary(n_ref, n_cur, ref_missing, cur_missing, none, none,
                          *([math.nan] * 6))


"""The inference log of the two monitoring windows, read from the Parquet lake with Spark SQL.

    with open_spark_windows(ws, config, model_id=model_id, spark=spark) as (ref, cur, source):
        ...   # the same windows and groups as inference_log.open_windows hands out

``monitor run --engine spark``: the engine-neutral interface of
``inference_log`` (``LogWindow`` / ``LogGroup``: ``keys``, ``prepare``,
``select``, then per group ``numbers``, ``counts``, ``labelled`` ...) over a
Spark DataFrame of the lake instead of a DuckDB view, so ``checks`` and the
pure statistics run unchanged.

In Spark, on the executors: the scan of ``lake/predictions`` (``scenario`` and
``date`` partitions pruned, ``created_at``, tenant and watermark filters pushed
into the Parquet reader), the JSON extraction of the inputs into typed
columns (one ``from_json`` parse per row, the DuckDB engine's rules), and
every aggregate: rows per (tenant, scenario, model), per served version,
category counts, predicted-label counts, the mode of the threshold, distinct
counts, and the numeric drift summaries (``spark_numbers``). To the driver:
those aggregates, and what a statistic needs row by row, one (tenant,
scenario, model) at a time (``spark_group``): the scores and outcomes of its
labelled rows, its current scores for estimated performance, its override
flags, the text of a text feature, a feature for a training-skew check.
The rows the database holds after the lake's watermark (at most the export
lag) and the outcomes recorded after export are read from the database, as
the DuckDB engine does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from riskops.errors import InputError
from riskops.monitoring.inference_log import _RAW_COLUMNS, INFER_SAMPLE, Key, ModelId, _merged
from riskops.monitoring.spark_group import SparkLogGroup
from riskops.monitoring.spark_numbers import SparkNumbers

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from riskops.config import Workspace
    from riskops.monitoring.windows import MonitoringConfig

_TYPES = {"id": "string", "created_at": "timestamp", "tenant_id": "string",
          "scenario": "string", "model_name": "string", "model_version": "bigint",
          "method": "string", "inputs": "string", "score": "double", "label": "string",
          "threshold": "double", "outcome": "string", "override": "boolean"}
_MICROSECOND = timedelta(microseconds=1)


@contextmanager
def open_spark_windows(
    ws: Workspace, config: MonitoringConfig, *, model_id: ModelId, spark: SparkSession,
) -> Iterator[tuple[SparkLogWindow, SparkLogWindow, str]]:
    """The reference and current windows of ``config`` over the lake, and ``"lake"``.

    Raises ``InputError`` when the lake has never been exported to.
    """
    from riskops.storage import lake

    mark = lake.watermark(ws)
    root = lake.predictions_dir(ws)
    if mark is None or not any(root.glob("*/*/*.parquet")):
        raise InputError(f"--engine spark reads the Parquet lake, and {root} has not been "
                         "exported to; run 'riskops jobs run lake-export' first, or use "
                         "--engine duckdb.")
    windows = []
    try:
        for name, (start, end) in (("reference", config.reference_window),
                                   ("current", config.current_window)):
            rows = _window_rows(spark, ws, start, end, config, mark)
            windows.append(SparkLogWindow(spark, rows, name, model_id))
        numbers = SparkNumbers(windows[0], windows[1])
        for window in windows:
            window.numbers = numbers
        yield windows[0], windows[1], "lake"
    finally:
        for window in windows:
            window.release()


def _window_rows(spark: SparkSession, ws: Workspace, start: datetime, end: datetime,
                 config: MonitoringConfig, mark: tuple[datetime, str]) -> DataFrame:
    """The window's predictions, raw columns: the lake through its watermark, the
    database after it, outcomes and overrides the database learnt since export."""
    from pyspark.sql import functions as F

    from riskops.storage import lake
    from riskops.storage.predictions import read_window_columns, read_window_outcomes

    root = lake.predictions_dir(ws)
    scan = spark.read.option("basePath", str(root)).parquet(str(root))
    last_day = (end - _MICROSECOND).date()
    condition = ((F.col("date") >= start.date().isoformat())
                 & (F.col("date") <= last_day.isoformat())
                 & (F.col("created_at") >= F.lit(start)) & (F.col("created_at") < F.lit(end))
                 & ((F.col("created_at") < F.lit(mark[0]))
                    | ((F.col("created_at") == F.lit(mark[0])) & (F.col("id") <= mark[1]))))
    if config.scenarios:
        condition &= F.col("scenario").isin(list(config.scenarios))
    if config.tenants:
        condition &= F.col("tenant_id").isin(list(config.tenants))
    rows = scan.where(condition).select(*[F.col(c).cast(_TYPES[c]) for c in _RAW_COLUMNS])
    window = {"start": start, "end": end, "tenants": config.tenants,
              "scenarios": config.scenarios}
    known = read_window_outcomes(ws.database_url, **window)
    if known["id"]:
        facts = _frame(spark, known, ("id", "outcome", "override")).withColumnsRenamed(
            {"outcome": "k_outcome", "override": "k_override"})
        rows = (rows.join(F.broadcast(facts) if len(known["id"]) < 1_000_000 else facts,
                          on="id", how="left")
                .withColumn("outcome", F.coalesce("k_outcome", "outcome"))
                .withColumn("override", F.coalesce("override", F.lit(False))
                            | F.coalesce("k_override", F.lit(False)))
                .select(*_RAW_COLUMNS))
    tail = read_window_columns(ws.database_url, **window, after=mark)
    if tail["id"]:
        rows = rows.unionByName(_frame(spark, tail, _RAW_COLUMNS))
    return rows


def _frame(spark: SparkSession, columns: Mapping[str, list[Any]],
           names: Sequence[str]) -> DataFrame:
    schema = ", ".join(f"{n} {_TYPES[n]}" for n in names)
    return spark.createDataFrame(list(zip(*(columns[n] for n in names), strict=True)),
                                 schema=schema)


class SparkLogWindow:
    """One window of the inference log as a Spark DataFrame (``inference_log.LogWindow``)."""

    def __init__(self, spark: SparkSession, rows: DataFrame, name: str,
                 model_id: ModelId) -> None:
        self.spark, self._rows, self.name, self._model_id = spark, rows, name, model_id
        self._sizes: dict[Key, int] | None = None
        self._with_model: DataFrame | None = None
        self._tables: dict[str, DataFrame] = {}
        self._columns: dict[str, dict[str, tuple[str, str]]] = {}
        #: Numeric summaries of both windows (``spark_numbers``), set by ``open_spark_windows``.
        self.numbers: SparkNumbers | None = None
        self._categorical: dict[str, list[str]] = {}
        self._counts: dict[str, dict[tuple[str, str, str], dict[str | None, int]]] = {}

    def category_counts(self, scenario: str, tenant: str, model: str,
                        name: str) -> dict[str | None, int] | None:
        """Counts per value of a categorical input (or ``label``) of one (tenant, model),
        from one Spark job over every group and categorical column of ``scenario``;
        ``None`` for another column (the caller counts it alone)."""
        from pyspark.sql import functions as F

        self.prepare(scenario, {})
        names = ["label", *self._categorical[scenario]]
        if name not in names:
            return None
        if scenario not in self._counts:
            columns = self._columns[scenario]
            entries = [F.struct(F.lit(n).alias("k"),
                                F.col(n if n == "label" else columns[n][0]).alias("v"))
                       for n in names]
            rows = (self._tables[scenario]
                    .select("tenant_id", "model_id", F.explode(F.array(*entries)).alias("e"))
                    .groupBy("tenant_id", "model_id", F.col("e.k").alias("k"),
                             F.col("e.v").alias("v")).count().collect())
            counts: dict[tuple[str, str, str], dict[str | None, int]] = {}
            for tenant_id, model_id, key, value, n in rows:
                counts.setdefault((tenant_id, model_id, key), {})[value] = int(n)
            self._counts[scenario] = counts
        return dict(self._counts[scenario].get((tenant, model, name), {}))

    def prepared(self, scenario: str) -> DataFrame:
        """The cached table of ``scenario``'s typed columns (``prepare``)."""
        self.prepare(scenario, {})
        return self._tables[scenario]

    def prepared_columns(self, scenario: str) -> dict[str, tuple[str, str]]:
        """Input name -> (its column in ``prepared(scenario)``, DOUBLE or VARCHAR)."""
        self.prepare(scenario, {})
        return dict(self._columns[scenario])

    def release(self) -> None:
        """Drop the window's cached tables from the executors."""
        for table in self._tables.values():
            table.unpersist()

    def keys(self) -> list[Key]:
        """Every (tenant, scenario, model) with predictions in the window, sorted."""
        return sorted(self._key_sizes())

    def _key_sizes(self) -> dict[Key, int]:
        if self._sizes is None:
            rows = self._rows.groupBy("tenant_id", "scenario", "method", "model_name") \
                .count().collect()
            sizes: dict[Key, int] = {}
            for tenant, scenario, method, name, n in rows:
                key = (tenant, scenario, self._model_id(scenario, method, name))
                sizes[key] = sizes.get(key, 0) + int(n)
            models = sorted({(s, m, n, self._model_id(s, m, n)) for _, s, m, n, _ in rows},
                            key=str)
            self._sizes = sizes
            self._with_model = self._models_joined(models)
        return self._sizes

    def _models_table(self) -> DataFrame:
        """The window's rows with their ``model_id`` (``_models_joined``), built once."""
        if self._with_model is None:
            self._sizes = None
            self._key_sizes()
        if self._with_model is None:  # _key_sizes sets it
            raise RuntimeError("the window's models were not read")
        return self._with_model

    def _models_joined(self, models: list[tuple[str, str | None, str | None, str]]
                       ) -> DataFrame:
        """The rows with their ``model_id``, from the few (scenario, method, model name)
        combinations the window holds (a broadcast join, null-safe)."""
        from pyspark.sql import functions as F

        names = self.spark.createDataFrame(
            models or [("", None, None, "")],
            schema="m_scenario string, m_method string, m_name string, model_id string")
        on = (F.col("scenario").eqNullSafe(F.col("m_scenario"))
              & F.col("method").eqNullSafe(F.col("m_method"))
              & F.col("model_name").eqNullSafe(F.col("m_name")))
        return self._rows.join(F.broadcast(names), on=on, how="left") \
            .drop("m_scenario", "m_method", "m_name")

    def served_versions(self) -> dict[tuple[str, int], int]:
        """Rows per (model name, version) of the predictions that name both, sorted."""
        rows = self._rows.where("model_name IS NOT NULL AND model_version IS NOT NULL") \
            .groupBy("model_name", "model_version").count().collect()
        return {(str(m), int(v)): int(n) for m, v, n in sorted(rows)}

    def input_types(self, scenario: str) -> dict[tuple[str, str], dict[str, str]]:
        """Per (tenant, model) of ``scenario``: each input key and its JSON type, from at
        most about ``INFER_SAMPLE`` rows of each (a hash of the prediction id picks them;
        Spark's hash, so a key seen only outside the sample may differ from DuckDB's)."""
        from pyspark.sql import functions as F

        rates = [(t, m, min(1.0, INFER_SAMPLE / n))
                 for (t, s, m), n in self._key_sizes().items() if s == scenario]
        if not rates:
            return {}
        with_model = self._models_table()
        table = self.spark.createDataFrame(rates, "q_tenant string, q_model string, rate double")
        rows = (with_model.where(F.col("scenario") == scenario)
                .join(F.broadcast(table), (F.col("tenant_id") == F.col("q_tenant"))
                      & (F.col("model_id") == F.col("q_model")))
                .where((F.col("rate") >= 1)
                       | (F.pmod(F.xxhash64("id"), F.lit(1_000_000)) < F.col("rate") * 1_000_000))
                .groupBy("tenant_id", "model_id", "inputs").count()
                .select("tenant_id", "model_id", "inputs").toLocalIterator())
        seen: dict[tuple[str, str], dict[str, set[str]]] = {}
        for tenant, model, inputs in rows:
            try:
                parsed = json.loads(inputs) if inputs else None
            except ValueError:
                continue
            if not isinstance(parsed, dict):
                continue
            keys = seen.setdefault((tenant, model), {})
            for key, value in parsed.items():
                keys.setdefault(str(key), set()).add(_json_type(value))
        return {group: {key: _merged(kinds) for key, kinds in keys.items()}
                for group, keys in seen.items()}

    def prepare(self, scenario: str, inputs: Mapping[str, str]) -> None:
        """Extract ``inputs`` (name -> ``"numeric"`` or another kind) of ``scenario`` once,
        into a cached table of typed columns (the DuckDB engine's extraction rules)."""
        from pyspark.sql import functions as F

        if scenario in self._tables:
            return
        with_model = self._models_table()
        columns: dict[str, tuple[str, str]] = {}
        select = [F.col(c) for c in ("tenant_id", "model_id", "model_name", "model_version",
                                     "score", "threshold", "label", "outcome")]
        select.append(F.coalesce(F.col("override"), F.lit(False)).alias("override"))
        for i, name in enumerate(inputs):
            kind = "DOUBLE" if inputs[name] == "numeric" else "VARCHAR"
            column = f"f{i}"
            columns[name] = (column, kind)
            select.append(_extracted(name, kind).alias(column))
        parsed = F.from_json(F.col("inputs"), "map<string,string>").alias("p")
        table = with_model.where(F.col("scenario") == scenario) \
            .select("*", parsed).select(*select)
        table = table.persist()
        self._tables[scenario] = table
        self._columns[scenario] = columns
        self._categorical[scenario] = [n for n, kind in inputs.items()
                                       if kind == "categorical"]

    def select(self, tenant: str, scenario: str, model: str) -> SparkLogGroup:
        """The predictions of one (tenant, scenario, model) in this window."""
        self.prepare(scenario, {})
        return SparkLogGroup(self._tables[scenario], self._columns[scenario], (tenant, model),
                             self._key_sizes().get((tenant, scenario, model), 0),
                             numbers=(self.numbers, scenario), window=(self, scenario))


def _json_type(value: Any) -> str:
    """The type DuckDB's ``json_structure`` names for a parsed JSON value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    return "VARCHAR" if isinstance(value, str) else "JSON"


def _extracted(name: str, kind: str) -> Any:
    """Input ``name`` of the parsed JSON ``inputs`` (``p``, a map of JSON texts): DOUBLE
    (a number, a number as text, true/false as 1/0, else NULL) or VARCHAR (the JSON
    text of a value, a string unquoted)."""
    from pyspark.sql import functions as F

    if '"' in name:
        return F.lit(None).cast("double" if kind == "DOUBLE" else "string")
    raw = F.col("p").getItem(name)
    if kind == "VARCHAR":
        return raw
    return (F.when(raw == "true", F.lit(1.0)).when(raw == "false", F.lit(0.0))
            .otherwise(raw.try_cast("double")))

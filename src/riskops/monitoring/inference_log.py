"""The inference log of the two monitoring windows, read with DuckDB column by column.

    with open_windows(ws, config, model_id=model_id) as (reference, current, source):
        for tenant, scenario, model in reference.keys(): ...
        reference.prepare("fraud", {"amount": "numeric", "channel": "categorical"})
        group = reference.select("acme", "fraud", "fraud")
        len(group), group.numbers("amount"), group.counts("channel")
        group.values("text")                       # raw text, None where missing
        group.compare_numbers(other, "amount", bins=10)  # drift.NumericSummary of two groups
        current.served_versions()                  # {(model, version): rows}: profiles to load
        group.version("fraud", 3).numbers("amount")  # the rows one version served

Where the rows come from (``source``):

``db``
    The ``predictions`` table (with the newest outcome and any overriding
    feedback), read once per window as columns.
``lake``
    The Parquet lake (``storage.lake``) up to its watermark: the window's
    ``scenario``/``date`` partitions only, ``created_at`` and tenant filters
    pushed into the scan; plus the rows the database holds after the
    watermark (not exported yet, at most the export lag), so a window ending
    now is complete. Outcomes and overrides recorded after a row's export come
    from the database too. Before any export, the database alone.
``auto`` (default)
    ``lake`` once the lake has been exported to, else ``db``.

Nothing becomes a Python object per row: each window is a DuckDB view,
``prepare`` extracts a scenario's input features from the JSON ``inputs`` in
one ``json_transform`` pass into a table of typed columns (numbers as DOUBLE,
everything else as VARCHAR), and a check then fetches one column of one
(tenant, scenario, model) as a numpy array, or counts categories in SQL. The
tables live in a DuckDB file in a temporary folder under ``<home>/monitoring``
(the lake's disk, not a RAM-backed /tmp), removed after the run, so DuckDB
keeps within ``MEMORY_LIMIT`` by writing them out instead of failing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskops.errors import InputError
from riskops.monitoring.drift import NumericSummary, numeric_summary
from riskops.monitoring.windows import SOURCES
from riskops.storage.lake import sql_literal

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from riskops.config import Workspace
    from riskops.monitoring.windows import MonitoringConfig

#: DuckDB's memory cap for one run; beyond it, operators spill to a temporary folder.
MEMORY_LIMIT = "512MB"
#: Rows per (tenant, model) read to infer an unknown scenario's inputs.
INFER_SAMPLE = 100_000
#: JSON types ``json_structure`` gives a key whose every value is a number.
NUMBER_TYPES = frozenset({"UBIGINT", "BIGINT", "HUGEINT", "DOUBLE"})
_RAW_COLUMNS = ("id", "created_at", "tenant_id", "scenario", "model_name", "model_version",
                "method", "inputs", "score", "label", "threshold", "outcome", "override")
ModelId = Callable[[str, str, "str | None"], str]
Key = tuple[str, str, str]


@contextmanager
def open_windows(
    ws: Workspace, config: MonitoringConfig, *, model_id: ModelId, source: str = "auto",
) -> Iterator[tuple[LogWindow, LogWindow, str]]:
    """The reference and current windows of ``config``, and the source used (db or lake).

    ``model_id(scenario, method, model_name)`` names the model a prediction
    is monitored under. Raises ``InputError`` for an unknown ``source``.
    """
    import duckdb

    if source not in SOURCES:
        raise InputError(f"source must be one of {', '.join(SOURCES)}, got {source!r}.")
    from riskops.storage import lake

    mark = lake.watermark(ws) if source != "db" else None
    used = "lake" if source == "lake" or (source == "auto" and mark is not None) else "db"
    scratch = ws.home / "monitoring"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".duckdb-", dir=scratch) as spill, \
            duckdb.connect(str(Path(spill) / "windows.duckdb")) as con:
        for setting in ("SET TimeZone = 'UTC'", f"SET memory_limit = '{MEMORY_LIMIT}'",
                        f"SET temp_directory = {sql_literal(str(Path(spill) / 'spill'))}",
                        "SET preserve_insertion_order = false",
                        "SET enable_progress_bar = false"):
            con.execute(setting)
        windows = []
        for name, (start, end) in (("reference", config.reference_window),
                                   ("current", config.current_window)):
            _register(con, ws, name, start, end, config, used, mark)
            windows.append(LogWindow(con, name, model_id))
        yield windows[0], windows[1], used


def _register(con: duckdb.DuckDBPyConnection, ws: Workspace, name: str, start: datetime,
              end: datetime, config: MonitoringConfig, used: str,
              mark: tuple[datetime, str] | None) -> None:
    """Create the view ``<name>_rows``: the window's predictions, raw columns."""
    from riskops.storage import lake
    from riskops.storage.predictions import read_window_columns, read_window_outcomes

    window = {"start": start, "end": end, "tenants": config.tenants,
              "scenarios": config.scenarios}
    columns = ", ".join(_RAW_COLUMNS)
    if used == "db":
        con.register(f"{name}_db", _arrow(read_window_columns(ws.database_url, **window)))
        con.execute(f"CREATE TEMP VIEW {name}_rows AS SELECT {columns} FROM {name}_db")
        return
    parts = []
    # The lake up to its watermark, the database after it: each row read once.
    scan = lake.window_query(ws, **window, columns=_RAW_COLUMNS, through=mark) if mark else None
    if scan is not None:
        known = read_window_outcomes(ws.database_url, **window)
        if known["id"]:
            con.register(f"{name}_known", _arrow(known, names=("id", "outcome", "override")))
            scan = (f"SELECT l.* REPLACE (COALESCE(k.outcome, l.outcome) AS outcome, "
                    f"COALESCE(l.override, false) OR COALESCE(k.override, false) AS override) "
                    f"FROM ({scan}) l LEFT JOIN {name}_known k ON l.id = k.id")
        parts.append(scan)
    tail = read_window_columns(ws.database_url, **window, after=mark)
    if tail["id"] or not parts:
        con.register(f"{name}_tail", _arrow(tail))
        parts.append(f"SELECT {columns} FROM {name}_tail")
    con.execute(f"CREATE TEMP VIEW {name}_rows AS {' UNION ALL '.join(parts)}")


def _arrow(columns: Mapping[str, list[Any]], names: Sequence[str] = _RAW_COLUMNS) -> pa.Table:
    import pyarrow as pa

    types = {"id": pa.string(), "created_at": pa.timestamp("us", tz="UTC"),
             "tenant_id": pa.string(), "scenario": pa.string(), "model_name": pa.string(),
             "model_version": pa.int64(), "method": pa.string(), "inputs": pa.string(),
             "score": pa.float64(),
             "label": pa.string(), "threshold": pa.float64(), "outcome": pa.string(),
             "override": pa.bool_()}
    return pa.table({n: pa.array(columns[n], type=types[n]) for n in names})


class LogWindow:
    """One window of the inference log: its (tenant, scenario, model) keys and their columns."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, model_id: ModelId) -> None:
        self._con, self.name, self._model_id = con, name, model_id
        self._sizes: dict[Key, int] | None = None
        self._models: list[tuple[str, str | None, str | None, str]] = []
        self._tables: dict[str, str] = {}
        self._columns: dict[str, dict[str, tuple[str, str]]] = {}  # name -> (column, type)

    def keys(self) -> list[Key]:
        """Every (tenant, scenario, model) with predictions in the window, sorted."""
        return sorted(self._key_sizes())

    def _key_sizes(self) -> dict[Key, int]:
        if self._sizes is None:
            rows = self._con.execute(
                f"SELECT tenant_id, scenario, method, model_name, count(*) "
                f"FROM {self.name}_rows GROUP BY ALL").fetchall()
            self._models = sorted({(s, m, n, self._model_id(s, m, n)) for _, s, m, n, _ in rows},
                                  key=str)
            sizes: dict[Key, int] = {}
            for (tenant, scenario, method, name, n) in rows:
                key = (tenant, scenario, self._model_id(scenario, method, name))
                sizes[key] = sizes.get(key, 0) + int(n)
            self._sizes = sizes
        return self._sizes

    def _with_models(self) -> str:
        """The window's rows as ``r`` with their ``model_id`` (a CASE over the few
        (scenario, method, model name) combinations the window holds)."""
        self._key_sizes()
        branches = " ".join(
            f"WHEN {_equals('scenario', s)} AND {_equals('method', m)} "
            f"AND {_equals('model_name', n)} THEN {sql_literal(model)}"
            for s, m, n, model in self._models)
        model_id = f"CASE {branches} END" if branches else "NULL"
        return f"(SELECT *, {model_id} AS model_id FROM {self.name}_rows) r"

    def served_versions(self) -> dict[tuple[str, int], int]:
        """Rows per (model name, version) of the predictions that name both, sorted:
        the versions whose reference profiles a skew check reads."""
        rows = self._con.execute(
            f"SELECT model_name, model_version, count(*) FROM {self.name}_rows "
            "WHERE model_name IS NOT NULL AND model_version IS NOT NULL "
            "GROUP BY ALL ORDER BY ALL").fetchall()
        return {(str(model), int(version)): int(n) for model, version, n in rows}

    def input_types(self, scenario: str) -> dict[tuple[str, str], dict[str, str]]:
        """Per (tenant, model) of ``scenario``: each input key and its JSON type.

        A key whose values are all numbers (or null) is ``"DOUBLE"``, one only
        ever null ``"NULL"``, any other ``"JSON"``. Inputs that are not a JSON
        object are left out. DuckDB counts the distinct row structures; they
        are merged here. Beyond ``INFER_SAMPLE`` rows of a (tenant, model), a
        deterministic sample of about that many (by a hash of the prediction
        id) is read: a key or type seen only outside it is missed.
        """
        rates = [(t, m, min(1.0, INFER_SAMPLE / n))
                 for (t, s, m), n in self._key_sizes().items() if s == scenario]
        self._con.execute(f"CREATE OR REPLACE TABLE {self.name}_rates "
                          "(tenant_id VARCHAR, model_id VARCHAR, rate DOUBLE)")
        if rates:
            self._con.executemany(f"INSERT INTO {self.name}_rates VALUES (?, ?, ?)", rates)
        rows = self._con.execute(
            f"SELECT r.tenant_id, r.model_id, try(json_structure(r.inputs)) AS st, count(*) "
            f"FROM {self._with_models()} JOIN {self.name}_rates q "
            "ON q.tenant_id = r.tenant_id AND q.model_id = r.model_id "
            "WHERE r.scenario = ? AND (q.rate >= 1 OR hash(r.id) % 1000000 < q.rate * 1000000) "
            "GROUP BY ALL", [scenario]).fetchall()
        seen: dict[tuple[str, str], dict[str, set[str]]] = {}
        for tenant, model, structure, _ in rows:
            parsed = json.loads(structure) if structure else None
            if not isinstance(parsed, dict):
                continue
            keys = seen.setdefault((tenant, model), {})
            for key, kind in parsed.items():
                keys.setdefault(str(key), set()).add(kind if isinstance(kind, str) else "JSON")
        return {group: {key: _merged(kinds) for key, kinds in keys.items()}
                for group, keys in seen.items()}

    def prepare(self, scenario: str, inputs: Mapping[str, str]) -> None:
        """Extract ``inputs`` (name -> ``"numeric"`` or another kind) of ``scenario`` once.

        One pass over the window's rows of ``scenario``: numeric inputs become
        DOUBLE (a JSON number, or text that reads as one; anything else NULL),
        others VARCHAR (JSON text for a nested value). A later call for the
        same scenario does nothing.
        """
        if scenario in self._tables:
            return
        table = f"{self.name}_s{len(self._tables)}"
        names = list(inputs)
        struct: dict[str, str] = {}
        columns: dict[str, tuple[str, str]] = {}
        select = []
        seen: set[str] = set()
        for i, name in enumerate(names):
            kind = "DOUBLE" if inputs[name] == "numeric" else "VARCHAR"
            column = f"f{i}"
            columns[name] = (column, kind)
            if name.lower() in seen or '"' in name:
                # Struct fields are case-insensitive: a second spelling reads by JSON path.
                path = sql_literal('$."' + name + '"') if '"' not in name else "NULL"
                select.append(f"TRY_CAST(try(json_extract_string(inputs, {path})) AS {kind}) "
                              f"AS {column}")
            else:
                seen.add(name.lower())
                struct[name] = kind
                select.append(f"s[{sql_literal(name)}] AS {column}")
        parsed = (f", try(json_transform(r.inputs, {sql_literal(json.dumps(struct))})) AS s"
                  if struct else "")
        self._con.execute(
            f"CREATE TABLE {table} AS SELECT tenant_id, model_id, model_name, model_version, "
            "score, threshold, label, outcome, override"
            + "".join(f", {s}" for s in select) + " FROM ("
            "SELECT r.tenant_id, r.model_id, r.model_name, r.model_version, r.score, "
            "r.threshold, r.label, r.outcome, "
            f"COALESCE(r.override, false) AS override, r.inputs{parsed} "
            f"FROM {self._with_models()} WHERE r.scenario = {sql_literal(scenario)})")
        self._tables[scenario] = table
        self._columns[scenario] = columns

    def select(self, tenant: str, scenario: str, model: str) -> LogGroup:
        """The predictions of one (tenant, scenario, model) in this window."""
        self.prepare(scenario, {})
        return LogGroup(self._con, self._tables[scenario], self._columns[scenario],
                        (tenant, model), self._key_sizes().get((tenant, scenario, model), 0))


class LogGroup:
    """The rows of one (tenant, scenario, model) in one window, read column by column.

    Columns: ``score``, ``threshold``, ``label``, ``outcome``, ``override`` and
    every input the window prepared; an input never prepared reads as missing.
    ``version(model, n)`` narrows it to the rows one model version served.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str,
                 columns: Mapping[str, tuple[str, str]], key: tuple[str, str],
                 rows: int, served_by: tuple[str, int] | None = None) -> None:
        self._con, self._table, self._columns, self._rows = con, table, columns, rows
        self._where = "tenant_id = ? AND model_id = ?"
        self._params: list[Any] = list(key)
        if served_by is not None:
            self._where += " AND model_name = ? AND model_version = ?"
            self._params += list(served_by)
        self._key = key
        self._versions: dict[tuple[str, int], int] | None = None

    def versions(self) -> dict[tuple[str, int], int]:
        """Rows per (model name, version) among the group's rows that name both, sorted."""
        if self._versions is None:  # asked for by skew, per version, more than once
            rows = [] if self._rows == 0 else self._con.execute(
                f"SELECT model_name, model_version, count(*) FROM {self._table} "
                f"WHERE {self._where} AND model_name IS NOT NULL AND model_version IS NOT NULL "
                "GROUP BY ALL ORDER BY ALL", self._params).fetchall()
            self._versions = {(str(model), int(version)): int(n) for model, version, n in rows}
        return dict(self._versions)

    def version(self, model: str, version: int) -> LogGroup:
        """The rows of this group that ``model`` version ``version`` served."""
        rows = self.versions().get((model, version), 0)
        return LogGroup(self._con, self._table, self._columns, self._key, rows,
                        (model, version))

    def __len__(self) -> int:
        return self._rows

    def _column(self, name: str, kind: str) -> str:
        if name in ("score", "threshold", "label", "outcome", "override"):
            return name
        column, stored = self._columns.get(name, ("NULL", "VARCHAR"))
        if kind == "DOUBLE" and stored != "DOUBLE":
            return f"TRY_CAST({column} AS DOUBLE)"
        return column if kind == stored or column == "NULL" else f"{column}::VARCHAR"

    def _fetch(self, expression: str, where: str = "TRUE", params: Sequence[Any] = ()) -> Any:
        if self._rows == 0:
            return None
        return self._con.execute(
            f"SELECT {expression} AS v FROM {self._table} WHERE {self._where} AND ({where})",
            [*self._params, *params]).fetchnumpy()["v"]

    def numbers(self, name: str) -> np.ndarray:
        """``name`` as floats, missing values (and values that are not numbers) NaN."""
        values = self._fetch(f"COALESCE({self._column(name, 'DOUBLE')}, 'NaN'::DOUBLE)")
        return np.empty(0) if values is None else np.asarray(values, dtype=float)

    def values(self, name: str) -> np.ndarray:
        """``name`` as an object array of strings, ``None`` where missing."""
        values = self._fetch(self._column(name, "VARCHAR"))
        if values is None:
            return np.empty(0, dtype=object)
        if isinstance(values, np.ma.MaskedArray):
            return values.astype(object).filled(None)
        return np.asarray(values, dtype=object)

    def counts(self, name: str) -> dict[str | None, int]:
        """How many rows hold each value of ``name`` (as text); ``None`` counts the missing."""
        if self._rows == 0:
            return {}
        rows = self._con.execute(
            f"SELECT {self._column(name, 'VARCHAR')} AS v, count(*) FROM {self._table} "
            f"WHERE {self._where} GROUP BY v", self._params).fetchall()
        return {value: int(n) for value, n in rows}

    def numbers_where(self, name: str, column: str, value: str) -> np.ndarray:
        """``name`` as floats over the rows whose ``column`` (as text) equals ``value``."""
        values = self._fetch(f"COALESCE({self._column(name, 'DOUBLE')}, 'NaN'::DOUBLE)",
                             f"{self._column(column, 'VARCHAR')} = ?", [value])
        return np.empty(0) if values is None else np.asarray(values, dtype=float)

    def compare_numbers(self, current: LogGroup, name: str, *, bins: int,
                        where: tuple[str, str] | None = None) -> NumericSummary:
        """``drift.NumericSummary`` of ``name`` here (the reference) and in ``current``;
        ``where=(column, value)`` narrows both to the rows whose ``column`` is ``value``."""
        if where is None:
            return numeric_summary(self.numbers(name), current.numbers(name), bins=bins)
        return numeric_summary(self.numbers_where(name, *where),
                               current.numbers_where(name, *where), bins=bins)

    def flags(self, name: str) -> np.ndarray:
        """A boolean column (``override``) as a bool array, missing as False."""
        values = self._fetch(f"COALESCE({self._column(name, 'BOOLEAN')}, false)")
        return np.empty(0, dtype=bool) if values is None else np.asarray(values, dtype=bool)

    def mode(self, name: str) -> Any:
        """The most common non-missing value of ``name`` (the smallest among ties), or ``None``."""
        if self._rows == 0:
            return None
        column = self._column(name, "DOUBLE")
        row = self._con.execute(
            f"SELECT {column} AS v, count(*) AS n FROM {self._table} "
            f"WHERE {self._where} AND v IS NOT NULL "
            "GROUP BY v ORDER BY n DESC, v LIMIT 1", self._params).fetchall()
        return row[0][0] if row else None

    def distinct(self, name: str) -> int:
        """How many distinct non-missing values ``name`` has (compared as text)."""
        if self._rows == 0:
            return 0
        row = self._con.execute(
            f"SELECT count(DISTINCT {self._column(name, 'VARCHAR')}) FROM {self._table} "
            f"WHERE {self._where}", self._params).fetchall()
        return int(row[0][0])

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """Scores and outcome labels of the rows with an outcome."""
        scores, outcomes, _ = self._labelled(None)
        return scores, outcomes

    def labelled_by(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``labelled()`` with each row's ``column`` (as text, ``None`` where missing)."""
        return self._labelled(column)

    def _labelled(self, column: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._rows == 0:
            return np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype=object)
        extra = "" if column is None else f", {self._column(column, 'VARCHAR')} AS g"
        result = self._con.execute(
            f"SELECT score, outcome{extra} FROM {self._table} "
            f"WHERE {self._where} AND outcome IS NOT NULL", self._params).fetchnumpy()
        groups = np.empty(0, dtype=object)
        if column is not None:
            groups = np.asarray(np.ma.getdata(result["g"]), dtype=object).copy()
            groups[np.ma.getmaskarray(result["g"])] = None  # filled(None) would fill "?"
        return (np.asarray(result["score"], dtype=float),
                np.asarray(result["outcome"], dtype=object), groups)


def _merged(kinds: set[str]) -> str:
    known = kinds - {"NULL"}
    if not known:
        return "NULL"
    return "DOUBLE" if known <= NUMBER_TYPES else "JSON"


def _equals(column: str, value: str | None) -> str:
    return f"{column} IS NULL" if value is None else f"{column} = {sql_literal(value)}"



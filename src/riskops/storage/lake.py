"""The Parquet lake: the inference log exported for analytics, read with DuckDB.

Layout (hive partitioning, one folder per scenario and UTC day)::

    lake/predictions/_watermark.json
    lake/predictions/scenario=fraud/date=2026-03-01/part-<uuid>.parquet

``export_predictions`` appends the rows committed since the last export. It only
takes rows created more than ``lag`` ago, so a row whose commit lands a little
after its ``created_at`` (group commit, another replica, a busy database) is not
skipped by a watermark that already moved past it. Part files are written to a
temporary name and renamed; their names derive from the watermark the export
started at, so an export that crashed before saving its new watermark rewrites
the same files on the next run instead of duplicating rows. An export the file
system refuses (a full disk) removes the parts it wrote and raises ``CheckFailed``
naming the folder; the watermark stays.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import and_, exists, or_, select

from riskops.errors import CheckFailed, InputError
from riskops.files import atomic_path, atomic_write
from riskops.storage.db import get_engine
from riskops.storage.tables import FeedbackRow, OutcomeRow, PredictionRow

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from riskops.config import Workspace

DEFAULT_LAG = timedelta(minutes=2)
CHUNK_ROWS = 50_000
WATERMARK_NAME = "_watermark.json"
COLUMNS = ("id", "created_at", "scenario", "date", "tenant_id", "model_name", "model_version",
           "manifest_version", "method", "route", "inputs", "score", "label", "threshold",
           "reasons", "latency_ms", "outcome", "override")
# Names part files after the chunk they hold (see the module docstring).
_PART_NAMESPACE = uuid.UUID("5b0f7d4e-2c1a-4f7e-9a57-7269736b6f70")


def predictions_dir(ws: Workspace) -> Path:
    return ws.lake_dir / "predictions"


def export_predictions(ws: Workspace, *, now: datetime | None = None,
                       lag: timedelta = DEFAULT_LAG) -> dict[str, Any]:
    """Append predictions created before ``now - lag`` and not yet exported.

    Returns ``{"rows", "files", "watermark", "cutoff"}``: rows written, part
    files written (relative to the lake folder), the new watermark and the cutoff.
    """
    now = datetime.now(UTC) if now is None else _aware(now, name="now")
    cutoff = now - lag
    root = predictions_dir(ws)
    files: list[Path] = []
    rows = removed = 0
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _export_lock(root):
            # Temporary files left by an export that crashed mid-write.
            for pattern in ("scenario=*/date=*/.part-*.tmp", f".{WATERMARK_NAME}.*.tmp"):
                for stale in root.glob(pattern):
                    stale.unlink(missing_ok=True)
            start = newest = _read_watermark(root)
            try:
                engine = get_engine(ws.database_url)
                with engine.connect() as conn:
                    scenarios = list(
                        conn.execute(select(PredictionRow.scenario).distinct()).scalars())
                    for scenario in sorted(scenarios):
                        after = start
                        while True:
                            chunk = conn.execute(_chunk_query(scenario, after, cutoff)).all()
                            if not chunk:
                                break
                            _write_chunk(root, scenario, chunk, after, written=files)
                            rows += len(chunk)
                            after = (chunk[-1].created_at, chunk[-1].id)
                            if newest is None or after > newest:
                                newest = after
                            if len(chunk) < CHUNK_ROWS:
                                break
                if newest is not None and newest != start:
                    _write_watermark(root, newest, exported_at=now)
            except OSError:
                removed = _discard_unsaved(root, files, start)
                raise
    except OSError as exc:
        raise CheckFailed(_write_failure(root, exc, removed=removed)) from None
    return {
        "rows": rows,
        "files": [str(Path(f).relative_to(ws.lake_dir)) for f in files],
        "watermark": None if newest is None else {"created_at": newest[0].isoformat(),
                                                  "id": newest[1]},
        "cutoff": cutoff.isoformat(),
    }


def export_job(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """The ``lake-export`` job: :func:`export_predictions` with the default lag.

    ``metadata`` may set ``lag_seconds`` (a non-negative number).
    """
    lag = metadata.get("lag_seconds", DEFAULT_LAG.total_seconds())
    if isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0:
        raise InputError(f"lake-export: lag_seconds must be a non-negative number, got {lag!r}.")
    result = export_predictions(ws, lag=timedelta(seconds=lag))
    return {"rows": result["rows"], "files": len(result["files"]),
            "watermark": result["watermark"], "cutoff": result["cutoff"]}


def read_predictions(ws: Workspace, *, scenario: str | None = None,
                     start: datetime | date | None = None,
                     end: datetime | date | None = None) -> pd.DataFrame:
    """Exported predictions created in ``[start, end)``, oldest first, via DuckDB.

    Only the partitions of ``scenario`` and of the days in range are opened. A
    date means its midnight UTC; a naive datetime is read as UTC. ``created_at``
    is a UTC timestamp, ``date`` the partition day, ``inputs`` JSON text and
    ``outcome`` / ``override`` what was known at export time.
    """
    import duckdb

    root = predictions_dir(ws)
    base = root / f"scenario={_partition_value(scenario)}" if scenario is not None else root
    if not any(base.glob("date=*/*.parquet" if scenario is not None else "*/*/*.parquet")):
        return _empty_frame()
    where, params = [], []
    if start is not None:
        since = _as_time(start, name="start")
        where += ["date >= ?", "created_at >= ?"]
        params += [since.date(), since]
    if end is not None:
        until = _as_time(end, name="end")
        where += ["date <= ?", "created_at < ?"]
        params += [until.date(), until]
    pattern = str(base / "**" / "*.parquet").replace("'", "''")
    sql = (
        f"SELECT {', '.join(_quoted(c) for c in COLUMNS)} FROM read_parquet('{pattern}', "
        "hive_partitioning = true, hive_types = {'scenario': VARCHAR, 'date': DATE}) "
        + (f"WHERE {' AND '.join(where)} " if where else "")
        + "ORDER BY created_at, id"
    )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(sql, params=params).to_arrow_table().to_pandas()


def watermark(ws: Workspace) -> tuple[datetime, str] | None:
    """``(created_at, id)`` of the newest exported prediction, or ``None`` before any export."""
    return _read_watermark(predictions_dir(ws))


def window_query(ws: Workspace, *, start: datetime, end: datetime,
                 tenants: Sequence[str] | None = None,
                 scenarios: Sequence[str] | None = None,
                 columns: Sequence[str] = COLUMNS,
                 through: tuple[datetime, str] | None = None) -> str | None:
    """A DuckDB ``SELECT`` of the exported predictions created in ``[start, end)``.

    ``through`` (a watermark) keeps only rows whose ``(created_at, id)`` sorts
    at or before it: part files an interrupted export wrote beyond its saved
    watermark are then not counted twice beside the database's newer rows.

    ``None`` when the lake holds no part file. The filters are written so
    DuckDB pushes them into the scan: the ``scenario`` and ``date`` hive
    partitions prune folders (days are UTC days of ``created_at``), and
    ``created_at`` and ``tenant_id`` are checked against each row group's
    statistics before its rows are read. Values are inlined as SQL literals
    (a view takes no parameters), quotes doubled.
    """
    root = predictions_dir(ws)
    if not any(root.glob("*/*/*.parquet")):
        return None
    since, until = _as_time(start, name="start"), _as_time(end, name="end")
    last_day = (until - timedelta(microseconds=1)).date()
    where = [f"date >= DATE '{since.date().isoformat()}'",
             f"date <= DATE '{last_day.isoformat()}'",
             f"created_at >= TIMESTAMPTZ '{since.isoformat()}'",
             f"created_at < TIMESTAMPTZ '{until.isoformat()}'"]
    if scenarios:
        where.append(f"scenario IN ({', '.join(sql_literal(v) for v in scenarios)})")
    if tenants:
        where.append(f"tenant_id IN ({', '.join(sql_literal(v) for v in tenants)})")
    if through is not None:
        mark = f"TIMESTAMPTZ '{_aware(through[0], name='through').isoformat()}'"
        where.append(f"(created_at < {mark} OR (created_at = {mark} "
                     f"AND id <= {sql_literal(through[1])}))")
    pattern = sql_literal(str(root / "*" / "*" / "*.parquet"))
    return (f"SELECT {', '.join(_quoted(c) for c in columns)} FROM read_parquet({pattern}, "
            "hive_partitioning = true, hive_types = {'scenario': VARCHAR, 'date': DATE}) "
            f"WHERE {' AND '.join(where)}")


def sql_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (quotes doubled), for DuckDB text."""
    return "'" + value.replace("'", "''") + "'"


# --- export internals --------------------------------------------------------------


def _chunk_query(scenario: str, after: tuple[datetime, str] | None, cutoff: datetime) -> Any:
    p = PredictionRow
    outcome = (
        select(OutcomeRow.label).where(OutcomeRow.prediction_id == p.id)
        .order_by(OutcomeRow.recorded_at.desc(), OutcomeRow.id.desc()).limit(1)
        .scalar_subquery()
    )
    override = exists().where(FeedbackRow.prediction_id == p.id, FeedbackRow.override.is_(True))
    query = (
        select(p.id, p.created_at, p.tenant_id, p.model_name, p.model_version,
               p.manifest_version, p.method, p.route, p.inputs, p.score, p.label, p.threshold,
               p.reasons, p.latency_ms, outcome.label("outcome"), override.label("override"))
        .where(p.scenario == scenario, p.created_at < cutoff)
        .order_by(p.created_at, p.id).limit(CHUNK_ROWS)
    )
    if after is not None:
        query = query.where(or_(p.created_at > after[0],
                                and_(p.created_at == after[0], p.id > after[1])))
    return query


def _write_chunk(root: Path, scenario: str, chunk: list[Any],
                 after: tuple[datetime, str] | None, *, written: list[Path]) -> None:
    """Write ``chunk``'s part files, one per day, appending each to ``written`` once it
    is in place."""
    import pyarrow.parquet as pq

    by_day: dict[date, list[Any]] = defaultdict(list)
    for row in chunk:
        by_day[row.created_at.astimezone(UTC).date()].append(row)
    start_key = "start" if after is None else f"{after[0].isoformat()}|{after[1]}"
    for day, rows in sorted(by_day.items()):
        folder = root / f"scenario={_partition_value(scenario)}" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid5(_PART_NAMESPACE, f"{start_key}|{scenario}|{day.isoformat()}")
        target = folder / f"part-{name}.parquet"
        with atomic_path(target) as tmp:  # .part-<name>.parquet.<random>.tmp
            pq.write_table(_arrow_table(rows), tmp)
        written.append(target)


def _discard_unsaved(root: Path, files: list[Path], start: tuple[datetime, str] | None
                     ) -> int:
    """Remove the part files of an export that failed before its watermark was saved.

    They hold rows after the watermark, which the next run writes again under the same
    names; removed, they neither keep the space of a full disk nor show readers of the
    raw files rows the lake has not exported. Kept if the new watermark did land.
    """
    try:
        if _read_watermark(root) != start:
            return 0
    except (OSError, InputError):
        return 0
    removed = 0
    for path in files:
        with suppress(OSError):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _arrow_table(rows: list[Any]) -> pa.Table:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in _schema().names}
    for r in rows:
        columns["id"].append(r.id)
        columns["created_at"].append(r.created_at)
        columns["tenant_id"].append(r.tenant_id)
        columns["model_name"].append(r.model_name)
        columns["model_version"].append(r.model_version)
        columns["manifest_version"].append(r.manifest_version)
        columns["method"].append(r.method)
        columns["route"].append(r.route)
        columns["inputs"].append(r.inputs)
        columns["score"].append(r.score)
        columns["label"].append(r.label)
        columns["threshold"].append(r.threshold)
        columns["reasons"].append(json.loads(r.reasons) if r.reasons else [])
        columns["latency_ms"].append(r.latency_ms)
        columns["outcome"].append(r.outcome)
        columns["override"].append(bool(r.override))
    return pa.table(columns, schema=_schema())


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("id", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
        ("tenant_id", pa.string()), ("model_name", pa.string()),
        ("model_version", pa.int64()), ("manifest_version", pa.int64()),
        ("method", pa.string()), ("route", pa.string()), ("inputs", pa.string()),
        ("score", pa.float64()), ("label", pa.string()), ("threshold", pa.float64()),
        ("reasons", pa.list_(pa.string())), ("latency_ms", pa.float64()),
        ("outcome", pa.string()), ("override", pa.bool_()),
    ])


def _empty_frame() -> pd.DataFrame:
    import pyarrow as pa

    schema = _schema()
    fields = [schema.field(c) if c in schema.names else
              pa.field(c, pa.string() if c == "scenario" else pa.date32()) for c in COLUMNS]
    return pa.schema(fields).empty_table().to_pandas()


def _read_watermark(root: Path) -> tuple[datetime, str] | None:
    path = root / WATERMARK_NAME
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _aware(datetime.fromisoformat(data["created_at"]), name="watermark"), \
            str(data["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path} is not a valid lake watermark ({exc}); restore it from a backup, or "
            "delete it together with the lake's predictions/ folder to export everything again."
        ) from None


def _write_failure(root: Path, exc: OSError, *, removed: int) -> str:
    """One line for an export the file system refused: the folder, the reason, what
    was kept, the next step."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
    return (f"cannot write the Parquet lake at {root}: {reason.lower()}. Nothing was "
            f"exported: the watermark did not move, the {removed} part file(s) this run had "
            "written were removed and the rows stay in the database. Free space there (or "
            "fix the folder), then run riskops jobs run lake-export again.")


def _write_watermark(root: Path, key: tuple[datetime, str], *, exported_at: datetime) -> None:
    body = {"created_at": key[0].isoformat(), "id": key[1],
            "exported_at": exported_at.isoformat()}
    with atomic_write(root / WATERMARK_NAME, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)


@contextmanager
def _export_lock(root: Path) -> Iterator[None]:
    """One export at a time per lake (advisory; a no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with (root / ".export.lock").open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _partition_value(value: str) -> str:
    return quote(value, safe="")


def _quoted(column: str) -> str:
    return f'"{column}"'


def _aware(value: datetime, *, name: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{name} {value.isoformat()} is naive; pass an aware UTC datetime.")
    return value.astimezone(UTC)


def _as_time(value: datetime | date, *, name: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise InputError(f"{name} must be a date or datetime, got {value!r}.")

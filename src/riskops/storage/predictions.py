"""Statements on ``predictions``: insert batches, the group-commit connection, window reads.

Rows are the dicts :meth:`riskops.serving.records.PredictionRecord.to_row`
returns: one key per column, ``inputs`` and ``reasons`` as JSON text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, text

from riskops.storage import db
from riskops.storage.tables import FeedbackRow, OutcomeRow, PredictionRow

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: ``PRAGMA synchronous`` modes a :class:`PredictionWriter` accepts on SQLite.
SQLITE_SYNCHRONOUS = ("FULL", "EXTRA", "NORMAL")
_INSERT = insert(PredictionRow.__table__)


def insert_predictions(database_url: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` in one write transaction; the number written.

    Raises the database's error (:data:`riskops.storage.db.DatabaseError`) when
    the transaction fails, in which case nothing was written.
    """
    if not rows:
        return 0
    with db.write_connection(database_url) as conn:
        conn.execute(_INSERT, list(rows))
    return len(rows)


class PredictionWriter:
    """One connection committing batches of prediction rows, for a single writer thread.

    Connects on the first :meth:`write`. On SQLite it sets ``PRAGMA synchronous``
    to ``sqlite_synchronous``, begins with ``BEGIN IMMEDIATE`` and, for a file
    database, takes an exclusive ``flock`` on ``DATABASE.writers.lock`` around
    each commit, shared with the writers of other processes. On PostgreSQL it
    turns ``synchronous_commit`` back on if the server has it off.
    """

    def __init__(self, database_url: str, *, sqlite_synchronous: str = "FULL") -> None:
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous {sqlite_synchronous!r} is not one of "
                             f"{', '.join(SQLITE_SYNCHRONOUS)}.")
        self.database_url = database_url
        self.sqlite_synchronous = sqlite_synchronous
        self._conn: Connection | None = None
        self._file_lock: AbstractContextManager[object] = nullcontext()

    @property
    def connection(self) -> Connection | None:
        """The open connection, ``None`` before the first write or after a disconnect."""
        return self._conn

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` and commit them in one transaction, connecting first if needed.

        Raises the database's error when the commit fails; nothing was written
        then, and the caller should :meth:`disconnect` with ``invalidate=True``.
        """
        conn = self._conn if self._conn is not None else self._connect()
        with self._file_lock, conn.begin():
            conn.execute(_INSERT, list(rows))

    def disconnect(self, *, invalidate: bool = False) -> None:
        """Close the connection (discarding it from the pool when ``invalidate``); the
        next :meth:`write` opens a new one. Raises what closing raised."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if invalidate:
            conn.invalidate()
        conn.close()

    def close(self) -> None:
        """Release the writers' file lock; call after the last :meth:`disconnect`."""
        if isinstance(self._file_lock, _FileLock):
            self._file_lock.close()

    def _connect(self) -> Connection:
        engine = db.get_engine(self.database_url)
        conn = engine.connect()
        try:
            if engine.dialect.name == "sqlite":
                database = engine.url.database
                if database and database != ":memory:" and \
                        not isinstance(self._file_lock, _FileLock):
                    self._file_lock = _FileLock(Path(f"{engine.url.database}.writers.lock"))
                # Outside any transaction, on the raw connection (autocommit mode).
                cursor = conn.connection.cursor()
                try:
                    cursor.execute(f"PRAGMA synchronous={self.sqlite_synchronous}")
                finally:
                    cursor.close()
                conn = conn.execution_options(riskops_write=True)  # BEGIN IMMEDIATE
            elif engine.dialect.name == "postgresql":
                # A server configured with synchronous_commit=off would acknowledge
                # commits that a crash can still lose; insist on a flushed WAL.
                if conn.execute(text("SHOW synchronous_commit")).scalar() == "off":
                    conn.execute(text("SET synchronous_commit TO on"))
                conn.commit()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn


class _FileLock:
    """An exclusive ``flock`` on a file, shared by the inference logs of all processes.

    SQLite's own busy handler makes a blocked writer sleep up to 100 ms between
    retries, so writers of several server processes starve each other (p99 of
    seconds). Blocking on ``flock`` first wakes the next writer as soon as the
    lock is free. A no-op where ``fcntl`` is missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _FileLock:
        if fcntl is not None:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def read_window(
    database_url: str, *, start: datetime, end: datetime,
    tenants: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Predictions made in ``[start, end)``, optionally of some tenants and scenarios.

    One dict per prediction, by creation time then id, with ``id``,
    ``created_at``, ``tenant_id``, ``scenario``, ``model_name``,
    ``model_version``, ``method``, ``inputs`` (the stored JSON text), ``score``,
    ``label``, ``threshold``, ``outcome`` (the label of the outcome recorded last,
    or ``None``) and ``override`` (True when any feedback overrode it).
    """
    in_window = _in_window(start, end, tenants, scenarios)
    with db.read_session(database_url) as session:
        predictions = session.execute(
            select(PredictionRow.id, PredictionRow.created_at, PredictionRow.tenant_id,
                   PredictionRow.scenario, PredictionRow.model_name, PredictionRow.model_version,
                   PredictionRow.method, PredictionRow.inputs, PredictionRow.score,
                   PredictionRow.label, PredictionRow.threshold)
            .where(*in_window).order_by(PredictionRow.created_at, PredictionRow.id)
        ).all()
        newest, overridden = _outcomes_and_overrides(session, in_window)
    return [
        {"id": p.id, "created_at": p.created_at, "tenant_id": p.tenant_id,
         "scenario": p.scenario, "model_name": p.model_name, "model_version": p.model_version,
         "method": p.method, "inputs": p.inputs, "score": p.score, "label": p.label,
         "threshold": p.threshold, "outcome": newest.get(p.id), "override": p.id in overridden}
        for p in predictions
    ]


def read_window_columns(
    database_url: str, *, start: datetime, end: datetime,
    tenants: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
    after: tuple[datetime, str] | None = None,
) -> dict[str, list[Any]]:
    """``read_window`` as columns: one list per key, the rows in the same order.

    ``after`` keeps only rows whose ``(created_at, id)`` sorts after it (the
    lake's watermark: rows not exported yet).
    """
    in_window = _in_window(start, end, tenants, scenarios)
    if after is not None:
        in_window.append(or_(PredictionRow.created_at > after[0],
                             and_(PredictionRow.created_at == after[0],
                                  PredictionRow.id > after[1])))
    names = ("id", "created_at", "tenant_id", "scenario", "model_name", "model_version",
             "method", "inputs", "score", "label", "threshold")
    with db.read_session(database_url) as session:
        rows = session.execute(
            select(*(getattr(PredictionRow, n) for n in names))
            .where(*in_window).order_by(PredictionRow.created_at, PredictionRow.id)
        ).all()
        newest, overridden = _outcomes_and_overrides(session, in_window)
    columns: dict[str, list[Any]] = {n: list(v) for n, v in
                                     zip(names, zip(*rows, strict=True) if rows else
                                         [() for _ in names], strict=True)}
    columns["outcome"] = [newest.get(i) for i in columns["id"]]
    columns["override"] = [i in overridden for i in columns["id"]]
    return columns


def read_window_outcomes(
    database_url: str, *, start: datetime, end: datetime,
    tenants: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
) -> dict[str, list[Any]]:
    """What the database knows of the window's predictions beyond themselves.

    ``{"id": [...], "outcome": [...], "override": [...]}``: one entry per
    prediction with an outcome (the one recorded last) or an overriding
    feedback, for a read of the lake, whose copies are as of their export.
    """
    in_window = _in_window(start, end, tenants, scenarios)
    with db.read_session(database_url) as session:
        newest, overridden = _outcomes_and_overrides(session, in_window)
    ids = sorted(set(newest) | overridden)
    return {"id": ids, "outcome": [newest.get(i) for i in ids],
            "override": [i in overridden for i in ids]}


def _in_window(start: datetime, end: datetime, tenants: Sequence[str] | None,
               scenarios: Sequence[str] | None) -> list[Any]:
    in_window = [PredictionRow.created_at >= start, PredictionRow.created_at < end]
    if tenants:
        in_window.append(PredictionRow.tenant_id.in_(list(tenants)))
    if scenarios:
        in_window.append(PredictionRow.scenario.in_(list(scenarios)))
    return in_window


def _outcomes_and_overrides(session: Any, in_window: list[Any]) -> tuple[
    dict[str, str], set[str]
]:
    """The newest outcome label per prediction in the window, and the overridden ids."""
    outcomes = session.execute(
        select(OutcomeRow.prediction_id, OutcomeRow.label)
        .join(PredictionRow, PredictionRow.id == OutcomeRow.prediction_id)
        .where(*in_window).order_by(OutcomeRow.recorded_at, OutcomeRow.id)
    ).all()
    overridden = set(session.scalars(
        select(FeedbackRow.prediction_id).distinct()
        .join(PredictionRow, PredictionRow.id == FeedbackRow.prediction_id)
        .where(*in_window, FeedbackRow.override.is_(True))
    ))
    newest = {prediction_id: label for prediction_id, label in outcomes}  # later rows win
    return newest, overridden

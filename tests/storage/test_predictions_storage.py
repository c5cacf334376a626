"""storage.predictions: batch inserts, the group-commit writer's connection, window reads."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from storage_helpers import T0, db_url, prediction_row  # noqa: F401

from riskops.storage import db
from riskops.storage.feedback import add_feedback, add_outcomes
from riskops.storage.predictions import PredictionWriter, insert_predictions, read_window


def _ids(url: str) -> list[str]:
    with db.get_engine(url).connect() as conn:
        return sorted(conn.execute(text("SELECT id FROM predictions")).scalars())


def test_insert_predictions_is_all_or_nothing(db_url: str) -> None:
    rows = [prediction_row(), prediction_row()]
    assert insert_predictions(db_url, rows) == 2
    assert insert_predictions(db_url, []) == 0
    with pytest.raises(db.DatabaseError):
        insert_predictions(db_url, [prediction_row(), rows[0]])
    assert _ids(db_url) == sorted(r["id"] for r in rows)


def test_the_writer_commits_batches_on_one_connection(db_url: str) -> None:
    writer = PredictionWriter(db_url)
    assert writer.connection is None  # connects on the first write
    first = [prediction_row() for _ in range(3)]
    writer.write(first)
    conn = writer.connection
    assert conn is not None
    writer.write([prediction_row(id="p-2")])
    assert writer.connection is conn
    with pytest.raises(db.DatabaseError):
        writer.write([prediction_row(), prediction_row(id="p-2")])  # the whole batch fails
    writer.disconnect(invalidate=True)
    assert writer.connection is None
    writer.write([prediction_row(id="p-3")])  # and the next one reconnects
    writer.disconnect()
    writer.close()
    assert _ids(db_url) == sorted([*(r["id"] for r in first), "p-2", "p-3"])


def test_the_sqlite_writer_sets_synchronous_and_shares_a_file_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'riskops.db'}"
    db.migrate(url)
    writer = PredictionWriter(url, sqlite_synchronous="NORMAL")
    writer.write([prediction_row()])
    assert writer.connection is not None
    raw = writer.connection.connection.driver_connection
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # type: ignore[union-attr]
    assert (tmp_path / "riskops.db.writers.lock").exists()
    writer.disconnect()
    writer.close()


def test_the_writer_refuses_an_unknown_synchronous_mode() -> None:
    with pytest.raises(ValueError, match="sqlite_synchronous 'OFF' is not one of FULL"):
        PredictionWriter("sqlite://", sqlite_synchronous="OFF")


@pytest.mark.postgres
def test_the_postgresql_writer_insists_on_synchronous_commit(postgres_url: str) -> None:
    db.migrate(postgres_url)
    name = postgres_url.rpartition("/")[2]
    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    db.dispose_engines()
    writer = PredictionWriter(postgres_url)
    writer.write([prediction_row()])
    assert writer.connection is not None
    assert writer.connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
    writer.connection.rollback()
    writer.disconnect()
    with psycopg.connect(libpq) as other:  # only the writer's session changed
        assert other.execute("SHOW synchronous_commit").fetchone() == ("off",)


def test_read_window_joins_the_newest_outcome_and_any_override(db_url: str) -> None:
    inside = [prediction_row(T0), prediction_row(T0, tenant_id="acme"),
              prediction_row(T0 + timedelta(hours=1), scenario="shortfall")]
    before = prediction_row(T0 - timedelta(seconds=1))
    at_end = prediction_row(T0 + timedelta(days=1))
    insert_predictions(db_url, [*inside, before, at_end])
    first = inside[0]["id"]
    # The outcome recorded last wins, whatever its observation time.
    assert add_outcomes(db_url, [
        {"prediction_id": first, "label": "fraud", "observed_at": T0 + timedelta(days=2),
         "recorded_at": T0 + timedelta(hours=1), "actor": "r"},
        {"prediction_id": first, "label": "legit", "observed_at": T0,
         "recorded_at": T0 + timedelta(hours=2), "actor": "r"},
    ]) == []
    for override in (False, True, False):
        add_feedback(db_url, prediction_id=first, created_at=T0, actor="r", label=None,
                     override=override, severity=None, comment=None)
    rows = read_window(db_url, start=T0, end=T0 + timedelta(days=1))
    assert [r["id"] for r in rows] == [*sorted(r["id"] for r in inside[:2]), inside[2]["id"]]
    by_id = {r["id"]: r for r in rows}
    assert (by_id[first]["outcome"], by_id[first]["override"]) == ("legit", True)
    assert (by_id[inside[1]["id"]]["outcome"], by_id[inside[1]["id"]]["override"]) == (
        None, False)
    assert by_id[first]["inputs"] == json.dumps({"amount": 1.5})
    assert {k: by_id[first][k] for k in ("created_at", "tenant_id", "scenario", "model_name",
                                         "model_version", "method", "score", "label",
                                         "threshold")} == {
        "created_at": T0, "tenant_id": "default", "scenario": "fraud", "model_name": "fraud",
        "model_version": 1, "method": "ml", "score": 0.25, "label": "low", "threshold": 0.5}
    assert [r["id"] for r in read_window(db_url, start=T0, end=T0 + timedelta(days=1),
                                         tenants=["acme"])] == [inside[1]["id"]]
    assert [r["id"] for r in read_window(db_url, start=T0, end=T0 + timedelta(days=1),
                                         scenarios=["shortfall"])] == [inside[2]["id"]]
    assert read_window(db_url, start=T0, end=T0) == []

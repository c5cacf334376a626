"""Idempotent writes of imported history: predictions and their outcomes, batch by batch.

``add_imported`` stores one batch in one write transaction: predictions
whose id is already in the inference log are left alone (``ON CONFLICT DO
NOTHING`` on SQLite and PostgreSQL, so two concurrent imports of the same
rows cannot fail either), and an outcome is added only when the prediction's
newest outcome is not already that label. Importing the same file twice
therefore adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from riskops.storage import db
from riskops.storage.feedback import known_prediction_ids
from riskops.storage.tables import OutcomeRow, PredictionRow


@dataclass(frozen=True)
class ImportCounts:
    """Rows one batch added: predictions new to the log, and outcomes new to them."""

    predictions: int
    outcomes: int


def add_imported(database_url: str, predictions: Sequence[Mapping[str, Any]],
                 outcomes: Sequence[Mapping[str, Any]] = ()) -> ImportCounts:
    """Store ``predictions`` (``predictions`` rows) and ``outcomes`` (``outcomes`` rows
    of those predictions, without ``id``) in one transaction; what was new.

    Raises the database's error (:data:`riskops.storage.db.DatabaseError`) when the
    transaction fails, in which case nothing of the batch was written.
    """
    with db.write_connection(database_url) as conn:
        ids = [row["id"] for row in predictions]
        known = known_prediction_ids(conn, ids)
        new = [dict(row) for row in predictions if row["id"] not in known]
        if new:
            conn.execute(_insert_ignoring_duplicates(conn), new)
        newest = _newest_outcomes(conn, list(dict.fromkeys(r["prediction_id"]
                                                           for r in outcomes)))
        fresh = []
        for row in outcomes:
            if newest.get(row["prediction_id"]) != row["label"]:
                fresh.append(dict(row))
                newest[row["prediction_id"]] = row["label"]
        if fresh:
            conn.execute(insert(OutcomeRow), fresh)
    return ImportCounts(predictions=len(new), outcomes=len(fresh))


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    table = PredictionRow.__table__
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])


def _newest_outcomes(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The label of each prediction's newest outcome (recorded last, then highest id)."""
    newest: dict[str, str] = {}
    for chunk in db.in_chunks(ids):
        rows = conn.execute(
            select(OutcomeRow.prediction_id, OutcomeRow.label)
            .where(OutcomeRow.prediction_id.in_(chunk))
            .order_by(OutcomeRow.recorded_at, OutcomeRow.id)).all()
        newest.update({pid: label for pid, label in rows})  # later rows win
    return newest

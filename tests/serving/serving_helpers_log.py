"""Prediction records and database reads shared by the inference-log tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from riskops.serving.records import PredictionRecord, new_prediction_id
from riskops.storage import db
from riskops.storage.tables import PredictionRow


def make_record(**overrides: Any) -> PredictionRecord:
    """A plausible ML prediction of the fraud scenario; any field can be overridden."""
    fields: dict[str, Any] = {
        "id": new_prediction_id(), "created_at": datetime.now(UTC), "tenant_id": "default",
        "scenario": "fraud", "model_name": "fraud", "model_version": 1, "manifest_version": 3,
        "method": "ml", "route": "production",
        "inputs": {"amount": 120.5, "country": "DE", "card_present": False},
        "score": 0.42, "label": "low", "threshold": 0.5, "reasons": ["amount above median"],
        "latency_ms": 1.25,
    }
    fields.update(overrides)
    return PredictionRecord(**fields)


def stored_ids(database_url: str) -> list[str]:
    """Every prediction id in the database (with repeats, if a bug wrote any twice)."""
    with db.get_engine(database_url).connect() as conn:
        return list(conn.execute(select(PredictionRow.id)).scalars())


def stored_count(database_url: str) -> int:
    with db.get_engine(database_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(PredictionRow)).scalar_one())


def ids_of(records: Iterable[PredictionRecord]) -> list[str]:
    return [r.id for r in records]

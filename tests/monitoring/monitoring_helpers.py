"""Inference-log rows for monitoring tests, made with a reference scenario's generator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select

from riskops.config import Workspace
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Drift
from riskops.storage.db import read_session, write_transaction
from riskops.storage.tables import FeedbackRow, OutboxEventRow, OutcomeRow, PredictionRow

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def generated(
    scenario: str = "fraud", *, rows: int = 4000, days: int = 60, seed: int = 0,
    drift_features: tuple[str, ...] | None = None, drift_days: int = 7, magnitude: float = 1.0,
    tenants: int = 1,
) -> pd.DataFrame:
    """``rows`` generated rows spread over the ``days`` before ``NOW``; with
    ``drift_features``, covariate drift on them over the last ``drift_days``."""
    start = (NOW - timedelta(days=days)).date()
    drift = None
    if drift_features is not None:
        drift = Drift("covariate", start=(NOW - timedelta(days=drift_days)).date(),
                      features=drift_features, magnitude=magnitude)
    return get_scenario(scenario).generate(rows, start=start, days=days, seed=seed,
                                           drift=drift, tenants=tenants)


def prediction_rows(
    frame: pd.DataFrame, scenario: str = "fraud", *, scores: Any = None,
    model_name: str | None = "fraud", method: str = "ml", threshold: float = 0.5,
    segments: bool = False,
) -> list[dict[str, Any]]:
    """``predictions`` rows for ``frame``: features (and segments) as inputs JSON;
    the scenario's heuristic score unless ``scores`` is given."""
    spec = get_scenario(scenario)
    columns = spec.schema.feature_names + (list(spec.schema.segments) if segments else [])
    records = frame[columns].to_dict("records")
    if scores is None:
        scores = [spec.heuristic(r).score for r in records]
    out = []
    for i, (row, inputs, score) in enumerate(zip(frame.itertuples(), records, scores,
                                                strict=True)):
        clean = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in inputs.items()}
        out.append({
            "id": f"{row.id}-{i}", "created_at": row.timestamp.floor("us").to_pydatetime(),
            "tenant_id": row.tenant_id, "scenario": scenario, "model_name": model_name,
            "model_version": 1 if model_name else None, "manifest_version": 1,
            "method": method, "route": "production" if method == "ml" else "heuristic",
            "inputs": json.dumps(clean), "score": float(score),
            "label": spec.label_for(float(score), threshold), "threshold": threshold,
            "reasons": "[]", "latency_ms": 1.0,
        })
    return out


def insert_predictions(ws: Workspace, rows: list[dict[str, Any]]) -> None:
    with write_transaction(ws.database_url) as session:
        session.execute(insert(PredictionRow), rows)


def insert_outcomes(ws: Workspace, labels: dict[str, str], *, at: datetime = NOW) -> None:
    """One outcome per prediction id; ``at`` is when it was recorded."""
    rows = [{"prediction_id": pid, "label": label, "observed_at": at, "recorded_at": at,
             "actor": "test"} for pid, label in labels.items()]
    with write_transaction(ws.database_url) as session:
        session.execute(insert(OutcomeRow), rows)


def insert_overrides(ws: Workspace, prediction_ids: list[str]) -> None:
    rows = [{"prediction_id": pid, "created_at": NOW, "actor": "reviewer", "label": "0",
             "override": True} for pid in prediction_ids]
    with write_transaction(ws.database_url) as session:
        session.execute(insert(FeedbackRow), rows)


def outbox(ws: Workspace, event_type: str | None = None) -> list[dict[str, Any]]:
    """Envelopes in the event outbox (optionally of one type), oldest first."""
    with read_session(ws.database_url) as session:
        query = select(OutboxEventRow).order_by(OutboxEventRow.seq)
        if event_type is not None:
            query = query.where(OutboxEventRow.type == event_type)
        return [json.loads(row.envelope) for row in session.scalars(query)]


def in_window(frame: pd.DataFrame, days_from: float, days_to: float) -> pd.DataFrame:
    """Rows created between ``days_from`` and ``days_to`` days before ``NOW``."""
    start, end = NOW - timedelta(days=days_from), NOW - timedelta(days=days_to)
    stamps = frame["timestamp"]
    return frame[(stamps >= start) & (stamps < end)]



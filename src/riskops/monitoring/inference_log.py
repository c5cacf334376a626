"""The inference log of one time window, as a DataFrame: the monitoring job's only read.

Predictions (``predictions``) with their newest outcome (``outcomes``, the
row recorded last wins) and whether any reviewer overrode them
(``feedback.override``). Everything else in monitoring works on the frame,
so switching this read to the Parquet lake changes this module only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import select

from riskops.storage.db import read_session
from riskops.storage.tables import FeedbackRow, OutcomeRow, PredictionRow

COLUMNS = ("id", "created_at", "tenant_id", "scenario", "model_name", "model_version",
           "method", "inputs", "score", "label", "threshold", "outcome", "override")


def load_inference_log(
    database_url: str, *, start: datetime, end: datetime,
    tenants: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Predictions made in ``[start, end)``, optionally of some tenants and scenarios.

    Returns one row per prediction with the columns in ``COLUMNS``: ``inputs``
    is the decoded feature dict, ``outcome`` the newest ground-truth label or
    ``None``, ``override`` True when any feedback overrode the prediction.
    """
    in_window = [PredictionRow.created_at >= start, PredictionRow.created_at < end]
    if tenants:
        in_window.append(PredictionRow.tenant_id.in_(list(tenants)))
    if scenarios:
        in_window.append(PredictionRow.scenario.in_(list(scenarios)))
    with read_session(database_url) as session:
        predictions = session.execute(
            select(PredictionRow.id, PredictionRow.created_at, PredictionRow.tenant_id,
                   PredictionRow.scenario, PredictionRow.model_name, PredictionRow.model_version,
                   PredictionRow.method, PredictionRow.inputs, PredictionRow.score,
                   PredictionRow.label, PredictionRow.threshold)
            .where(*in_window).order_by(PredictionRow.created_at, PredictionRow.id)
        ).all()
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
    rows = [
        {"id": p.id, "created_at": p.created_at, "tenant_id": p.tenant_id,
         "scenario": p.scenario, "model_name": p.model_name, "model_version": p.model_version,
         "method": p.method, "inputs": _decode(p.inputs), "score": float(p.score),
         "label": p.label, "threshold": p.threshold, "outcome": newest.get(p.id),
         "override": p.id in overridden}
        for p in predictions
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _decode(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}

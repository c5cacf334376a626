"""The reads the retrain rules and the ``retrain`` job make of the inference log.

Plain values in, plain rows out: labelled predictions since a moment, the drift
alerts firing for a model, and the labelled rows of the lake (logged inputs
joined with outcomes and feedback).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from riskops.storage import db
from riskops.storage.tables import AlertStateRow, FeedbackRow, OutcomeRow, PredictionRow


def labelled_predictions(database_url: str, scenario: str, *, since: datetime | None,
                         until: datetime) -> int:
    """Predictions of ``scenario`` that received a feedback label (non-null) recorded in
    ``(since, until]`` (``since`` ``None``: any time up to ``until``); each counts once."""
    p, f = PredictionRow, FeedbackRow
    window = [p.scenario == scenario, f.label.is_not(None), f.created_at <= until]
    if since is not None:
        window.append(f.created_at > since)
    with db.get_engine(database_url).connect() as conn:
        return int(conn.execute(
            select(func.count(func.distinct(f.prediction_id)))
            .select_from(f).join(p, p.id == f.prediction_id).where(*window)).scalar_one())


@dataclass(frozen=True)
class FiringAlert:
    """A drift-like alert firing for a model (any check but ``performance``)."""

    check: str
    tenant_id: str
    model_id: str
    segment: str
    feature: str
    metric: str
    changed_at: datetime | None  # when it fired
    evaluated_at: datetime


def firing_drift_alerts(database_url: str, model: str) -> list[FiringAlert]:
    """The firing drift alerts of ``model`` (its own key, or ``model@version`` for the
    per-version training-skew checks), oldest first."""
    a = AlertStateRow
    with db.get_engine(database_url).connect() as conn:
        rows = conn.execute(
            select(a.check_name, a.tenant_id, a.model_id, a.segment, a.feature, a.metric,
                   a.changed_at, a.evaluated_at)
            .where(a.firing.is_(True), a.check_name != "performance",
                   or_(a.model_id == model, a.model_id.like(_like_prefix(model + "@"),
                                                            escape="\\")))
            .order_by(a.changed_at, a.id)).all()
    return [FiringAlert(*row) for row in rows]


@dataclass(frozen=True)
class LakeRows:
    """Labelled predictions of a window and how many were left out for want of a label."""

    rows: list[dict[str, Any]]  # id, created_at, tenant_id, inputs (JSON text), label, source
    unlabelled: int


def lake_rows(database_url: str, scenario: str, *, since: datetime,
              until: datetime) -> LakeRows:
    """Every prediction of ``scenario`` created in ``(since, until]`` with its label: the
    newest feedback label when a reviewer gave one, else the newest outcome; those with
    neither are counted in ``unlabelled``. Oldest first."""
    p, f, o = PredictionRow, FeedbackRow, OutcomeRow
    window = and_(p.scenario == scenario, p.created_at > since, p.created_at <= until)
    with db.get_engine(database_url).connect() as conn:
        predictions = conn.execute(
            select(p.id, p.created_at, p.tenant_id, p.inputs).where(window)
            .order_by(p.created_at, p.id)).all()
        feedback: dict[str, str] = {}
        for pid, label in conn.execute(
                select(f.prediction_id, f.label).join(p, p.id == f.prediction_id)
                .where(window, f.label.is_not(None)).order_by(f.created_at, f.id)):
            feedback[pid] = label  # the newest wins
        outcomes: dict[str, str] = {}
        for pid, label in conn.execute(
                select(o.prediction_id, o.label).join(p, p.id == o.prediction_id)
                .where(window).order_by(o.recorded_at, o.id)):
            outcomes[pid] = label
    rows, unlabelled = [], 0
    for pid, created_at, tenant, inputs in predictions:
        if pid in feedback:
            label, source = feedback[pid], "feedback"
        elif pid in outcomes:
            label, source = outcomes[pid], "outcome"
        else:
            unlabelled += 1
            continue
        rows.append({"id": pid, "created_at": created_at, "tenant_id": tenant,
                     "inputs": inputs, "label": label, "source": source})
    return LakeRows(rows, unlabelled)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"

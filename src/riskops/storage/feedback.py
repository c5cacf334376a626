"""Statements on ``feedback`` and ``outcomes``, and the reads that join them to predictions.

Writes run in one plain write transaction each (``BEGIN IMMEDIATE`` on SQLite,
no registry lock), committed before the function returns. A write about a
prediction that is not in the inference log stores nothing and says so in its
return value; the caller decides what error that is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, insert, select

from riskops.storage import db
from riskops.storage.tables import FeedbackRow, OutcomeRow, PredictionRow


@dataclass(frozen=True)
class PredictionDetail:
    """A prediction's row, its feedback oldest first and its newest outcome, as dicts
    keyed by column name (``inputs`` and ``reasons`` still JSON text)."""

    prediction: dict[str, Any]
    feedback: list[dict[str, Any]]
    outcome: dict[str, Any] | None


@dataclass(frozen=True)
class InsightCounts:
    """Counts per group in a time window, as plain tuples.

    ``served``: (scenario, tenant_id, method, model_name, model_version, count)
    of predictions created in the window. ``reviewed``: (scenario, tenant_id,
    count, overrides, critical) of feedback recorded in it; the sums may be
    ``None`` or a non-int number on some backends. ``observed``: (scenario,
    tenant_id, count) of outcomes recorded in it.
    """

    served: list[tuple[Any, ...]]
    reviewed: list[tuple[Any, ...]]
    observed: list[tuple[Any, ...]]


def add_feedback(
    database_url: str, *, prediction_id: str, created_at: datetime, actor: str,
    label: str | None, override: bool, severity: str | None, comment: str | None,
) -> int | None:
    """Store one feedback row on ``prediction_id``; its id, or ``None`` (nothing stored)
    when the prediction is not in the inference log."""
    with db.write_connection(database_url) as conn:
        if known_prediction_ids(conn, [prediction_id]) != {prediction_id}:
            return None
        return int(conn.execute(
            insert(FeedbackRow).values(
                prediction_id=prediction_id, created_at=created_at, actor=actor, label=label,
                override=override, severity=severity, comment=comment,
            ).returning(FeedbackRow.id)
        ).scalar_one())


def add_outcomes(database_url: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Store outcome rows all or nothing; the prediction ids not in the inference log.

    Each row holds ``prediction_id``, ``label``, ``observed_at``, ``recorded_at``
    and ``actor``. If any ``prediction_id`` is unknown, nothing is stored and the
    unknown ids are returned, each once, in the order of ``rows``; an empty list
    means every row was stored.
    """
    if not rows:
        return []
    wanted = list(dict.fromkeys(r["prediction_id"] for r in rows))
    with db.write_connection(database_url) as conn:
        known = known_prediction_ids(conn, wanted)
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            return unknown
        conn.execute(insert(OutcomeRow), [dict(r) for r in rows])
    return []


def prediction_detail(database_url: str, prediction_id: str) -> PredictionDetail | None:
    """The prediction ``prediction_id`` with its feedback (oldest first) and newest
    outcome; ``None`` when it is not in the inference log."""
    with db.get_engine(database_url).connect() as conn:
        row = conn.execute(
            select(PredictionRow).where(PredictionRow.id == prediction_id)
        ).mappings().first()
        if row is None:
            return None
        feedback = conn.execute(
            select(FeedbackRow).where(FeedbackRow.prediction_id == prediction_id)
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
        ).mappings().all()
        outcome = conn.execute(
            select(OutcomeRow).where(OutcomeRow.prediction_id == prediction_id)
            .order_by(OutcomeRow.recorded_at.desc(), OutcomeRow.id.desc()).limit(1)
        ).mappings().first()
    return PredictionDetail(prediction=dict(row), feedback=[dict(f) for f in feedback],
                            outcome=None if outcome is None else dict(outcome))


def insight_counts(database_url: str, *, since: datetime, until: datetime) -> InsightCounts:
    """Predictions, feedback and outcomes of the window ``(since, until]`` per group.

    Predictions count by their creation time; feedback and outcomes by when they
    were recorded, whatever the age of the prediction they are about.
    """
    p, o = PredictionRow, OutcomeRow
    with db.get_engine(database_url).connect() as conn:
        served = conn.execute(
            select(p.scenario, p.tenant_id, p.method, p.model_name, p.model_version,
                   func.count())
            .where(p.created_at > since, p.created_at <= until)
            .group_by(p.scenario, p.tenant_id, p.method, p.model_name, p.model_version)
        ).all()
        reviewed = conn.execute(_reviewed(since, until)).all()
        observed = conn.execute(
            select(p.scenario, p.tenant_id, func.count())
            .select_from(o).join(p, p.id == o.prediction_id)
            .where(o.recorded_at > since, o.recorded_at <= until)
            .group_by(p.scenario, p.tenant_id)
        ).all()
    return InsightCounts(served=[tuple(r) for r in served],
                         reviewed=[tuple(r) for r in reviewed],
                         observed=[tuple(r) for r in observed])


def review_counts(database_url: str, scenario: str, *, since: datetime,
                  until: datetime) -> tuple[int, int]:
    """``(feedback, overrides)`` recorded in ``(since, until]`` on predictions of
    ``scenario``, over every tenant: the counts ``/risk/insights`` divides for its
    override rate (the same statement as ``insight_counts``)."""
    with db.get_engine(database_url).connect() as conn:
        rows = conn.execute(_reviewed(since, until, scenario=scenario)).all()
    return sum(int(r[2] or 0) for r in rows), sum(int(r[3] or 0) for r in rows)


def _reviewed(since: datetime, until: datetime, *, scenario: str | None = None) -> Select[Any]:
    """Feedback recorded in ``(since, until]`` per (scenario, tenant): count, overrides,
    critical."""
    p, f = PredictionRow, FeedbackRow
    query = (select(p.scenario, p.tenant_id, func.count(),
                    func.sum(case((f.override.is_(True), 1), else_=0)),
                    func.sum(case((f.severity == "critical", 1), else_=0)))
             .select_from(f).join(p, p.id == f.prediction_id)
             .where(f.created_at > since, f.created_at <= until)
             .group_by(p.scenario, p.tenant_id))
    return query if scenario is None else query.where(p.scenario == scenario)


def known_prediction_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that are in the inference log."""
    known: set[str] = set()
    for chunk in db.in_chunks(ids):
        known.update(conn.execute(
            select(PredictionRow.id).where(PredictionRow.id.in_(chunk))
        ).scalars())
    return known


@dataclass(frozen=True)
class StageSample:
    """What one scenario's version on one route (production, canary) answered in a window."""

    scenario: str
    route: str
    version: int | None
    requests: int
    scores: list[float]  # the latest ``limit`` scores, newest first
    feedback: int
    overrides: int
    outcomes: list[tuple[float, str]]  # (score, observed label) of labelled predictions


def stage_samples(database_url: str, *, scenario: str, since: datetime, until: datetime,
                  routes: Sequence[str] = ("production", "canary"),
                  limit: int = 10_000) -> list[StageSample]:
    """Per route of ``scenario``: requests in ``(since, until]``, the latest ``limit`` scores,
    feedback and overrides on those predictions, and the labelled ones' scores and labels."""
    p, f, o = PredictionRow, FeedbackRow, OutcomeRow
    window = (p.scenario == scenario, p.created_at > since, p.created_at <= until,
              p.route.in_(list(routes)), p.method == "ml")
    samples = []
    with db.get_engine(database_url).connect() as conn:
        counts = conn.execute(
            select(p.route, p.model_version, func.count()).where(*window)
            .group_by(p.route, p.model_version)).all()
        for route, version, requests in sorted(counts, key=lambda r: (r[0], r[1] or 0)):
            keys = (*window, p.route == route, p.model_version == version)
            scores = conn.execute(select(p.score).where(*keys)
                                  .order_by(p.created_at.desc()).limit(limit)).scalars().all()
            reviewed = conn.execute(
                select(func.count(), func.sum(case((f.override.is_(True), 1), else_=0)))
                .select_from(f).join(p, p.id == f.prediction_id).where(*keys)).one()
            labelled = conn.execute(
                select(p.score, o.label).select_from(o).join(p, p.id == o.prediction_id)
                .where(*keys).order_by(p.created_at.desc()).limit(limit)).all()
            samples.append(StageSample(
                scenario=scenario, route=route, version=version, requests=int(requests),
                scores=[float(s) for s in scores], feedback=int(reviewed[0] or 0),
                overrides=int(reviewed[1] or 0),
                outcomes=[(float(s), str(label)) for s, label in labelled]))
    return samples


def critical_feedback(database_url: str, *, model: str, version: int, since: datetime,
                      until: datetime) -> list[dict[str, Any]]:
    """Feedback of severity ``critical`` recorded in ``[since, until]`` on predictions of
    ``model`` v``version``, oldest first, each with its prediction (``inputs`` parsed)."""
    f, p = FeedbackRow, PredictionRow
    query = (select(f.id, f.created_at, f.actor, f.label, f.override, f.comment,
                    p.id, p.created_at, p.tenant_id, p.scenario, p.model_version,
                    p.manifest_version, p.route, p.inputs, p.score, p.label)
             .join(p, p.id == f.prediction_id)
             .where(f.severity == "critical", f.created_at >= since, f.created_at <= until,
                    p.model_name == model, p.model_version == version)
             .order_by(f.created_at, f.id))
    with db.get_engine(database_url).connect() as conn:
        return [{"feedback_id": r[0], "created_at": r[1], "actor": r[2], "label": r[3],
                 "override": bool(r[4]), "comment": r[5],
                 "prediction": {"id": r[6], "created_at": r[7], "tenant_id": r[8],
                                "scenario": r[9], "model_version": r[10],
                                "manifest_version": r[11], "route": r[12],
                                "inputs": json.loads(r[13]), "score": r[14],
                                "label": r[15]}}
                for r in conn.execute(query)]

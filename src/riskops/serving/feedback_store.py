"""Feedback, outcomes and insights over the inference log.

Pure storage functions: each opens its own session, writes in one plain
transaction (committed before the function returns, so the caller may answer
"ok") and returns JSON-ready dicts. Writes do not take the registry's lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, insert, select

from riskops.errors import InputError
from riskops.storage.db import get_engine
from riskops.storage.tables import FeedbackRow, OutcomeRow, PredictionRow

SEVERITIES = ("info", "low", "medium", "high", "critical")
_IN_CHUNK = 500  # ids per IN (...) list; far below every backend's parameter limit
_MAX_NAMED = 10


class UnknownPrediction(InputError):
    """No prediction with that id is in the inference log."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ids = list(ids)


@contextmanager
def _transaction(database_url: str) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit."""
    with get_engine(database_url).connect() as conn:
        conn = conn.execution_options(riskops_write=True)
        with conn.begin():
            yield conn


def record_feedback(database_url: str, *, prediction_id: str, actor: str,
                    label: str | None = None, override: bool = False,
                    severity: str | None = None, comment: str | None = None) -> dict[str, Any]:
    """Store a reviewer's feedback on a prediction; the stored feedback.

    Raises
    ------
    UnknownPrediction
        If ``prediction_id`` is not in the inference log.
    InputError
        If ``severity`` is not one of :data:`SEVERITIES`.
    """
    if severity is not None and severity not in SEVERITIES:
        raise InputError(
            f"feedback severity {severity!r} is not one of {', '.join(SEVERITIES)}."
        )
    if not isinstance(override, bool):
        raise InputError(f"feedback override must be true or false, got {override!r}.")
    values = {"prediction_id": prediction_id, "created_at": datetime.now(UTC), "actor": actor,
              "label": label, "override": override, "severity": severity,
              "comment": comment}
    with _transaction(database_url) as conn:
        if _known_ids(conn, [prediction_id]) != {prediction_id}:
            raise _unknown([prediction_id])
        feedback_id = conn.execute(
            insert(FeedbackRow).values(**values).returning(FeedbackRow.id)
        ).scalar_one()
    return _feedback_dict({"id": feedback_id, **values})


def prediction_with_feedback(database_url: str, prediction_id: str) -> dict[str, Any]:
    """The prediction (inputs, score, label, model, version, reasons), its feedback
    oldest first, and its newest outcome (``None`` when no outcome is recorded).

    Raises
    ------
    UnknownPrediction
        If ``prediction_id`` is not in the inference log.
    """
    with get_engine(database_url).connect() as conn:
        row = conn.execute(
            select(PredictionRow).where(PredictionRow.id == prediction_id)
        ).mappings().first()
        if row is None:
            raise _unknown([prediction_id])
        feedback = conn.execute(
            select(FeedbackRow).where(FeedbackRow.prediction_id == prediction_id)
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
        ).mappings().all()
        outcome = conn.execute(
            select(OutcomeRow).where(OutcomeRow.prediction_id == prediction_id)
            .order_by(OutcomeRow.recorded_at.desc(), OutcomeRow.id.desc()).limit(1)
        ).mappings().first()
    return {
        "prediction_id": row["id"],
        "created_at": row["created_at"].isoformat(),
        "tenant_id": row["tenant_id"],
        "scenario": row["scenario"],
        "model_name": row["model_name"],
        "model_version": row["model_version"],
        "manifest_version": row["manifest_version"],
        "method": row["method"],
        "route": row["route"],
        "inputs": json.loads(row["inputs"]),
        "score": row["score"],
        "label": row["label"],
        "threshold": row["threshold"],
        "reasons": json.loads(row["reasons"]),
        "latency_ms": row["latency_ms"],
        "feedback": [_feedback_dict(f) for f in feedback],
        "outcome": None if outcome is None else _outcome_dict(outcome),
    }


def record_outcomes(database_url: str, items: Sequence[Mapping[str, Any]], *,
                    actor: str) -> int:
    """Store ground-truth labels, all or nothing; the number stored.

    Each item holds ``prediction_id``, ``label`` and optionally ``observed_at``
    (ISO 8601 text or an aware datetime; without a zone it is read as UTC; absent,
    the time of recording). A prediction may receive several outcomes; the newest
    recorded one counts.

    Raises
    ------
    UnknownPrediction
        If any ``prediction_id`` is unknown (up to 10 are named); nothing is stored.
    InputError
        If an item lacks ``prediction_id`` or ``label``, or ``observed_at`` is not a time.
    """
    now = datetime.now(UTC)
    rows = [_outcome_row(i, item, actor=actor, now=now) for i, item in enumerate(items)]
    if not rows:
        return 0
    wanted = list(dict.fromkeys(r["prediction_id"] for r in rows))
    with _transaction(database_url) as conn:
        known = _known_ids(conn, wanted)
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            raise _unknown(unknown, what="outcomes")
        conn.execute(insert(OutcomeRow), rows)
    return len(rows)


def insights(database_url: str, *, now: datetime, window_days: int = 7) -> list[dict[str, Any]]:
    """Per (scenario, tenant), what the last ``window_days`` days to ``now`` hold.

    Each dict has ``scenario``, ``tenant_id``, ``window_days``, ``predictions``,
    ``ml`` and ``heuristic`` (predictions by method), ``feedback``, ``overrides``,
    ``override_rate`` (overrides / feedback, ``None`` without feedback),
    ``critical_feedback``, ``outcomes`` and ``versions`` (each model version that
    served in the window, most used first). Predictions count by their creation
    time; feedback and outcomes by when they were recorded, whatever the age of
    the prediction they are about. Sorted by scenario, then tenant.
    """
    if now.tzinfo is None:
        raise InputError("insights: now must be timezone-aware, e.g. datetime.now(UTC).")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise InputError(f"insights: window_days must be a positive integer, "
                         f"got {window_days!r}.")
    since = now - timedelta(days=window_days)
    p, f, o = PredictionRow, FeedbackRow, OutcomeRow
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(scenario: str, tenant: str) -> dict[str, Any]:
        if (scenario, tenant) not in groups:
            groups[(scenario, tenant)] = {
                "scenario": scenario, "tenant_id": tenant, "window_days": window_days,
                "predictions": 0, "ml": 0, "heuristic": 0, "feedback": 0, "overrides": 0,
                "override_rate": None, "critical_feedback": 0, "outcomes": 0, "versions": [],
            }
        return groups[(scenario, tenant)]

    with get_engine(database_url).connect() as conn:
        served = conn.execute(
            select(p.scenario, p.tenant_id, p.method, p.model_name, p.model_version,
                   func.count())
            .where(p.created_at > since, p.created_at <= now)
            .group_by(p.scenario, p.tenant_id, p.method, p.model_name, p.model_version)
        ).all()
        reviewed = conn.execute(
            select(p.scenario, p.tenant_id, func.count(),
                   func.sum(case((f.override.is_(True), 1), else_=0)),
                   func.sum(case((f.severity == "critical", 1), else_=0)))
            .select_from(f).join(p, p.id == f.prediction_id)
            .where(f.created_at > since, f.created_at <= now)
            .group_by(p.scenario, p.tenant_id)
        ).all()
        observed = conn.execute(
            select(p.scenario, p.tenant_id, func.count())
            .select_from(o).join(p, p.id == o.prediction_id)
            .where(o.recorded_at > since, o.recorded_at <= now)
            .group_by(p.scenario, p.tenant_id)
        ).all()

    for scenario, tenant, method, model, version, count in served:
        g = group(scenario, tenant)
        g["predictions"] += count
        if method in ("ml", "heuristic"):
            g[method] += count
        if version is not None:
            g["versions"].append({"model": model, "version": version, "predictions": count})
    for scenario, tenant, count, overrides, critical in reviewed:
        g = group(scenario, tenant)
        g.update(feedback=count, overrides=int(overrides or 0),
                 critical_feedback=int(critical or 0),
                 override_rate=(int(overrides or 0) / count) if count else None)
    for scenario, tenant, count in observed:
        group(scenario, tenant)["outcomes"] = count
    for g in groups.values():
        g["versions"].sort(key=lambda v: (-v["predictions"], v["model"] or "", v["version"]))
    return [groups[key] for key in sorted(groups)]


# --- helpers ---------------------------------------------------------------------


def _known_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        known.update(conn.execute(
            select(PredictionRow.id).where(PredictionRow.id.in_(chunk))
        ).scalars())
    return known


def _unknown(ids: Sequence[str], *, what: str = "") -> UnknownPrediction:
    named = ", ".join(ids[:_MAX_NAMED])
    more = f" and {len(ids) - _MAX_NAMED} more" if len(ids) > _MAX_NAMED else ""
    if what:
        text = (f"{len(ids)} {what} name unknown predictions: {named}{more}; nothing was "
                "recorded. Use the prediction_id values the scoring endpoints returned.")
    else:
        text = (f"no prediction with id {named}; use a prediction_id a scoring endpoint "
                "returned.")
    return UnknownPrediction(text, ids)


def _outcome_row(index: int, item: Mapping[str, Any], *, actor: str,
                 now: datetime) -> dict[str, Any]:
    where = f"outcomes[{index}]"
    if not isinstance(item, Mapping):
        raise InputError(f"{where} must be an object with prediction_id and label.")
    pid, label = item.get("prediction_id"), item.get("label")
    if not isinstance(pid, str) or not pid:
        raise InputError(f"{where}.prediction_id must be a non-empty string, got {pid!r}.")
    if not isinstance(label, str) or not label:
        raise InputError(f"{where}.label must be a non-empty string, got {label!r}.")
    return {"prediction_id": pid, "label": label,
            "observed_at": _parse_time(item.get("observed_at"), where=where, default=now),
            "recorded_at": now, "actor": actor}


def _parse_time(value: Any, *, where: str, default: datetime) -> datetime:
    if value is None:
        return default
    # Messages name the field, never the value: outcomes travel with personal data.
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"{where}.observed_at is not an ISO 8601 time; use e.g. 2026-03-01T12:00:00Z."
            ) from None
    if not isinstance(value, datetime):
        raise InputError(f"{where}.observed_at must be an ISO 8601 string, "
                         f"not a {type(value).__name__}.")
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{where}.observed_at is out of range once converted to UTC.") \
            from None


def _feedback_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "prediction_id": row["prediction_id"],
            "created_at": row["created_at"].isoformat(), "actor": row["actor"],
            "label": row["label"], "override": bool(row["override"]),
            "severity": row["severity"], "comment": row["comment"]}


def _outcome_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": row["label"], "observed_at": row["observed_at"].isoformat(),
            "recorded_at": row["recorded_at"].isoformat(), "actor": row["actor"]}

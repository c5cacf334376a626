"""Feedback, outcomes and insights over the inference log.

Each function checks its input, runs its statements through
:mod:`riskops.storage.feedback` (one plain write transaction per write,
committed before the function returns, so the caller may answer "ok"; no
registry lock) and returns JSON-ready dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from riskops.errors import InputError, UnknownPrediction
from riskops.storage import feedback as store

SEVERITIES = ("info", "low", "medium", "high", "critical")
_MAX_NAMED = 10


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
    values: dict[str, Any] = {
        "prediction_id": prediction_id, "created_at": datetime.now(UTC), "actor": actor,
        "label": label, "override": override, "severity": severity, "comment": comment}
    feedback_id = store.add_feedback(database_url, **values)
    if feedback_id is None:
        raise _unknown([prediction_id])
    return _feedback_dict({"id": feedback_id, **values})


def prediction_with_feedback(database_url: str, prediction_id: str) -> dict[str, Any]:
    """The prediction (inputs, score, label, model, version, reasons), its feedback
    oldest first, and its newest outcome (``None`` when no outcome is recorded).

    Raises
    ------
    UnknownPrediction
        If ``prediction_id`` is not in the inference log.
    """
    detail = store.prediction_detail(database_url, prediction_id)
    if detail is None:
        raise _unknown([prediction_id])
    row, feedback, outcome = detail.prediction, detail.feedback, detail.outcome
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
    unknown = store.add_outcomes(database_url, rows)
    if unknown:
        raise _unknown(unknown, what="outcomes")
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
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(scenario: str, tenant: str) -> dict[str, Any]:
        if (scenario, tenant) not in groups:
            groups[(scenario, tenant)] = {
                "scenario": scenario, "tenant_id": tenant, "window_days": window_days,
                "predictions": 0, "ml": 0, "heuristic": 0, "feedback": 0, "overrides": 0,
                "override_rate": None, "critical_feedback": 0, "outcomes": 0, "versions": [],
            }
        return groups[(scenario, tenant)]

    counts = store.insight_counts(database_url, since=since, until=now)
    for scenario, tenant, method, model, version, count in counts.served:
        g = group(scenario, tenant)
        g["predictions"] += count
        if method in ("ml", "heuristic"):
            g[method] += count
        if version is not None:
            g["versions"].append({"model": model, "version": version, "predictions": count})
    for scenario, tenant, count, overrides, critical in counts.reviewed:
        g = group(scenario, tenant)
        g.update(feedback=count, overrides=int(overrides or 0),
                 critical_feedback=int(critical or 0),
                 override_rate=(int(overrides or 0) / count) if count else None)
    for scenario, tenant, count in counts.observed:
        group(scenario, tenant)["outcomes"] = count
    for g in groups.values():
        g["versions"].sort(key=lambda v: (-v["predictions"], v["model"] or "", v["version"]))
    return [groups[key] for key in sorted(groups)]


# --- helpers ---------------------------------------------------------------------


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

"""CloudEvents 1.0 envelopes and the registry of event types riskops emits.

An envelope is a plain dict in CloudEvents JSON (structured) form::

    {"specversion": "1.0", "id": "5f0c…", "source": "/riskops/registry",
     "type": "ml.model.promoted", "time": "2026-03-01T12:00:00.123456Z",
     "subject": "fraud", "datacontenttype": "application/json",
     "data": {"modelId": "fraud", "version": 3, ...}}
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"
#: Media type of one event in CloudEvents structured mode (HTTP body, AMQP message).
CLOUDEVENTS_JSON = "application/cloudevents+json"
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")


@dataclass(frozen=True)
class EventType:
    """One known event type: its Alertmanager severity and required ``data`` keys."""

    name: str
    severity: str
    summary: str
    required: tuple[str, ...] = ()


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType("ml.model.drift.detected", "warning", "Data or prediction drift detected",
                  ("modelId", "metric", "value", "threshold")),
        EventType("ml.model.drift.resolved", "info", "Drift alert resolved",
                  ("modelId", "metric", "value", "threshold")),
        EventType("ml.model.performance.degraded", "warning", "Model performance degraded",
                  ("modelId", "metric", "value", "threshold")),
        EventType("ml.model.performance.recovered", "info", "Model performance recovered",
                  ("modelId", "metric", "value", "threshold")),
        EventType("model_integrity_failed", "critical",
                  "Model integrity check failed; serving falls back to the heuristic"),
        EventType("model_bias_alert", "warning", "Fairness check failed"),
        EventType("ml.model.promoted", "info", "Model version promoted",
                  ("modelId", "version", "stage")),
        EventType("ml.model.break_glass", "critical",
                  "Model promoted past failing gates (break-glass)",
                  ("modelId", "version", "stage", "reason")),
        EventType("ml.model.rolled_back", "warning", "Production model rolled back",
                  ("modelId", "fromVersion", "toVersion")),
        EventType("ml.model.rollback.recommended", "warning",
                  "Automatic rollback recommended (alert-only: nothing moved)",
                  ("modelId", "version", "rule")),
        EventType("ml.model.retired", "warning", "Model retired: no version serves",
                  ("modelId", "reason")),
        EventType("ml.model.revalidation.due", "warning",
                  "Model past its re-validation due date", ("modelId", "tier", "dueDate")),
        EventType("ml.slo.burn_rate.alert", "critical",
                  "Error budget burning fast (multi-window burn-rate alert)",
                  ("scenario", "objective", "alert", "burnRate", "threshold")),
        EventType("ml.slo.burn_rate.resolved", "info", "Error budget burn back under its rate",
                  ("scenario", "objective", "alert", "burnRate", "threshold")),
        EventType("ml.retrain.triggered", "info", "Retraining triggered"),
        EventType("workflow.job.trigger", "info", "Batch job triggered", ("job",)),
        EventType("workflow.job.failed", "warning", "Batch job failed"),
    )
}


def event_type(name: str) -> EventType:
    """The registered :class:`EventType` called ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a known event type; the message lists the known ones.
    """
    try:
        return EVENT_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown event type {name!r}; known types are {', '.join(EVENT_TYPES)}."
        ) from None


def normalise_source(source: str) -> str:
    """The CloudEvents ``source`` URI-reference for a component name.

    >>> normalise_source("riskops"), normalise_source("registry")
    ('/riskops', '/riskops/registry')
    >>> normalise_source("riskops/serving"), normalise_source("riskops://host-1/worker")
    ('/riskops/serving', 'riskops://host-1/worker')
    """
    if not isinstance(source, str) or not source.strip() or any(c.isspace() for c in source):
        raise ValueError(f"event source {source!r} must be a non-empty name or URI without "
                         "spaces, e.g. 'registry' or '/riskops/registry'.")
    if "://" in source or source.startswith("/"):
        return source
    if source == "riskops" or source.startswith("riskops/"):
        return f"/{source}"
    return f"/riskops/{source}"


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: ``2026-03-01T12:00:00.123456Z``."""
    if moment.tzinfo is None:
        raise ValueError("event time must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_envelope(
    *, type: str, subject: str, data: dict[str, Any], source: str = "riskops",
    time: datetime | None = None, id: str | None = None,
) -> dict[str, Any]:
    """A validated CloudEvents 1.0 envelope.

    Raises
    ------
    ValueError
        If the type is unknown, the subject empty, ``data`` not a JSON object
        with the keys the type requires, or not serialisable as strict JSON.
    """
    known = event_type(type)
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"{type} event needs a non-empty subject (e.g. the model name), "
                         f"got {subject!r}.")
    if not isinstance(data, dict):
        raise ValueError(f"{type} event data must be a dict, not {data.__class__.__name__}.")
    missing = [key for key in known.required if key not in data]
    if missing:
        raise ValueError(f"{type} event data lacks {', '.join(missing)}; it requires "
                         f"{', '.join(known.required)}.")
    _check_json(data, f"{type} event data")
    return {
        "specversion": SPECVERSION,
        "id": id or str(uuid.uuid4()),
        "source": normalise_source(source),
        "type": type,
        "time": format_time(time or datetime.now(UTC)),
        "subject": subject,
        "datacontenttype": DATACONTENTTYPE,
        "data": data,
    }


def dumps(envelope: dict[str, Any]) -> str:
    """Compact JSON of an envelope, one line, keys in a fixed order."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _check_json(value: Any, where: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError(f"{where} holds NaN or infinity; send null or a finite number.") \
            from None
    except TypeError as exc:
        raise ValueError(f"{where} is not JSON-serialisable ({exc}); convert it to str, "
                         "int, float, bool, list or dict first.") from None

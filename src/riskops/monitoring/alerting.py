"""One run's checks through the alert state: transitions, their events and audit entries.

Every checked result with a ``drift`` verdict (prediction and data drift, and
any other drift-like check) is one evaluation of its (check, tenant, model,
segment, feature, metric); every trusted performance check is one evaluation
per degradation metric, and per calibration metric of each checked segment
value (``segment_calibration``: its events carry ``segment``). ``record_alerts``
advances the stored state of each (``riskops.monitoring.alerts``) as of the
run's ``now`` and, in one write transaction, saves the states, emits an event
per transition and appends an audit entry per transition, anchored by a newly
signed manifest:

- fired: ``ml.model.drift.detected`` / ``ml.model.performance.degraded``,
  audit action ``monitoring.alert.fired``;
- resolved: ``ml.model.drift.resolved`` / ``ml.model.performance.recovered``,
  audit action ``monitoring.alert.resolved``.

Each result gains ``alert`` (``"firing"`` or ``"ok"``) and ``consecutive``
(breaches in a row so far); a performance result gains ``alerts``, the same
per metric, and so does each checked entry of its ``segment_calibration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.monitoring.alerts import AlertState, Transition, advance
from riskops.storage.alert_state import AlertKey

DRIFT_EVENT = "ml.model.drift.detected"
DRIFT_RESOLVED_EVENT = "ml.model.drift.resolved"
DEGRADED_EVENT = "ml.model.performance.degraded"
RECOVERED_EVENT = "ml.model.performance.recovered"
EVENT_SOURCE = "riskops/monitoring"
#: The audit log's actor for what the monitoring job records.
ACTOR = "system:model-monitoring"
AUDIT_ACTIONS: dict[Transition, str] = {"fired": "monitoring.alert.fired",
                                        "resolved": "monitoring.alert.resolved"}


@dataclass(frozen=True)
class Evaluation:
    """One quantity evaluated in this run: its key, whether it breached, and the
    event payload (without ``consecutive``) a transition would carry."""

    key: AlertKey
    breach: bool
    value: float | None
    data: dict[str, Any]
    result: dict[str, Any]

    @property
    def is_performance(self) -> bool:
        return self.key[0] == "performance"


def is_drift_check(result: Mapping[str, Any]) -> bool:
    """A checked result with a drift verdict (whatever kind of drift check it is)."""
    return (result.get("status") == "checked" and result.get("check") != "performance"
            and "drift" in result)


def drift_value(result: Mapping[str, Any]) -> float | None:
    """The statistic a drift check compared with its threshold (PSI unless it says)."""
    value = result.get("value", result.get("psi"))
    return None if value is None else float(value)


def evaluations(results: list[dict[str, Any]],
                degradation: Mapping[str, float]) -> list[Evaluation]:
    """Every alertable evaluation among ``results``; skipped checks evaluate nothing."""
    found = []
    for result in results:
        base = {"modelId": result["modelId"], "tenantId": result["tenantId"],
                "scenario": result["scenario"]}
        if is_drift_check(result):
            value, threshold = drift_value(result), result.get("threshold")
            metric = str(result.get("metric", "psi"))
            data = {**base, "check": result["check"], "feature": result.get("feature"),
                    "metric": metric, "value": value, "threshold": threshold,
                    "delta": (None if value is None or threshold is None
                              else value - threshold)}
            if result.get("segment"):
                data["segment"] = result["segment"]
            model = str(result["modelId"])
            if result.get("modelVersion") is not None:
                # training_skew is per serving version: a canary beside production
                # must not share (or reset) production's alert.
                data["modelVersion"] = result["modelVersion"]
                model = f"{model}@{result['modelVersion']}"
            key = (str(result["check"]), str(result["tenantId"]), model,
                   str(result.get("segment") or ""), str(result.get("feature") or ""), metric)
            found.append(Evaluation(key, bool(result["drift"]), value, data, result))
        elif result.get("check") == "performance" and result.get("status") == "checked" \
                and "note" not in result:
            degraded = {d["metric"] for d in result.get("degraded") or ()}
            prefix = "estimated_" if result.get("mode") == "estimated" else ""
            # The check's own thresholds (a scenario may set its own), else the run's.
            for name, limit in (result.get("thresholds") or degradation).items():
                value = (result.get("metrics") or {}).get(name)
                if value is None:
                    continue  # undefined this run: not an evaluation
                key = ("performance", str(result["tenantId"]), str(result["modelId"]), "", "",
                       name)
                data = {**base, "metric": prefix + name, "value": value, "threshold": limit}
                found.append(Evaluation(key, prefix + name in degraded, float(value), data,
                                        result))
            found.extend(_segment_evaluations(result, base))
    return found


def _segment_evaluations(result: Mapping[str, Any],
                         base: dict[str, Any]) -> list[Evaluation]:
    """One evaluation per checked segment value and calibration metric (``brier``,
    ``ece``) of a measured performance result; the segment entry is annotated."""
    section = result.get("segment_calibration") or {}
    found = []
    for entry in section.get("segments") or ():
        if entry.get("status") != "checked":
            continue
        degraded = {d["metric"] for d in entry.get("degraded") or ()}
        for name, limit in (section.get("thresholds") or {}).items():
            value = entry.get(name)
            if value is None:
                continue
            key = ("performance", str(result["tenantId"]), str(result["modelId"]),
                   str(entry["segment"]), "", name)
            data = {**base, "segment": entry["segment"], "metric": name, "value": value,
                    "threshold": limit}
            found.append(Evaluation(key, name in degraded, float(value), data, entry))
    return found


def record_alerts(ws: Workspace, results: list[dict[str, Any]], *, now: datetime,
                  consecutive: int, degradation: Mapping[str, float]) -> list[str]:
    """Advance every evaluation's alert state as of ``now``; the ids of the events emitted.

    States, events, audit entries and the manifest anchoring the entries commit
    together or not at all. Annotates ``results`` in place (see the module).
    """
    found = evaluations(results, degradation)
    if not found:
        return []
    from riskops.events import emit
    from riskops.registry.publish import record_changes, sync_manifest_files
    from riskops.storage import alert_state
    from riskops.storage.db import write_transaction

    ids: list[str] = []
    changed_at = datetime.now(UTC)
    with write_transaction(ws.database_url) as session:
        stored = alert_state.load_states(session, {e.key[2] for e in found})
        updates: dict[AlertKey, dict[str, Any]] = {}
        transitions: list[tuple[Evaluation, AlertState, Transition]] = []
        for evaluation in found:
            before = _state(stored.get(evaluation.key))
            after, transition = advance(before, breach=evaluation.breach, evaluated_at=now,
                                        consecutive=consecutive)
            _annotate(evaluation, after)
            if after != before:
                previous = stored.get(evaluation.key) or {}
                updates[evaluation.key] = {
                    "firing": after.firing, "breaches": after.breaches, "cleans": after.cleans,
                    "evaluated_at": after.evaluated_at, "last_value": evaluation.value,
                    "changed_at": changed_at if transition else previous.get("changed_at")}
            if transition is not None:
                transitions.append((evaluation, after, transition))
        alert_state.save_states(session, updates)
        if transitions:
            entries = []
            for evaluation, after, transition in transitions:
                event_type, data = _event(evaluation, after, transition)
                subject = f"{evaluation.data['modelId']}/{evaluation.key[1]}"
                event_id = emit(session, ws, type=event_type, subject=subject, data=data,
                                source=EVENT_SOURCE)
                evaluation.result.setdefault("eventIds", []).append(event_id)
                ids.append(event_id)
                entries.append((AUDIT_ACTIONS[transition], subject,
                                {**data, "event_type": event_type, "event_id": event_id,
                                 "evaluated_at": now.isoformat()}))
            record_changes(session, ws, now=changed_at, actor=ACTOR, entries=entries)
    if ids:
        sync_manifest_files(ws)
    return ids


def _state(stored: Mapping[str, Any] | None) -> AlertState:
    if stored is None:
        return AlertState()
    return AlertState(bool(stored["firing"]), int(stored["breaches"]), int(stored["cleans"]),
                      stored["evaluated_at"])


def _annotate(evaluation: Evaluation, state: AlertState) -> None:
    status = {"alert": "firing" if state.firing else "ok", "consecutive": state.breaches}
    if evaluation.is_performance:
        evaluation.result.setdefault("alerts", {})[evaluation.key[5]] = status
    else:
        evaluation.result.update(status)


def _event(evaluation: Evaluation, state: AlertState,
           transition: Transition) -> tuple[str, dict[str, Any]]:
    fired = transition == "fired"
    if evaluation.is_performance:
        event_type = DEGRADED_EVENT if fired else RECOVERED_EVENT
    else:
        event_type = DRIFT_EVENT if fired else DRIFT_RESOLVED_EVENT
    data = {k: v for k, v in evaluation.data.items() if v is not None or k == "value"}
    data["consecutive"] = state.breaches if fired else state.cleans
    return event_type, data

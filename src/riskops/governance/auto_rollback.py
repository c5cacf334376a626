"""Automatic rollback: the two rules that take a production version down by themselves.

Per model, from ``[governance.rollback]`` (``governance_policy(ws).rollback``):

``critical-labels``
    Feedback of severity ``critical`` on ``critical_labels`` (3) distinct
    predictions of the model's production version, recorded within
    ``critical_window_minutes`` (60, both ends included). Checked when a critical label is
    committed (``serving.app`` calls ``after_critical_feedback``) and by
    ``check_critical_rules`` for jobs.
``error-budget``
    The error budget (``slo_status.error_budget``) under ``min_budget`` (5%)
    for ``budget_minutes`` (15) consecutive minutes, evaluated by
    ``check_budget_rules`` every minute. The breach's start is kept in
    ``rule_state`` under ``rollback-budget:MODEL``.

Both count only evidence that arrived since the production version went live
(its last production pointer change), so after a rollback the same trigger
cannot fire on the version now live until new requests or labels reach it.

Mode ``auto`` rolls production back to the previous version of its history
(what ``riskops rollback`` chooses) or to the heuristic when there is none,
then freezes the model and writes the incident record, all in one write
transaction; ``alert-only`` emits ``ml.model.rollback.recommended`` and an
audit entry and moves nothing; ``off`` evaluates nothing. Every firing is
claimed once in ``rule_firings`` by a key naming the rule, the version and
the time it went live (labels) or the breach began (budget), so several
servers and schedulers act on it once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from riskops.config import Workspace
from riskops.errors import ConcurrentUpdate, InputError
from riskops.events import emit
from riskops.governance.automation_policy import RollbackRules
from riskops.governance.freeze import freeze_in
from riskops.governance.incidents import open_incident
from riskops.governance.policy import governance_policy
from riskops.governance.slo_status import error_budget
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.service import Registry
from riskops.storage import db, repository, rule_firings
from riskops.storage.feedback import critical_feedback, prediction_detail

log = logging.getLogger(__name__)

ACTOR = "riskops/auto-rollback"
KIND = "rollback"
CRITICAL = "critical-labels"
BUDGET = "error-budget"
RECOMMENDED_EVENT = "ml.model.rollback.recommended"


# --- the rules' arithmetic (pure) ------------------------------------------------------


def labels_in_window(times: list[datetime], *, now: datetime, window: timedelta) -> int:
    """How many of ``times`` fall in ``[now - window, now]``.

    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> labels_in_window([t, t + timedelta(minutes=59)], now=t + timedelta(minutes=59),
    ...                  window=timedelta(minutes=60))
    2
    """
    return sum(1 for t in times if now - window <= t <= now)


def first_per_prediction(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first of ``labels`` (oldest first) on each prediction: one reviewer repeating a
    critical label on one prediction is one harmed decision, not three."""
    seen: set[str] = set()
    first = []
    for label in labels:
        if label["prediction"]["id"] not in seen:
            seen.add(label["prediction"]["id"])
            first.append(label)
    return first


def breach_start(previous: datetime | None, *, under: bool, now: datetime) -> datetime | None:
    """When the current breach began: ``previous`` while it lasts, ``now`` when it starts,
    ``None`` once an evaluation sees the budget at or over the limit."""
    if not under:
        return None
    return previous if previous is not None else now


def breach_fires(since: datetime | None, *, now: datetime, minutes: float) -> bool:
    """Whether a breach that began at ``since`` has lasted ``minutes`` by ``now``."""
    return since is not None and now - since >= timedelta(minutes=minutes)


# --- what is live ----------------------------------------------------------------------


@dataclass(frozen=True)
class LiveVersion:
    """A model's production version, since when, and its production history."""

    model: str
    version: int
    since: datetime
    history: tuple[int, ...]
    #: The manifest that put the version live (``None``: before pointer changes were kept).
    manifest_version: int | None = None


def live_version(ws: Workspace, model: str) -> LiveVersion | None:
    """``model``'s production version and when it went live; ``None`` without one."""
    with db.read_session(ws.database_url) as session:
        row = repository.get_model(session, model)
        if row is None or row.production_version is None:
            return None
        changes = [c for c in repository.pointer_changes(session, model)
                   if c.stage == "production"]
        since = changes[-1].changed_at if changes else row.created_at
        return LiveVersion(model, row.production_version, since,
                           tuple(_history(row.history)),
                           changes[-1].manifest_version if changes else None)


def _history(text: str) -> list[int]:
    value = json.loads(text or "[]")
    return [int(v) for v in value] if isinstance(value, list) else []


# --- firings and the action ------------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    """One firing of a rule on one live version, with its evidence."""

    live: LiveVersion
    rule: str
    key: str
    numbers: dict[str, Any]
    started_at: datetime | None
    feedback: list[dict[str, Any]] = field(default_factory=list)

    @property
    def trigger(self) -> dict[str, Any]:
        return {"rule": self.rule, "automatic": True, "numbers": self.numbers}


class _AlreadyActed(Exception):
    """Another evaluation claimed this firing (or moved production) first."""


def act(ws: Workspace, firing: Firing, rules: RollbackRules, *, now: datetime) -> dict[str, Any]:
    """Act on ``firing`` as ``rules.mode`` says, once: the outcome as a dict with
    ``status`` (``rolled-back``, ``alert-only``, ``already-acted``, ``skipped``)."""
    base = {"model": firing.live.model, "version": firing.live.version, "rule": firing.rule,
            "key": firing.key, "numbers": firing.numbers}
    with db.read_session(ws.database_url) as session:
        if rule_firings.claimed(session, firing.key) is not None:
            return {**base, "status": "already-acted"}
    if rules.mode == "alert-only":
        return {**base, **_recommend(ws, firing, now=now)}
    return {**base, **_roll_back(ws, firing, now=now)}


def _target(live: LiveVersion) -> int | None:
    """Where a rollback of ``live`` goes: ``history[n-1]``, or ``None`` (the heuristic)."""
    return live.history[-2] if len(live.history) >= 2 else None


def _roll_back(ws: Workspace, firing: Firing, *, now: datetime) -> dict[str, Any]:
    live = firing.live
    outcome: dict[str, Any] = {}

    def within(session: Any, change: dict[str, Any]) -> None:
        if change["from"] != live.version:
            raise _AlreadyActed
        if not rule_firings.claim_firing(
                session, firing.key, kind=KIND, model=live.model, rule=firing.rule,
                fired_at=now, status="rolled-back",
                data={**firing.trigger, "from": change["from"], "to": change["to"],
                      "manifest_version": change["manifest_version"]}):
            raise _AlreadyActed
        incident = open_incident(session, model=live.model, rule=firing.rule,
                                 detected_at=now, change=change, trigger=firing.trigger,
                                 feedback=firing.feedback, started_at=firing.started_at,
                                 live_since=live.since, firing_key=firing.key)
        frozen = freeze_in(session, ws, live.model, actor=ACTOR,
                           reason=f"automatic rollback of v{live.version} ({firing.rule}), "
                                  f"incident {incident}",
                           now=change["at"], incident_id=incident, trigger=firing.trigger)
        outcome.update(incident_id=incident, frozen=True,
                       canary_removed=frozen["canary_removed"])

    target = _target(live)
    try:
        result = Registry(ws).rollback(live.model, actor=ACTOR, fallback_heuristic=target is None,
                                       reason=firing.trigger, within=within)
    except _AlreadyActed:
        return {"status": "already-acted"}
    except (ConcurrentUpdate, InputError) as exc:
        # Production moved under us (a person rolled back or promoted): nothing to undo.
        return {"status": "skipped", "detail": str(exc).splitlines()[0]}
    log.warning("automatic rollback of %s v%s (%s): production now %s; incident %s",
                live.model, live.version, firing.rule,
                "heuristic" if result["to"] is None else f"v{result['to']}",
                outcome.get("incident_id"))
    return {"status": "rolled-back", "from": result["from"], "to": result["to"],
            "manifest_version": result["manifest_version"], **outcome}


def _recommend(ws: Workspace, firing: Firing, *, now: datetime) -> dict[str, Any]:
    live = firing.live
    target = _target(live)
    with db.write_transaction(ws.database_url) as session:
        if not rule_firings.claim_firing(session, firing.key, kind=KIND, model=live.model,
                                           rule=firing.rule, fired_at=now,
                                           status="alert-only", data=firing.trigger):
            return {"status": "already-acted"}
        emit(session, ws, type=RECOMMENDED_EVENT, subject=live.model, source="governance",
             data={"modelId": live.model, "version": live.version, "rule": firing.rule,
                   "automatic": True, "mode": "alert-only", "numbers": firing.numbers,
                   "wouldRollBackTo": target})
        mv = record_change(session, ws, now=datetime.now(UTC), actor=ACTOR,
                           action="model.rollback_recommended",
                           subject=f"{live.model}/{live.version}",
                           data={"model": live.model, "version": live.version,
                                 "would_roll_back_to": target, "mode": "alert-only",
                                 "trigger": firing.trigger})
    sync_manifest_files(ws)
    return {"status": "alert-only", "would_roll_back_to": target, "manifest_version": mv}


# --- rule 1: critical feedback labels --------------------------------------------------


def check_critical_labels(ws: Workspace, model: str, version: int, *,
                          now: datetime) -> dict[str, Any] | None:
    """Evaluate the critical-labels rule on ``model`` v``version`` at ``now``.

    Returns ``None`` when the rule does not fire (mode ``off``, ``version`` not in
    production, fewer labels than the policy's ``critical_labels`` in the window),
    else what ``act`` did.
    """
    _check_now(now)
    rules = governance_policy(ws).rollback.for_model(model)
    if rules.mode == "off":
        return None
    live = live_version(ws, model)
    if live is None or live.version != version:
        return None
    window = timedelta(minutes=rules.critical_window_minutes)
    since = max(now - window, live.since)
    found = first_per_prediction(critical_feedback(
        ws.database_url, model=model, version=version, since=since, until=now))
    count = labels_in_window([f["created_at"] for f in found], now=now, window=window)
    if count < rules.critical_labels:
        return None
    firing = Firing(
        live=live, rule=CRITICAL, key=f"{KIND}:{CRITICAL}:{model}:v{version}:"
                                      f"{live.since.isoformat()}",
        numbers={"critical_labels": count, "needed": rules.critical_labels,
                 "window_minutes": rules.critical_window_minutes,
                 "first_label_at": found[0]["created_at"].isoformat(),
                 "last_label_at": found[-1]["created_at"].isoformat()},
        started_at=found[0]["created_at"], feedback=[_json_ready(f) for f in found])
    return act(ws, firing, rules, now=now)


def check_critical_rules(ws: Workspace, *, now: datetime) -> list[dict[str, Any]]:
    """``check_critical_labels`` on every model's production version; what fired."""
    fired = []
    for model in _production_models(ws):
        result = _guarded(model, lambda m=model: _critical_on_live(ws, m, now))
        if result is not None:
            fired.append(result)
    return fired


def _critical_on_live(ws: Workspace, model: str, now: datetime) -> dict[str, Any] | None:
    live = live_version(ws, model)
    return None if live is None else check_critical_labels(ws, model, live.version, now=now)


def after_critical_feedback(ws: Workspace, prediction_id: str, *,
                            now: datetime) -> dict[str, Any] | None:
    """The critical-labels check run when a critical label on ``prediction_id`` was
    committed: on that prediction's model version, if a model answered it."""
    detail = prediction_detail(ws.database_url, prediction_id)
    if detail is None:
        return None
    model, version = detail.prediction["model_name"], detail.prediction["model_version"]
    if model is None or version is None:
        return None
    return check_critical_labels(ws, model, int(version), now=now)


# --- rule 2: the error budget ----------------------------------------------------------


def budget_key(model: str) -> str:
    """The ``rule_state`` key of ``model``'s budget rule."""
    return f"rollback-budget:{model}"


def check_budget_rules(ws: Workspace, *, now: datetime) -> list[dict[str, Any]]:
    """Evaluate the error-budget rule of every model with a production version at ``now``.

    Safe to run every minute from several schedulers at once: the state update
    runs in one serialised write transaction per model, and a firing is claimed
    once. Returns one dict per model evaluated: model, version, budget_remaining,
    min_budget, under_since, minutes_under, and ``action`` (what ``act`` did,
    ``None`` when the rule did not fire).
    """
    _check_now(now)
    policy = governance_policy(ws)
    out = []
    for model in _production_models(ws):
        rules = policy.rollback.for_model(model)
        if rules.mode == "off":
            continue
        result = _guarded(model, lambda m=model, r=rules: _budget_rule(
            ws, m, r, now=now, window_days=policy.slo.window_days))
        if result is not None:
            out.append(result)
    return out


def _budget_rule(ws: Workspace, model: str, rules: RollbackRules, *, now: datetime,
                 window_days: int) -> dict[str, Any] | None:
    live = live_version(ws, model)
    if live is None:
        return None
    since = max(now - timedelta(days=window_days), live.since)
    if since >= now:
        remaining, total, failed, slow = 1.0, 0, 0, 0
    else:
        # Only requests served under the manifest that put this version live: a replica
        # still on an older manifest logs its failures under that one.
        remaining, counts = error_budget(ws, model, since=since, until=now,
                                         min_manifest_version=live.manifest_version)
        total, failed, slow = counts.total, counts.failed, counts.slow
    under = remaining < rules.min_budget
    key = budget_key(model)
    with db.write_transaction(ws.database_url) as session:
        state = rule_firings.rule_state(session, key)
        if state is not None and state["evaluated_at"] > now:
            under_since = state["since"]  # a later evaluation already wrote: keep it
        else:
            same = state is not None and state["data"].get("version") == live.version \
                and state["data"].get("live_since") == live.since.isoformat()
            previous = state["since"] if same and state is not None else None
            under_since = breach_start(previous, under=under, now=now)
            rule_firings.save_rule_state(
                session, key, since=under_since,
                firing=breach_fires(under_since, now=now, minutes=rules.budget_minutes),
                evaluated_at=now, value=remaining,
                data={"version": live.version, "live_since": live.since.isoformat(),
                      "requests": total, "failed": failed, "slow": slow})
    fires = under and breach_fires(under_since, now=now, minutes=rules.budget_minutes)
    minutes = None if under_since is None else (now - under_since).total_seconds() / 60
    report: dict[str, Any] = {
        "model": model, "version": live.version, "budget_remaining": remaining,
        "min_budget": rules.min_budget, "budget_minutes": rules.budget_minutes,
        "under_since": None if under_since is None else under_since.isoformat(),
        "minutes_under": minutes, "requests": total, "failed": failed, "slow": slow,
        "counted_since": since.isoformat(), "action": None}
    if fires and under_since is not None:
        firing = Firing(
            live=live, rule=BUDGET,
            key=f"{KIND}:{BUDGET}:{model}:v{live.version}:{under_since.isoformat()}",
            numbers={"budget_remaining": remaining, "min_budget": rules.min_budget,
                     "minutes_under": minutes, "budget_minutes": rules.budget_minutes,
                     "requests": total, "failed": failed, "slow": slow,
                     "counted_since": since.isoformat(), "until": now.isoformat()},
            started_at=under_since)
        report["action"] = act(ws, firing, rules, now=now)
    return report


# --- helpers ---------------------------------------------------------------------------


def _production_models(ws: Workspace) -> list[str]:
    return [m["model"] for m in Registry(ws).list_models() if m["production"] is not None]


def _guarded(model: str, run: Any) -> dict[str, Any] | None:
    """``run()``, or a ``failed`` report naming the error: one model's failure (a missing
    signing key, a database hiccup) must not stop the rules of the others."""
    try:
        result: dict[str, Any] | None = run()
        return result
    except Exception as exc:
        log.error("automatic rollback rules of %s failed: %s", model, exc)
        return {"model": model, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _check_now(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InputError(f"the rollback rules need an aware UTC time for now, got {now!r}; "
                         "pass e.g. datetime.now(UTC).")


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value

"""Retrain triggers: a schedule, drift sustained, a high human override rate.

Evaluated at an injected ``now`` by the ``retrain-triggers`` job (every 15
minutes) or ``riskops retrain triggers``. Per model, from ``[governance.retrain]``:

- **schedule** (``models.NAME.schedule``, cron with ``2#2``, ``1W``, ``L`` ...):
  the newest due slot fires once; its firing key holds the slot. Slots missed
  while nothing evaluated collapse into the newest; a slot more than
  :data:`SCHEDULE_GRACE` older than the first evaluation of the model's
  schedule never fires (configuring a schedule does not retrain at once for
  last month's slot).
- **drift**: some drift alert of the model (``alert_state``, any check but
  ``performance``) has been firing continuously for ``drift_hours`` (24 h).
  The episode starts when the oldest alert firing at the first evaluation
  fired (its ``changed_at``), and lasts while evaluations keep seeing one
  firing; it fires once per episode.
- **override**: overrides / feedback recorded in the trailing ``override_days``
  (7) on the model's predictions, the ``/risk/insights`` override rate, over
  ``max_override_rate`` (30%) once at least ``min_reviews`` (20) were recorded.
  Fires once per breach: the breach ends at an evaluation below the rate.

Where a rule stands lives in ``rule_state`` (``retrain-schedule:MODEL``,
``retrain-drift:MODEL``, ``retrain-override:MODEL``). Each firing is claimed by
its unique key in ``rule_firings`` (so several schedulers act on it once),
then emits ``ml.retrain.triggered`` with the reason and the eligibility
(``retrain_eligibility``) and appends the audit entry ``model.retrain.triggered``.
An eligible model's firing is handed to the ``retrain`` job (RabbitMQ when
configured, in process otherwise); a model that is not eligible is not
retrained, and the event and the audit entry name the failed conditions.
A model with ``enabled = false`` is not evaluated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, RiskopsError
from riskops.governance.automation_policy import RetrainPolicy, RetrainSource
from riskops.governance.retrain_eligibility import Eligibility
from riskops.jobs.cron import Schedule
from riskops.times import parse_time

log = logging.getLogger(__name__)

EVENT = "ml.retrain.triggered"
SOURCE = "riskops/governance"
ACTOR = "system:retrain-triggers"
AUDIT_ACTION = "model.retrain.triggered"
RETRAIN_JOB = "retrain"
KIND = "retrain"
RULES = ("schedule", "drift", "override")
#: A due slot up to this much older than the first evaluation of a schedule still fires.
SCHEDULE_GRACE = timedelta(hours=1)
#: Firing statuses: handed to the retrain job, refused, or not handed over.
QUEUED, NOT_ELIGIBLE, FAILED = "queued", "not-eligible", "failed"


@dataclass(frozen=True)
class Firing:
    """One trigger that fired for a model: its unique key, a sentence and its numbers."""

    model: str
    rule: str
    key: str
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)


# --- the rules: pure -----------------------------------------------------------------


def due_slot(schedule: Schedule, *, now: datetime, first_seen: datetime,
             grace: timedelta = SCHEDULE_GRACE) -> datetime | None:
    """The newest slot of ``schedule`` at or before ``now``, unless it is older than
    ``first_seen - grace`` (then ``None``: nothing fires retroactively)."""
    slot = schedule.latest_due(now)
    return slot if slot >= first_seen - grace else None


def drift_sustained(since: datetime | None, *, now: datetime, hours: float) -> bool:
    """Whether drift firing since ``since`` has lasted at least ``hours`` at ``now``."""
    return since is not None and now - since >= timedelta(hours=hours)


def override_breached(reviews: int, overrides: int, *, max_rate: float,
                      min_reviews: int) -> bool:
    """Whether ``overrides / reviews`` is over ``max_rate`` with at least ``min_reviews``."""
    return reviews >= min_reviews and reviews > 0 and overrides / reviews > max_rate


def drift_episode(previous: dict[str, Any] | None, alert_starts: list[datetime]
                  ) -> datetime | None:
    """When the current drift episode began, given the stored state and the fire times of
    the alerts firing now (``None``: no alert is firing).

    The stored start holds while alerts keep firing, unless every alert firing now
    began after the previous evaluation (the earlier ones resolved in between).
    """
    if not alert_starts:
        return None
    oldest = min(alert_starts)
    if previous and previous.get("since") is not None and oldest <= previous["evaluated_at"]:
        return min(previous["since"], oldest)
    return oldest


# --- evaluation ------------------------------------------------------------------------


def evaluate_triggers(ws: Workspace, *, now: datetime, models: list[str] | None = None,
                      act: bool = True) -> dict[str, Any]:
    """Evaluate every trigger of ``models`` (default: every model with a production
    version or a ``[governance.retrain.models.NAME]`` table) as of ``now``.

    With ``act`` the rule states are saved and each new firing is claimed, announced
    and (eligible) handed to the ``retrain`` job; without, nothing is written.
    Returns ``{"now", "models": [{"model", "enabled", "rules": {...}, "firings": [...]}]}``.
    """
    from riskops.governance.policy import governance_policy
    from riskops.storage import db
    from riskops.storage.rule_firings import firing_keys

    if now.tzinfo is None:
        raise InputError("retrain triggers: now must be timezone-aware, e.g. "
                         "datetime.now(UTC).")
    policy = governance_policy(ws).retrain
    names = models if models is not None else candidate_models(ws, policy)
    report: list[dict[str, Any]] = []
    found: list[Firing] = []
    with db.write_transaction(ws.database_url) if act else db.read_session(ws.database_url) \
            as session:
        for model in names:
            source = policy.source(model)
            if not source.enabled:
                report.append({"model": model, "enabled": False, "rules": {}, "firings": []})
                continue
            rules, firings = _model_rules(session, ws, model, source, policy, now=now,
                                          save=act)
            claimed = firing_keys(session, [f.key for f in firings])
            fresh = [f for f in firings if f.key not in claimed]
            found.extend(fresh)
            report.append({"model": model, "enabled": True, "rules": rules,
                           "firings": [_firing_view(f, "already-fired" if f.key in claimed
                                                    else "new") for f in firings]})
    if act:
        outcomes = {f.key: act_on_firing(ws, f, now=now) for f in found}
        for entry in report:
            for view in entry["firings"]:
                if view["key"] in outcomes:
                    view.update(outcomes[view["key"]])
    return {"now": now.isoformat(), "models": report}


def candidate_models(ws: Workspace, policy: RetrainPolicy) -> list[str]:
    """Models with a production version, and those ``[governance.retrain.models]`` names."""
    from riskops.registry.service import Registry

    live = {m["model"] for m in Registry(ws).list_models() if m["production"] is not None}
    return sorted(live | set(policy.models))


def act_on_firing(ws: Workspace, firing: Firing, *, now: datetime) -> dict[str, Any]:
    """Claim ``firing``, judge eligibility, emit the event and the audit entry, and hand
    an eligible model to the ``retrain`` job; what happened, as a dict."""
    from riskops.errors import UnknownModel
    from riskops.events import emit
    from riskops.governance.retrain_eligibility import check_eligibility
    from riskops.registry.publish import record_change, sync_manifest_files
    from riskops.storage import db
    from riskops.storage.rule_firings import claim_firing, set_firing

    try:
        eligibility = check_eligibility(ws, firing.model, now=now)
    except UnknownModel as exc:
        return {"status": "unknown-model", "detail": str(exc)}
    status = QUEUED if eligibility.eligible else NOT_ELIGIBLE
    data = event_data(firing, eligibility)
    with db.write_transaction(ws.database_url) as session:
        if not claim_firing(session, key=firing.key, kind=KIND, model=firing.model,
                            rule=firing.rule, fired_at=now, status=status,
                            data={"event": data}):
            return {"status": "claimed-elsewhere"}
        event_id = emit(session, ws, type=EVENT, subject=firing.model, data=data, source=SOURCE)
        record_change(session, ws, now=datetime.now(UTC), actor=ACTOR, action=AUDIT_ACTION,
                      subject=firing.model,
                      data={**data, "outcome": status, "event_id": event_id,
                            "evaluated_at": now.isoformat()})
        set_firing(session, firing.key, status=status, data={"event_id": event_id})
    sync_manifest_files(ws)
    outcome: dict[str, Any] = {"status": status, "event_id": event_id,
                               "eligible": eligibility.eligible,
                               "failed": [c.name for c in eligibility.failed]}
    if eligibility.eligible:
        outcome["job"] = _hand_over(ws, firing)
        if outcome["job"].get("error"):
            outcome["status"] = FAILED
    return outcome


def event_data(firing: Firing, eligibility: Eligibility) -> dict[str, Any]:
    """The ``ml.retrain.triggered`` payload of ``firing`` judged by ``eligibility``."""
    return {"modelId": firing.model, "reason": firing.reason, "rule": firing.rule,
            "eligible": eligibility.eligible,
            "failed": [c.name for c in eligibility.failed],
            "conditions": [c.as_dict() for c in eligibility.conditions],
            "productionVersion": eligibility.production_version,
            "firingKey": firing.key, "evidence": firing.numbers,
            "checkedAt": eligibility.checked_at.isoformat()}


def run_retrain_triggers(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """The ``retrain-triggers`` job: evaluate every trigger now (or at ``metadata["now"]``,
    ISO 8601) and act on new firings. ``metadata["models"]`` limits the models."""
    now = parse_time(metadata.get("now"), where="metadata now")
    models = metadata.get("models")
    if models is not None and (not isinstance(models, list)
                               or not all(isinstance(m, str) for m in models)):
        raise InputError(f"metadata models must be a list of model names, got {models!r}.")
    result = evaluate_triggers(ws, now=now, models=models)
    fired = [f for m in result["models"] for f in m["firings"] if f.get("status")]
    return {**result, "fired": len(fired),
            "queued": sum(1 for f in fired if f["status"] == QUEUED),
            "not_eligible": sum(1 for f in fired if f["status"] == NOT_ELIGIBLE)}


# --- helpers ---------------------------------------------------------------------------


def _model_rules(session: Any, ws: Workspace, model: str, source: RetrainSource,
                 policy: RetrainPolicy, *, now: datetime, save: bool
                 ) -> tuple[dict[str, Any], list[Firing]]:
    """Each rule of ``model`` at ``now`` (what it saw) and the firings it yields."""
    from riskops.storage.feedback import review_counts
    from riskops.storage.retrain_reads import firing_drift_alerts
    from riskops.storage.rule_firings import rule_state, save_rule_state

    rules: dict[str, Any] = {}
    firings: list[Firing] = []

    if source.schedule is not None:
        key = f"retrain-schedule:{model}"
        state = rule_state(session, key)
        first_seen = state["since"] if state and state["since"] else now
        slot = due_slot(source.schedule, now=now, first_seen=first_seen)
        rules["schedule"] = {"cron": str(source.schedule),
                             "latest_due": source.schedule.latest_due(now).isoformat(),
                             "next": source.schedule.next_after(now).isoformat(),
                             "fires": slot is not None}
        if slot is not None:
            firings.append(Firing(model, "schedule", f"retrain:{model}:schedule:{_iso(slot)}",
                                  f"scheduled retrain: slot {_iso(slot)} of "
                                  f"'{source.schedule}'",
                                  {"slot": _iso(slot), "cron": str(source.schedule)}))
        if save:
            save_rule_state(session, key, since=first_seen, firing=slot is not None,
                            evaluated_at=now, data={"cron": str(source.schedule)})

    key = f"retrain-drift:{model}"
    alerts = firing_drift_alerts(ws.database_url, model)
    starts = [a.changed_at or a.evaluated_at for a in alerts]
    since = drift_episode(rule_state(session, key), starts)
    sustained = drift_sustained(since, now=now, hours=policy.drift_hours)
    hours = None if since is None else (now - since).total_seconds() / 3600
    rules["drift"] = {"alerts": len(alerts), "since": None if since is None else _iso(since),
                      "hours": hours, "required_hours": policy.drift_hours, "fires": sustained}
    if sustained and since is not None:
        firings.append(Firing(
            model, "drift", f"retrain:{model}:drift:{_iso(since)}",
            f"drift alert firing for {hours:.1f} h (since {_iso(since)}), at least "
            f"{policy.drift_hours:g} h",
            {"since": _iso(since), "hours": hours, "required_hours": policy.drift_hours,
             "alerts": [{"check": a.check, "tenantId": a.tenant_id, "feature": a.feature,
                         "segment": a.segment, "metric": a.metric} for a in alerts[:20]]}))
    if save:
        save_rule_state(session, key, since=since, firing=sustained, evaluated_at=now,
                        value=hours, data={"alerts": len(alerts)})

    key = f"retrain-override:{model}"
    reviews, overrides = review_counts(ws.database_url, model,
                                       since=now - timedelta(days=policy.override_days),
                                       until=now)
    breached = override_breached(reviews, overrides, max_rate=policy.max_override_rate,
                                 min_reviews=policy.min_reviews)
    rate = overrides / reviews if reviews else None
    state = rule_state(session, key)
    since = (state["since"] if state and state["since"] else now) if breached else None
    rules["override"] = {"reviews": reviews, "overrides": overrides, "rate": rate,
                         "max_rate": policy.max_override_rate,
                         "min_reviews": policy.min_reviews, "days": policy.override_days,
                         "fires": breached}
    if breached and since is not None and rate is not None:
        firings.append(Firing(
            model, "override", f"retrain:{model}:override:{_iso(since)}",
            f"human override rate {rate:.1%} ({overrides} of {reviews} reviews in "
            f"{policy.override_days} d) over {policy.max_override_rate:.0%}",
            {"rate": rate, "overrides": overrides, "reviews": reviews,
             "max_rate": policy.max_override_rate, "min_reviews": policy.min_reviews,
             "days": policy.override_days, "since": _iso(since)}))
    if save:
        save_rule_state(session, key, since=since, firing=breached, evaluated_at=now,
                        value=rate, data={"reviews": reviews, "overrides": overrides})
    return rules, firings


def _hand_over(ws: Workspace, firing: Firing) -> dict[str, Any]:
    """Trigger the ``retrain`` job for ``firing``; a refused hand-over marks it failed."""
    from riskops.jobs.trigger import trigger_job
    from riskops.storage import db
    from riskops.storage.rule_firings import set_firing

    try:
        result = trigger_job(ws, RETRAIN_JOB, {"model": firing.model, "firing": firing.key})
    except RiskopsError as exc:
        log.warning("retrain of %s (%s) not handed over: %s", firing.model, firing.key, exc)
        with db.write_transaction(ws.database_url) as session:
            set_firing(session, firing.key, status=FAILED, data={"error": str(exc)})
        return {"error": str(exc)}
    if result.get("mode") == "in-process":
        run = result.get("run") or {}
        return {"mode": "in-process", "status": run.get("status"),
                "result": run.get("result"), "error": run.get("error")}
    return {"mode": result.get("mode"), "trigger_id": result.get("trigger_id")}


def _firing_view(firing: Firing, state: str) -> dict[str, Any]:
    return {"rule": firing.rule, "key": firing.key, "reason": firing.reason, "state": state,
            "evidence": firing.numbers}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

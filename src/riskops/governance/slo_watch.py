"""The ``slo-watch`` job: every minute, burn-rate alerts and the automatic rollback rules.

Each run raises or clears the burn-rate alerts, then evaluates the error-budget
rollback rule of every model in production (under ``min_budget`` for
``budget_minutes`` in a row: ``governance.auto_rollback``) and, as a safety net
for feedback recorded while no server ran the check, the critical-label rule.

Burn-rate alerts are raised and cleared on transitions only: the state of each
(scenario, objective, alert) lives in ``rule_state`` under
``slo-burn:SCENARIO:OBJECTIVE:ALERT``, so a burn that lasts an hour emits one
``ml.slo.burn_rate.alert`` and, when it stops, one ``ml.slo.burn_rate.resolved``,
whichever scheduler ran each minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from riskops.config import Workspace
from riskops.governance.policy import governance_policy
from riskops.governance.slo_status import SHORT_NAMES, ScenarioSlo, slo_status
from riskops.monitoring.slo import burn_windows
from riskops.storage import db, rule_firings
from riskops.times import parse_time


def run(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Job entry point; ``metadata["now"]`` (ISO 8601) evaluates as of that time."""
    from riskops.governance.auto_rollback import check_budget_rules, check_critical_rules

    now = parse_time(metadata.get("now"), where="metadata now")
    alerts = check_burn_alerts(ws, now=now)
    budgets = check_budget_rules(ws, now=now)
    labels = check_critical_rules(ws, now=now)
    acted = [r for r in budgets if r.get("action") or r.get("status") == "failed"] + labels
    return {"now": now.isoformat(), "burn_alerts": alerts, "budget_rules": budgets,
            "critical_label_rules": labels, "acted": acted}


def check_burn_alerts(ws: Workspace, *, now: datetime) -> list[dict[str, Any]]:
    """Raise or clear each scenario's burn-rate alerts as of ``now``; the transitions."""
    policy = governance_policy(ws).slo
    status = slo_status(ws, now=now, policy=policy)
    changes: list[dict[str, Any]] = []
    with db.write_transaction(ws.database_url) as session:
        for item in status:
            changes += _transitions(session, ws, item, now=now,
                                    fast=policy.fast_burn, slow=policy.slow_burn)
    return changes


def _transitions(session: Any, ws: Workspace, item: ScenarioSlo, *, now: datetime,
                 fast: float, slow: float) -> list[dict[str, Any]]:
    from riskops.events import emit

    changes = []
    for objective in item.objectives.values():
        for alert in burn_windows(fast, slow):
            key = f"slo-burn:{item.scenario}:{objective.name}:{alert.name}"[:256]
            firing = alert.name in objective.alerts
            long_rate = objective.burn_rates[SHORT_NAMES[alert.long]]
            state = rule_firings.rule_state(session, key)
            was = bool(state and state["firing"])
            data = {"scenario": item.scenario, "objective": objective.name,
                    "alert": alert.name, "burnRate": long_rate, "threshold": alert.rate,
                    "shortBurnRate": objective.burn_rates[SHORT_NAMES[alert.short]],
                    "budgetRemaining": objective.budget_remaining,
                    "requests": objective.total}
            # A raised alert keeps the time it was raised; a new one starts now.
            since = None if not firing else state["since"] if state and was else now
            rule_firings.save_rule_state(session, key, since=since, firing=firing,
                                         evaluated_at=now, value=long_rate, data=data)
            if firing == was:
                continue
            kind = "ml.slo.burn_rate.alert" if firing else "ml.slo.burn_rate.resolved"
            emit(session, ws, type=kind, subject=item.scenario, data=data,
                 source="riskops/slo-watch")
            changes.append({"type": kind, **data})
    return changes


"""Where each scenario stands against its SLOs: budgets and burn rates from the inference log.

``slo_status`` is what ``riskops slo status``, ``/risk/insights`` and the
``ml_inference_error_budget_remaining`` gauge show; ``error_budget`` is the one
number the retrain and rollback rules read. Both count the model-routed
requests of the shared inference log (``storage.slo_counts``), so every
replica, worker and scheduler sees the same value.

A scenario's error budget is the smaller of its availability and latency
budgets: the one closer to spent is the one that decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riskops.config import Workspace
from riskops.governance.automation_policy import SloPolicy
from riskops.governance.policy import governance_policy
from riskops.monitoring.slo import (
    alert_fires,
    budget_remaining,
    burn_rate,
    burn_windows,
)
from riskops.storage.slo_counts import SloCounts, Window, slo_counts

OBJECTIVES = ("availability", "latency")
SHORT_NAMES = {timedelta(minutes=5): "5m", timedelta(minutes=30): "30m",
               timedelta(hours=1): "1h", timedelta(hours=6): "6h"}


@dataclass(frozen=True)
class ObjectiveStatus:
    name: str  # availability | latency
    target: float
    total: int
    bad: int
    budget_remaining: float
    burn_rates: dict[str, float]  # per alert window: 5m, 30m, 1h, 6h
    alerts: tuple[str, ...]  # fast / slow burn alerts whose both windows fire

    @property
    def sli(self) -> float | None:
        return None if self.total == 0 else 1.0 - self.bad / self.total

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "requests": self.total, "bad": self.bad,
                "sli": self.sli, "budget_remaining": self.budget_remaining,
                "burn_rates": self.burn_rates, "alerts": list(self.alerts)}


@dataclass(frozen=True)
class ScenarioSlo:
    scenario: str
    window_days: int
    latency_ms: float
    objectives: dict[str, ObjectiveStatus]

    @property
    def budget_remaining(self) -> float:
        return min(o.budget_remaining for o in self.objectives.values())

    @property
    def requests(self) -> int:
        return next(iter(self.objectives.values())).total

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "window_days": self.window_days,
                "latency_ms": self.latency_ms, "requests": self.requests,
                "budget_remaining": self.budget_remaining,
                "objectives": {n: o.as_dict() for n, o in self.objectives.items()}}


def slo_status(ws: Workspace, *, now: datetime, scenarios: list[str] | None = None,
               policy: SloPolicy | None = None) -> list[ScenarioSlo]:
    """Every scenario's SLOs over the policy's rolling window ending at ``now``.

    Without ``scenarios``: those with model-routed requests in the window, and
    those the policy names. A scenario without model-routed requests has its
    whole budget.
    """
    policy = policy or governance_policy(ws).slo
    main = timedelta(days=policy.window_days)
    alerts = burn_windows(policy.fast_burn, policy.slow_burn)
    windows: dict[str, Window] = {"window": (now - main, now)}
    for span in sorted({w for a in alerts for w in (a.long, a.short)}):
        windows[SHORT_NAMES[span]] = (now - span, now)
    counts = slo_counts(ws.database_url, windows,
                        latency_ms={s: o.latency_ms for s, o in policy.scenarios.items()},
                        default_latency_ms=policy.objectives.latency_ms)
    if scenarios is None:
        scenarios = sorted({*counts, *policy.scenarios})
    out = []
    for scenario in scenarios:
        objectives = policy.for_scenario(scenario)
        seen = counts.get(scenario, {})
        status = {}
        for name in OBJECTIVES:
            target = getattr(objectives, name)
            rates = {w: burn_rate(c.bad(name), c.total, target)
                     for w, c in seen.items() if w != "window"}
            rates = {w: rates.get(w, 0.0) for w in windows if w != "window"}
            whole = seen.get("window", SloCounts())
            firing = tuple(a.name for a in alerts if alert_fires(
                rates[SHORT_NAMES[a.long]], rates[SHORT_NAMES[a.short]], a.rate))
            status[name] = ObjectiveStatus(
                name, target, whole.total, whole.bad(name),
                budget_remaining(whole.bad(name), whole.total, target), rates, firing)
        out.append(ScenarioSlo(scenario, policy.window_days, objectives.latency_ms, status))
    return out


def error_budget(ws: Workspace, scenario: str, *, since: datetime, until: datetime,
                 policy: SloPolicy | None = None, min_manifest_version: int | None = None
                 ) -> tuple[float, SloCounts]:
    """The scenario's error budget left over ``(since, until]`` (the smaller of its
    availability and latency budgets) and the counts it came from; with
    ``min_manifest_version``, of the requests served under that manifest or a newer one."""
    policy = policy or governance_policy(ws).slo
    objectives = policy.for_scenario(scenario)
    seen = slo_counts(ws.database_url, {"window": (since, until)},
                      latency_ms={scenario: objectives.latency_ms},
                      default_latency_ms=objectives.latency_ms, scenario=scenario,
                      min_manifest_version=min_manifest_version)
    counts = seen.get(scenario, {}).get("window", SloCounts())
    remaining = min(budget_remaining(counts.bad(name), counts.total, getattr(objectives, name))
                    for name in OBJECTIVES)
    return remaining, counts

"""Policy of the rules that act by themselves: SLOs, retraining, automatic rollback.

Read from ``[governance.slo]``, ``[governance.retrain]`` and
``[governance.rollback]`` of riskops.toml; every key is optional and the
defaults are those of the design::

    [governance.slo]
    window_days = 30            # rolling window of `riskops slo status` and the gauge
    availability = 0.99         # share of model-routed requests the model answers itself
    latency = 0.99              # share of model-routed requests answered under latency_ms
    latency_ms = 250.0
    fast_burn = 14.4            # burn-rate alerts: 1 h and 5 min windows at this rate
    slow_burn = 6.0             # ... and 6 h and 30 min windows at this one
    [governance.slo.scenarios.fraud]
    latency_ms = 100.0          # per scenario: availability, latency, latency_ms

    [governance.retrain]        # eligibility, and the evidence triggers
    require_bias_pass = true    # the production version's bias audit passed
    min_budget = 0.15           # error budget left over the trailing budget_days
    budget_days = 7
    min_new_labels = 25         # feedback labels since the newest version was trained
    drift_hours = 24            # drift alert firing this long triggers a retrain
    max_override_rate = 0.30    # human override rate over override_days above this ...
    override_days = 7
    min_reviews = 20            # ... once at least this many predictions were reviewed
    [governance.retrain.models.fraud]
    schedule = "0 2 * * 2#2"    # cron (UTC) or { cron = "...", timezone = "Europe/Berlin" }
    data = "lake"               # or a file or glob (relative to the workspace folder)
    lake_days = 90              # with "lake": the trailing window of logged inputs
    enabled = true              # false: no trigger of this model retrains it

    [governance.rollback]
    mode = "auto"               # auto | alert-only | off
    min_budget = 0.05           # error budget under this ...
    budget_minutes = 15         # ... for this many consecutive minutes
    critical_labels = 3         # this many critical feedback labels on one version ...
    critical_window_minutes = 60  # ... within this many minutes
    [governance.rollback.models.fraud]
    mode = "alert-only"         # per model: any key of [governance.rollback]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from riskops.errors import InputError
from riskops.governance.policy_values import (
    NumberRules,
    check_bool,
    check_choice,
    check_numbers,
    check_table,
)
from riskops.jobs.cron import Schedule, parse_schedule

ROLLBACK_MODES = ("auto", "alert-only", "off")
LAKE = "lake"
MAX_NAME = 128


@dataclass(frozen=True)
class Objectives:
    """A scenario's service-level objectives over model-routed requests."""

    availability: float = 0.99
    latency: float = 0.99
    latency_ms: float = 250.0


@dataclass(frozen=True)
class SloPolicy:
    window_days: int = 30
    objectives: Objectives = field(default_factory=Objectives)
    scenarios: dict[str, Objectives] = field(default_factory=dict)
    fast_burn: float = 14.4
    slow_burn: float = 6.0

    def for_scenario(self, scenario: str) -> Objectives:
        return self.scenarios.get(scenario, self.objectives)


@dataclass(frozen=True)
class RetrainSource:
    """When and from what one model is retrained."""

    schedule: Schedule | None = None
    data: str | None = None  # "lake", or a file or glob
    lake_days: int = 90
    enabled: bool = True


@dataclass(frozen=True)
class RetrainPolicy:
    require_bias_pass: bool = True
    min_budget: float = 0.15
    budget_days: int = 7
    min_new_labels: int = 25
    drift_hours: float = 24.0
    max_override_rate: float = 0.30
    override_days: int = 7
    min_reviews: int = 20
    models: dict[str, RetrainSource] = field(default_factory=dict)

    def source(self, model: str) -> RetrainSource:
        return self.models.get(model, RetrainSource())


@dataclass(frozen=True)
class RollbackRules:
    mode: str = "auto"
    min_budget: float = 0.05
    budget_minutes: float = 15.0
    critical_labels: int = 3
    critical_window_minutes: int = 60


@dataclass(frozen=True)
class RollbackPolicy:
    default: RollbackRules = field(default_factory=RollbackRules)
    models: dict[str, RollbackRules] = field(default_factory=dict)

    def for_model(self, model: str) -> RollbackRules:
        return self.models.get(model, self.default)


_OBJECTIVE_NUMBERS: NumberRules = {
    "availability": (float, 0.5, 0.99999),
    "latency": (float, 0.5, 0.99999),
    "latency_ms": (float, 0.001, 3_600_000.0),
}
_SLO_NUMBERS: NumberRules = {
    **_OBJECTIVE_NUMBERS,
    "window_days": (int, 1, 366),
    "fast_burn": (float, 1.0, 1000.0),
    "slow_burn": (float, 1.0, 1000.0),
}
_RETRAIN_NUMBERS: NumberRules = {
    "min_budget": (float, 0.0, 1.0),
    "budget_days": (int, 1, 366),
    "min_new_labels": (int, 0, 10_000_000),
    "drift_hours": (float, 0.0, 24.0 * 366),
    "max_override_rate": (float, 0.0, 1.0),
    "override_days": (int, 1, 366),
    "min_reviews": (int, 1, 10_000_000),
}
_ROLLBACK_NUMBERS: NumberRules = {
    "min_budget": (float, 0.0, 1.0),
    "budget_minutes": (float, 0.01, 7 * 24 * 60),
    "critical_labels": (int, 1, 10_000),
    "critical_window_minutes": (int, 1, 7 * 24 * 60),
}


def slo_policy(raw: Any, *, where: str) -> SloPolicy:
    table = dict(check_table(raw, where, "[governance.slo]"))
    scenarios_raw = check_table(table.pop("scenarios", {}), f"{where}.scenarios",
                                "[governance.slo.scenarios.NAME]")
    values = check_numbers(table, _SLO_NUMBERS, where=where)
    objectives = Objectives(**{k: v for k, v in values.items() if k in _OBJECTIVE_NUMBERS})
    scenarios = {}
    for name, item in scenarios_raw.items():
        here = f"{where}.scenarios.{_name(name, where)}"
        own = check_numbers(check_table(item, here, f"[governance.slo.scenarios.{name}]"),
                            _OBJECTIVE_NUMBERS, where=here)
        scenarios[name] = replace(objectives, **own)
    rest = {k: v for k, v in values.items() if k not in _OBJECTIVE_NUMBERS}
    return SloPolicy(objectives=objectives, scenarios=scenarios, **rest)


def retrain_policy(raw: Any, *, where: str) -> RetrainPolicy:
    table = dict(check_table(raw, where, "[governance.retrain]"))
    models_raw = check_table(table.pop("models", {}), f"{where}.models",
                             "[governance.retrain.models.NAME]")
    values: dict[str, Any] = {}
    if "require_bias_pass" in table:
        values["require_bias_pass"] = check_bool(table.pop("require_bias_pass"),
                                                 f"{where}.require_bias_pass")
    values.update(check_numbers(table, _RETRAIN_NUMBERS, where=where))
    models = {}
    for name, item in models_raw.items():
        here = f"{where}.models.{_name(name, where)}"
        models[name] = _retrain_source(
            check_table(item, here, f"[governance.retrain.models.{name}]"), here)
    return RetrainPolicy(models=models, **values)


def _retrain_source(raw: dict[str, Any], where: str) -> RetrainSource:
    known = ("schedule", "data", "lake_days", "enabled")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InputError(f"{where}.{unknown[0]}: unknown key; known keys are "
                         f"{', '.join(known)}.")
    schedule = None
    if "schedule" in raw:
        value = raw["schedule"]
        if isinstance(value, dict):
            extra = sorted(set(value) - {"cron", "timezone"})
            if extra or "cron" not in value:
                raise InputError(f"{where}.schedule must be a cron string or "
                                 "{ cron = \"...\", timezone = \"...\" }.")
            schedule = parse_schedule(value["cron"], value.get("timezone", "UTC"),
                                      where=f"{where}.schedule")
        else:
            schedule = parse_schedule(value, where=f"{where}.schedule")
    data = raw.get("data")
    if data is not None and (not isinstance(data, str) or not data.strip()
                             or len(data) > 4096 or "\x00" in data):
        raise InputError(f"{where}.data must be \"lake\" or a file or glob path "
                         "(CSV or Parquet), e.g. \"data/fraud-*.parquet\".")
    lake_days = check_numbers({"lake_days": raw.get("lake_days", 90)},
                              {"lake_days": (int, 1, 3660)}, where=where)["lake_days"]
    enabled = check_bool(raw.get("enabled", True), f"{where}.enabled")
    return RetrainSource(schedule=schedule, data=data, lake_days=lake_days, enabled=enabled)


def rollback_policy(raw: Any, *, where: str) -> RollbackPolicy:
    table = dict(check_table(raw, where, "[governance.rollback]"))
    models_raw = check_table(table.pop("models", {}), f"{where}.models",
                             "[governance.rollback.models.NAME]")
    default = _rollback_rules(table, RollbackRules(), where)
    models = {}
    for name, item in models_raw.items():
        here = f"{where}.models.{_name(name, where)}"
        models[name] = _rollback_rules(
            check_table(item, here, f"[governance.rollback.models.{name}]"), default, here)
    return RollbackPolicy(default=default, models=models)


def _rollback_rules(raw: dict[str, Any], base: RollbackRules, where: str) -> RollbackRules:
    table = dict(raw)
    values: dict[str, Any] = {}
    if "mode" in table:
        values["mode"] = check_choice(table.pop("mode"), ROLLBACK_MODES, f"{where}.mode")
    values.update(check_numbers(table, _ROLLBACK_NUMBERS, where=where))
    return replace(base, **values)


def _name(name: str, where: str) -> str:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InputError(f"{where}: {name[:40]!r} is not a model or scenario name "
                         f"(1-{MAX_NAME} printable characters).")
    return name

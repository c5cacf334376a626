"""The governance policy: ``[governance]`` in riskops.toml, every key optional.

::

    [governance]
    approval_roles = ["risk_lead", "platform_owner"]  # one approval per role, distinct users
    author_may_approve = false
    canary_needs_approvals = false     # canary is gated like production except approvals,
    canary_max_percent = 50            # ... up to this share; a larger canary needs them too
    max_auc_drop = 0.02                # candidate vs production on the same golden set
    max_f1_drop = 0.05
    max_brier_rise = 0.02
    smoke_rows = 200                   # golden rows the smoke gate scores
    smoke_tolerance = 1e-9             # largest |served - golden| score difference
    token_max_age_days = 90            # audit security: older tokens are a finding
    security_fail_on = "high"          # audit security exits 1 at or above this severity

    [governance.bias]
    max_equalized_odds_difference = 0.1
    min_demographic_parity_ratio = 0.8
    min_group_size = 50                # smaller groups are reported as too_small, not judged
    max_group_brier = 0.2              # a group's Brier or ECE over these is named as
    max_group_ece = 0.1                # ... miscalibrated (reported, never judged)

    [governance.tiers.high]            # per risk tier (riskops models describe --tier)
    approval_roles = ["risk_lead", "platform_owner", "validator"]  # default: the base + validator
    revalidation_months = 12
    [governance.tiers.medium]          # approval_roles default to the base ones above
    revalidation_months = 24
    [governance.tiers.low]
    revalidation_months = 36
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.governance.automation_policy import (
    RetrainPolicy,
    RollbackPolicy,
    SloPolicy,
    retrain_policy,
    rollback_policy,
    slo_policy,
)
from riskops.governance.policy_values import check_numbers
from riskops.roles import ROLES

SEVERITIES = ("low", "medium", "high", "critical")
TIERS = ("high", "medium", "low")
#: The role that signs independent validations and re-validations.
VALIDATOR = "validator"
_DEFAULT_MONTHS = {"high": 12, "medium": 24, "low": 36}


@dataclass(frozen=True)
class BiasLimits:
    max_equalized_odds_difference: float = 0.1
    min_demographic_parity_ratio: float = 0.8
    min_group_size: int = 50
    max_group_brier: float = 0.2
    max_group_ece: float = 0.1


@dataclass(frozen=True)
class TierPolicy:
    """What a risk tier asks: its sign-offs (``None``: the policy's ``approval_roles``) and
    how often a live model of the tier is re-validated."""

    revalidation_months: int
    approval_roles: tuple[str, ...] | None = None


def _default_tiers() -> dict[str, TierPolicy]:
    return {tier: TierPolicy(months) for tier, months in _DEFAULT_MONTHS.items()}


@dataclass(frozen=True)
class GovernancePolicy:
    approval_roles: tuple[str, ...] = ("risk_lead", "platform_owner")
    author_may_approve: bool = False
    canary_needs_approvals: bool = False
    canary_max_percent: int = 50
    max_auc_drop: float = 0.02
    max_f1_drop: float = 0.05
    max_brier_rise: float = 0.02
    smoke_rows: int = 200
    smoke_tolerance: float = 1e-9
    token_max_age_days: int = 90
    security_fail_on: str = "high"
    bias: BiasLimits = field(default_factory=BiasLimits)
    tiers: dict[str, TierPolicy] = field(default_factory=_default_tiers)
    #: The rules that act by themselves (``governance.automation_policy``).
    slo: SloPolicy = field(default_factory=SloPolicy)
    retrain: RetrainPolicy = field(default_factory=RetrainPolicy)
    rollback: RollbackPolicy = field(default_factory=RollbackPolicy)

    def roles_for(self, tier: str | None) -> tuple[str, ...]:
        """The sign-off roles a version of a model of ``tier`` needs.

        A tier without its own ``approval_roles`` uses the policy's; the high tier
        then adds the independent ``validator``. An untiered model uses the base.
        """
        chosen = self.tiers.get(tier) if tier else None
        if chosen is not None and chosen.approval_roles is not None:
            return chosen.approval_roles
        if tier == "high" and VALIDATOR not in self.approval_roles:
            return (*self.approval_roles, VALIDATOR)
        return self.approval_roles

    def revalidation_months(self, tier: str | None) -> int | None:
        """Months between validations of a live model of ``tier`` (untiered: none set)."""
        return self.tiers[tier].revalidation_months if tier in self.tiers else None


_NUMBERS: dict[str, tuple[type, float, float]] = {
    "max_auc_drop": (float, 0.0, 1.0),
    "max_f1_drop": (float, 0.0, 1.0),
    "max_brier_rise": (float, 0.0, 1.0),
    "smoke_rows": (int, 1, 100_000),
    "canary_max_percent": (int, 1, 100),
    "smoke_tolerance": (float, 0.0, 1.0),
    "token_max_age_days": (int, 1, 36_500),
}
_BIAS_NUMBERS: dict[str, tuple[type, float, float]] = {
    "max_equalized_odds_difference": (float, 0.0, 1.0),
    "min_demographic_parity_ratio": (float, 0.0, 1.0),
    "min_group_size": (int, 1, 10_000_000),
    "max_group_brier": (float, 0.0, 1.0),
    "max_group_ece": (float, 0.0, 1.0),
}
_BOOLS = ("author_may_approve", "canary_needs_approvals")
_AUTOMATION = {"slo": slo_policy, "retrain": retrain_policy, "rollback": rollback_policy}


def governance_policy(ws: Workspace) -> GovernancePolicy:
    """``[governance]`` of the workspace's config, validated; ``InputError`` names the key."""
    return policy_from_dict(ws.settings.section("governance"), source=str(ws.config_path))


def policy_from_dict(raw: dict[str, Any], *, source: str) -> GovernancePolicy:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{source}: governance.{key}"
        if key == "bias":
            if not isinstance(value, dict):
                raise InputError(f"{where} must be a table ([governance.bias]).")
            values["bias"] = BiasLimits(**check_numbers(value, _BIAS_NUMBERS,
                                                   where=f"{source}: governance.bias"))
        elif key in _AUTOMATION:
            values[key] = _AUTOMATION[key](value, where=where)
        elif key == "approval_roles":
            values[key] = _roles(value, where)
        elif key == "tiers":
            values[key] = _tiers(value, where)
        elif key == "security_fail_on":
            if value not in SEVERITIES:
                raise InputError(f"{where} must be one of {', '.join(SEVERITIES)}.")
            values[key] = value
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise InputError(f"{where} must be true or false.")
            values[key] = value
        elif key in _NUMBERS:
            values.update(check_numbers({key: value}, _NUMBERS, where=f"{source}: governance"))
        else:
            known = ", ".join(sorted([*_NUMBERS, *_BOOLS, "approval_roles", "security_fail_on",
                                      "bias", "tiers", *_AUTOMATION]))
            raise InputError(f"{where}: unknown key; known keys are {known}.")
    return GovernancePolicy(**values)


def _tiers(value: Any, where: str) -> dict[str, TierPolicy]:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a table of tiers ([governance.tiers.high], ...).")
    tiers = _default_tiers()
    for tier, raw in value.items():
        here = f"{where}.{tier}"
        if tier not in TIERS:
            raise InputError(f"{here}: unknown tier; tiers are {', '.join(TIERS)}.")
        if not isinstance(raw, dict):
            raise InputError(f"{here} must be a table ([governance.tiers.{tier}]).")
        unknown = sorted(set(raw) - {"approval_roles", "revalidation_months"})
        if unknown:
            raise InputError(f"{here}.{unknown[0]}: unknown key; known keys are "
                             "approval_roles, revalidation_months.")
        months = check_numbers({"revalidation_months": raw.get(
            "revalidation_months", _DEFAULT_MONTHS[tier])},
            {"revalidation_months": (int, 1, 120)}, where=here)["revalidation_months"]
        roles = (_roles(raw["approval_roles"], f"{here}.approval_roles")
                 if "approval_roles" in raw else tiers[tier].approval_roles)
        tiers[tier] = TierPolicy(months, roles)
    return tiers


def _roles(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise InputError(f"{where} must be a non-empty list of role names.")
    for role in value:
        if role not in ROLES or role == "admin":
            raise InputError(f"{where}: {role!r} is not a sign-off role; use "
                             f"{', '.join(r for r in ROLES if r != 'admin')}.")
    if len(set(value)) != len(value):
        raise InputError(f"{where} lists a role twice.")
    return tuple(value)


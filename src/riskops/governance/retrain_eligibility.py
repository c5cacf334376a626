"""Whether a model may be retrained now: each condition judged on its numbers.

Three conditions, from ``[governance.retrain]`` (DESIGN defaults)::

    bias     the production version's newest stored bias audit is "pass"
    budget   error budget left over the trailing budget_days (7) above min_budget (15%)
    labels   at least min_new_labels (25) predictions labelled by reviewers since the
             last training (the creation time of the model's newest version)

The ``judge_*`` functions are pure (numbers in, a :class:`Condition` out);
:func:`check_eligibility` gathers the numbers at ``now`` and judges them. A
model with no production version is not eligible, and says so.

    result = check_eligibility(ws, "fraud", now=datetime.now(UTC))
    result.eligible, [c.name for c in result.failed]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.governance.automation_policy import RetrainPolicy

CONDITIONS = ("production", "bias", "budget", "labels")


@dataclass(frozen=True)
class Condition:
    """One eligibility condition: its verdict, a sentence, and the numbers behind it."""

    name: str
    passed: bool
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail,
                **self.numbers}


@dataclass(frozen=True)
class Eligibility:
    """Every condition of one model at ``checked_at``; eligible when all passed."""

    model: str
    checked_at: datetime
    production_version: int | None
    conditions: tuple[Condition, ...]

    @property
    def eligible(self) -> bool:
        return all(c.passed for c in self.conditions)

    @property
    def failed(self) -> list[Condition]:
        return [c for c in self.conditions if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "checked_at": self.checked_at.isoformat(),
                "production_version": self.production_version, "eligible": self.eligible,
                "failed": [c.name for c in self.failed],
                "conditions": [c.as_dict() for c in self.conditions]}


def judge_production(model: str, version: int | None) -> Condition:
    """A model is retrained against its production version; none means not eligible."""
    if version is None:
        return Condition("production", False,
                         f"{model} has no production version: there is nothing to retrain "
                         f"against; promote one first (riskops promote {model} VERSION).",
                         {"version": None})
    return Condition("production", True, f"v{version} is in production", {"version": version})


def judge_bias(status: str | None, *, version: int | None, required: bool = True) -> Condition:
    """Pass when the production version's newest bias audit is ``pass`` (or not required)."""
    numbers = {"version": version, "status": status, "required": required}
    if not required:
        return Condition("bias", True, "bias audit not required (require_bias_pass = false)",
                         numbers)
    if version is None:
        return Condition("bias", False, "no production version to audit", numbers)
    if status is None:
        return Condition("bias", False, f"v{version} has no bias audit; run riskops audit "
                         f"bias MODEL {version}", numbers)
    return Condition("bias", status == "pass", f"v{version} bias audit: {status}", numbers)


def judge_budget(remaining: float, *, minimum: float, days: int, requests: int) -> Condition:
    """Pass when the error budget left is strictly above ``minimum``."""
    passed = remaining > minimum
    relation = "above" if passed else "not above"
    return Condition("budget", passed,
                     f"error budget {remaining:.1%} over {days} d ({requests} model-routed "
                     f"requests) is {relation} {minimum:.1%}",
                     {"remaining": remaining, "minimum": minimum, "days": days,
                      "requests": requests})


def judge_labels(count: int, *, minimum: int, since: datetime | None) -> Condition:
    """Pass when at least ``minimum`` predictions were labelled since the last training."""
    passed = count >= minimum
    when = "ever" if since is None else f"since {since.isoformat()}"
    return Condition("labels", passed,
                     f"{count} new feedback label(s) {when}; "
                     f"{'at least' if passed else 'fewer than'} {minimum} needed",
                     {"count": count, "minimum": minimum,
                      "since": None if since is None else since.isoformat()})


def check_eligibility(ws: Workspace, model: str, *, now: datetime,
                      policy: RetrainPolicy | None = None) -> Eligibility:
    """Judge every condition of ``model`` as of ``now`` (aware).

    Raises
    ------
    UnknownModel
        If the registry has no such model.
    InputError
        If ``now`` is naive.
    """
    from riskops.governance.bias_records import stored_audit
    from riskops.governance.policy import governance_policy
    from riskops.governance.slo_status import error_budget
    from riskops.registry.service import Registry
    from riskops.storage import db
    from riskops.storage.retrain_reads import labelled_predictions

    if now.tzinfo is None:
        raise InputError("retrain eligibility: now must be timezone-aware, e.g. "
                         "datetime.now(UTC).")
    policy = policy or governance_policy(ws).retrain
    info = Registry(ws).show_model(model)
    production = info["stages"]["production"]
    created = [datetime.fromisoformat(v["created_at"]) for v in info["versions"]]
    last_training = max(created) if created else None
    status = None
    if production is not None:
        with db.read_session(ws.database_url) as session:
            audit = stored_audit(session, model, production)
        status = None if audit is None else audit["status"]
    remaining, counts = error_budget(ws, model, since=now - timedelta(days=policy.budget_days),
                                     until=now)
    labels = labelled_predictions(ws.database_url, model, since=last_training, until=now)
    return Eligibility(model, now, production, (
        judge_production(model, production),
        judge_bias(status, version=production, required=policy.require_bias_pass),
        judge_budget(remaining, minimum=policy.min_budget, days=policy.budget_days,
                     requests=counts.total),
        judge_labels(labels, minimum=policy.min_new_labels, since=last_training),
    ))

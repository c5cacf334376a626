"""The demo's sign-off path: the inventory entry, a bias audit, three approvers, the gates.

The demo's risk team is three people: ``rita`` (risk_lead, who owns the fraud
model), ``paul`` (platform_owner) and ``vera`` (validator, who built none of
it). The fraud model is high tier, so each version needs all three sign-offs.
Each run gives them fresh tokens and acts through them, so the audit log shows
who described, approved and promoted, as it would for people.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

import tomli_w

from riskops.config import Workspace, open_workspace
from riskops.errors import CheckFailed
from riskops.governance.approvals import approval_state, decide
from riskops.governance.bias_audit import audit_version
from riskops.governance.promotion import promote
from riskops.serving.smoke import smoke_test
from riskops.tokens import Identity, add_user, create_token, identify, list_users

APPROVERS = (("rita", "risk_lead"), ("paul", "platform_owner"), ("vera", "validator"))
#: What the demo's risk team records about the fraud model (riskops models describe).
FRAUD_INVENTORY = {
    "owner": "rita", "tier": "high",
    "tier_reason": "declines card payments automatically, before a human sees them",
    "purpose": "Score card payments for fraud before authorisation",
    "business_line": "Retail card payments",
    "description": "Calibrated gradient boosting over payment features (amount, hour, "
                   "device, channel, distance from home, recent failed authorisations)",
    "intended_uses": ["pre-authorisation fraud scoring", "ordering the analysts' review queue"],
    "out_of_scope_uses": ["credit decisions", "customer profiling"],
    "limitations": ["trained on synthetic 2026 card traffic",
                    "no card-not-present history before 2026"]}
#: The demo's fraud policy: flag rates may differ by age band (younger cardholders are
#: defrauded more often in this data), error rates may not differ by more than 0.15.
FRAUD_BIAS_POLICY = {"max_equalized_odds_difference": 0.15,
                     "min_demographic_parity_ratio": 0.0}


def approvers(ws: Workspace, *, stamp: str, actor: str) -> dict[str, Identity]:
    """``rita`` and ``paul`` (created once per workspace), each with a fresh token."""
    known = {u["name"] for u in list_users(ws)}
    found: dict[str, Identity] = {}
    for name, role in APPROVERS:
        if name not in known:
            add_user(ws, name=name, roles=(role,), actor=actor)
        token = create_token(ws, name=f"{name}-demo-{stamp}", user=name, actor=actor)
        found[role] = identify(ws, token)
    return found


def describe_fraud(ws: Workspace, owner: Identity, model: str) -> dict[str, Any]:
    """Record the fraud model's inventory entry (owner, high tier, uses, limitations)."""
    from riskops.governance.model_metadata import check_fields, describe

    return describe(ws, owner, model, check_fields(dict(FRAUD_INVENTORY), source="demo"))


def set_bias_policy(ws: Workspace) -> Workspace:
    """Write the demo's ``[governance.bias]`` into riskops.toml; the reopened workspace."""
    document = tomllib.loads(ws.config_path.read_text(encoding="utf-8"))
    document.setdefault("governance", {})["bias"] = dict(FRAUD_BIAS_POLICY)
    ws.config_path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return open_workspace(ws.home)


def bias_line(report: dict[str, Any]) -> str:
    """``pass`` or ``fail: reason; reason`` for the sensitive column's verdict."""
    if report["status"] == "pass":
        judged = [c for c, s in report["sensitive"].items() if s.get("judged", True)]
        gaps = ", ".join(
            f"{c}: equalized odds difference "
            f"{report['sensitive'][c]['differences']['equalized_odds_difference']:.3f}"
            for c in judged)
        return f"pass ({gaps})"
    return "fail: " + "; ".join(report["reasons"])


def sign_off_and_promote(ws: Workspace, model: str, version: int, people: dict[str, Identity],
                         *, actor: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Audit, approve twice, check every gate and promote ``model`` v``version``."""
    audit = audit_version(ws, model, version, actor=actor)
    say(f"   bias audit of v{version}: {bias_line(audit)}")
    required = approval_state(ws, model, version)["required_roles"]
    for role in required:
        decide(ws, people[role], model, version, decision="approve", role=role,
               comment=f"demo sign-off by the {role.replace('_', ' ')}")
    say("   approved by " + ", ".join(f"{people[r].name} ({r})" for r in required))
    try:
        result = promote(ws, people["platform_owner"], model, version, smoke_test=smoke_test)
    except CheckFailed as exc:
        raise CheckFailed(f"demo stopped: {exc}") from None
    for gate in result["gates"]["gates"]:
        say(f"   PASS {gate['name']:<16} {gate['detail']}")
    return result

"""``riskops freeze|unfreeze``: canary off, promotions and version pins refused, audited,
role-checked (freeze: risk_lead or platform_owner; unfreeze: admin only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.registry.service import Registry
from riskops.roles import ROLES, allowed
from riskops.storage import db, repository
from riskops.tokens import create_token


@pytest.fixture
def frozen_ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    """fraud v1 in production, v2 a 20% canary."""
    registry = Registry(workspace)
    for seed in (1, 2):
        registry.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed),
                          actor="local:trainer")
    registry.promote("fraud", 1, actor="local:test", force=True)
    registry.promote("fraud", 2, actor="local:test", stage="canary", percent=20)
    return workspace


def token(ws: Workspace, role: str) -> str:
    return create_token(ws, name=f"t-{role}", role=role, actor="local:test")


def audit_actions(ws: Workspace) -> list[tuple[str, str, dict]]:
    with db.read_session(ws.database_url) as session:
        return [(e.actor, e.action, json.loads(e.data))
                for e in repository.audit_entries(session)]


def test_freeze_takes_the_canary_out_and_refuses_promotions(cli, frozen_ws: Workspace) -> None:
    lead, owner = token(frozen_ws, "risk_lead"), token(frozen_ws, "platform_owner")
    result = cli("freeze", "fraud", "--reason", "chargebacks spiking", "--json", token=lead)
    assert result.code == 0, result.err
    assert result.json()["canary_removed"] == {"version": 2, "percent": 20}
    manifest = json.loads(frozen_ws.manifest_path.read_bytes())
    assert manifest["models"]["fraud"]["stages"]["canary"] is None
    assert manifest["models"]["fraud"]["stages"]["production"] == 1
    for argv in (["promote", "fraud", "2"],
                 ["promote", "fraud", "2", "--stage", "canary", "--percent", "5"],
                 ["models", "pin", "fraud", "--tenant", "acme", "--version", "1"]):
        refused = cli(*argv, token=owner)
        assert refused.code == 1, (argv, refused.err)
        assert "fraud is frozen" in refused.err and "chargebacks spiking" in refused.err
        assert "riskops unfreeze fraud" in refused.err
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic",
               token=owner).code == 0  # taking risk away stays allowed
    again = cli("freeze", "fraud", "--reason", "twice", token=lead)
    assert again.code == 0 and "already frozen" in again.out
    [(actor, _, data)] = [a for a in audit_actions(frozen_ws) if a[1] == "model.frozen"]
    assert actor == "t-risk_lead" and data["reason"] == "chargebacks spiking"
    assert cli("audit-log", "verify").code == 0


def test_only_an_admin_unfreezes(cli, frozen_ws: Workspace) -> None:
    lead = token(frozen_ws, "risk_lead")
    assert cli("freeze", "fraud", "--reason", "drill", token=lead).code == 0
    refused = cli("unfreeze", "fraud", "--reason", "done", token=lead)
    assert refused.code == 1 and "admin" in refused.err
    lifted = cli("unfreeze", "fraud", "--reason", "fixed in v3", "--json",
                 token=admin_token(frozen_ws.home))
    assert lifted.code == 0, lifted.err
    assert lifted.json()["was"]["reason"] == "drill"
    promoted = cli("promote", "fraud", "2", "--stage", "canary", "--percent", "5",
                   token=token(frozen_ws, "platform_owner"))
    assert "frozen" not in promoted.err
    [(_, _, data)] = [a for a in audit_actions(frozen_ws) if a[1] == "model.unfrozen"]
    assert data["reason"] == "fixed in v3" and data["was"]["frozen_by"] == "t-risk_lead"
    assert cli("audit-log", "verify").code == 0


@pytest.mark.parametrize("argv", [
    ["freeze", "fraud", "--reason", "   "],
    ["freeze", "nosuchmodel", "--reason", "x"],
    ["unfreeze", "fraud", "--reason", "not frozen"],
    ["freeze", "fraud"],
])
def test_bad_input_is_one_line_and_exit_2(cli, frozen_ws: Workspace, argv: list[str]) -> None:
    result = cli(*argv, token=admin_token(frozen_ws.home))
    assert result.code == 2, result.err
    assert "Traceback" not in result.err


def test_freeze_and_unfreeze_follow_the_role_table(cli, frozen_ws: Workspace) -> None:
    """Allowed callers reach the unknown-model error (exit 2); the others are refused (1)."""
    wrong = []
    for role in ROLES:
        tok = token(frozen_ws, role)
        for command, action in (("freeze", "freeze"), ("unfreeze", "unfreeze")):
            result = cli(command, "nosuchmodel", "--reason", "x", token=tok)
            expected = 2 if allowed(action, [role]) else 1
            if result.code != expected:
                wrong.append(f"{command} as {role}: {result.code} {result.err.strip()}")
    local = cli("freeze", "fraud", "--reason", "x")  # no token: not a local action
    assert local.code == 1
    assert not wrong, "\n".join(wrong)

"""`rollback --to V` returns only to a version on the production history, and a refusal says
truthfully why V is not on it: rolled back off, live only before a retirement, or never live."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.errors import InputError
from riskops.registry.service import Registry

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


@pytest.fixture
def registry(workspace: Workspace, tmp_path: Path) -> Registry:
    """fraud v1, v2, v3 registered; v1 then v2 promoted: production 2, history [1, 2]."""
    reg = Registry(workspace)
    for seed in (1, 2, 3):
        reg.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed), actor="local:a")
    reg.promote("fraud", 1, actor="local:a", force=True)
    reg.promote("fraud", 2, actor="local:a", force=True)
    return reg


def test_a_version_rolled_back_off_is_named_as_such_by_the_cli_and_http(
        registry: Registry, workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    from riskops.serving.app import create_app

    token = admin_token()
    assert cli("rollback", "fraud", "--to", "1", token=token).code == 0
    oncall = registry.history("fraud")[-1]["actor"]
    expected = re.compile(
        rf"fraud v2 was in production until the rollback to v1 by {re.escape(oncall)} at "
        rf"{WHEN} took it off the production history \[1\]; a rollback only goes back down "
        r"that history, so putting v2 back is a promotion, with its gates: riskops gates "
        r"fraud 2, then riskops promote fraud 2\.")
    refused = cli("rollback", "fraud", "--to", "2", token=token)
    assert refused.code == 2 and expected.search(refused.err), refused.err
    assert "never" not in refused.err
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        answer = client.post("/models/fraud/rollback", json={"to": 2},
                             headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422 and expected.fullmatch(answer.json()["detail"]), answer.text
    assert registry.show_model("fraud")["stages"]["production"] == 1


def test_a_version_never_in_production_is_named_as_such(registry: Registry) -> None:
    with pytest.raises(InputError, match=re.escape(
            "fraud v3 was never in production (production history [1, 2]); a rollback only "
            "returns to a version on that history. Promote it instead, with its gates: riskops "
            "gates fraud 3, then riskops promote fraud 3.")):
        registry.rollback("fraud", actor="local:oncall", to=3)


def test_the_rollback_that_cut_the_stack_is_named(registry: Registry) -> None:
    registry.promote("fraud", 3, actor="local:a", force=True)                    # [1, 2, 3]
    registry.rollback("fraud", actor="local:oncall", fallback_heuristic=True)  # keeps the stack
    registry.rollback("fraud", actor="local:cut", to=1)                          # [1]
    for gone in (2, 3):
        with pytest.raises(InputError, match=rf"^fraud v{gone} was in production until the "
                           rf"rollback to v1 by local:cut at {WHEN} took it off the production "
                           r"history \[1\];"):
            registry.rollback("fraud", actor="local:oncall", to=gone)


def test_a_version_live_only_before_a_retirement_is_named_as_such(registry: Registry) -> None:
    registry.retire("fraud", actor="local:lead", reason="replaced")
    registry.promote("fraud", 3, actor="local:a", force=True)  # back, through promotion
    with pytest.raises(InputError, match=rf"^fraud v2 was in production before fraud was "
                       rf"retired \({WHEN}\); its production history started again \[3\], so a "
                       r"rollback cannot reach v2\."):
        registry.rollback("fraud", actor="local:oncall", to=2)


def test_a_version_still_on_the_history_is_returned_to(registry: Registry) -> None:
    registry.promote("fraud", 3, actor="local:a", force=True)  # [1, 2, 3]
    assert registry.rollback("fraud", actor="local:oncall", to=1)["to"] == 1
    registry.promote("fraud", 2, actor="local:a", force=True)  # [1, 2]: back through promotion
    assert registry.rollback("fraud", actor="local:oncall")["to"] == 1

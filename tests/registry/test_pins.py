"""Per-tenant pins and the heuristic fallback: signed into the manifest, audited, reversible."""

from __future__ import annotations

import pytest

from conftest import admin_token, make_model_dir
from riskops.errors import InputError, UnknownVersion
from riskops.registry.manifest import read_verified_manifest
from riskops.registry.service import Registry


def _manifest(ws):
    return read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path).manifest


@pytest.fixture
def registry(workspace, tmp_path):
    reg = Registry(workspace)
    for seed in (1, 2):
        reg.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed), actor="local:a")
    reg.promote("fraud", 1, actor="local:a", force=True)
    return reg


def test_pin_and_unpin_are_signed_into_the_manifest(registry, workspace):
    registry.pin("fraud", "acme", 2, actor="local:lead")
    registry.pin("fraud", "globex", None, actor="local:lead")
    assert _manifest(workspace).models["fraud"].pins == {"acme": 2, "globex": "heuristic"}
    assert registry.show_model("fraud")["pins"] == {"acme": 2, "globex": "heuristic"}
    registry.unpin("fraud", "acme", actor="local:lead")
    assert _manifest(workspace).models["fraud"].pins == {"globex": "heuristic"}
    actions = [h["action"] for h in registry.history("fraud")]
    assert actions.count("pin") == 2 and actions.count("unpin") == 1


def test_pin_refuses_bad_input(registry):
    with pytest.raises(UnknownVersion):
        registry.pin("fraud", "acme", 9, actor="local:lead")
    with pytest.raises(InputError, match=r"--tenant '\.\./x' is invalid"):
        registry.pin("fraud", "../x", 1, actor="local:lead")
    with pytest.raises(InputError, match="has no pin"):
        registry.unpin("fraud", "acme", actor="local:lead")


def test_fallback_heuristic_takes_production_off_and_back(registry, workspace):
    result = registry.rollback("fraud", actor="local:oncall", fallback_heuristic=True)
    assert result["from"] == 1 and result["to"] is None
    assert _manifest(workspace).models["fraud"].stages.production is None
    with pytest.raises(InputError, match="already answers from the heuristic"):
        registry.rollback("fraud", actor="local:oncall", fallback_heuristic=True)
    with pytest.raises(InputError, match="--to VERSION"):
        registry.rollback("fraud", actor="local:oncall")
    registry.rollback("fraud", actor="local:oncall", to=1)
    assert _manifest(workspace).models["fraud"].stages.production == 1


def test_cli_pin_unpin_and_fallback(cli, registry, workspace, monkeypatch):
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic").code == 0
    shown = cli("models", "show", "fraud", "--json").json()
    assert shown["pins"] == {"acme": "heuristic"}
    bad = cli("models", "pin", "fraud", "--tenant", "acme")
    assert bad.code == 2 and "exactly one of --version" in bad.err
    bad = cli("models", "pin", "fraud", "--tenant", "acme", "--version", "1", "--heuristic")
    assert bad.code == 2
    assert cli("models", "unpin", "fraud", "--tenant", "acme").code == 0
    result = cli("rollback", "fraud", "--fallback", "heuristic")
    assert result.code == 0 and "-> heuristic" in result.out
    bad = cli("rollback", "fraud", "--fallback", "v0")
    assert bad.code == 2 and "only fallback is 'heuristic'" in bad.err
    assert cli("verify").code == 0
    assert cli("audit-log", "verify").code == 0

"""The README's short session, governance half: what its comments promise holds.

tests/test_readme_blocks.py runs the session's shell block as written and checks it
exits 0; this test checks, in process, what the comments beside its commands say
(the gates and the default bias audit fail, the team's policy passes, eight gates
pass, the inventory row and the model card).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_the_readme_session_reaches_production_through_its_gates(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / ".riskops"
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    init = cli("init", "--json")
    assert init.code == 0, init.err
    monkeypatch.setenv("RISKOPS_TOKEN", init.json()["admin_token"])
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", init.json()["trusted_key"])
    assert cli("data", "generate", "fraud", "--rows", "20000", "--start", "2026-01-01",
               "--days", "90", "--seed", "1", "--out", "fraud.parquet").code == 0
    assert cli("train", "fraud", "--data", "fraud.parquet").code == 0
    gates = cli("gates", "fraud", "1")
    assert gates.code == 1 and "FAIL  bias" in gates.out and "FAIL  approvals" in gates.out
    default = cli("audit", "bias", "fraud", "1")
    assert default.code == 1 and "demographic parity ratio" in default.out
    with (home / "riskops.toml").open("a", encoding="utf-8") as fh:
        fh.write("[governance.bias]\nmax_equalized_odds_difference = 0.15\n"
                 "min_demographic_parity_ratio = 0.0\n")
    assert cli("audit", "bias", "fraud", "1", "--json-out", "bias-report.json").code == 0
    assert json.loads(Path("bias-report.json").read_text())["status"] == "pass"
    tokens = {}
    for user, role in (("ana", "risk_lead"), ("ben", "platform_owner")):
        assert cli("users", "add", user, "--roles", role).code == 0
        made = cli("token", "create", "--user", user, "--name", f"{user}-1", "--quiet")
        tokens[user] = made.out.strip()
    described = cli("models", "describe", "fraud", "--owner", "ana", "--tier", "medium",
                    "--tier-reason", "flags payments for review; a human decides",
                    "--purpose", "Card fraud triage", token=tokens["ana"])
    assert described.code == 0, described.err
    assert cli("approve", "fraud", "1", "--role", "risk_lead", "--comment", "checked",
               token=tokens["ana"]).code == 0
    assert cli("approve", "fraud", "1", "--role", "platform_owner", token=tokens["ben"]).code == 0
    promoted = cli("promote", "fraud", "1", token=tokens["ben"])
    assert promoted.code == 0, promoted.out + promoted.err
    assert promoted.out.count("PASS") == 8
    inventory = cli("inventory", "--csv")
    assert inventory.code == 0
    row = inventory.out.splitlines()[1].split(",")
    assert row[:4] == ["fraud", "production", "ana", "medium"]
    assert cli("models", "card", "fraud", "1", "--out", "card").code == 0
    card = json.loads(Path("card/model-card.json").read_text())
    assert card["model_card_status"] == "Approved"
    assert card["intended_uses"]["risk_rating"] == "Medium"
    assert cli("evidence", "fraud", "1", "--out", "evidence-fraud-1").code == 0
    verified = cli("evidence", "verify", "evidence-fraud-1", "--public-key",
                   home / "keys" / "public.pem")
    assert verified.code == 0, verified.out + verified.err
    rolled = cli("rollback", "fraud", "--fallback", "heuristic", token=tokens["ana"])
    assert rolled.code == 0, rolled.err

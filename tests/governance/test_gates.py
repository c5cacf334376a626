"""Promotion gates: each judged on its evidence, and promotion refused until all pass."""

from __future__ import annotations

import json

import pytest
from gov_helpers import gov_template, gov_ws, people, record_bias  # noqa: F401  (fixtures)

from riskops.config import Workspace
from riskops.governance.gates import judge_not_worse, judge_reproducibility, judge_score_delta
from riskops.governance.policy import GovernancePolicy
from riskops.storage import db, repository

POLICY = GovernancePolicy()


def _evaluation(delta: dict[str, float], *, compared_with: int | None = 1) -> dict:
    return {"comparison": {"status": "compared" if compared_with else "no production version",
                           "production_version": compared_with,
                           "golden_metrics": {"delta": delta},
                           "golden": {"rows": 400, "mean_abs_score_delta": 0.01,
                                      "labels_flipped": 3}}}


@pytest.mark.parametrize(("delta", "passed", "words"), [
    ({"roc_auc": -0.01, "f1": -0.04, "brier": 0.01}, True, "within tolerance of v1"),
    ({"roc_auc": -0.03, "f1": 0.0, "brier": 0.0}, False, "roc_auc -0.0300 (limit -0.0200)"),
    ({"roc_auc": 0.0, "f1": -0.06, "brier": 0.0}, False, "f1 -0.0600 (limit -0.0500)"),
    ({"roc_auc": 0.0, "f1": 0.0, "brier": 0.03}, False, "brier +0.0300 (limit +0.0200)"),
    ({"roc_auc": 0.0, "f1": 0.0}, False, "brier delta missing"),
])
def test_not_worse_holds_each_metric_to_its_tolerance(delta: dict, passed: bool,
                                                      words: str) -> None:
    gate = judge_not_worse(_evaluation(delta), production=1, version=2, policy=POLICY)
    assert gate.passed is passed and words in gate.detail


def test_not_worse_refuses_a_comparison_with_another_production() -> None:
    gate = judge_not_worse(_evaluation({"roc_auc": 0.1, "f1": 0.1, "brier": -0.1}),
                           production=3, version=4, policy=POLICY)
    assert not gate.passed and "production is now v3" in gate.detail
    first = judge_not_worse(_evaluation({}, compared_with=None), production=None, version=1,
                            policy=POLICY)
    assert first.passed and "no other version in production" in first.detail


def test_score_delta_and_reproducibility_need_their_reports() -> None:
    assert judge_score_delta(_evaluation({}), production=1, version=2).passed
    assert not judge_score_delta(_evaluation({}), production=2, version=3).passed
    assert not judge_score_delta(None, production=1, version=2).passed
    assert not judge_reproducibility(None).passed
    lacking = judge_reproducibility({"seed": 0, "data": {}})
    assert not lacking.passed and "lacks training_run_id, golden_predictions" in lacking.detail


def _gates(cli, *args: str) -> dict[str, dict]:
    result = cli("gates", "fraud", "1", "--json", *args)
    return {g["name"]: g for g in result.json()["gates"]}


def test_a_candidate_reaches_production_only_with_every_gate(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    refused = cli("promote", "fraud", "1")
    assert refused.code == 1
    assert "FAIL  bias" in refused.out and "FAIL  approvals" in refused.out
    assert "PASS  integrity" in refused.out and "PASS  smoke" in refused.out
    assert "2 gate(s) failed" in refused.err and "missing risk_lead, platform_owner" in refused.err
    record_bias(gov_ws, "fraud", 1)
    for user, role in (("ana", "risk_lead"), ("ben", "platform_owner")):
        monkeypatch.setenv("RISKOPS_TOKEN", people[user])
        assert cli("approve", "fraud", "1", "--role", role).code == 0
    gates = _gates(cli)
    assert {name: g["status"] for name, g in gates.items()} == dict.fromkeys(
        ("integrity", "bias", "reproducibility", "not_worse", "score_delta", "smoke",
         "revalidation", "approvals"), "pass")
    assert gates["smoke"]["evidence"]["rows"] == 200
    assert gates["smoke"]["evidence"]["max_abs_difference"] <= 1e-9
    promoted = cli("promote", "fraud", "1")
    assert promoted.code == 0, promoted.err
    assert "promoted fraud v1 to production" in promoted.out
    with db.read_session(gov_ws.database_url) as session:
        entry = [e for e in repository.audit_entries(session) if e.action == "model.promoted"][-1]
        assert repository.get_model(session, "fraud").production_version == 1
    data = json.loads(entry.data)
    assert entry.actor == "ben" and data["gates"]["status"] == "pass"
    assert set(data["gates"]["gates"].values()) == {"pass"}


def test_a_failed_bias_audit_or_other_bytes_block_the_bias_gate(
        cli, gov_ws: Workspace) -> None:
    record_bias(gov_ws, "fraud", 1, status="fail")
    bias = _gates(cli)["bias"]
    assert bias["status"] == "fail" and "equalized odds difference 0.3" in bias["detail"]
    record_bias(gov_ws, "fraud", 1, status="pass")
    assert _gates(cli)["bias"]["status"] == "pass"


def test_tampered_holdout_rows_fail_integrity_and_smoke(cli, gov_ws: Workspace) -> None:
    holdout = gov_ws.store_dir / "models" / "fraud" / "1" / "holdout-rows.parquet"
    holdout.write_bytes(holdout.read_bytes() + b"\0")
    gates = _gates(cli)
    assert gates["integrity"]["status"] == "fail"
    assert "holdout-rows.parquet" in gates["integrity"]["detail"]
    assert gates["smoke"]["status"] == "fail"


def test_a_version_without_holdout_rows_fails_the_smoke_gate(
        cli, gov_ws: Workspace, model_dir, people: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    registered = cli("models", "register", "fraud", "--from", model_dir)
    assert registered.code == 0, registered.err
    result = cli("gates", "fraud", "2", "--json")
    smoke = next(g for g in result.json()["gates"] if g["name"] == "smoke")
    assert smoke["status"] == "fail" and "has no holdout-rows.parquet" in smoke["detail"]


def test_break_glass_is_admin_only_and_loud(cli, gov_ws: Workspace, people: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    refused = cli("promote", "fraud", "1", "--break-glass", "outage")
    assert refused.code == 1 and "break glass needs admin" in refused.err
    monkeypatch.setenv("RISKOPS_TOKEN", people["admin"])
    empty = cli("promote", "fraud", "1", "--break-glass", "  ")
    assert empty.code == 2 and "needs a reason" in empty.err
    done = cli("promote", "fraud", "1", "--break-glass", "fraud wave; v1 is the only model")
    assert done.code == 0, done.err
    assert "BREAK-GLASS" in done.err and "FAIL  approvals" in done.out
    with db.read_session(gov_ws.database_url) as session:
        entry = [e for e in repository.audit_entries(session) if e.action == "model.promoted"][-1]
        events = [e.type for e in repository_events(session)]
    data = json.loads(entry.data)
    assert data["break_glass"] == "fraud wave; v1 is the only model"
    assert data["gates"]["status"] == "fail" and data["gates"]["gates"]["approvals"] == "fail"
    assert "ml.model.break_glass" in events


def repository_events(session):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from riskops.storage.tables import OutboxEventRow

    return list(session.scalars(select(OutboxEventRow)))


def test_canary_is_gated_except_for_approvals(cli, gov_ws: Workspace, people: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    refused = cli("promote", "fraud", "1", "--stage", "canary", "--percent", "10")
    assert refused.code == 1 and "FAIL  bias" in refused.out and "approvals" not in refused.out
    record_bias(gov_ws, "fraud", 1)
    done = cli("promote", "fraud", "1", "--stage", "canary", "--percent", "10")
    assert done.code == 0, done.err
    staging = cli("promote", "fraud", "1", "--stage", "staging")
    assert staging.code == 0 and "promoted fraud v1 to staging" in staging.out


def test_the_force_flag_is_gone(cli, gov_ws: Workspace, people: dict[str, str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["admin"])
    result = cli("promote", "fraud", "1", "--force")
    assert result.code == 2 and "--force is gone" in result.err and "--break-glass" in result.err


def test_a_canary_over_the_share_limit_needs_the_approvals(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    record_bias(gov_ws, "fraud", 1)
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    big = cli("promote", "fraud", "1", "--stage", "canary", "--percent", "90")
    assert big.code == 1 and "FAIL  approvals" in big.out
    small = cli("promote", "fraud", "1", "--stage", "canary", "--percent", "50")
    assert small.code == 0, small.err


def test_only_a_version_that_was_in_production_may_be_pinned(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["cat"])
    refused = cli("models", "pin", "fraud", "--tenant", "acme", "--version", "1")
    assert refused.code == 2 and "is not in the production history" in refused.err
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic").code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", people["admin"])
    assert cli("promote", "fraud", "1", "--break-glass", "first model").code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", people["cat"])
    pinned = cli("models", "pin", "fraud", "--tenant", "acme", "--version", "1")
    assert pinned.code == 0, pinned.err

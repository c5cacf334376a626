"""Sign-offs: the policy verdict (pure), and approve/reject through the command line."""

from __future__ import annotations

import json

import pytest
from gov_helpers import gov_template, gov_ws, people  # noqa: F401  (fixtures)

from riskops.config import Workspace
from riskops.governance.approvals import Decision, approval_verdict

ROLES = ("risk_lead", "platform_owner")
DIGEST = "a" * 64


def _d(user: str, role: str, decision: str = "approve", digest: str = DIGEST) -> Decision:
    return Decision(user=user, role=role, decision=decision, at="2026-12-01T00:00:00+00:00",
                    comment="", artifacts_sha256=digest)


def test_two_roles_from_two_users_complete_the_policy() -> None:
    verdict = approval_verdict([_d("ana", "risk_lead"), _d("ben", "platform_owner")],
                               required_roles=ROLES, digest=DIGEST, author="trainer")
    assert verdict.complete
    assert verdict.approved == {"risk_lead": "ana", "platform_owner": "ben"}
    assert verdict.summary() == "complete: platform_owner by ben, risk_lead by ana"


@pytest.mark.parametrize(("decisions", "missing", "problem"), [
    ([_d("ana", "risk_lead")], ("platform_owner",), None),
    ([_d("cat", "risk_lead"), _d("cat", "platform_owner")], ("platform_owner",),
     "one approval per role and per user"),
    ([_d("trainer", "risk_lead"), _d("ben", "platform_owner")], ("risk_lead",),
     "they are the author"),
    ([_d("ana", "risk_lead", digest="b" * 64), _d("ben", "platform_owner")], ("risk_lead",),
     "was given to other bytes"),
    ([_d("ana", "reviewer"), _d("ben", "platform_owner")], ("risk_lead",),
     "the policy asks for risk_lead, platform_owner"),
    ([_d("ana", "risk_lead"), _d("cat", "risk_lead")], ("platform_owner",),
     "one approval per role"),
])
def test_what_does_not_count(decisions: list[Decision], missing: tuple[str, ...],
                             problem: str | None) -> None:
    verdict = approval_verdict(decisions, required_roles=ROLES, digest=DIGEST, author="trainer")
    assert not verdict.complete
    assert verdict.missing_roles == missing
    if problem is not None:
        assert any(problem in p for p in verdict.problems), verdict.problems


def test_a_rejection_blocks_even_a_complete_set() -> None:
    verdict = approval_verdict(
        [_d("ana", "risk_lead"), _d("ben", "platform_owner"), _d("cat", "risk_lead", "reject")],
        required_roles=ROLES, digest=DIGEST, author="trainer")
    assert not verdict.complete and verdict.rejected_by == ("cat (risk_lead)",)
    assert verdict.summary().startswith("rejected by cat")


def test_author_may_approve_when_the_policy_allows_it() -> None:
    decisions = [_d("trainer", "risk_lead"), _d("ben", "platform_owner")]
    assert approval_verdict(decisions, required_roles=ROLES, digest=DIGEST, author="trainer",
                            author_may_approve=True).complete


# --- the command line ----------------------------------------------------------------


def test_approvals_are_recorded_signed_and_audited(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["ana"])
    result = cli("approve", "fraud", "1", "--role", "risk_lead", "--comment", "AUC holds")
    assert result.code == 0, result.err
    assert "missing platform_owner" in result.out
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    result = cli("approve", "fraud", "1", "--role", "platform_owner", "--json")
    assert result.code == 0, result.err
    state = result.json()["approvals"]
    assert state["complete"] and state["approved"] == {"risk_lead": "ana",
                                                       "platform_owner": "ben"}
    manifest = json.loads(gov_ws.manifest_path.read_bytes())
    signed = manifest["models"]["fraud"]["versions"]["1"]["approvals"]
    assert [(a["user"], a["role"], a["decision"]) for a in signed] == [
        ("ana", "risk_lead", "approve"), ("ben", "platform_owner", "approve")]
    assert signed[0]["comment"] == "AUC holds"
    assert {a["artifacts_sha256"] for a in signed} == {state["artifacts_sha256"]}
    log = cli("audit-log", "verify")
    assert log.code == 0, log.err
    from riskops.storage import db, repository

    with db.read_session(gov_ws.database_url) as session:
        actions = [(e.actor, e.action) for e in repository.audit_entries(session)]
    assert ("ana", "model.approved") in actions and ("ben", "model.approved") in actions


@pytest.mark.parametrize(("user", "args", "code", "message"), [
    (None, ["--role", "risk_lead"], 1, "approve needs an API token"),
    ("trainer", ["--role", "risk_lead"], 1, "is the author of fraud v1"),
    ("ana", ["--role", "platform_owner"], 1, "does not hold the role 'platform_owner'"),
    ("ana", ["--role", "reviewer"], 2, "not a sign-off role"),
    ("r-scorer", ["--role", "risk_lead"], 1,
     "needs risk_lead, platform_owner, validator (or admin)"),
    ("admin", ["--role", "risk_lead"], 1, "does not hold the role 'risk_lead'"),
])
def test_refused_approvals_say_why(cli, gov_ws: Workspace, people: dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch, user: str | None,
                                   args: list[str], code: int, message: str) -> None:
    if user is not None:
        monkeypatch.setenv("RISKOPS_TOKEN", people[user])
    result = cli("approve", "fraud", "1", *args)
    assert result.code == code, result.out + result.err
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    manifest = json.loads(gov_ws.manifest_path.read_bytes())
    assert manifest["models"]["fraud"]["versions"]["1"]["approvals"] == []


def test_one_user_signs_once_and_not_under_two_roles(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["cat"])
    assert cli("approve", "fraud", "1", "--role", "risk_lead").code == 0
    again = cli("approve", "fraud", "1", "--role", "risk_lead")
    assert again.code == 1 and "one user signs a version once" in again.err
    other_role = cli("approve", "fraud", "1", "--role", "platform_owner")
    assert other_role.code == 1 and "already approved fraud v1 as risk_lead" in other_role.err
    monkeypatch.setenv("RISKOPS_TOKEN", people["ana"])
    same_role = cli("approve", "fraud", "1", "--role", "risk_lead")
    assert same_role.code == 1 and "already has its risk_lead approval (by cat)" in same_role.err


def test_a_rejection_blocks_the_version(cli, gov_ws: Workspace, people: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", people["ben"])
    result = cli("reject", "fraud", "1", "--role", "platform_owner", "--comment", "too many FPs")
    assert result.code == 0, result.err
    assert "rejected by ben" in result.out
    monkeypatch.setenv("RISKOPS_TOKEN", people["ana"])
    after = cli("approve", "fraud", "1", "--role", "risk_lead")
    assert after.code == 1 and "train a new version" in after.err
    gates = cli("gates", "fraud", "1", "--json")
    assert gates.code == 1
    approvals = next(g for g in gates.json()["gates"] if g["name"] == "approvals")
    assert approvals["status"] == "fail" and "rejected by ben" in approvals["detail"]


def test_artifacts_that_fail_verification_cannot_be_approved(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    report = gov_ws.store_dir / "models" / "fraud" / "1" / "evaluation-report.json"
    report.write_bytes(report.read_bytes().replace(b'"roc_auc"', b'"roc_auX"', 1))
    monkeypatch.setenv("RISKOPS_TOKEN", people["ana"])
    result = cli("approve", "fraud", "1", "--role", "risk_lead")
    assert result.code == 1
    assert "fail verification" in result.err and "evaluation-report.json" in result.err


def test_users_and_tokens_need_an_admin(cli, gov_ws: Workspace, people: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("users", "add", "dan", "--roles", "reviewer").code == 1
    monkeypatch.setenv("RISKOPS_TOKEN", people["admin"])
    added = cli("users", "add", "dan", "--roles", "reviewer,risk_lead", "--json")
    assert added.code == 0 and added.json()["roles"] == ["reviewer", "risk_lead"]
    made = cli("token", "create", "--user", "dan", "--name", "dan-laptop", "--json")
    assert made.code == 0
    dan = made.json()["token"]
    bad = cli("users", "add", "eve", "--roles", "risk_lead,wizard")
    assert bad.code == 2 and "'wizard' is not one of" in bad.err
    legacy = cli("token", "create", "--name", "ci-bot", "--role", "service", "--json")
    assert legacy.code == 0
    users = {u["name"]: u for u in cli("users", "list", "--json").json()}
    assert users["ci-bot"]["roles"] == ["service"] and users["dan"]["tokens"] == ["dan-laptop"]
    assert cli("users", "disable", "dan").code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", dan)
    refused = cli("models", "list")
    assert refused.code == 2 and "disabled" in refused.err

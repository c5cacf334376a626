"""The model-risk inventory end to end: describe, tiers and validators, re-validation, cards.

fraud v1 of the shared template is trained by ``trainer``; ``ana`` (risk_lead),
``ben`` (platform_owner) and ``r-validator`` sign; ``cat`` holds risk_lead and
platform_owner.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gov_helpers import gov_template, gov_ws, people, record_bias  # noqa: F401  (fixtures)
from sqlalchemy import update

from riskops.config import Workspace
from riskops.governance.gates import evaluate_gates
from riskops.governance.inventory import revalidation_check
from riskops.serving.smoke import smoke_test
from riskops.storage import db, repository
from riskops.storage.tables import ApprovalRow, OutboxEventRow
from riskops.tokens import add_user, create_token

HIGH = ("--tier", "high", "--tier-reason", "declines card payments automatically")


def _describe(cli, token: str, *args: str):  # type: ignore[no-untyped-def]
    return cli("models", "describe", "fraud", *args, token=token)


def _sign(cli, people: dict[str, str], *signers: tuple[str, str], version: str = "1") -> None:
    for user, role in signers:
        result = cli("approve", "fraud", version, "--role", role, token=people[user])
        assert result.code == 0, result.err


def _go_live(cli, ws: Workspace, people: dict[str, str], *extra: tuple[str, str]) -> None:
    record_bias(ws, "fraud", 1)
    _sign(cli, people, ("ana", "risk_lead"), ("ben", "platform_owner"), *extra)
    promoted = cli("promote", "fraud", "1", token=people["ben"])
    assert promoted.code == 0, promoted.out + promoted.err


def _inventory(cli, *args: str) -> list[dict]:  # type: ignore[no-untyped-def]
    result = cli("inventory", "--json", *args)
    assert result.code == 0, result.err
    return result.json()


def _events(ws: Workspace, kind: str) -> list[dict]:
    with db.read_session(ws.database_url) as session:
        rows = session.query(OutboxEventRow).filter(OutboxEventRow.type == kind).all()
        return [json.loads(r.envelope)["data"] for r in rows]


def _backdate_approvals(ws: Workspace, day: datetime) -> None:
    """Move every sign-off of fraud to ``day``: a validation made long ago."""
    with db.write_transaction(ws.database_url) as session:
        session.execute(update(ApprovalRow).where(ApprovalRow.model_name == "fraud")
                        .values(created_at=day))


# --- describing a model ------------------------------------------------------------------


def test_describe_records_the_metadata_with_an_audit_entry(cli, gov_ws: Workspace,
                                                           people: dict[str, str]) -> None:
    result = _describe(cli, people["ana"], "--owner", "ana", *HIGH, "--purpose",
                       "Score card payments before authorisation", "--intended-use",
                       "pre-authorisation scoring", "--intended-use", "analyst queue order",
                       "--limitation", "EU card traffic only", "--business-line", "Payments",
                       "--json")
    assert result.code == 0, result.err
    meta = result.json()["metadata"]
    assert meta["owner"] == "ana" and meta["tier"] == "high"
    assert meta["intended_uses"] == ["pre-authorisation scoring", "analyst queue order"]
    assert meta["limitations"] == ["EU card traffic only"] and meta["out_of_scope_uses"] == []
    # a later describe changes only what it names; a list given replaces the stored one
    again = _describe(cli, people["cat"], "--limitation", "no card-not-present data", "--json")
    assert again.json()["changed"] == ["limitations"]
    assert again.json()["metadata"]["purpose"] == "Score card payments before authorisation"
    assert again.json()["metadata"]["updated_by"] == "cat"
    with db.read_session(gov_ws.database_url) as session:
        entries = [e for e in repository.audit_entries(session) if e.action == "model.described"]
    assert [e.actor for e in entries] == ["ana", "cat"]
    assert json.loads(entries[1].data)["changed"] == {"limitations": ["no card-not-present data"]}
    shown = cli("models", "show", "fraud")
    assert "owner: ana  tier: high (declines card payments automatically)" in shown.out
    assert cli("audit-log", "verify").code == 0


@pytest.mark.parametrize(("args", "message"), [
    (("--owner", "nobody"), "owner 'nobody' is not a user"),
    (("--tier", "high"), "a tier needs its reason"),
    (("--tier", "extreme", "--tier-reason", "x"), "tier 'extreme' is not one of high, medium"),
    (("--purpose", "a\x00b"), "purpose holds the control character"),
    (("--purpose", "x" * 2001), "purpose has 2001 characters; the limit is 2000"),
    (("--limitation", "y" * 501), "limitations has 501 characters; the limit is 500"),
    ((), "nothing to describe"),
])
def test_bad_metadata_is_refused_in_one_line_and_nothing_changes(
        cli, gov_ws: Workspace, people: dict[str, str], args: tuple, message: str) -> None:
    result = _describe(cli, people["ana"], *args)
    assert result.code == 2 and message in result.err, result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert _inventory(cli)[0]["metadata"] is None


def test_describe_needs_a_lead_owner_or_validator_and_a_registered_model(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["r-reviewer"], "--purpose", "x").code == 1
    assert _describe(cli, people["r-validator"], "--limitation", "found in review").code == 0
    local = cli("models", "describe", "fraud", "--purpose", "x")
    assert local.code == 1 and "describe needs an API token" in local.err
    unknown = cli("models", "describe", "nosuch", "--purpose", "x", token=people["ana"])
    assert unknown.code == 2 and "not registered" in unknown.err


def test_only_an_independent_validator_lowers_a_tier(cli, gov_ws: Workspace,
                                                     people: dict[str, str],
                                                     tmp_path: Path) -> None:
    assert _describe(cli, people["ana"], *HIGH).code == 0
    lowered = _describe(cli, people["ana"], "--tier", "low")
    assert lowered.code == 1 and "lowering fraud from tier high to low needs a validator" \
        in lowered.err
    assert _inventory(cli)[0]["metadata"]["tier"] == "high"
    # nor through a model.toml registered with a new version: nothing is registered
    folder = _artifact_folder(tmp_path, 'tier = "medium"\n')
    assert cli("models", "register", "fraud", "--from", folder, token=people["ana"]).code == 1
    assert [m["versions"] for m in cli("models", "list", "--json").json()] == [[1]]
    # a validator who owns the model may not either; an independent one may; raising is open
    add_user(gov_ws, name="vic", roles=("validator",), actor="admin")
    vic = create_token(gov_ws, name="vic-token", user="vic", actor="admin")
    assert _describe(cli, people["ana"], "--owner", "vic").code == 0
    assert "built a version of fraud or owns it" in _describe(cli, vic, "--tier", "low").err
    assert _describe(cli, people["r-validator"], "--tier", "medium").code == 0
    assert _describe(cli, people["ana"], "--tier", "high").code == 0
    assert _describe(cli, people["admin"], "--tier", "low").code == 0


def test_owner_must_be_enabled(cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert cli("users", "disable", "trainer", token=people["admin"]).code == 0
    result = _describe(cli, people["ana"], "--owner", "trainer")
    assert result.code == 2 and "owner 'trainer' is disabled" in result.err


def _artifact_folder(root: Path, toml: str | None) -> Path:
    folder = root / "bring-your-own"
    folder.mkdir()
    (folder / "notes.txt").write_text("rules-based claims model\n")
    if toml is not None:
        (folder / "model.toml").write_text(toml)
    return folder


def test_a_model_toml_registered_with_a_version_describes_the_model(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path: Path) -> None:
    folder = _artifact_folder(tmp_path, 'owner = "cat"\ntier = "low"\n'
                              'tier_reason = "advisory only"\npurpose = "Rank claims"\n'
                              'out_of_scope_uses = ["pricing"]\n')
    result = cli("models", "register", "claims", "--from", folder, "--json", token=people["ana"])
    assert result.code == 0, result.err
    assert {a["path"].rsplit("/", 1)[1] for a in result.json()["artifacts"]} >= {"model.toml"}
    entry = _inventory(cli)[0]
    assert entry["model"] == "claims" and entry["metadata"]["tier"] == "low"
    assert entry["metadata"]["out_of_scope_uses"] == ["pricing"]


@pytest.mark.parametrize(("toml", "message"), [
    ('tier = "low"\n', "a tier needs its reason"),
    ('owner = "ghost"\n', "owner 'ghost' is not a user"),
    ('colour = "red"\n', "colour: unknown field"),
    ('owner = 7\n', "owner must be a text"),
    ('intended_uses = "one"\n', "intended_uses must be a list of texts"),
    ('owner = "ana\n', "malformed TOML"),
    ("# " + "x" * 70_000 + "\n", "too large for a model.toml"),
])
def test_a_bad_model_toml_registers_nothing(cli, gov_ws: Workspace, people: dict[str, str],
                                            tmp_path: Path, toml: str, message: str) -> None:
    folder = _artifact_folder(tmp_path, toml)
    result = cli("models", "register", "claims", "--from", folder, token=people["ana"])
    assert result.code == 2 and message in result.err, result.err
    assert "claims" not in {m["model"] for m in cli("models", "list", "--json").json()}


def test_a_model_toml_needs_the_right_to_describe(cli, gov_ws: Workspace, tmp_path: Path) -> None:
    folder = _artifact_folder(tmp_path, 'purpose = "x"\n')
    local = cli("models", "register", "claims", "--from", folder)  # no token: may register
    assert local.code == 1 and "describe needs" in local.err
    assert "claims" not in {m["model"] for m in cli("models", "list", "--json").json()}


# --- tiers and independent validation -------------------------------------------------------


def test_a_high_tier_model_cannot_go_live_without_a_validator(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], *HIGH).code == 0
    record_bias(gov_ws, "fraud", 1)
    _sign(cli, people, ("ana", "risk_lead"), ("ben", "platform_owner"))
    refused = cli("promote", "fraud", "1", token=people["ben"])
    assert refused.code == 1 and "missing validator" in refused.err
    _sign(cli, people, ("r-validator", "validator"))
    promoted = cli("promote", "fraud", "1", token=people["ben"])
    assert promoted.code == 0, promoted.err
    entry = _inventory(cli)[0]
    assert entry["state"] == "production" and entry["live_version"] == 1
    assert entry["last_validation"]["by"] == ["ana", "ben", "r-validator"]
    assert entry["next_revalidation_due"] == date.today().replace(
        year=date.today().year + 1).isoformat()


def test_a_validator_who_built_or_owns_the_model_is_refused(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path: Path) -> None:
    add_user(gov_ws, name="vic", roles=("validator", "risk_lead"), actor="admin")
    vic = create_token(gov_ws, name="vic-token", user="vic", actor="admin")
    assert _describe(cli, people["ana"], *HIGH).code == 0
    # vic registers v2: having built a version, vic may not validate any version
    folder = _artifact_folder(tmp_path, None)
    assert cli("models", "register", "fraud", "--from", folder, token=vic).code == 0
    refused = cli("approve", "fraud", "1", "--role", "validator", token=vic)
    assert refused.code == 1 and "built a version of fraud or owns it" in refused.err
    # the owner may not validate either
    assert _describe(cli, people["ana"], "--owner", "r-validator").code == 0
    owner = cli("approve", "fraud", "1", "--role", "validator", token=people["r-validator"])
    assert owner.code == 1 and "built a version of fraud or owns it" in owner.err
    # the author of v1 may not approve v1 under any role
    assert cli("approve", "fraud", "1", "--role", "risk_lead",
               token=people["trainer"]).code == 1


def test_a_validator_role_is_not_a_sign_off_role_of_a_medium_tier(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "medium", "--tier-reason", "r").code == 0
    result = cli("approve", "fraud", "1", "--role", "validator", token=people["r-validator"])
    assert result.code == 2 and "for a medium-tier model" in result.err


# --- re-validation --------------------------------------------------------------------------


def _gate(ws: Workspace, now: datetime) -> dict:
    report = evaluate_gates(ws, "fraud", 1, smoke_test=smoke_test, now=now)
    return next(g for g in report.as_dict()["gates"] if g["name"] == "revalidation")


def test_due_today_passes_and_tomorrow_gates_the_next_promotion(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "medium", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    _backdate_approvals(gov_ws, datetime(2024, 10, 1, 9, tzinfo=UTC))
    assert _inventory(cli, "--overdue")[0]["next_revalidation_due"] == "2026-10-01"
    on_the_day = _gate(gov_ws, datetime(2026, 10, 1, 23, 59, tzinfo=UTC))
    assert on_the_day["status"] == "pass" and "next due 2026-10-01" in on_the_day["detail"]
    day_after = _gate(gov_ws, datetime(2026, 10, 2, 0, 0, tzinfo=UTC))
    assert day_after["status"] == "fail"
    assert "riskops approve fraud 1 --role validator --revalidation" in day_after["detail"]
    # the real clock (after 2026-10-01): the promotion is refused for that reason, canary too
    gates = cli("gates", "fraud", "1", "--json")
    assert gates.code == 1 and gates.json()["failing"] == ["revalidation"]
    canary = cli("gates", "fraud", "1", "--stage", "canary", "--json")
    assert canary.code == 1 and canary.json()["failing"] == ["revalidation"]
    # a validator re-validates the live version: due again in 24 months
    signed = cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
                 token=people["r-validator"])
    assert signed.code == 0, signed.err
    entry = _inventory(cli)[0]
    assert not entry["overdue"] and entry["last_validation"]["kind"] == "revalidation"
    assert cli("gates", "fraud", "1").code == 0
    assert _inventory(cli, "--overdue") == []


def test_revalidation_is_a_validators_act_on_the_live_version(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    not_live = cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
                   token=people["r-validator"])
    assert not_live.code == 2 and "no version in service" in not_live.err
    _go_live(cli, gov_ws, people)
    wrong_role = cli("approve", "fraud", "1", "--role", "risk_lead", "--revalidation",
                     token=people["ana"])
    assert wrong_role.code == 2 and "signed under --role validator" in wrong_role.err
    author = cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
                 token=people["r-validator"])
    assert author.code == 0
    twice = cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
                token=people["r-validator"])
    assert twice.code == 1 and "already signed a re-validation" in twice.err


def test_the_reminder_goes_out_once_then_weekly(cli, gov_ws: Workspace,
                                                people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--owner", "cat", "--tier", "low",
                     "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    _backdate_approvals(gov_ws, datetime(2023, 1, 10, tzinfo=UTC))   # due 2026-01-10

    def run(day: str) -> dict:
        return revalidation_check(gov_ws, {"now": f"{day}T07:00:00+00:00"})

    assert run("2026-01-10")["notified"] == []             # due that day: in time
    assert run("2026-01-11")["notified"] == ["fraud"]
    assert run("2026-01-12")["notified"] == [] and run("2026-01-17")["notified"] == []
    assert run("2026-01-18")["notified"] == ["fraud"]      # a week later
    sent = _events(gov_ws, "ml.model.revalidation.due")
    assert [e["reminder"] for e in sent] == [False, True]
    assert sent[0]["modelId"] == "fraud" and sent[0]["dueDate"] == "2026-01-10"
    assert sent[0]["tier"] == "low" and sent[0]["owner"] == "cat"
    # once re-validated nothing goes out, and the next lapse notifies at once again
    assert cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
               token=people["r-validator"]).code == 0
    assert run("2026-12-31")["overdue"] == []
    assert run("2029-12-31")["notified"] == ["fraud"]


def test_the_reminder_job_runs_from_the_catalog(cli, gov_ws: Workspace) -> None:
    result = cli("jobs", "run", "revalidation-check", "--metadata",
                 '{"now": "2026-01-01T00:00:00+00:00"}')
    assert result.code == 0, result.err
    bad = cli("jobs", "run", "revalidation-check", "--metadata", '{"now": "soon"}')
    assert bad.code != 0 and "not an ISO date-time" in bad.err + bad.out


# --- the inventory as an examiner reads it ------------------------------------------------------


def test_inventory_csv_lists_every_model_and_defuses_formulas(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path: Path) -> None:
    assert _describe(cli, people["ana"], "--owner", "ana", *HIGH, "--purpose",
                     "=HYPERLINK(\"http://evil\")", "--intended-use", "a|b").code == 0
    assert cli("models", "register", "claims", "--from", _artifact_folder(tmp_path, None),
               token=people["ana"]).code == 0
    result = cli("inventory", "--csv")
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["model"] for r in rows] == ["claims", "fraud"]
    fraud = rows[1]
    assert fraud["owner"] == "ana" and fraud["tier"] == "high" and fraud["state"] == "development"
    assert fraud["purpose"] == "'=HYPERLINK(\"http://evil\")"
    assert fraud["overdue"] == "no" and fraud["next_revalidation_due"] == ""
    assert rows[0]["owner"] == "" and rows[0]["tier"] == ""
    assert cli("inventory", "--csv", "--json").code == 2
    notes = _inventory(cli)[0]["notes"]
    assert any("no risk tier" in n for n in notes) and any("no owner" in n for n in notes)


def test_raising_the_tier_asks_for_the_validation_the_new_tier_needs(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "medium", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    assert not _inventory(cli)[0]["overdue"]
    assert _describe(cli, people["ana"], *HIGH).code == 0
    entry = _inventory(cli)[0]
    assert entry["overdue"] and entry["never_validated"] and entry["last_validation"] is None
    assert "never validated" in cli("inventory", "--csv").out


def test_inventory_shows_open_alerts(cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    from riskops.events import emit_now
    from riskops.storage.alert_state import save_states

    _go_live(cli, gov_ws, people)
    record_bias(gov_ws, "fraud", 1, status="fail")
    assert [a["kind"] for a in _inventory(cli)[0]["open_alerts"]] == ["bias"]
    now = datetime.now(UTC)
    with db.write_transaction(gov_ws.database_url) as session:
        save_states(session, {
            ("feature", "default", "fraud", "", "amount", "psi"): {
                "firing": True, "breaches": 3, "cleans": 0, "evaluated_at": now,
                "last_value": 0.4, "changed_at": now},
            ("performance", "default", "fraud@1", "", "", "brier"): {
                "firing": False, "breaches": 1, "cleans": 0, "evaluated_at": now,
                "last_value": 0.1, "changed_at": now}})
    emit_now(gov_ws, type="model_integrity_failed", subject="fraud",
             data={"models": ["fraud"], "problem": "1 integrity failure(s)"}, source="test")
    alerts = _inventory(cli)[0]["open_alerts"]
    assert [a["kind"] for a in alerts] == ["drift", "bias", "integrity"]
    assert alerts[0]["feature"] == "amount"
    # a passing integrity check afterwards clears the integrity alert
    assert cli("jobs", "run", "integrity-check").code == 0
    assert [a["kind"] for a in _inventory(cli)[0]["open_alerts"]] == ["drift", "bias"]


def test_get_inventory_answers_json_and_csv(gov_ws: Workspace, people: dict[str, str]) -> None:
    from riskops.serving.app import create_app

    with TestClient(create_app(gov_ws), raise_server_exceptions=False) as client:
        assert client.get("/inventory").status_code == 401
        headers = {"Authorization": f"Bearer {people['r-validator']}"}
        body = client.get("/inventory", headers=headers).json()
        assert [m["model"] for m in body["models"]] == ["fraud"]
        assert body["models"][0]["state"] == "development"
        as_csv = client.get("/inventory?format=csv", headers=headers)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.text.splitlines()[0].startswith("model,state,owner,tier")
        assert client.get("/inventory?overdue=true", headers=headers).json() == {"models": []}
        bad = client.get("/inventory?format=xml", headers=headers)
        assert bad.status_code == 422 and "format" in bad.text


# --- model cards --------------------------------------------------------------------------------


def test_the_card_status_follows_the_version(cli, gov_ws: Workspace, people: dict[str, str],
                                             tmp_path: Path) -> None:
    def status() -> str:
        return cli("models", "card", "fraud", "1", "--json").json()["model_card_status"]

    assert status() == "Draft"
    record_bias(gov_ws, "fraud", 1)
    _sign(cli, people, ("ana", "risk_lead"))
    assert status() == "PendingReview"
    _sign(cli, people, ("ben", "platform_owner"))
    assert cli("promote", "fraud", "1", token=people["ben"]).code == 0
    assert status() == "Approved"
    written = cli("models", "card", "fraud", "1", "--out", tmp_path / "card")
    assert written.code == 0
    card = json.loads((tmp_path / "card" / "model-card.json").read_text())
    assert card["model_overview"]["model_version"] == 1
    assert "# " in (tmp_path / "card" / "model-card.md").read_text()
    (tmp_path / "file").write_text("x")
    assert cli("models", "card", "fraud", "1", "--out", tmp_path / "file").code == 2
    assert cli("models", "card", "fraud", "9").code == 2


# --- what an adversarial review found, kept fixed -------------------------------------------


def test_a_break_glass_version_is_unvalidated_whatever_came_before(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path: Path) -> None:
    """The validation is of the version in service: v1's sign-offs do not cover a v2
    forced past its gates."""
    assert _describe(cli, people["ana"], "--tier", "medium", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    assert cli("models", "register", "fraud", "--from", _artifact_folder(tmp_path, None),
               token=people["cat"]).code == 0
    forced = cli("promote", "fraud", "2", "--break-glass", "incident 42", token=people["admin"])
    assert forced.code == 0, forced.err
    entry = _inventory(cli)[0]
    assert entry["validated_version"] == 2 and entry["last_validation"] is None
    assert entry["overdue"] and entry["never_validated"]
    assert [e["model"] for e in _inventory(cli, "--overdue")] == ["fraud"]


def test_dropping_to_the_heuristic_does_not_dodge_the_revalidation_gate(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "medium", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    _backdate_approvals(gov_ws, datetime(2024, 1, 1, tzinfo=UTC))
    assert cli("rollback", "fraud", "--fallback", "heuristic", token=people["ana"]).code == 0
    entry = _inventory(cli)[0]
    assert entry["live_version"] is None and entry["validated_version"] == 1
    assert entry["overdue"]
    gates = cli("gates", "fraud", "1", "--json")
    assert gates.code == 1 and gates.json()["failing"] == ["revalidation"]
    # the validator re-validates the version a return would resume
    assert cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
               token=people["r-validator"]).code == 0
    assert cli("gates", "fraud", "1").code == 0


def test_a_failed_revalidation_makes_the_model_overdue_at_once(
        cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "low", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    failed = cli("reject", "fraud", "1", "--role", "validator", "--revalidation", "--comment",
                 "fails back-testing", token=people["r-validator"])
    assert failed.code == 0 and "failed the re-validation" in failed.out
    entry = _inventory(cli)[0]
    assert entry["overdue"] and entry["revalidation_failed"]["by"] == "r-validator"
    assert "re-validation failed" in cli("inventory", "--csv").out
    gate = cli("gates", "fraud", "1", "--json").json()
    assert gate["failing"] == ["revalidation"]
    assert "re-validation failed on" in json.dumps(gate)
    # another validator's later re-validation renews it
    add_user(gov_ws, name="val2", roles=("validator",), actor="admin")
    val2 = create_token(gov_ws, name="val2-token", user="val2", actor="admin")
    assert cli("approve", "fraud", "1", "--role", "validator", "--revalidation",
               token=val2).code == 0
    assert not _inventory(cli)[0]["overdue"]


def test_a_former_owner_stays_too_close_to_validate(cli, gov_ws: Workspace,
                                                    people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], *HIGH, "--owner", "r-validator").code == 0
    # the owner hands the model back, then tries to validate it: still refused
    assert _describe(cli, people["r-validator"], "--owner", "ana").code == 0
    refused = cli("approve", "fraud", "1", "--role", "validator", token=people["r-validator"])
    assert refused.code == 1 and "built a version of fraud or owns it" in refused.err
    lowered = _describe(cli, people["r-validator"], "--tier", "low")
    assert lowered.code == 1 and "built a version of fraud or owns it" in lowered.err


def test_a_validator_registering_a_model_toml_cannot_lower_the_tier(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path: Path) -> None:
    add_user(gov_ws, name="mix", roles=("risk_lead", "validator"), actor="admin")
    mix = create_token(gov_ws, name="mix-token", user="mix", actor="admin")
    assert _describe(cli, people["ana"], *HIGH).code == 0
    folder = _artifact_folder(tmp_path, 'tier = "low"\ntier_reason = "x"\n')
    refused = cli("models", "register", "fraud", "--from", folder, token=mix)
    assert refused.code == 1 and "cannot lower its tier" in refused.err
    assert [m["versions"] for m in cli("models", "list", "--json").json()] == [[1]]


@pytest.mark.parametrize("text", ["safe\u202egnp.exe", "a\u0085b", "x\u009b31m", "a\u2028b"])
def test_invisible_and_reordering_characters_are_refused(cli, gov_ws: Workspace,
                                                         people: dict[str, str],
                                                         text: str) -> None:
    result = _describe(cli, people["ana"], "--purpose", text)
    assert result.code == 2 and "control character" in result.err


def test_a_tier_keeps_its_reason(cli, gov_ws: Workspace, people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], *HIGH).code == 0
    emptied = _describe(cli, people["ana"], "--tier-reason", "")
    assert emptied.code == 2 and "a tier needs its reason" in emptied.err


def test_the_reminder_clock_is_read_in_utc(cli, gov_ws: Workspace,
                                          people: dict[str, str]) -> None:
    assert _describe(cli, people["ana"], "--tier", "low", "--tier-reason", "r").code == 0
    _go_live(cli, gov_ws, people)
    _backdate_approvals(gov_ws, datetime(2023, 1, 10, tzinfo=UTC))   # due 2026-01-10
    # 2026-01-11 00:30 at +14:00 is still 2026-01-10 in UTC: in time
    assert revalidation_check(gov_ws, {"now": "2026-01-11T00:30:00+14:00"})["overdue"] == []
    assert revalidation_check(gov_ws, {"now": "2026-01-11T10:30:00+00:00"})["notified"] == [
        "fraud"]
    # a run with an earlier clock (a backfill) neither resets nor repeats the notice
    assert revalidation_check(gov_ws, {"now": "2025-06-01T00:00:00+00:00"})["notified"] == []
    assert revalidation_check(gov_ws, {"now": "2026-01-12T10:30:00+00:00"})["notified"] == []

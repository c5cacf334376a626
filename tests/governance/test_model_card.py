"""Model cards of a trained version: every number is its reports', what is missing says so,
and text from users renders as text."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from gov_helpers import gov_template  # noqa: F401  (fixture)

from riskops.config import Workspace, open_workspace
from riskops.governance.approvals import approval_state, decide
from riskops.governance.bias_audit import audit_version
from riskops.governance.model_card import (
    CARD_STATUSES,
    NOT_DOCUMENTED,
    build_model_card,
    render_markdown,
)
from riskops.registry.loader import read_artifact
from riskops.registry.manifest import read_verified_manifest
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.storage import db, repository
from riskops.tokens import identify
from riskops.training.pipeline import train_scenario
from riskops.training.reports import EVALUATION_FILE, REPRODUCIBILITY_FILE

HOSTILE = "<script>alert(1)</script> a|b\n# heading"
METADATA = {
    "owner": "ana", "tier": "high", "tier_reason": "blocks payments without review",
    "purpose": "Flag card payments for fraud review.", "business_line": "cards",
    "intended_uses": ["pre-authorisation review queue", "analyst triage"],
    "out_of_scope_uses": ["automatic account closure"],
    "limitations": ["trained on 60 days of synthetic payments"],
    "description": "Calibrated gradient boosting on payment features.",
    "updated_at": "2026-12-01T09:00:00+00:00", "updated_by": "ana",
}


def _documents(ws: Workspace, version: int) -> dict[str, Any]:
    """What a caller reads for a card: the verified reports, the registry entry, the latest
    bias audit (as the bias gate reads it) and the approval state."""
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    reports = {name: json.loads(read_artifact(verified, "fraud", version, name))
               for name in (EVALUATION_FILE, REPRODUCIBILITY_FILE)}
    info = next(v for v in Registry(ws).show_model("fraud")["versions"]
                if v["version"] == version)
    with db.read_session(ws.database_url) as session:
        row = repository.latest_bias_audit(session, "fraud", version)
        audit = None if row is None else {
            "status": row.status, "created_at": row.created_at.isoformat(), "actor": row.actor,
            "artifacts_sha256": row.artifacts_sha256, "report": json.loads(row.report)}
    return {"version_info": info, "evaluation": reports[EVALUATION_FILE],
            "reproducibility": reports[REPRODUCIBILITY_FILE], "bias_audit": audit,
            "approvals": approval_state(ws, "fraud", version)}


def _copy(template: Path, root: Path) -> Workspace:
    home = root / "ws"
    shutil.copytree(template, home)
    return open_workspace(home)


@pytest.fixture(scope="module")
def v1(gov_template: Path, tmp_path_factory: pytest.TempPathFactory
       ) -> dict[str, Any]:
    """fraud v1, audited for bias for real and approved by ana with a hostile comment."""
    ws = _copy(gov_template, tmp_path_factory.mktemp("card-v1"))
    tokens = json.loads((gov_template.parent / "tokens.json").read_text())
    audit_version(ws, "fraud", 1, actor="local:auditor")
    decide(ws, identify(ws, tokens["ana"]), "fraud", 1, decision="approve", role="risk_lead",
           comment=HOSTILE)
    documents = _documents(ws, 1)
    db.dispose_engines()
    return documents


@pytest.fixture(scope="module")
def v2(gov_template: Path, tmp_path_factory: pytest.TempPathFactory
       ) -> dict[str, Any]:
    """fraud v2, trained on later payments while v1 is in production: compared with it."""
    root = tmp_path_factory.mktemp("card-v2")
    ws = _copy(gov_template, root)
    Registry(ws).promote("fraud", 1, actor="test", force=True)
    frame = get_scenario("fraud").generate(4000, start=date(2026, 3, 1), days=60, seed=2)
    frame.to_parquet(root / "later.parquet")
    train_scenario(ws, "fraud", root / "later.parquet", actor="trainer")
    documents = _documents(ws, 2)
    db.dispose_engines()
    return documents


def _card(documents: dict[str, Any], **changes: Any) -> dict[str, Any]:
    arguments = {"model": "fraud", "version": documents["version_info"]["version"],
                 "status": "Draft", "metadata": METADATA, **documents, **changes}
    return build_model_card(**arguments)


def _entry(card: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in card["evaluation_details"] if e["name"] == name)


def _groups(entry: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {g["name"]: {m["name"]: m for m in g["metric_data"]} for g in entry["metric_groups"]}


def _assert_same(got: dict[str, dict[str, Any]], expected: dict[str, Any]) -> int:
    """``got`` (a card group) holds exactly ``expected`` (a report dict), value for value and
    type for type; an undefined value as "undefined" with the report's reason. Returns the
    number of undefined values seen."""
    wanted = {k: v for k, v in expected.items() if k != "undefined"}
    assert set(got) == set(wanted)
    undefined = 0
    for name, value in wanted.items():
        metric = got[name]
        if value is None:
            undefined += 1
            assert (metric["type"], metric["value"]) == ("string", "undefined")
            if name in expected.get("undefined", {}):
                assert metric["notes"] == expected["undefined"][name]
        else:
            assert metric["value"] == value and type(metric["value"]) is type(value), name
            assert metric["type"] == ("boolean" if isinstance(value, bool) else "number")
    return undefined


def test_slice_and_segment_metrics_are_the_evaluation_reports(v1: dict[str, Any]) -> None:
    card, report = _card(v1), v1["evaluation"]
    undefined = 0
    for slice_name, metrics in report["metrics"].items():
        groups = _groups(_entry(card, slice_name))
        expected = {"overall": metrics}
        for column, found in report["segments"][slice_name].items():
            for value, segment in found["values"].items():
                expected[f"{column}={value}"] = segment
        assert set(groups) == set(expected)
        for name, wanted in expected.items():
            undefined += _assert_same(groups[name], wanted)
    assert undefined > 0  # a segment without predicted positives has no precision
    headline = {m["name"]: m["value"]
                for m in card["training_details"]["training_job_details"]["training_metrics"]}
    assert headline == v1["version_info"]["metrics"]
    m = report["metrics"]["validation"]  # the markdown shows 4 decimals, counts first
    assert (f"| overall | {m['rows']} | {m['positives']} | {m['positive_rate']:.4f} | "
            f"{m['threshold']:.4f} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} |"
            ) in render_markdown(card)


def test_bias_numbers_are_the_audit_reports(v1: dict[str, Any]) -> None:
    card, audit = _card(v1), v1["bias_audit"]
    report = audit["report"]
    groups = _groups(_entry(card, "bias audit"))
    expected = {"limits": report["limits"]}
    for column, section in report["sensitive"].items():
        expected[f"{column} differences"] = section["differences"]
        for group, rates in section["groups"].items():
            expected[f"{column}={group}"] = rates
    assert set(groups) == set(expected)
    for name, wanted in expected.items():
        _assert_same(groups[name], wanted)
    summary = card["riskops"]["bias_audit"]
    assert summary["status"] == audit["status"] and summary["reasons"] == report["reasons"]
    assert summary["of_current_artifacts"] is True
    assert summary["judged"] == [c for c, s in report["sensitive"].items() if s["judged"]]
    assert card["additional_information"]["custom_details"]["bias_audit"] == audit["status"]
    for reason in report["reasons"]:
        assert reason in card["additional_information"]["ethical_considerations"]


def test_golden_comparison_with_production_is_the_reports(v1: dict[str, Any],
                                                          v2: dict[str, Any]) -> None:
    comparison = v2["evaluation"]["comparison"]
    assert comparison["status"] == "compared" and comparison["production_version"] == 1
    groups = _groups(_entry(_card(v2, bias_audit=None), "golden vs production v1"))
    golden = comparison["golden_metrics"]
    _assert_same(groups["candidate"], golden["candidate"])
    _assert_same(groups["production"], golden["production"])
    _assert_same(groups["delta (candidate - production)"], golden["delta"])
    shift = {k: v for k, v in comparison["golden"].items() if k != "flips"}
    shift.update({f"flipped {k}": n for k, n in comparison["golden"]["flips"].items()})
    _assert_same(groups["score shift"], shift)
    unmatched = _entry(_card(v1), "golden")["evaluation_observation"]
    assert "not compared with production: fraud has no version in production" in unmatched


@pytest.mark.parametrize(("tier", "rating"), [
    ("high", "High"), ("medium", "Medium"), ("low", "Low"), ("Low", "Low"), (None, "Unknown"),
])
def test_risk_rating_follows_the_inventory_tier(v1: dict[str, Any], tier: str | None,
                                                rating: str) -> None:
    card = _card(v1, metadata={**METADATA, "tier": tier})
    assert card["intended_uses"]["risk_rating"] == rating


def test_an_unknown_tier_is_refused_naming_the_tiers(v1: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="tier 'critical' of fraud is not one of high, "
                                         "medium, low"):
        _card(v1, metadata={**METADATA, "tier": "critical"})


@pytest.mark.parametrize("status", CARD_STATUSES)
def test_status_is_passed_through(v1: dict[str, Any], status: str) -> None:
    assert _card(v1, status=status)["model_card_status"] == status


def test_an_unknown_status_is_refused_naming_the_statuses(v1: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="status 'approved' is not one of Draft, "
                                         "PendingReview, Approved, Archived"):
        _card(v1, status="approved")


def test_documents_of_another_version_are_refused(v1: dict[str, Any],
                                                  v2: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="evaluation is of training_run_id"):
        _card(v1, evaluation=v2["evaluation"])
    with pytest.raises(ValueError, match="approvals is of version 2, not 1"):
        _card(v1, approvals=v2["approvals"])


def test_inventory_fields_map_to_the_sagemaker_sections(v1: dict[str, Any]) -> None:
    card = _card(v1)
    uses, info = card["intended_uses"], card["additional_information"]
    assert uses["purpose_of_model"] == METADATA["purpose"]
    assert uses["intended_uses"] == "pre-authorisation review queue\nanalyst triage"
    assert uses["factors_affecting_model_efficiency"] == METADATA["limitations"][0]
    assert uses["explanations_for_risk_rating"] == METADATA["tier_reason"]
    assert info["caveats_and_recommendations"] == "automatic account closure"
    assert card["model_overview"]["model_owner"] == "ana"
    assert card["model_overview"]["model_creator"] == "trainer"
    assert card["business_details"]["line_of_business"] == "cards"
    assert card["riskops"]["artifacts_sha256"] == v1["approvals"]["artifacts_sha256"]
    assert card["riskops"]["metadata_updated"] == {"at": METADATA["updated_at"], "by": "ana"}


def test_without_metadata_each_field_says_how_to_document_it(v1: dict[str, Any]) -> None:
    card = _card(v1, metadata=None)
    fields = {"model_description": card["model_overview"]["model_description"],
              "owner": card["model_overview"]["model_owner"],
              "purpose": card["intended_uses"]["purpose_of_model"],
              "intended-uses": card["intended_uses"]["intended_uses"],
              "limitations": card["intended_uses"]["factors_affecting_model_efficiency"],
              "tier-reason": card["intended_uses"]["explanations_for_risk_rating"],
              "business-line": card["business_details"]["line_of_business"],
              "out-of-scope-uses": card["additional_information"]["caveats_and_recommendations"]}
    for flag, text in fields.items():
        assert text.startswith(f"{NOT_DOCUMENTED}; run riskops models describe fraud --"), flag
    assert "--tier-reason" in fields["tier-reason"] and "--owner USER" in fields["owner"]
    # the hints name the real options of riskops models describe (cli/inventory.py)
    assert fields["intended-uses"].endswith("--intended-use TEXT")
    assert fields["limitations"].endswith("--limitation TEXT")
    assert fields["out-of-scope-uses"].endswith("--out-of-scope TEXT")
    assert card["intended_uses"]["risk_rating"] == "Unknown"
    assert card["riskops"]["metadata_updated"] is None
    assert "not documented; run riskops models describe fraud --owner USER" in (
        render_markdown(card))


def test_without_reports_or_audit_the_card_says_what_is_missing(v1: dict[str, Any]) -> None:
    card = _card(v1, evaluation=None, reproducibility=None, bias_audit=None)
    assert [e["name"] for e in card["evaluation_details"]] == ["evaluation", "bias audit"]
    missing = card["evaluation_details"][0]
    assert missing["evaluation_observation"].startswith(
        "missing: fraud v1 has no evaluation-report.json")
    assert missing["metric_groups"] == []
    assert card["riskops"]["missing"] == [EVALUATION_FILE, REPRODUCIBILITY_FILE]
    assert card["riskops"]["bias_audit"] is None
    assert "riskops audit bias fraud 1" in card["evaluation_details"][1][
        "evaluation_observation"]
    job = card["training_details"]["training_job_details"]
    assert job["training_datasets"] == [] and job["training_environment"] == {
        "container_image": []}
    text = render_markdown(card)
    assert "missing: fraud v1 has no evaluation-report.json" in text
    assert "- reproducibility-report.json" in text


def test_an_audit_of_other_bytes_is_flagged(v1: dict[str, Any]) -> None:
    stale = {**v1["bias_audit"], "artifacts_sha256": "0" * 64}
    card = _card(v1, bias_audit=stale)
    assert card["riskops"]["bias_audit"]["of_current_artifacts"] is False
    assert "(of other artifacts: audit again)" in card["additional_information"][
        "custom_details"]["bias_audit"]


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_hostile_text_renders_as_text(v1: dict[str, Any]) -> None:
    hostile = {**METADATA, "owner": HOSTILE, "purpose": HOSTILE, "intended_uses": [HOSTILE],
               "business_line": "x | y | z"}
    card = _card(v1, metadata=hostile)
    assert card["riskops"]["approvals"]["decisions"][0]["comment"] == HOSTILE  # JSON verbatim
    text = render_markdown(card)
    assert "<script>" not in text and "&lt;script&gt;" in text
    lines = text.split("\n")
    assert not [line for line in lines if re.match(r"\s*#+\s*heading", line)]
    assert all(line.startswith(("# Model card", "## ", "### ")) for line in lines
               if line.startswith("#"))
    table: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:  # every row of a table has as many cells as its header
            assert {_unescaped_pipes(row) for row in table} == {_unescaped_pipes(table[0])}
        table = []
    approval_row = next(line for line in lines if line.startswith("| ana | risk\\_lead |"))
    assert "a\\|b \\# heading" in approval_row


def test_card_is_plain_json_and_round_trips(v1: dict[str, Any]) -> None:
    card = _card(v1)

    def walk(value: Any) -> None:
        assert type(value) in (dict, list, str, int, float, bool, type(None)), type(value)
        for item in value.values() if isinstance(value, dict) else (
                value if isinstance(value, list) else []):
            walk(item)

    walk(card)
    assert json.loads(json.dumps(card, allow_nan=False)) == card
    assert card["schema"] == "riskops.model-card/v1"
    assert set(card) == {"schema", "model_card_status", "model_overview", "intended_uses",
                         "business_details", "training_details", "evaluation_details",
                         "additional_information", "riskops"}

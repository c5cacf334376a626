"""`riskops evidence`: the bundle of a trained, audited, approved, promoted version verifies
offline, and every edit, deletion, addition or re-signing of it is named by `evidence verify`."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from riskops.config import Workspace
from riskops.governance import evidence_check
from riskops.governance.approvals import approval_state, decide
from riskops.governance.evidence import build_bundle
from riskops.governance.evidence_check import LISTED_FILES, verify_bundle
from riskops.governance.promotion import promote
from riskops.registry.signing import load_private_key, sign_bytes
from riskops.scenarios import get_scenario
from riskops.serving.smoke import smoke_test
from riskops.storage import alert_state, db, repository
from riskops.storage.tables import BiasAuditRow
from riskops.tokens import add_user, create_token, identify
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

ALL_FILES = (*LISTED_FILES, "SHA256SUMS", "SHA256SUMS.sig")
JSON_FILES = tuple(f for f in LISTED_FILES if f.endswith(".json"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    """A workspace with fraud v1 trained, bias-audited, approved by two users, promoted by
    an admin breaking the glass, with one drift alert; and the bundle of fraud v1."""
    root = tmp_path_factory.mktemp("evidence")
    ws = init_workspace(root / "ws").workspace
    data = root / "fraud.csv"
    get_scenario("fraud").generate(1200, start=datetime(2024, 1, 1).date(), days=60,
                                   seed=0).to_csv(data, index=False)
    train_scenario(ws, "fraud", data, actor="local:ann")
    add_user(ws, name="rita", roles=("risk_lead",), actor="test")
    add_user(ws, name="paul", roles=("platform_owner",), actor="test")
    rita = identify(ws, create_token(ws, name="rita-cli", user="rita", actor="test"))
    paul = identify(ws, create_token(ws, name="paul-cli", user="paul", actor="test"))
    admin = identify(ws, create_token(ws, name="root", role="admin", actor="test"))
    digest = approval_state(ws, "fraud", 1)["artifacts_sha256"]
    now = datetime.now(UTC)
    with db.write_transaction(ws.database_url) as session:
        repository.add_bias_audit(session, BiasAuditRow(
            model_name="fraud", version=1, status="pass", artifacts_sha256=digest,
            report=json.dumps({"status": "pass", "reasons": []}), actor="rita",
            created_at=now))
        alert_state.save_states(session, {("data_drift", "acme", "fraud", "", "amount", "psi"): {
            "firing": True, "breaches": 3, "cleans": 0, "evaluated_at": now,
            "last_value": 0.31, "changed_at": now}})
    decide(ws, rita, "fraud", 1, decision="approve", role="risk_lead", comment="looks sound")
    decide(ws, paul, "fraud", 1, decision="approve", role="platform_owner")
    promote(ws, admin, "fraud", 1, break_glass="fraud wave over the weekend",
            smoke_test=smoke_test)
    bundle = root / "bundle"
    build_bundle(ws, "fraud", 1, bundle, actor="test", smoke_test=smoke_test)
    return ws, bundle


@pytest.fixture
def bundle(built: tuple[Workspace, Path], tmp_path: Path) -> Path:
    """A fresh copy of the bundle, alone in a folder with no workspace."""
    return Path(shutil.copytree(built[1], tmp_path / "copy"))


@pytest.fixture
def ws(built: tuple[Workspace, Path]) -> Workspace:
    return built[0]


def _failing(result) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(line for line in result.out.splitlines() if line.startswith("FAIL"))


def _resign(bundle: Path, key: ec.EllipticCurvePrivateKey, *, manifest: bool = False) -> None:
    """Recompute SHA256SUMS and sign it (and the manifest) with ``key``: a forger's work."""
    if manifest:
        (bundle / "manifest.json.sig").write_bytes(
            sign_bytes(key, (bundle / "manifest.json").read_bytes()))
    files = {name: (bundle / name).read_bytes() for name in LISTED_FILES}
    sums = evidence_check.sha256_sums(files)
    (bundle / "SHA256SUMS").write_bytes(sums)
    (bundle / "SHA256SUMS.sig").write_bytes(sign_bytes(key, sums))


# --- a good bundle ---------------------------------------------------------------------


def test_bundle_holds_every_file_and_verifies_offline(bundle: Path, ws: Workspace,
                                                      cli) -> None:  # type: ignore[no-untyped-def]
    assert sorted(p.name for p in bundle.iterdir()) == sorted(ALL_FILES)
    result = cli("evidence", "verify", bundle, "--public-key", ws.public_key_path)
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines)
    assert "ok public key: public.pem is the pinned key" in lines


def test_sums_are_sha256sum_lines_sorted_by_path(bundle: Path) -> None:
    lines = (bundle / "SHA256SUMS").read_text().splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(LISTED_FILES)
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest


def test_json_output_lists_each_check(bundle: Path, cli) -> None:  # type: ignore[no-untyped-def]
    document = cli("evidence", "verify", bundle, "--json").json()
    assert document["status"] == "pass"
    assert [c["name"] for c in document["checks"]] == [
        "public key", "SHA256SUMS signature", "file digests", "unlisted files",
        "manifest signature", "model version", "audit chain", "approvals"]
    assert {c["status"] for c in document["checks"]} == {"ok"}


def test_documents_hold_the_version_evidence(bundle: Path, ws: Workspace) -> None:
    read = lambda name: json.loads((bundle / name).read_text())  # noqa: E731
    assert (bundle / "manifest.json").read_bytes() == ws.manifest_path.read_bytes()
    assert (bundle / "public.pem").read_bytes() == ws.public_key_path.read_bytes()
    stored = ws.store_dir / "models/fraud/1/evaluation-report.json"
    assert (bundle / "evaluation-report.json").read_bytes() == stored.read_bytes()
    assert read("score-delta.json")["status"] == "no production version"
    assert read("bias-report.json")["status"] == "pass"
    assert read("approvals.json")["complete"] is True
    assert read("gates.json")["status"] == "pass"
    assert read("model-integrity.json")["status"] == "pass"
    drift = read("drift-scan.json")
    assert drift["firing"] == 1 and drift["alert_states"][0]["model_id"] == "fraud"
    [glass] = read("break-glass.json")
    assert json.loads(glass["data"])["break_glass"] == "fraud wave over the weekend"
    log = read("audit-log.json")
    manifest = read("manifest.json")
    assert log["entries"][-1]["hash"] == manifest["audit_head"]["hash"]
    about = {e["seq"]: e for e in log["entries"] if e["seq"] in log["about_version"]}
    assert {e["action"] for e in about.values()} == {"model.registered", "model.approved",
                                                      "model.promoted"}
    assert read("security-scan.json")["status"] == "not provided"


def test_summary_names_approvers_gates_and_break_glass(bundle: Path) -> None:
    summary = (bundle / "summary.md").read_text()
    assert "approved by rita as risk_lead at " in summary
    assert "approved by paul as platform_owner at " in summary
    assert "promoted to production by root at " in summary
    for gate in ("integrity", "bias", "reproducibility", "not_worse", "score_delta", "smoke",
                 "approvals"):
        assert f"- PASS {gate}: " in summary
    assert "fraud wave over the weekend" in summary
    assert "ROC AUC" in summary and "threshold: " in summary
    assert "- integrity: pass" in summary


# --- tampering -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FILES)
def test_a_byte_appended_to_any_file_fails_naming_it(bundle: Path, name: str,
                                                     cli) -> None:  # type: ignore[no-untyped-def]
    with (bundle / name).open("ab") as fh:
        fh.write(b"\n")
    result = cli("evidence", "verify", bundle)
    assert result.code == 1
    assert name in _failing(result)
    assert "error: evidence bundle" in result.err


@pytest.mark.parametrize("name", JSON_FILES)
def test_a_json_value_changed_in_any_file_fails_naming_it(bundle: Path, name: str,
                                                          cli) -> None:  # type: ignore[no-untyped-def]
    document = json.loads((bundle / name).read_text())
    if isinstance(document, list):
        document.append({"seq": 1})
    else:
        document[sorted(document)[0]] = "tampered"
    (bundle / name).write_text(json.dumps(document, indent=2))
    result = cli("evidence", "verify", bundle)
    assert result.code == 1
    assert f"{name} does not match its digest in SHA256SUMS" in _failing(result)


@pytest.mark.parametrize("name", ALL_FILES)
def test_a_deleted_file_fails_naming_it(bundle: Path, name: str,
                                        cli) -> None:  # type: ignore[no-untyped-def]
    (bundle / name).unlink()
    result = cli("evidence", "verify", bundle)
    assert result.code == 1
    assert name in _failing(result)


def test_an_added_file_fails_naming_it(bundle: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (bundle / "note.txt").write_text("trust me\n")
    result = cli("evidence", "verify", bundle)
    assert result.code == 1
    assert "FAIL unlisted files: not listed in SHA256SUMS: note.txt" in result.out


def test_resigned_with_another_key_passes_unpinned_and_fails_pinned(
    bundle: Path, ws: Workspace, cli, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    forged = json.loads((bundle / "bias-report.json").read_text())
    forged["actor"] = "someone-else"
    (bundle / "bias-report.json").write_text(json.dumps(forged))
    key = ec.generate_private_key(ec.SECP256R1())
    (bundle / "public.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    _resign(bundle, key, manifest=True)

    unpinned = cli("evidence", "verify", bundle)
    assert unpinned.code == 0, unpinned.out
    pinned = cli("evidence", "verify", bundle, "--public-key", ws.public_key_path)
    assert pinned.code == 1
    assert _failing(pinned) == ("FAIL public key: public.pem is not the pinned --public-key: "
                                "the bundle was signed by another key (re-signed or forged)")


def _drop_last_audit_entry(bundle: Path) -> None:
    log = json.loads((bundle / "audit-log.json").read_text())
    log["entries"].pop()
    log["about_version"] = [s for s in log["about_version"]
                            if s <= log["entries"][-1]["seq"]]
    (bundle / "audit-log.json").write_text(json.dumps(log))


def _edit_audit_entry(bundle: Path) -> None:
    log = json.loads((bundle / "audit-log.json").read_text())
    log["entries"][2]["actor"] = "someone-else"
    (bundle / "audit-log.json").write_text(json.dumps(log))


def _edit_json(name: str, key: str, value: object):  # type: ignore[no-untyped-def]
    def edit(bundle: Path) -> None:
        document = json.loads((bundle / name).read_text())
        document[key] = value
        (bundle / name).write_text(json.dumps(document))
    return edit


def _edit_report(bundle: Path) -> None:
    path = bundle / "evaluation-report.json"
    path.write_bytes(path.read_bytes().replace(b'"fraud"', b'"fraud2"', 1))


@pytest.mark.parametrize("edit, check, phrase", [
    (_drop_last_audit_entry, "audit chain", "not at the signed audit_head"),
    (_edit_audit_entry, "audit chain", "does not match its hash"),
    (_edit_json("approvals.json", "artifacts_sha256", "0" * 64), "approvals",
     "artifacts_sha256 is not the digest"),
    (_edit_json("approvals.json", "decisions", []), "approvals", "differ from those signed"),
    (_edit_json("bundle.json", "version", 2), "model version", "does not list fraud v2"),
    (_edit_report, "model version", "evaluation-report.json is not the artifact"),
    (_edit_json("model-integrity.json", "status", "fail"), "model version",
     "does not report fraud v1 as verified"),
], ids=["audit-truncated", "audit-edited", "approval-digest", "approvals-dropped",
        "bundle-version", "report-edited", "integrity-status"])
def test_content_forged_by_a_holder_of_the_workspace_key_is_caught(
    bundle: Path, ws: Workspace, edit, check: str, phrase: str  # type: ignore[no-untyped-def]
) -> None:
    edit(bundle)
    _resign(bundle, load_private_key(ws.private_key_path))
    result = verify_bundle(bundle, public_key=ws.public_key_path)
    failing = {c.name: c.detail for c in result.failing}
    assert check in failing and phrase in failing[check]
    assert not {"public key", "SHA256SUMS signature", "file digests"} & set(failing)


# --- usage errors ----------------------------------------------------------------------


def test_out_folder_that_is_not_empty_exits_2(ws: Workspace, tmp_path: Path,
                                              cli) -> None:  # type: ignore[no-untyped-def]
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "old.json").write_text("{}")
    result = cli("evidence", "fraud", "1", "--out", taken, "--home", ws.home)
    assert result.code == 2
    assert result.err == (f"error: --out {taken} exists and is not an empty folder; give a new "
                          "folder so no older file is mistaken for evidence.\n")


@pytest.mark.parametrize("model, version, message", [
    ("nosuch", "1", "model 'nosuch' is not in manifest"),
    ("fraud", "9", "fraud v9 is not in manifest"),
    ("fraud", "one", "VERSION 'one' is not a version number"),
])
def test_unknown_model_or_version_exits_2(ws: Workspace, tmp_path: Path, model: str,
                                          version: str, message: str,
                                          cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("evidence", model, version, "--out", tmp_path / "b", "--home", ws.home)
    assert result.code == 2
    assert result.err.startswith("error: ") and message in result.err
    assert not (tmp_path / "b").exists()


def test_security_scan_must_be_a_json_object(ws: Workspace, tmp_path: Path,
                                             cli) -> None:  # type: ignore[no-untyped-def]
    scan = tmp_path / "scan.json"
    scan.write_text("[1, 2]")
    result = cli("evidence", "fraud", "1", "--out", tmp_path / "b", "--home", ws.home,
                 "--security-scan", scan)
    assert result.code == 2
    assert "--security-scan" in result.err and "must hold a JSON object, not list" in result.err


def test_security_scan_is_copied_in(ws: Workspace, tmp_path: Path,
                                    cli) -> None:  # type: ignore[no-untyped-def]
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"status": "pass", "findings": []}))
    result = cli("evidence", "fraud", "1", "--out", tmp_path / "b", "--home", ws.home,
                 "--security-scan", scan)
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "b/security-scan.json").read_text())["findings"] == []
    assert cli("evidence", "verify", tmp_path / "b").code == 0


def test_bundle_is_refused_without_the_signing_key(ws: Workspace, tmp_path: Path,
                                                   cli) -> None:  # type: ignore[no-untyped-def]
    moved = tmp_path / "signing.pem"
    shutil.move(ws.private_key_path, moved)
    try:
        result = cli("evidence", "fraud", "1", "--out", tmp_path / "b", "--home", ws.home)
    finally:
        shutil.move(moved, ws.private_key_path)
    assert result.code == 2
    assert "make it on the host that holds the workspace key" in result.err
    assert not (tmp_path / "b").exists()


def test_verify_of_a_missing_folder_exits_2(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("evidence", "verify", tmp_path / "nowhere")
    assert result.code == 2
    assert result.err.startswith(f"error: evidence bundle {tmp_path / 'nowhere'} is not a folder")


def test_the_verifier_needs_no_workspace_or_database() -> None:
    tree = ast.parse(Path(evidence_check.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith(("riskops.storage", "riskops.config",
                                                            "riskops.tokens"))}

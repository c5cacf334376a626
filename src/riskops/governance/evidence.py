"""`riskops evidence MODEL VERSION --out DIR`: the change-record bundle of one version.

The bundle gathers, for an auditor who has no access to the workspace, what a
version is (the signed manifest and its key, the integrity report, the copied
evaluation and reproducibility reports), who decided (approvals, gates,
break-glass entries, the audit chain up to the manifest's signed head) and
what was observed (bias audit, drift, the incidents of automatic rollbacks),
plus ``summary.md`` for people.
``SHA256SUMS`` lists every file and ``SHA256SUMS.sig`` signs it with the
workspace key; ``evidence_check.verify_bundle`` checks it all offline.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskops import __version__
from riskops.config import Workspace
from riskops.errors import InputError, IntegrityError, RiskopsError
from riskops.governance import evidence_check as names
from riskops.governance.approvals import approval_state
from riskops.governance.bias_records import stored_audit
from riskops.governance.evidence_summary import render_summary
from riskops.governance.gates import SmokeTest, evaluate_gates
from riskops.governance.incidents import incidents_document
from riskops.registry.loader import read_artifact
from riskops.registry.manifest import verify_with_any
from riskops.registry.signing import load_private_key, sign_bytes
from riskops.registry.trust import read_workspace_manifest, trusted_pem, workspace_trust
from riskops.storage import db, repository
from riskops.storage.alert_state import read_states

NOT_PROVIDED_SECURITY = {
    "status": "not provided",
    "next": "riskops audit security --json-out security-scan.json, then riskops evidence ... "
            "--security-scan security-scan.json",
}
POINTER_ACTIONS = ("model.promoted", "model.rolled_back")


def build_bundle(ws: Workspace, model: str, version: int, out: Path, *, actor: str,
                 smoke_test: SmokeTest, security_scan: Path | None = None) -> dict[str, Any]:
    """Write the evidence bundle of ``model`` v``version`` into the new or empty folder ``out``.

    Parameters
    ----------
    ws : Workspace
        The workspace; its signing key must be present (the bundle is signed).
    model, version : str, int
        The version the bundle is about.
    out : Path
        A folder that does not exist or is empty; nothing is left there on failure.
    actor : str
        Who makes the bundle (recorded in ``bundle.json``).
    smoke_test : SmokeTest
        The serving layer's in-process smoke test, for the gate results
        (``riskops.serving.smoke.smoke_test``).
    security_scan : Path, optional
        A JSON object written by ``riskops audit security --json-out``, copied in.

    Returns
    -------
    dict
        ``{"model", "version", "folder", "files", "manifest_version"}``.

    Raises
    ------
    InputError
        ``out`` exists and is not an empty folder, the signing key is absent,
        ``security_scan`` is not a JSON object, or the model or version is unknown.
    IntegrityError
        The workspace manifest does not verify.
    """
    _check_out(out)
    if not ws.private_key_path.exists():
        raise InputError(f"the signing key {ws.private_key_path} is absent: an evidence bundle "
                         "is signed, so make it on the host that holds the workspace key.")
    scan = _security_scan(security_scan)
    files = _documents(ws, model, version, actor=actor, scan=scan, smoke_test=smoke_test)
    sums = names.sha256_sums(files)
    files[names.SUMS] = sums
    files[names.SUMS_SIG] = sign_bytes(load_private_key(ws.private_key_path), sums)
    _write_folder(out, files)
    manifest = json.loads(files[names.MANIFEST])
    return {"model": model, "version": version, "folder": str(out), "files": sorted(files),
            "manifest_version": manifest["manifest_version"]}


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out} exists and is not an empty folder; give a new folder "
                         "so no older file is mistaken for evidence.")
    if not out.resolve().parent.is_dir():
        raise InputError(f"--out {out}: folder {out.resolve().parent} does not exist; create "
                         "it first.")


def _security_scan(path: Path | None) -> dict[str, Any]:
    if path is None:
        return dict(NOT_PROVIDED_SECURITY)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--security-scan {path} cannot be read: {exc.strerror}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--security-scan {path} is not JSON ({exc}); give the file written by "
                         "riskops audit security --json-out.") from None
    if not isinstance(value, dict):
        raise InputError(f"--security-scan {path} must hold a JSON object, not "
                         f"{type(value).__name__}; give the file written by riskops audit "
                         "security --json-out.")
    return value


def _documents(ws: Workspace, model: str, version: int, *, actor: str,
               scan: dict[str, Any], smoke_test: SmokeTest) -> dict[str, bytes]:
    """Every file of the bundle but SHA256SUMS and its signature, by name."""
    from riskops.governance.cards import CARD_JSON, CARD_MARKDOWN, card_files, model_card
    from riskops.monitoring.job import last_results
    from riskops.registry.verification import verify_workspace

    trust = workspace_trust(ws)
    verified = read_workspace_manifest(ws, trust)
    entry = verified.manifest.version(model, version)  # UnknownModel / UnknownVersion
    signature = ws.signature_path.read_bytes()
    public_pem = trusted_pem(trust, verified.signed_by)  # the trusted key, never public.pem
    try:
        verify_with_any(trust.current, verified.raw, signature, subject=names.MANIFEST_SIG)
    except IntegrityError:
        raise IntegrityError(f"{ws.manifest_path} changed while the bundle was made (a change "
                             "was published); run riskops evidence again.") from None
    head = verified.manifest.audit_head
    with db.read_session(ws.database_url) as session:
        chain = [e for e in repository.audit_entries(session)
                 if head is not None and e.seq <= head.seq]
        bias_doc: dict[str, Any] = stored_audit(session, model, version) or {
            "status": "missing"}
    reports = {name: _report(verified, model, version, name) for name in names.COPIED_REPORTS}
    evaluation = _as_object(reports[names.EVALUATION])
    entries = [_entry_dict(e) for e in chain]
    about = [e["seq"] for e in entries if _about_version(e, model, version)]
    glass = [e for e in entries if _about_model(e, model) and _data(e).get("break_glass")]
    documents: dict[str, Any] = {
        names.BUNDLE: {
            "schema": names.SCHEMA, "model": model, "version": version,
            "created_at": datetime.now(UTC).isoformat(), "created_by": actor,
            "riskops_version": __version__,
            "manifest_version": verified.manifest.manifest_version,
            "entrypoint": entry.entrypoint, "author": entry.author,
            "version_created_at": entry.created_at,
            "artifacts": [a.model_dump() for a in entry.artifacts],
        },
        names.INTEGRITY: verify_workspace(ws, model, version).as_dict(),
        names.SCORE_DELTA: {"model": model, "version": version,
                            **((evaluation or {}).get("comparison") or {"status": "missing"})},
        names.BIAS: bias_doc,
        names.DRIFT: _drift_scan(ws, model, last_results(ws)),
        names.APPROVALS: approval_state(ws, model, version),
        names.GATES: evaluate_gates(ws, model, version, stage="production",
                                     smoke_test=smoke_test).as_dict(),
        names.BREAK_GLASS: glass,
        names.AUDIT_LOG: {
            "head": None if head is None else {"seq": head.seq, "hash": head.hash},
            "about_version": about, "entries": entries,
            "note": "the whole chain from entry 1 to the manifest's signed audit_head, so it "
                    "can be recomputed offline; about_version lists the entries on this version",
        },
        names.SECURITY: scan,
        names.INCIDENTS: incidents_document(ws, model, version),
    }
    files = {name: _json_bytes(doc) for name, doc in documents.items()}
    files[names.MANIFEST] = verified.raw
    files[names.MANIFEST_SIG] = signature
    files[names.PUBLIC_KEY] = public_pem
    for name, data in reports.items():
        files[name] = data if data is not None else _json_bytes(
            {"status": "missing", "reason": f"{model} v{version} lists no {name}"})
    files[names.SUMMARY] = render_summary(
        bundle=documents[names.BUNDLE], integrity=documents[names.INTEGRITY],
        evaluation=evaluation, score_delta=documents[names.SCORE_DELTA], bias=bias_doc,
        approvals=documents[names.APPROVALS], gates=documents[names.GATES],
        break_glass=glass, promotions=[e for e in entries if e["seq"] in about
                                       and e["action"] in POINTER_ACTIONS],
        drift=documents[names.DRIFT], security=scan).encode()
    card = card_files(model_card(ws, model, version))
    files[names.MODEL_CARD] = card[CARD_JSON]
    files[names.MODEL_CARD_MD] = card[CARD_MARKDOWN]
    return files


def _report(verified: Any, model: str, version: int, name: str) -> bytes | None:
    """The exact bytes of a listed report; ``None`` when the version lists none."""
    try:
        return read_artifact(verified, model, version, name, action="put in the evidence bundle")
    except IntegrityError:
        raise
    except RiskopsError:
        return None


def _as_object(data: bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _entry_dict(e: Any) -> dict[str, Any]:
    return {"seq": e.seq, "ts": e.ts, "actor": e.actor, "action": e.action,
            "subject": e.subject, "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash}


def _data(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(entry["data"])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _about_model(entry: dict[str, Any], model: str) -> bool:
    return _data(entry).get("model") == model or entry["subject"].split("/", 1)[0] == model


def _about_version(entry: dict[str, Any], model: str, version: int) -> bool:
    if entry["subject"] == f"{model}/{version}" and entry["action"].startswith("model."):
        return True
    data = _data(entry)
    return (entry["action"] in POINTER_ACTIONS and data.get("model") == model
            and version in (data.get("to"), data.get("from")))


def _monitored(model_id: str, model: str) -> bool:
    return model_id == model or model_id.startswith(f"{model}@")


def _drift_scan(ws: Workspace, model: str, last_run: dict[str, Any] | None) -> dict[str, Any]:
    """The alert-state rows of ``model`` and its results in the last monitoring run."""
    states = [s for s in read_states(ws.database_url) if _monitored(s["model_id"], model)]
    results = [r for r in (last_run or {}).get("results") or []
               if isinstance(r, dict) and _monitored(str(r.get("modelId", "")), model)]
    if not states and not results:
        return {"status": "no monitoring run recorded", "model": model}
    evaluated = [str(s["evaluated_at"]) for s in states if s.get("evaluated_at") is not None]
    return {
        "status": "recorded", "model": model,
        "note": "alert states as of their evaluated_at; results from the last run "
                "(<home>/monitoring/last-run.json) for this model only",
        "last_evaluated_at": max(evaluated, default=None),
        "firing": sum(1 for s in states if s.get("firing")),
        "alert_states": states,
        "last_run": None if last_run is None else {
            "ran_at": last_run.get("ranAt"), "now": last_run.get("now"),
            "windows": last_run.get("windows"), "results": results},
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
            + "\n").encode()


def _write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a sibling temporary folder, then move it to ``out`` whole."""
    parent = out.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if out.exists():
            out.rmdir()  # checked empty above
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"--out {out}: cannot write the bundle: {exc.strerror}.") from None

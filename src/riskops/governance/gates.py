"""Promotion gates: every condition a version must meet to go live, each with its evidence.

``evaluate_gates`` reads the evidence (signatures and digests, the stored
bias audit, the version's reports, an in-process smoke test, the sign-offs)
and ``judge_*`` functions turn each piece into a ``Gate`` with pass/fail and
a sentence saying why. Production needs all of them; canary all but the
approvals (unless ``canary_needs_approvals``); staging none (it is where a
version is tried).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import RiskopsError
from riskops.governance.approvals import approval_state, version_digest
from riskops.governance.bias_records import stored_audit
from riskops.governance.policy import VALIDATOR, GovernancePolicy, governance_policy
from riskops.storage import db
from riskops.training.reports import EVALUATION_FILE, REPRODUCIBILITY_FILE

#: ``smoke_test(ws, model, version, rows=, tolerance=)`` -> ``{"status", "reason", ...}``: the
#: serving layer's in-process smoke test (``riskops.serving.smoke.smoke_test``), passed in by
#: whoever evaluates the gates, since serving itself exposes the gates over HTTP.
SmokeTest = Callable[..., dict[str, Any]]

GATE_NAMES = ("integrity", "bias", "reproducibility", "not_worse", "score_delta", "smoke",
              "revalidation", "approvals")


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": "pass" if self.passed else "fail",
                "detail": self.detail, "evidence": self.evidence}


@dataclass(frozen=True)
class GateReport:
    model: str
    version: int
    stage: str
    gates: tuple[Gate, ...]
    checked_at: str

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failing(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "stage": self.stage,
                "status": "pass" if self.passed else "fail", "checked_at": self.checked_at,
                "gates": [g.as_dict() for g in self.gates],
                "failing": [g.name for g in self.failing]}


def gates_for(stage: str, policy: GovernancePolicy, percent: int | None = None
              ) -> tuple[str, ...]:
    """The gates a promotion to ``stage`` (a canary: at ``percent``) must pass.

    A canary skips the approvals unless the policy asks for them or it would
    answer more than ``canary_max_percent`` of the traffic (production by
    another name).
    """
    if stage == "staging":
        return ()
    if stage == "canary" and not policy.canary_needs_approvals and (
            percent is None or percent <= policy.canary_max_percent):
        return tuple(g for g in GATE_NAMES if g != "approvals")
    return GATE_NAMES


def evaluate_gates(ws: Workspace, model: str, version: int, *, smoke_test: SmokeTest,
                   stage: str = "production", percent: int | None = None,
                   now: datetime | None = None) -> GateReport:
    """Every gate of a promotion of ``model`` v``version`` to ``stage``, with evidence.

    ``smoke_test`` runs the version in process (``riskops.serving.smoke.smoke_test``);
    ``now`` (default: the clock) decides whether the model is overdue for re-validation.
    Unknown model or version raise; a failing gate never does.
    """
    from riskops.registry.service import Registry

    now = now or datetime.now(UTC)
    policy = governance_policy(ws)
    info = Registry(ws).show_version(model, version)
    wanted = gates_for(stage, policy, percent)
    gates: list[Gate] = []
    reports = version_reports(ws, model, version) if wanted else {}
    # the sign-offs feed two gates: read and judge them once
    signoffs = (approval_state(ws, model, version, policy)
                if {"revalidation", "approvals"} & set(wanted) else {})
    for name in wanted:
        if name == "integrity":
            gates.append(_integrity(ws, model, version))
        elif name == "bias":
            gates.append(_bias(ws, model, version))
        elif name == "reproducibility":
            gates.append(judge_reproducibility(reports.get(REPRODUCIBILITY_FILE)))
        elif name == "not_worse":
            gates.append(judge_not_worse(reports.get(EVALUATION_FILE),
                                         production=info["stages"]["production"],
                                         version=version, policy=policy))
        elif name == "score_delta":
            gates.append(judge_score_delta(reports.get(EVALUATION_FILE),
                                           production=info["stages"]["production"],
                                           version=version))
        elif name == "revalidation":
            gates.append(_revalidation(ws, model, policy, now, signoffs))
        elif name == "smoke":
            result = smoke_test(ws, model, version, rows=policy.smoke_rows,
                                tolerance=policy.smoke_tolerance)
            gates.append(Gate("smoke", result["status"] == "pass", result["reason"], result))
        else:
            gates.append(_approvals(signoffs))
    return GateReport(model=model, version=version, stage=stage, gates=tuple(gates),
                      checked_at=now.isoformat())


# --- the pieces of evidence ------------------------------------------------------------


def _integrity(ws: Workspace, model: str, version: int) -> Gate:
    from riskops.registry.verification import verify_workspace

    report = verify_workspace(ws, model, version)
    if report.ok:
        return Gate("integrity", True,
                    f"manifest v{report.manifest_version} signature and "
                    f"{report.files_checked} files verified",
                    {"manifest_version": report.manifest_version,
                     "files_checked": report.files_checked})
    failing = "; ".join(f"{f.path}: {f.reason}" for f in report.failures[:3])
    return Gate("integrity", False, f"verification failed: {failing}",
                {"failures": [f.as_dict() for f in report.failures]})


def _bias(ws: Workspace, model: str, version: int) -> Gate:
    with db.read_session(ws.database_url) as session:
        audit = stored_audit(session, model, version)
        digest = version_digest(session, model, version)
    return judge_bias(audit, digest=digest, model=model, version=version)


def judge_bias(audit: dict[str, Any] | None, *, digest: str, model: str,
               version: int) -> Gate:
    """Pass when the latest bias audit of these exact bytes says ``pass``."""
    if audit is None:
        return Gate("bias", False, f"no bias audit; run riskops audit bias {model} {version}")
    evidence = {k: audit[k] for k in ("status", "created_at", "actor", "artifacts_sha256")}
    evidence["reasons"] = audit["report"].get("reasons", [])
    if audit["artifacts_sha256"] != digest:
        return Gate("bias", False, "the latest bias audit was of other bytes; audit again",
                    evidence)
    if audit["status"] != "pass":
        reasons = "; ".join(evidence["reasons"][:2]) or "see the report"
        return Gate("bias", False, f"bias audit failed: {reasons}", evidence)
    return Gate("bias", True, f"bias audit passed ({audit['created_at'][:19]})", evidence)


def judge_reproducibility(report: dict[str, Any] | None) -> Gate:
    """Pass when the version carries a reproducibility report naming its data and seed."""
    if report is None:
        return Gate("reproducibility", False,
                    f"no {REPRODUCIBILITY_FILE}; train with riskops train (or add one)")
    needed = ("data", "seed", "training_run_id", "golden_predictions")
    missing = [k for k in needed if k not in report]
    evidence = {"training_run_id": report.get("training_run_id"),
                "data_sha256": (report.get("data") or {}).get("sha256"),
                "seed": report.get("seed")}
    if missing:
        return Gate("reproducibility", False,
                    f"{REPRODUCIBILITY_FILE} lacks {', '.join(missing)}", evidence)
    return Gate("reproducibility", True,
                f"report present: run {evidence['training_run_id']}, seed {evidence['seed']}",
                evidence)


def judge_not_worse(report: dict[str, Any] | None, *, production: int | None, version: int,
                    policy: GovernancePolicy) -> Gate:
    """Pass when, on the golden set, the candidate is within tolerance of production."""
    if report is None:
        return Gate("not_worse", False, f"no {EVALUATION_FILE} to compare with production")
    comparison = report.get("comparison") or {}
    status = comparison.get("status")
    compared = comparison.get("production_version")
    if production is None or production == version:
        return Gate("not_worse", True,
                    "no other version in production to be worse than"
                    if production is None else f"v{version} is production already",
                    {"production_version": production})
    if status != "compared" or compared != production:
        what = f"v{compared}" if compared else "no production version"
        return Gate("not_worse", False,
                    f"the candidate was compared with {what} at training; production is now "
                    f"v{production}: retrain to compare on the same golden set",
                    {"compared_with": compared, "production_version": production,
                     "comparison_status": status})
    delta = (comparison.get("golden_metrics") or {}).get("delta") or {}
    limits = {"roc_auc": -policy.max_auc_drop, "f1": -policy.max_f1_drop,
              "brier": policy.max_brier_rise}
    broken = []
    for metric, limit in limits.items():
        value = delta.get(metric)
        if not isinstance(value, int | float):
            broken.append(f"{metric} delta missing")
        elif (metric == "brier" and value > limit) or (metric != "brier" and value < limit):
            broken.append(f"{metric} {value:+.4f} (limit {limit:+.4f})")
    evidence = {"production_version": production,
                "golden_delta": {m: delta.get(m) for m in limits},
                "limits": limits}
    if broken:
        return Gate("not_worse", False,
                    f"worse than v{production} on the golden set: {', '.join(broken)}", evidence)
    return Gate("not_worse", True,
                f"within tolerance of v{production} on the golden set: " + ", ".join(
                    f"{m} {delta[m]:+.4f}" for m in limits), evidence)


def judge_score_delta(report: dict[str, Any] | None, *, production: int | None,
                      version: int) -> Gate:
    """Pass when the score-delta regression against production's scores was reported."""
    if report is None:
        return Gate("score_delta", False, f"no {EVALUATION_FILE}")
    comparison = report.get("comparison") or {}
    if production is None or production == version:
        return Gate("score_delta", True, "no other version in production to compare scores with",
                    {"production_version": production})
    golden = comparison.get("golden")
    if comparison.get("production_version") != production or not isinstance(golden, dict):
        return Gate("score_delta", False,
                    f"no score-delta report against v{production}: retrain to produce one",
                    {"production_version": production})
    return Gate("score_delta", True,
                f"{golden.get('rows')} golden rows: mean |score delta| "
                f"{golden.get('mean_abs_score_delta', 0):.4f}, "
                f"{golden.get('labels_flipped')} decisions flipped",
                {"production_version": production, **golden})


def _revalidation(ws: Workspace, model: str, policy: GovernancePolicy, now: datetime,
                  state: dict[str, Any]) -> Gate:
    from riskops.governance.inventory import standing

    with db.read_session(ws.database_url) as session:
        entry = standing(session, model, policy=policy, today=now.date())
    signed = [d for d in state["decisions"] if d["role"] == VALIDATOR
              and d["decision"] == "approve" and d["purpose"] == "promotion"
              and state["approved"].get(VALIDATOR) == d["user"]]
    return judge_revalidation(entry, candidate_validator=signed[-1] if signed else None,
                              model=model, today=now.date())


def judge_revalidation(entry: dict[str, Any], *, candidate_validator: dict[str, Any] | None,
                       model: str, today: date) -> Gate:
    """Pass unless the model is overdue for re-validation and the candidate carries no
    independent validator approval given after the due date."""
    due, last = entry["next_revalidation_due"], entry["last_validation"]
    subject = entry["validated_version"]
    evidence = {k: entry[k] for k in ("state", "live_version", "validated_version",
                                      "last_validation", "next_revalidation_due",
                                      "never_validated", "revalidation_failed",
                                      "revalidation_months", "overdue")}
    evidence["today"] = today.isoformat()
    if not entry["overdue"]:
        if entry["revalidation_months"] is None:
            detail = "no re-validation interval: the model has no risk tier"
        elif subject is None:
            detail = "nothing due: no version of the model is in service"
        else:
            detail = (f"v{subject} validated {last['date']} ({last['kind']} by "
                      f"{', '.join(last['by'])}); next due {due}")
        return Gate("revalidation", True, detail, evidence)
    failed = entry["revalidation_failed"]
    if failed:
        lapse = f"its re-validation failed on {failed['at'][:10]} ({failed['by']})"
    elif entry["never_validated"]:
        lapse = f"v{subject} went into service without a validation under its tier"
    else:
        lapse = f"due {due}"
    if candidate_validator is not None and (
            due is None or candidate_validator["at"][:10] > due):
        evidence["validator_approval"] = candidate_validator
        return Gate("revalidation", True,
                    f"overdue ({lapse}), and this version carries the independent approval of "
                    f"validator {candidate_validator['user']} ({candidate_validator['at'][:10]})",
                    evidence)
    return Gate("revalidation", False,
                f"{model} is overdue for re-validation ({lapse}); a validator signs it first: "
                f"riskops approve {model} {subject} --role validator --revalidation", evidence)


def _approvals(state: dict[str, Any]) -> Gate:
    return Gate("approvals", bool(state["complete"]), state["summary"],
                {k: state[k] for k in ("required_roles", "approved", "missing_roles",
                                       "rejected_by", "problems", "decisions",
                                       "artifacts_sha256")})


def version_reports(ws: Workspace, model: str, version: int) -> dict[str, dict[str, Any]]:
    """The version's JSON reports, read through the signed manifest (absent when unlisted or
    unreadable: the integrity gate says why)."""
    from riskops.registry.loader import read_artifact
    from riskops.registry.trust import read_workspace_manifest

    found: dict[str, dict[str, Any]] = {}
    try:
        verified = read_workspace_manifest(ws)
    except RiskopsError:
        return found
    for name in (EVALUATION_FILE, REPRODUCIBILITY_FILE):
        try:
            document = json.loads(read_artifact(verified, model, version, name,
                                                action="read by the gates"))
        except (RiskopsError, ValueError):
            continue
        if isinstance(document, dict):
            found[name] = document
    return found

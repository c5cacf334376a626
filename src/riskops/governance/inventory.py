"""The model-risk inventory: every model with its metadata, state, validation and open alerts.

``inventory`` reads everything in one pass over the database (no artifact
is hashed), so it stays quick with hundreds of models: the metadata
(``model_metadata``), the registry's pointers, the sign-offs (last
validation and the next due date, ``lifecycle``), the monitoring alerts
still firing, the latest bias audit of the live version and the latest
integrity failure not yet cleared by a passing integrity check.

``revalidation_check`` is the scheduled job that emits
``ml.model.revalidation.due`` for a model past its due date: once when it
falls due, then weekly while it stays overdue.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.events import emit
from riskops.governance.approvals import (
    Decision,
    ModelContext,
    approval_verdict,
    decision_of,
    model_context,
    version_digest,
)
from riskops.governance.lifecycle import (
    Validation,
    in_service_version,
    is_overdue,
    last_validation,
    lifecycle_state,
    revalidation_due,
)
from riskops.governance.model_metadata import metadata_dict
from riskops.governance.policy import VALIDATOR, GovernancePolicy, governance_policy
from riskops.storage import db, repository
from riskops.storage.alert_state import read_states
from riskops.storage.job_runs import latest_runs
from riskops.storage.outbox import recent_events

#: A reminder goes out again after this long while a model stays overdue.
REMINDER_EVERY = timedelta(days=7)
CSV_COLUMNS = ("model", "state", "owner", "tier", "tier_reason", "purpose", "business_line",
               "live_version", "last_validation", "last_validation_kind", "validated_by",
               "next_revalidation_due", "overdue", "open_alerts", "retired_at",
               "retired_reason", "intended_uses", "out_of_scope_uses", "limitations")


# --- validations -----------------------------------------------------------------------


def validations(session: Any, model: str, version: int, *, context: ModelContext,
                policy: GovernancePolicy) -> tuple[list[Validation], Any]:
    """The validations of ``model`` v``version`` (its completed sign-offs, judged under the
    model's current tier, and each independent re-validation) and the latest failed
    re-validation of it (an approval row, or ``None``). Sign-offs and re-validations
    before the model's last retirement do not count."""
    found: list[Validation] = []
    row = repository.get_version(session, model, version)
    if row is None:
        return found, None
    since = context.signoffs_since
    rows = [a for a in repository.approvals_for(session, model, version)
            if since is None or a.created_at.isoformat() >= since]
    decisions = [decision_of(a) for a in rows]
    digest = version_digest(session, model, version)
    verdict = approval_verdict(decisions, required_roles=policy.roles_for(context.tier),
                               digest=digest, author=row.author,
                               author_may_approve=policy.author_may_approve,
                               builders=context.builders)
    if verdict.complete:
        signers = set(verdict.approved.values())
        times = [d.at for d in decisions if _counts(d, digest) and d.user in signers]
        found.append(Validation(at=datetime.fromisoformat(max(times)), version=version,
                                by=tuple(sorted(signers)), kind="approval"))
    failed = None
    for a in rows:
        if (a.purpose != "revalidation" or a.role != VALIDATOR
                or a.user_name in context.builders):
            continue
        if a.decision == "approve":
            found.append(Validation(at=a.created_at, version=version, by=(a.user_name,),
                                    kind="revalidation"))
        elif failed is None or a.created_at > failed.created_at:
            failed = a
    return found, failed


def _counts(d: Decision, digest: str) -> bool:
    return d.purpose == "promotion" and d.decision == "approve" and d.artifacts_sha256 == digest


# --- one model's standing ----------------------------------------------------------------


def standing(session: Any, model: str, *, policy: GovernancePolicy, today: date
             ) -> dict[str, Any]:
    """The inventory entry of ``model`` without its alerts (see ``inventory``)."""
    row = repository.get_model(session, model)
    if row is None:
        raise InputError(f"model {model!r} is not registered.")
    context = model_context(session, model)
    subject = in_service_version(row.production_version, json.loads(row.history))
    found, failed = ([], None) if subject is None else validations(
        session, model, subject, context=context, policy=policy)
    last = last_validation(found)
    months = policy.revalidation_months(context.tier)
    failed_at = failed.created_at if failed is not None else None
    due = revalidation_due(last, months=months, live=subject is not None, failed_at=failed_at)
    failed_now = due == date.min and last is not None
    reviewed = {a.version for a in repository.approvals_for(session, model)}
    state = lifecycle_state(production=row.production_version, staging=row.staging_version,
                            canary=row.canary_version, retired=row.retired_at is not None,
                            reviewed_versions=reviewed)
    notes = []
    if context.tier is None:
        notes.append(f"no risk tier: riskops models describe {model} --tier high|medium|low "
                     "--tier-reason TEXT")
    inventory_row = repository.get_inventory(session, model)
    if inventory_row is None or not inventory_row.owner:
        notes.append(f"no owner: riskops models describe {model} --owner USER")
    return {
        "model": model, "state": state,
        "metadata": metadata_dict(inventory_row),
        "live_version": row.production_version,
        "validated_version": subject,
        "canary": None if row.canary_version is None else {
            "version": row.canary_version, "percent": row.canary_percent},
        "versions": len(repository.list_versions(session, model)),
        "required_roles": list(policy.roles_for(context.tier)),
        "revalidation_months": months,
        "last_validation": None if last is None else last.as_dict(),
        "validations": [v.as_dict() for v in sorted(found, key=lambda v: v.at)],
        "next_revalidation_due": None if due is None or due == date.min else due.isoformat(),
        "never_validated": subject is not None and last is None and months is not None,
        "revalidation_failed": None if not failed_now or failed is None else {
            "at": failed.created_at.isoformat(), "by": failed.user_name,
            "comment": failed.comment},
        "overdue": is_overdue(due, today),
        "retired": None if row.retired_at is None else {
            "at": row.retired_at.isoformat(), "by": row.retired_by,
            "reason": row.retired_reason},
        "notes": notes,
    }


def inventory(ws: Workspace, *, now: datetime | None = None, overdue_only: bool = False,
              model: str | None = None) -> list[dict[str, Any]]:
    """Every model (or ``model``) with its standing and open alerts, by name."""
    now = now or datetime.now(UTC)
    policy = governance_policy(ws)
    firing = read_states(ws.database_url, firing_only=True)
    entries = []
    with db.read_session(ws.database_url) as session:
        names = [m.name for m in repository.list_models(session)]
        if model is not None:
            if model not in names:
                raise InputError(f"model {model!r} is not registered (models: "
                                 f"{', '.join(names) or 'none'}).")
            names = [model]
        integrity = _integrity_failures(session)
        for name in names:
            entry = standing(session, name, policy=policy, today=now.date())
            if overdue_only and not entry["overdue"]:
                continue
            live = entry["live_version"]
            bias = (repository.latest_bias_audit(session, name, live)
                    if live is not None else None)
            entry["open_alerts"] = _alerts(name, firing, bias, integrity.get(name))
            entries.append(entry)
    return entries


def _alerts(model: str, firing: list[dict[str, Any]], bias: Any,
            integrity: dict[str, Any] | None) -> list[dict[str, Any]]:
    alerts = []
    for state in firing:
        model_id = str(state["model_id"])
        if model_id == model or model_id.startswith(f"{model}@"):
            kind = "performance" if state["check"] == "performance" else "drift"
            alerts.append({"kind": kind, "check": state["check"],
                           "tenant_id": state["tenant_id"], "feature": state["feature"],
                           "segment": state["segment"], "metric": state["metric"]})
    if bias is not None and bias.status != "pass":
        alerts.append({"kind": "bias", "version": bias.version, "status": bias.status,
                       "at": bias.created_at.isoformat()})
    if integrity is not None:
        alerts.append({"kind": "integrity", **integrity})
    return alerts


def _integrity_failures(session: Any) -> dict[str, dict[str, Any]]:
    """Model -> its newest ``model_integrity_failed`` event not followed by a passing
    ``integrity-check`` run."""
    cleared_at = None
    latest = latest_runs(session, ["integrity-check"]).get("integrity-check")
    if latest is not None and latest.status == "succeeded":
        cleared_at = latest.finished_at or latest.started_at
    found: dict[str, dict[str, Any]] = {}
    for event in recent_events(session, "model_integrity_failed"):
        if cleared_at is not None and event.time <= cleared_at:
            break
        data = json.loads(event.envelope).get("data") or {}
        models = data.get("models") or [data.get("modelId") or event.subject]
        for name in models:
            found.setdefault(str(name), {"at": event.time.isoformat(),
                                         "problem": str(data.get("problem", ""))[:200]})
    return found


# --- output ------------------------------------------------------------------------------


def csv_rows(entries: Iterable[dict[str, Any]]) -> str:
    """The inventory as CSV (``CSV_COLUMNS``), lists joined with `` | ``; a cell that a
    spreadsheet would run as a formula is quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        meta = e["metadata"] or {}
        last = e["last_validation"] or {}
        retired = e["retired"] or {}
        row = {
            "model": e["model"], "state": e["state"], "owner": meta.get("owner"),
            "tier": meta.get("tier"), "tier_reason": meta.get("tier_reason"),
            "purpose": meta.get("purpose"), "business_line": meta.get("business_line"),
            "live_version": e["live_version"], "last_validation": last.get("date"),
            "last_validation_kind": last.get("kind"),
            "validated_by": " | ".join(last.get("by", [])),
            "next_revalidation_due": due_text(e),
            "overdue": "yes" if e["overdue"] else "no",
            "open_alerts": " | ".join(sorted({a["kind"] for a in e.get("open_alerts", [])})),
            "retired_at": retired.get("at"), "retired_reason": retired.get("reason"),
            **{f: " | ".join(meta.get(f) or []) for f in
               ("intended_uses", "out_of_scope_uses", "limitations")},
        }
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def due_text(entry: dict[str, Any]) -> str | None:
    """The due date, or why a model in service has none: never validated, or a failed
    re-validation (``None``: nothing is due)."""
    if entry["next_revalidation_due"]:
        return str(entry["next_revalidation_due"])
    if entry["revalidation_failed"]:
        return f"re-validation failed {entry['revalidation_failed']['at'][:10]}"
    return "never validated" if entry["never_validated"] else None


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the reminder job ----------------------------------------------------------------------


def revalidation_check(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Emit ``ml.model.revalidation.due`` for each overdue model, once and then weekly.

    ``metadata`` may carry ``now`` (ISO time, for tests and backfills).
    """
    now = _now_from(metadata)
    policy = governance_policy(ws)
    notified, overdue = [], []
    with db.write_transaction(ws.database_url) as session:
        for model in [m.name for m in repository.list_models(session)]:
            entry = standing(session, model, policy=policy, today=now.date())
            row = repository.get_inventory(session, model)
            if not entry["overdue"]:
                sent = row.revalidation_notified_at if row is not None else None
                if sent is not None and now >= sent:
                    row.revalidation_notified_at = None  # validated: the next lapse notifies
                continue
            overdue.append(model)
            last_sent = row.revalidation_notified_at if row is not None else None
            if last_sent is not None and now - last_sent < REMINDER_EVERY:
                continue
            meta = entry["metadata"] or {}
            emit(session, ws, type="ml.model.revalidation.due", subject=model,
                 source="governance",
                 data={"modelId": model, "tier": meta.get("tier"),
                       "dueDate": entry["next_revalidation_due"],
                       "neverValidated": entry["never_validated"],
                       "revalidationFailed": entry["revalidation_failed"],
                       "validatedVersion": entry["validated_version"],
                       "owner": meta.get("owner"), "liveVersion": entry["live_version"],
                       "lastValidation": entry["last_validation"],
                       "reminder": last_sent is not None})
            if row is not None:
                row.revalidation_notified_at = now
            notified.append(model)
        session.flush()
    return {"checked_at": now.isoformat(), "overdue": overdue, "notified": notified}


def _now_from(metadata: dict[str, Any]) -> datetime:
    raw = metadata.get("now")
    if raw is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InputError(f"metadata now {str(raw)[:40]!r} is not an ISO date-time.") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

"""The sign-off board: every model's versions with their stage and approval verdict.

What the web console shows a risk lead: which versions wait for sign-off,
who has approved them and which roles are still missing. It judges each
version with ``approvals.approval_verdict``, the same pure function the
promotion gate uses, so the console never disagrees with ``riskops gates``.
Reads are bulk (one query per table, not one per version) so a registry of
100 models with 50 versions each answers in one round of statements.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from riskops.config import Workspace
from riskops.errors import UnknownModel
from riskops.governance.approvals import approval_verdict, context_of, decision_of
from riskops.governance.digests import artifacts_digest
from riskops.governance.policy import GovernancePolicy, governance_policy
from riskops.registry.service import check_model_name, stage_pointers, unknown_model_message
from riskops.storage import board_reads, db, repository
from riskops.storage.tables import ModelRow


def model_summaries(ws: Workspace) -> list[dict[str, Any]]:
    """One row per model: stages, version count, newest version, retired or not."""
    with db.read_session(ws.database_url) as session:
        counts = board_reads.version_numbers(session)
        return [{"model": m.name, "stages": stage_pointers(m),
                 "versions": len(counts[m.name]), "latest": max(counts[m.name], default=None),
                 "retired": m.retired_at is not None}
                for m in repository.list_models(session)]


def version_board(ws: Workspace, model: str,
                  policy: GovernancePolicy | None = None) -> dict[str, Any]:
    """``model``'s versions, newest first, each with its stages and approval verdict."""
    check_model_name(model)
    policy = policy or governance_policy(ws)
    with db.read_session(ws.database_url) as session:
        row = repository.get_model(session, model)
        if row is None:
            raise UnknownModel(unknown_model_message(model, session))
        boards = _judge_all(session, [row], policy)
    return {"model": model, "stages": stage_pointers(row), "retired": row.retired_at is not None,
            "versions": boards.get(model, [])}


def pending_approvals(ws: Workspace, policy: GovernancePolicy | None = None
                      ) -> list[dict[str, Any]]:
    """Versions waiting for sign-off: newer than production, not rejected, incomplete.

    Versions of retired models are listed too (they come back only through
    every gate); older versions than production are not (they were passed over).
    """
    policy = policy or governance_policy(ws)
    with db.read_session(ws.database_url) as session:
        models = repository.list_models(session)
        boards = _judge_all(session, models, policy)
    pending = []
    for m in models:
        floor = m.production_version or 0
        for entry in boards.get(m.name, []):
            if entry["version"] > floor and not entry["complete"] and not entry["rejected_by"]:
                pending.append({"model": m.name, **entry})
    return sorted(pending, key=lambda e: (e["model"], -e["version"]))


def _judge_all(session: Any, models: list[ModelRow], policy: GovernancePolicy
               ) -> dict[str, list[dict[str, Any]]]:
    """Per model name: its versions, newest first, judged against ``policy``."""
    names = [m.name for m in models]
    if not names:
        return {}
    versions = board_reads.versions_of(session, names)
    files = board_reads.artifacts_of(session, names)
    approvals = board_reads.approvals_of(session, names)
    inventory = {row.model_name: row for row in repository.all_inventory(session)}
    out: dict[str, list[dict[str, Any]]] = {}
    for m in models:
        context = context_of(inventory.get(m.name), m,
                             (v.author for v in versions.get(m.name, [])))
        required = policy.roles_for(context.tier)
        live = _live_labels(m)
        entries = []
        for v in sorted(versions.get(m.name, []), key=lambda v: -v.version):
            decisions = [decision_of(row) for row in approvals.get((m.name, v.version), [])]
            verdict = approval_verdict(
                decisions, required_roles=required,
                digest=artifacts_digest(files.get((m.name, v.version), [])),
                author=v.author, author_may_approve=policy.author_may_approve,
                builders=context.builders, not_before=context.signoffs_since)
            entries.append({
                "version": v.version, "created_at": v.created_at.isoformat(),
                "author": v.author, "stages": live.get(v.version, []),
                "required_roles": list(required), "approved": verdict.approved,
                "author_may_approve": policy.author_may_approve,
                "missing_roles": list(verdict.missing_roles),
                "rejected_by": list(verdict.rejected_by), "complete": verdict.complete,
                "summary": verdict.summary(),
            })
        out[m.name] = entries
    return out


def _live_labels(row: ModelRow) -> dict[int, list[str]]:
    labels: dict[int, list[str]] = defaultdict(list)
    for stage, version in (("production", row.production_version),
                           ("canary", row.canary_version), ("staging", row.staging_version)):
        if version is not None:
            labels[version].append(stage)
    return labels

"""Sign-offs: who approved or rejected which bytes of a version, and whether that is enough.

An approval names the user, the role it is given under, the time, a comment
and the digest of the version's artifacts (``digests.artifacts_digest``), so
it never carries over to different bytes. The policy (``[governance]``,
default two approvals under ``risk_lead`` and ``platform_owner`` from two
different users, neither the version's author) is judged by
``approval_verdict``, a pure function; ``decide`` records one decision after
checking every rule, in the transaction that appends its audit entry and
publishes the manifest listing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import ApprovalRefused, InputError, PermissionDenied, UnknownVersion
from riskops.governance.digests import artifacts_digest
from riskops.governance.lifecycle import in_service_version
from riskops.governance.policy import VALIDATOR, GovernancePolicy, governance_policy
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.service import check_model_name
from riskops.storage import db, repository
from riskops.storage.tables import ApprovalRow, InventoryRow, ModelRow
from riskops.tokens import Identity, authorize

DECISIONS = ("approve", "reject")
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Decision:
    """One recorded approval or rejection."""

    user: str
    role: str
    decision: str
    at: str
    comment: str
    artifacts_sha256: str
    purpose: str = "promotion"

    def as_dict(self) -> dict[str, str]:
        return {"user": self.user, "role": self.role, "decision": self.decision, "at": self.at,
                "comment": self.comment, "artifacts_sha256": self.artifacts_sha256,
                "purpose": self.purpose}


@dataclass(frozen=True)
class ApprovalVerdict:
    """Whether a version's sign-offs satisfy the policy, and what is missing."""

    complete: bool
    approved: dict[str, str]  # role -> user, valid approvals only
    missing_roles: tuple[str, ...]
    rejected_by: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.rejected_by:
            return f"rejected by {', '.join(self.rejected_by)}"
        given = ", ".join(f"{role} by {user}" for role, user in sorted(self.approved.items()))
        if self.complete:
            return f"complete: {given}"
        missing = ", ".join(self.missing_roles)
        return f"missing {missing}" + (f" (have {given})" if given else "")


def approval_verdict(decisions: Sequence[Decision], *, required_roles: Sequence[str],
                     digest: str, author: str, author_may_approve: bool = False,
                     builders: frozenset[str] = frozenset(), not_before: str | None = None
                     ) -> ApprovalVerdict:
    """Judge ``decisions`` against the policy for a version whose artifacts hash to ``digest``.

    An approval counts only if it was given to these bytes, by someone other
    than the author (unless allowed), under a required role, by a user who
    has not already counted under another role. A ``validator`` approval
    counts only from someone not in ``builders`` (the authors of every version
    of the model and its owner). Decisions before ``not_before`` (an ISO time:
    the model's retirement) do not count. Any rejection of these bytes blocks
    the version. Re-validations are not promotion sign-offs and are skipped.
    """
    approved: dict[str, str] = {}
    problems: list[str] = []
    rejected: list[str] = []
    users_counted: set[str] = set()
    for d in decisions:
        if d.purpose != "promotion":
            continue
        if not_before is not None and d.at < not_before:
            problems.append(f"{d.decision} by {d.user} ({d.role}) was given before the model "
                            f"was retired ({not_before[:19]}); a retired model needs new "
                            "sign-offs")
            continue
        if d.artifacts_sha256 != digest:
            problems.append(f"{d.decision} by {d.user} ({d.role}) was given to other bytes "
                            f"(artifacts {d.artifacts_sha256[:12]}, now {digest[:12]})")
            continue
        if d.decision == "reject":
            rejected.append(f"{d.user} ({d.role})")
            continue
        if d.user == author and not author_may_approve:
            problems.append(f"approval by {d.user} does not count: they are the author")
        elif d.role == VALIDATOR and d.user in builders:
            problems.append(f"validator approval by {d.user} does not count: they built a "
                            "version of the model or own it, so it is no independent validation")
        elif d.role not in required_roles:
            problems.append(f"approval by {d.user} as {d.role} does not count: the policy asks "
                            f"for {', '.join(required_roles)}")
        elif d.role in approved or d.user in users_counted:
            problems.append(f"approval by {d.user} as {d.role} does not count: one approval "
                            "per role and per user")
        else:
            approved[d.role] = d.user
            users_counted.add(d.user)
    missing = tuple(r for r in required_roles if r not in approved)
    return ApprovalVerdict(complete=not missing and not rejected, approved=approved,
                           missing_roles=missing, rejected_by=tuple(rejected),
                           problems=tuple(problems))


# --- reading -------------------------------------------------------------------------


def version_digest(session: Any, model: str, version: int) -> str:
    """The artifacts digest of ``model`` v``version`` as the database lists its files."""
    return artifacts_digest((a.path, a.sha256, a.size)
                            for a in repository.list_artifacts(session, model)
                            if a.version == version)


def decisions_of(session: Any, model: str, version: int) -> list[Decision]:
    return [decision_of(a) for a in repository.approvals_for(session, model, version)]


def decision_of(row: ApprovalRow) -> Decision:
    """The ``Decision`` a stored approval row records."""
    return Decision(user=row.user_name, role=row.role, decision=row.decision,
                    at=row.created_at.isoformat(), comment=row.comment,
                    artifacts_sha256=row.artifacts_sha256, purpose=row.purpose or "promotion")


@dataclass(frozen=True)
class ModelContext:
    """What the sign-off rules need to know about the model beyond one version."""

    tier: str | None
    builders: frozenset[str]  # every version's author, the owner and former owners
    signoffs_since: str | None  # the last retirement: sign-offs before it never count


def person(actor: str) -> str:
    """The user behind an audit actor (``local:NAME`` is the operating-system user NAME)."""
    return actor.removeprefix("local:")


def model_context(session: Any, model: str) -> ModelContext:
    return context_of(repository.get_inventory(session, model),
                      repository.get_model(session, model),
                      (v.author for v in repository.list_versions(session, model)))


def context_of(inventory: InventoryRow | None, row: ModelRow | None,
               authors: Iterable[str]) -> ModelContext:
    """The ``ModelContext`` of a model from rows already read: its inventory entry, its
    model row and the authors of its versions (``model_context`` reads them itself)."""
    builders = {person(author) for author in authors}
    if inventory is not None:
        builders.update(json.loads(inventory.former_owners or "[]"))
        if inventory.owner:
            builders.add(inventory.owner)
    retired = row.last_retired_at if row is not None else None
    return ModelContext(tier=inventory.tier if inventory is not None else None,
                        builders=frozenset(builders),
                        signoffs_since=retired.isoformat() if retired is not None else None)


def approval_state(ws: Workspace, model: str, version: int,
                   policy: GovernancePolicy | None = None) -> dict[str, Any]:
    """The decisions on a version and the verdict, as one JSON-ready document."""
    policy = policy or governance_policy(ws)
    with db.read_session(ws.database_url) as session:
        row = _version_row(session, model, version)
        digest = version_digest(session, model, version)
        decisions = decisions_of(session, model, version)
        context = model_context(session, model)
    required = policy.roles_for(context.tier)
    verdict = approval_verdict(decisions, required_roles=required, digest=digest,
                               author=row.author, author_may_approve=policy.author_may_approve,
                               builders=context.builders, not_before=context.signoffs_since)
    return {"model": model, "version": version, "author": row.author,
            "tier": context.tier, "signoffs_since": context.signoffs_since,
            "artifacts_sha256": digest, "required_roles": list(required),
            "decisions": [d.as_dict() for d in decisions], "complete": verdict.complete,
            "approved": verdict.approved, "missing_roles": list(verdict.missing_roles),
            "rejected_by": list(verdict.rejected_by), "problems": list(verdict.problems),
            "summary": verdict.summary()}


# --- deciding ------------------------------------------------------------------------


def decide(ws: Workspace, who: Identity, model: str, version: int, *, decision: str,
           role: str, comment: str = "", revalidation: bool = False) -> dict[str, Any]:
    """Record ``who``'s ``decision`` ("approve" or "reject") on ``model`` v``version``.

    With ``revalidation`` the decision is a validator's periodic re-validation
    of the version in service (``lifecycle.in_service_version``; ``role`` must
    be ``validator``): ``approve`` renews the validation, ``reject`` makes the
    model overdue at once. One per validator per day.

    Raises
    ------
    PermissionDenied
        No token, or the user does not hold ``role``.
    ApprovalRefused
        The author approving, a validator who built a version of the model or
        owns it, a user deciding twice or under a second role, a role already
        signed, a rejected version, or artifacts that fail verification; the
        message says which.
    """
    from riskops.registry.verification import verify_workspace

    if decision not in DECISIONS:
        raise InputError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}.")
    check_model_name(model)
    policy = governance_policy(ws)
    authorize(who, "approve")
    if role not in who.roles:
        raise PermissionDenied(f"{who.name!r} does not hold the role {role!r} (holds "
                               f"{who.role or 'none'}); sign under a role you hold.")
    with db.read_session(ws.database_url) as session:
        _version_row(session, model, version)
        context = model_context(session, model)
        pointers = repository.get_model(session, model)
        in_service = None if pointers is None else in_service_version(
            pointers.production_version, json.loads(pointers.history))
    required = policy.roles_for(context.tier)
    if revalidation:
        if role != VALIDATOR:
            raise InputError(f"--revalidation is signed under --role {VALIDATOR}, not {role!r}.")
        if version != in_service:
            raise InputError(f"--revalidation re-validates the version in service: {model} has "
                             + (f"v{in_service} in service; sign that version."
                                if in_service is not None else "no version in service."))
    elif role not in required:
        tier = f" for a {context.tier}-tier model" if context.tier else ""
        raise InputError(f"--role {role!r} is not a sign-off role of the approval policy{tier} "
                         f"({', '.join(required)}).")
    if role == VALIDATOR and who.name in context.builders:
        raise ApprovalRefused(f"{who.name!r} built a version of {model} or owns it, so cannot "
                              "validate it independently; ask a validator who did not.")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"--comment has {len(comment)} characters; the limit is "
                         f"{MAX_COMMENT_CHARS}.")
    report = verify_workspace(ws, model, version)
    if not report.ok:
        failing = "; ".join(f"{f.path}: {f.reason}" for f in report.failures[:3])
        raise ApprovalRefused(f"{model} v{version} cannot be {decision}d: its artifacts fail "
                              f"verification ({failing}). See riskops verify {model} {version}.")
    purpose = "revalidation" if revalidation else "promotion"
    with db.write_transaction(ws.database_url) as session:
        row = _version_row(session, model, version)
        digest = version_digest(session, model, version)
        now = datetime.now(UTC)
        earlier = [d for d in decisions_of(session, model, version)
                   if d.artifacts_sha256 == digest and d.purpose == purpose
                   and (context.signoffs_since is None or d.at >= context.signoffs_since)]
        if revalidation:
            _check_revalidation(earlier, who=who, now=now, model=model, version=version)
        else:
            _check_rules(earlier, who=who, role=role, decision=decision, author=row.author,
                         policy=policy, required=required, model=model, version=version)
        repository.add_approval(session, ApprovalRow(
            model_name=model, version=version, user_name=who.name, role=role, decision=decision,
            comment=comment, artifacts_sha256=digest, created_at=now, purpose=purpose))
        action = {("promotion", "approve"): "model.approved",
                  ("promotion", "reject"): "model.rejected",
                  ("revalidation", "approve"): "model.revalidated",
                  ("revalidation", "reject"): "model.revalidation_failed"}[purpose, decision]
        mv = record_change(
            session, ws, now=now, actor=who.actor, action=action, subject=f"{model}/{version}",
            data={"model": model, "version": version, "user": who.name, "role": role,
                  "purpose": purpose, "comment": comment, "artifacts_sha256": digest,
                  "token": who.token})
    sync_manifest_files(ws)
    state = approval_state(ws, model, version, policy)
    return {"model": model, "version": version, "decision": decision, "user": who.name,
            "role": role, "purpose": purpose, "comment": comment, "at": now.isoformat(),
            "artifacts_sha256": digest, "manifest_version": mv, "approvals": state}


def _check_revalidation(earlier: Sequence[Decision], *, who: Identity, now: datetime,
                        model: str, version: int) -> None:
    today = now.date().isoformat()
    for d in earlier:
        if d.user == who.name and d.at[:10] == today:
            raise ApprovalRefused(f"{who.name!r} already signed a re-validation of {model} "
                                  f"v{version} today ({d.at[:19]}).")


def _check_rules(earlier: Sequence[Decision], *, who: Identity, role: str, decision: str,
                 author: str, policy: GovernancePolicy, required: Sequence[str], model: str,
                 version: int) -> None:
    subject = f"{model} v{version}"
    for d in earlier:
        if d.decision == "reject":
            raise ApprovalRefused(f"{subject} was rejected by {d.user} ({d.role}) at {d.at}; a "
                                  "rejected version stays blocked: train a new version.")
    if decision == "approve" and who.name == author and not policy.author_may_approve:
        raise ApprovalRefused(f"{who.name!r} is the author of {subject} and may not approve it; "
                              "ask another user holding the role.")
    for d in earlier:
        if d.user == who.name:
            raise ApprovalRefused(f"{who.name!r} already {d.decision}d {subject} as {d.role} at "
                                  f"{d.at}; one user signs a version once.")
    for d in earlier:
        if d.decision == "approve" and d.role == role:
            raise ApprovalRefused(f"{subject} already has its {role} approval (by {d.user}); "
                                  f"the policy asks for one per role: {', '.join(required)}.")


def _version_row(session: Any, model: str, version: int) -> Any:
    row = repository.get_version(session, model, version)
    if row is None:
        known = ", ".join(str(v.version) for v in repository.list_versions(session, model))
        raise UnknownVersion(f"{model} has no version {version} (versions: {known or 'none'}).")
    return row

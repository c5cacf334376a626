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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import ApprovalRefused, InputError, PermissionDenied, UnknownVersion
from riskops.governance.digests import artifacts_digest
from riskops.governance.policy import GovernancePolicy, governance_policy
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.service import check_model_name
from riskops.storage import db, repository
from riskops.storage.tables import ApprovalRow
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

    def as_dict(self) -> dict[str, str]:
        return {"user": self.user, "role": self.role, "decision": self.decision, "at": self.at,
                "comment": self.comment, "artifacts_sha256": self.artifacts_sha256}


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
                     digest: str, author: str, author_may_approve: bool = False
                     ) -> ApprovalVerdict:
    """Judge ``decisions`` against the policy for a version whose artifacts hash to ``digest``.

    An approval counts only if it was given to these bytes, by someone other
    than the author (unless allowed), under a required role, by a user who
    has not already counted under another role. Any rejection of these bytes
    blocks the version.
    """
    approved: dict[str, str] = {}
    problems: list[str] = []
    rejected: list[str] = []
    users_counted: set[str] = set()
    for d in decisions:
        if d.artifacts_sha256 != digest:
            problems.append(f"{d.decision} by {d.user} ({d.role}) was given to other bytes "
                            f"(artifacts {d.artifacts_sha256[:12]}, now {digest[:12]})")
            continue
        if d.decision == "reject":
            rejected.append(f"{d.user} ({d.role})")
            continue
        if d.user == author and not author_may_approve:
            problems.append(f"approval by {d.user} does not count: they are the author")
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
    return [Decision(user=a.user_name, role=a.role, decision=a.decision,
                     at=a.created_at.isoformat(), comment=a.comment,
                     artifacts_sha256=a.artifacts_sha256)
            for a in repository.approvals_for(session, model, version)]


def approval_state(ws: Workspace, model: str, version: int,
                   policy: GovernancePolicy | None = None) -> dict[str, Any]:
    """The decisions on a version and the verdict, as one JSON-ready document."""
    policy = policy or governance_policy(ws)
    with db.read_session(ws.database_url) as session:
        row = _version_row(session, model, version)
        digest = version_digest(session, model, version)
        decisions = decisions_of(session, model, version)
    verdict = approval_verdict(decisions, required_roles=policy.approval_roles, digest=digest,
                               author=row.author, author_may_approve=policy.author_may_approve)
    return {"model": model, "version": version, "author": row.author,
            "artifacts_sha256": digest, "required_roles": list(policy.approval_roles),
            "decisions": [d.as_dict() for d in decisions], "complete": verdict.complete,
            "approved": verdict.approved, "missing_roles": list(verdict.missing_roles),
            "rejected_by": list(verdict.rejected_by), "problems": list(verdict.problems),
            "summary": verdict.summary()}


# --- deciding ------------------------------------------------------------------------


def decide(ws: Workspace, who: Identity, model: str, version: int, *, decision: str,
           role: str, comment: str = "") -> dict[str, Any]:
    """Record ``who``'s ``decision`` ("approve" or "reject") on ``model`` v``version``.

    Raises
    ------
    PermissionDenied
        No token, or the user does not hold ``role``.
    ApprovalRefused
        The author approving, a user deciding twice or under a second role, a
        role already signed, a rejected version, or artifacts that fail
        verification; the message says which.
    """
    from riskops.registry.verification import verify_workspace

    if decision not in DECISIONS:
        raise InputError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}.")
    check_model_name(model)
    policy = governance_policy(ws)
    authorize(who, "approve")
    if role not in policy.approval_roles:
        raise InputError(f"--role {role!r} is not a sign-off role of the approval policy "
                         f"({', '.join(policy.approval_roles)}).")
    if role not in who.roles:
        raise PermissionDenied(f"{who.name!r} does not hold the role {role!r} (holds "
                               f"{who.role or 'none'}); sign under a role you hold.")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"--comment has {len(comment)} characters; the limit is "
                         f"{MAX_COMMENT_CHARS}.")
    report = verify_workspace(ws, model, version)
    if not report.ok:
        failing = "; ".join(f"{f.path}: {f.reason}" for f in report.failures[:3])
        raise ApprovalRefused(f"{model} v{version} cannot be {decision}d: its artifacts fail "
                              f"verification ({failing}). See riskops verify {model} {version}.")
    with db.write_transaction(ws.database_url) as session:
        row = _version_row(session, model, version)
        digest = version_digest(session, model, version)
        earlier = [d for d in decisions_of(session, model, version)
                   if d.artifacts_sha256 == digest]
        _check_rules(earlier, who=who, role=role, decision=decision, author=row.author,
                     policy=policy, model=model, version=version)
        now = datetime.now(UTC)
        repository.add_approval(session, ApprovalRow(
            model_name=model, version=version, user_name=who.name, role=role, decision=decision,
            comment=comment, artifacts_sha256=digest, created_at=now))
        mv = record_change(
            session, ws, now=now, actor=who.actor,
            action="model.approved" if decision == "approve" else "model.rejected",
            subject=f"{model}/{version}",
            data={"model": model, "version": version, "user": who.name, "role": role,
                  "comment": comment, "artifacts_sha256": digest, "token": who.token})
    sync_manifest_files(ws)
    state = approval_state(ws, model, version, policy)
    return {"model": model, "version": version, "decision": decision, "user": who.name,
            "role": role, "comment": comment, "at": now.isoformat(),
            "artifacts_sha256": digest, "manifest_version": mv, "approvals": state}


def _check_rules(earlier: Sequence[Decision], *, who: Identity, role: str, decision: str,
                 author: str, policy: GovernancePolicy, model: str, version: int) -> None:
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
                                  f"the policy asks for one per role: "
                                  f"{', '.join(policy.approval_roles)}.")


def _version_row(session: Any, model: str, version: int) -> Any:
    row = repository.get_version(session, model, version)
    if row is None:
        known = ", ".join(str(v.version) for v in repository.list_versions(session, model))
        raise UnknownVersion(f"{model} has no version {version} (versions: {known or 'none'}).")
    return row

"""Bulk reads behind the sign-off board and the audit view: one statement per table,
not one per version, so a registry of thousands of versions is read in a few round trips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskops.storage import db
from riskops.storage.tables import ApprovalRow, ArtifactRow, AuditEntryRow, ModelVersionRow


def version_numbers(session: Session) -> dict[str, list[int]]:
    """Model name -> its version numbers."""
    out: dict[str, list[int]] = defaultdict(list)
    for name, version in session.execute(
            select(ModelVersionRow.model_name, ModelVersionRow.version)):
        out[name].append(version)
    return out


def versions_of(session: Session, names: Sequence[str]) -> dict[str, list[ModelVersionRow]]:
    out: dict[str, list[ModelVersionRow]] = defaultdict(list)
    for chunk in db.in_chunks(names):
        for row in session.scalars(select(ModelVersionRow)
                                   .where(ModelVersionRow.model_name.in_(chunk))):
            out[row.model_name].append(row)
    return out


def artifacts_of(session: Session, names: Sequence[str]
                 ) -> dict[tuple[str, int], list[tuple[str, str, int]]]:
    """(model, version) -> its artifacts as (path, sha256, size)."""
    out: dict[tuple[str, int], list[tuple[str, str, int]]] = defaultdict(list)
    for chunk in db.in_chunks(names):
        for a in session.scalars(select(ArtifactRow).where(ArtifactRow.model_name.in_(chunk))):
            out[(a.model_name, a.version)].append((a.path, a.sha256, a.size))
    return out


def approvals_of(session: Session, names: Sequence[str]
                 ) -> dict[tuple[str, int], list[ApprovalRow]]:
    """(model, version) -> its approval rows, oldest first."""
    out: dict[tuple[str, int], list[ApprovalRow]] = defaultdict(list)
    for chunk in db.in_chunks(names):
        for row in session.scalars(select(ApprovalRow).where(ApprovalRow.model_name.in_(chunk))
                                   .order_by(ApprovalRow.id)):
            out[(row.model_name, row.version)].append(row)
    return out


def newest_audit_entries(session: Session, limit: int) -> list[AuditEntryRow]:
    return list(session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc())
                                .limit(limit)))

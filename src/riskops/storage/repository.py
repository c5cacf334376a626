"""Queries and writes used by the registry, the audit log and tokens.

Callers pass a session from ``db.read_session`` or ``db.write_transaction``;
nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from riskops.audit_chain import GENESIS, AuditEntry, canonical_json, entry_hash
from riskops.storage.tables import (
    ApiTokenRow,
    ApprovalRow,
    ArtifactRow,
    AuditEntryRow,
    BiasAuditRow,
    InventoryRow,
    KeyStatementRow,
    ManifestRow,
    ModelRow,
    ModelVersionRow,
    PointerChangeRow,
    UserRow,
)

# --- models and versions -------------------------------------------------------------


def get_model(session: Session, name: str) -> ModelRow | None:
    return session.get(ModelRow, name)


def list_models(session: Session) -> list[ModelRow]:
    return list(session.scalars(select(ModelRow).order_by(ModelRow.name)))


def create_model(session: Session, name: str, now: datetime) -> ModelRow:
    row = ModelRow(name=name, created_at=now, revision=0, history="[]")
    session.add(row)
    session.flush()
    return row


def next_version(session: Session, name: str) -> int:
    current = session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_name == name)
    )
    return (current or 0) + 1


def add_version(session: Session, row: ModelVersionRow, artifacts: list[ArtifactRow]) -> None:
    session.add(row)
    session.add_all(artifacts)
    session.flush()


def get_version(session: Session, name: str, version: int) -> ModelVersionRow | None:
    return session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.model_name == name, ModelVersionRow.version == version
        )
    )


def list_versions(session: Session, name: str | None = None) -> list[ModelVersionRow]:
    query = select(ModelVersionRow).order_by(ModelVersionRow.model_name, ModelVersionRow.version)
    if name is not None:
        query = query.where(ModelVersionRow.model_name == name)
    return list(session.scalars(query))


def list_artifacts(session: Session, name: str | None = None) -> list[ArtifactRow]:
    query = select(ArtifactRow).order_by(ArtifactRow.model_name, ArtifactRow.version,
                                         ArtifactRow.path)
    if name is not None:
        query = query.where(ArtifactRow.model_name == name)
    return list(session.scalars(query))


def swap_pointers(session: Session, name: str, expected_revision: int, **values: Any) -> bool:
    """Compare-and-swap stage pointers; False if ``revision`` moved since it was read."""
    result = session.execute(
        update(ModelRow)
        .where(ModelRow.name == name, ModelRow.revision == expected_revision)
        .values(revision=expected_revision + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def add_pointer_change(session: Session, row: PointerChangeRow) -> None:
    session.add(row)
    session.flush()


def pointer_changes(session: Session, name: str) -> list[PointerChangeRow]:
    return list(
        session.scalars(
            select(PointerChangeRow)
            .where(PointerChangeRow.model_name == name)
            .order_by(PointerChangeRow.id)
        )
    )


# --- manifests -----------------------------------------------------------------------


def latest_manifest(session: Session) -> ManifestRow | None:
    return session.scalar(select(ManifestRow).order_by(ManifestRow.manifest_version.desc())
                          .limit(1))


def all_manifests(session: Session) -> list[ManifestRow]:
    return list(session.scalars(select(ManifestRow).order_by(ManifestRow.manifest_version)))


def add_manifest(session: Session, row: ManifestRow) -> None:
    session.add(row)
    session.flush()


def key_statements(session: Session) -> list[KeyStatementRow]:
    return list(session.scalars(select(KeyStatementRow).order_by(KeyStatementRow.seq)))


def add_key_statement(session: Session, row: KeyStatementRow) -> None:
    session.add(row)
    session.flush()


def manifest_by_version(session: Session, version: int) -> ManifestRow | None:
    return session.get(ManifestRow, version)


# --- audit log -----------------------------------------------------------------------


def append_audit(
    session: Session, *, ts: str, actor: str, action: str, subject: str, data: dict[str, Any]
) -> AuditEntry:
    """Append one entry chained to the newest; call inside ``write_transaction``."""
    last = session.scalar(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1))
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS
    body = canonical_json(data)
    digest = entry_hash(prev_hash, seq=seq, ts=ts, actor=actor, action=action, subject=subject,
                        data=body)
    session.add(AuditEntryRow(seq=seq, ts=ts, actor=actor, action=action, subject=subject,
                              data=body, prev_hash=prev_hash, hash=digest))
    session.flush()
    return AuditEntry(seq, ts, actor, action, subject, body, prev_hash, digest)


def audit_entries(session: Session) -> list[AuditEntry]:
    rows = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq))
    return [
        AuditEntry(r.seq, r.ts, r.actor, r.action, r.subject, r.data, r.prev_hash, r.hash)
        for r in rows
    ]


# --- API tokens ----------------------------------------------------------------------


def add_token(session: Session, row: ApiTokenRow) -> None:
    session.add(row)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> ApiTokenRow | None:
    return session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))


def token_by_name(session: Session, name: str) -> ApiTokenRow | None:
    return session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))


def list_tokens(session: Session) -> list[ApiTokenRow]:
    return list(session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id)))


# --- users, approvals, bias audits ---------------------------------------------------


def get_user(session: Session, name: str) -> UserRow | None:
    return session.get(UserRow, name)


def add_user(session: Session, row: UserRow) -> None:
    session.add(row)
    session.flush()


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.name)))


def tokens_of(session: Session, user: str) -> list[ApiTokenRow]:
    return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_name == user)
                                .order_by(ApiTokenRow.id)))


def add_approval(session: Session, row: ApprovalRow) -> None:
    session.add(row)
    session.flush()


def approvals_for(session: Session, model: str, version: int | None = None) -> list[ApprovalRow]:
    query = select(ApprovalRow).where(ApprovalRow.model_name == model)
    if version is not None:
        query = query.where(ApprovalRow.version == version)
    return list(session.scalars(query.order_by(ApprovalRow.id)))


def all_approvals(session: Session) -> list[ApprovalRow]:
    return list(session.scalars(select(ApprovalRow).order_by(ApprovalRow.id)))


def add_bias_audit(session: Session, row: BiasAuditRow) -> None:
    session.add(row)
    session.flush()


def latest_bias_audit(session: Session, model: str, version: int) -> BiasAuditRow | None:
    return session.scalar(select(BiasAuditRow)
                          .where(BiasAuditRow.model_name == model,
                                 BiasAuditRow.version == version)
                          .order_by(BiasAuditRow.id.desc()))


def get_inventory(session: Session, model: str) -> InventoryRow | None:
    return session.get(InventoryRow, model)


def all_inventory(session: Session) -> list[InventoryRow]:
    return list(session.scalars(select(InventoryRow).order_by(InventoryRow.model_name)))


def put_inventory(session: Session, row: InventoryRow) -> None:
    session.merge(row)
    session.flush()

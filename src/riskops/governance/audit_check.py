"""`riskops audit-log verify`: the chain end to end, and its head against the manifest."""

from __future__ import annotations

from dataclasses import dataclass

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.governance.audit_log import ChainProblem, find_chain_problem
from riskops.registry.manifest import read_verified_manifest
from riskops.storage import db, repository


@dataclass(frozen=True)
class AuditCheck:
    entries: int
    head_hash: str | None
    anchored_seq: int | None
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_audit_log(ws: Workspace) -> AuditCheck:
    """Walk the whole chain; then confirm the head the signed manifest recorded is still there.

    The second step catches the newest entries being deleted, which a chain
    alone cannot see.
    """
    with db.read_session(ws.database_url) as session:
        entries = repository.audit_entries(session)
    problem = find_chain_problem(entries)
    anchored: int | None = None
    if problem is None:
        try:
            verified = read_verified_manifest(ws.manifest_path, ws.signature_path,
                                              ws.public_key_path)
        except IntegrityError as exc:
            problem = ChainProblem(0, f"cannot check the audit head: {exc}")
        else:
            head = verified.manifest.audit_head
            if head is not None:
                anchored = head.seq
                by_seq = {e.seq: e for e in entries}
                if head.seq not in by_seq:
                    problem = ChainProblem(head.seq, f"entry {head.seq}, recorded as the audit "
                                                     f"head in signed manifest "
                                                     f"v{verified.manifest.manifest_version}, is "
                                                     "missing (newest entries deleted)")
                elif by_seq[head.seq].hash != head.hash:
                    problem = ChainProblem(head.seq, f"entry {head.seq} differs from the audit "
                                                     f"head in signed manifest "
                                                     f"v{verified.manifest.manifest_version}")
    return AuditCheck(len(entries), entries[-1].hash if entries else None, anchored, problem)

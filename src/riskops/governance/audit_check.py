"""`riskops audit-log verify`: the chain end to end, and every signed anchor of it.

Each published manifest records the audit head at the time it was signed
(``audit_head``). The chain alone cannot see its newest entries deleted, nor a
chain rewritten consistently from some entry on; the signed heads can. They
are read from the live manifest, from every manifest row in the database and
from every archived manifest file, each accepted only if its signature
verifies with the current or a retired workspace key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from riskops.audit_chain import AuditEntry, ChainProblem, find_chain_problem
from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry.keychain import fingerprint
from riskops.registry.signing import load_public_key, verify_bytes
from riskops.registry.trust import workspace_trust
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


@dataclass(frozen=True)
class _Anchor:
    seq: int
    hash: str
    source: str


def check_audit_log(ws: Workspace) -> AuditCheck:
    """Walk the whole chain, then check it against every signed audit head."""
    with db.read_session(ws.database_url) as session:
        entries = repository.audit_entries(session)
        rows = [(r.manifest_version, r.body.encode(), base64.b64decode(r.signature))
                for r in repository.all_manifests(session)]
    head = entries[-1].hash if entries else None
    problem = find_chain_problem(entries)
    if problem is not None:
        return AuditCheck(len(entries), head, None, problem)
    try:
        keys = _known_keys(ws)
    except IntegrityError as exc:
        return AuditCheck(len(entries), head, None,
                          ChainProblem(0, f"cannot check the signed audit heads: {exc}"))
    anchors: list[_Anchor] = []
    expected = 1
    for version, body, signature in rows:
        if version != expected:
            return AuditCheck(len(entries), head, None, ChainProblem(
                0, f"published manifest v{expected} is missing from the database"))
        expected += 1
        anchor = _anchor_of(body, signature, keys, f"manifest v{version} (database)")
        if isinstance(anchor, str):
            return AuditCheck(len(entries), head, None, ChainProblem(0, anchor))
        if anchor is not None:
            anchors.append(anchor)
    for path in _published_files(ws):
        anchor = _anchor_of(path.read_bytes(), _read(path.with_name(path.name + ".sig")),
                            keys, f"manifest file {path.name}")
        if isinstance(anchor, _Anchor):  # unsigned files are verify's business, not ours
            anchors.append(anchor)
    problem = _first_broken_anchor(entries, anchors)
    newest = max((a.seq for a in anchors), default=None)
    return AuditCheck(len(entries), head, newest, problem)


def _first_broken_anchor(entries: list[AuditEntry], anchors: Iterable[_Anchor]
                         ) -> ChainProblem | None:
    by_seq = {e.seq: e for e in entries}
    for anchor in sorted(anchors, key=lambda a: a.seq):
        entry = by_seq.get(anchor.seq)
        if entry is None:
            return ChainProblem(anchor.seq, f"entry {anchor.seq}, recorded as the audit head in "
                                            f"signed {anchor.source}, is missing (newest "
                                            "entries deleted)")
        if entry.hash != anchor.hash:
            return ChainProblem(anchor.seq, f"entry {anchor.seq} differs from the audit head in "
                                            f"signed {anchor.source} (the log was rewritten)")
    return None


def _anchor_of(body: bytes, signature: bytes | None, keys: list[ec.EllipticCurvePublicKey],
               source: str) -> _Anchor | str | None:
    """The signed audit head of a manifest; a message if its signature fails every key."""
    if signature is None or not any(_verifies(k, body, signature) for k in keys):
        return f"{source} is not signed by the workspace key or a retired one"
    head = json.loads(body).get("audit_head")
    return None if head is None else _Anchor(int(head["seq"]), str(head["hash"]), source)


def _verifies(key: ec.EllipticCurvePublicKey, body: bytes, signature: bytes) -> bool:
    try:
        verify_bytes(key, body, signature, subject="manifest")
    except IntegrityError:
        return False
    return True


def _known_keys(ws: Workspace) -> list[ec.EllipticCurvePublicKey]:
    """Every key of the chain this host trusts (current and superseded, never revoked),
    plus retired pairs of workspaces rotated before key chains existed."""
    trust = workspace_trust(ws)
    keys = list(trust.known.values())
    for retired in sorted(ws.keys_dir.glob("retired-*/public.pem")):
        key = load_public_key(retired)
        if fingerprint(key) not in trust.revoked:
            keys.append(key)
    return keys


def _published_files(ws: Workspace) -> list[Path]:
    files = [ws.manifest_path] if ws.manifest_path.exists() else []
    return files + sorted(ws.manifest_archive_dir.glob("manifest-*.json"))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None

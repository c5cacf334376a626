"""Signed acts on the key chain and the replay floor: anchor, revoke, list, reset the floor.

Each act is a statement or a manifest signed by the current key, stored in
the database with an audit entry, and published to ``keys/chain.json`` and
``manifest.json``; none is a silent file edit. Rotation itself lives beside
the workspace's key files (``riskops.workspace.rotate_keys``) and uses
``rotation_statement`` from here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from riskops.config import Workspace, check_fingerprint
from riskops.errors import InputError, IntegrityError
from riskops.registry.floor import (
    Floor,
    archive_floor,
    chain_problem,
    host_mark,
    mark_path,
    raise_mark,
)
from riskops.registry.keychain import (
    Statement,
    fingerprint,
    make_statement,
    public_pem,
    without_revoked,
)
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.signing import load_private_key, load_public_key
from riskops.registry.trust import statements_from_rows, workspace_trust
from riskops.storage import db, repository
from riskops.storage.tables import KeyStatementRow

MAX_REASON = 500


def store_statement(session: Any, statement: Statement, now: datetime) -> None:
    """Add ``statement`` to the database's chain (inside the act's write transaction)."""
    repository.add_key_statement(session, KeyStatementRow(
        seq=statement.seq, kind=statement.kind, key=statement.key,
        body=statement.body.decode(),
        signatures=json.dumps(statement.as_json()["signatures"]),
        created_at=now))


def _next_seq(session: Any) -> int:
    rows = repository.key_statements(session)
    return rows[-1].seq + 1 if rows else 1


def root_statement(session: Any, key: ec.EllipticCurvePrivateKey, *, now: datetime,
                   actor: str) -> Statement:
    """Record ``key`` as the chain's root (the anchor of a workspace without pins)."""
    public = key.public_key()
    statement = make_statement({"seq": _next_seq(session), "kind": "root",
                                "key": fingerprint(public), "public_key": public_pem(public),
                                "at": now.isoformat(), "by": actor}, [key])
    store_statement(session, statement, now)
    return statement


def rotation_statement(session: Any, old: ec.EllipticCurvePrivateKey,
                       new: ec.EllipticCurvePrivateKey, *, now: datetime,
                       actor: str) -> Statement:
    """Record the rotation ``old`` -> ``new``, signed by both."""
    public = new.public_key()
    statement = make_statement({"seq": _next_seq(session), "kind": "rotate",
                                "previous": fingerprint(old.public_key()),
                                "key": fingerprint(public), "public_key": public_pem(public),
                                "at": now.isoformat(), "by": actor}, [old, new])
    store_statement(session, statement, now)
    return statement


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON or any(ord(c) < 32 for c in text):
        raise InputError(f"--reason must be 1-{MAX_REASON} characters of plain text on one "
                         "line; say why, for the audit log.")
    return text


def revoke_key(ws: Workspace, key_id: str, *, reason: str, actor: str) -> dict[str, Any]:
    """Revoke ``key_id`` with a statement signed by the current key.

    Raises
    ------
    InputError
        For a malformed fingerprint or reason, a key the chain never held, an
        already revoked key, or the current signing key (rotate first).
    """
    try:
        key_id = check_fingerprint(key_id, source="key")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    why = _reason(reason)
    signer = load_private_key(ws.private_key_path)
    with db.write_transaction(ws.database_url) as session:
        trust = workspace_trust(ws, session=session)
        statements = statements_from_rows(repository.key_statements(session))
        held = {s.key for s in statements} | {
            str(s.data.get("previous")) for s in statements if s.kind == "rotate"}
        if key_id in trust.revoked:
            raise InputError(f"key {key_id} is already revoked.")
        if key_id not in held:
            raise InputError(f"key {key_id} is not in this workspace's key chain; riskops keys "
                             "list shows the keys it holds.")
        if key_id == fingerprint(signer.public_key()) or key_id in trust.current:
            raise InputError(f"key {key_id} is the current signing key; introduce its successor "
                             "with riskops keys rotate first, then revoke it.")
        now = datetime.now(UTC)
        statement = make_statement({"seq": _next_seq(session), "kind": "revoke",
                                    "key": key_id, "reason": why, "at": now.isoformat(),
                                    "by": actor}, [signer])
        store_statement(session, statement, now)
        version = record_change(session, ws, now=now, actor=actor, action="keys.revoked",
                                subject=key_id, data={"key": key_id, "reason": why,
                                                      "seq": statement.seq})
    sync_manifest_files(ws)
    removed = [path for path, key in retired_private_keys(ws) if key == key_id]
    for path in removed:
        path.unlink()
    return {"revoked": key_id, "seq": statement.seq, "manifest_version": version,
            "deleted_private_keys": [str(p) for p in removed]}


def retired_private_keys(ws: Workspace) -> list[tuple[Path, str | None]]:
    """Private keys left in ``keys/retired-*/`` (by releases that kept them there), with their
    fingerprints (``None`` if unreadable): whoever reads the workspace could sign with them."""

    def key_of(path: Path) -> str | None:
        try:
            return fingerprint(load_private_key(path).public_key())
        except (InputError, IntegrityError, OSError):
            return None

    return [(p, key_of(p)) for p in sorted(ws.keys_dir.glob("retired-*/signing.pem"))]


def key_listing(ws: Workspace) -> dict[str, Any]:
    """The chain as this host sees it: pins, each key's status, the key files, the floor."""
    mark = host_mark(ws, trust := workspace_trust(ws))
    trust, _ = without_revoked(trust, mark.revoked)
    with db.read_session(ws.database_url) as session:
        statements = statements_from_rows(repository.key_statements(session))
        newest = repository.latest_manifest(session)

    def status(key: str) -> str:
        if key in trust.revoked:
            return "revoked"
        if key in trust.current:
            return "current"
        return "superseded" if key in trust.known else "not trusted here"

    def file_key(path: Any, private: bool) -> str | None:
        try:
            key = load_private_key(path).public_key() if private else load_public_key(path)
            return fingerprint(key)
        except (InputError, IntegrityError):
            return None

    return {
        "trusted_from": trust.source,
        "pins": list(trust.pins),
        "current": sorted(trust.current),
        "problems": list(trust.problems),
        "statements": [{**{k: v for k, v in s.data.items() if k not in ("public_key", "schema")},
                        "status": status(s.key)} for s in statements],
        "public_pem": file_key(ws.public_key_path, False),
        "signing_pem": file_key(ws.private_key_path, True),
        "retired_private_keys": [{"path": str(p), "key": k, "status": status(k) if k else None}
                                 for p, k in retired_private_keys(ws)],
        "floor": {"high_water_mark": mark.manifest_version,
                  "database": newest.manifest_version if newest else 0,
                  "archive": archive_floor(ws.manifest_archive_dir, trust.known)},
    }


@dataclass(frozen=True)
class FloorReset:
    floor: Floor
    manifest_version: int
    orphaned: tuple[str, ...]


def reset_floor(ws: Workspace, *, reason: str, actor: str, above: int = 0) -> FloorReset:
    """Publish the database's current state as a manifest above every floor witness.

    After a backup of the database was restored on purpose, the manifests
    published after that backup stay in the archive (and in replicas'
    high-water marks), so every verifier refuses the restored state. This
    act signs the restored state as manifest ``max(floor, above) + 1``,
    records why in the audit log (with the floor's three numbers and the
    archived manifests it set aside), and moves those archived manifests
    to ``manifests/orphaned-TIMESTAMP/`` so the evidence is kept.
    """
    why = _reason(reason)
    if above < 0:
        raise InputError("--above must be a manifest version (0 or more).")
    mark_file = mark_path(ws)
    mark = host_mark(ws, trust := workspace_trust(ws))
    trust, forgotten = without_revoked(trust, mark.revoked)
    # The floor is reset, never the key chain: a chain this host saw longer, rewritten
    # or with a revocation removed stays refused.
    problem = forgotten or chain_problem(mark, trust, mark_file=mark_file)
    if problem:
        raise IntegrityError(f"the floor was not reset: {problem}.", [("keys", problem)])
    keys = {k: v for k, v in trust.known.items() if k not in trust.revoked}
    archive = ws.manifest_archive_dir
    now = datetime.now(UTC)
    with db.write_transaction(ws.database_url) as session:
        newest = repository.latest_manifest(session)
        database = newest.manifest_version if newest else 0
        floor = Floor(mark, database, newest.sha256 if newest else None,
                      archive_floor(archive, keys))
        if floor.value <= database and above <= database:
            raise InputError(
                f"nothing to reset: the database's newest manifest v{database} is already the "
                f"floor ({floor.describe()}); give --above N if a replica saw a newer one.")
        target = max(floor.value, above) + 1
        orphans = sorted(p for p in archive.glob("manifest-*.json*")
                         if _archived_version(p.name) > database)
        digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in orphans}
        version = record_change(
            session, ws, now=now, actor=actor, action="manifest.floor_reset",
            subject="manifest.json", manifest_version=target,
            data={"reason": why, "restored_manifest_version": database,
                  "floor": {"high_water_mark": mark.manifest_version, "database": database,
                            "archive": floor.archive},
                  "orphaned": digests})
    if orphans:
        folder = archive / f"orphaned-{now:%Y%m%dT%H%M%S.%f}"
        folder.mkdir()
        for path in orphans:
            shutil.move(path, folder / path.name)
    sync_manifest_files(ws)
    body = ws.manifest_path.read_bytes()
    raise_mark(mark_file, manifest_version=version, sha256=hashlib.sha256(body).hexdigest(),
               chain_seq=trust.seq, chain_head=trust.head, revoked=trust.revoked, base=mark)
    return FloorReset(floor, version, tuple(p.name for p in orphans))


def _archived_version(name: str) -> int:
    stem = name.removeprefix("manifest-").split(".", 1)[0]
    return int(stem) if stem.isdigit() else 0

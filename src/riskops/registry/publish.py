"""Build, sign and publish the manifest from the database.

``publish_manifest`` runs inside the write transaction that changed the
registry, so the database row and the change commit together. It signs
stage changes, approvals and new versions, but never a change to a version
the previous manifest already published (its files, digests, entrypoint,
parameters...): those rows are only ever written at registration, so a
difference means the database was edited behind riskops' back. Afterwards
``sync_manifest_files`` writes the newest signed manifest to disk under a
file lock, never replacing a newer file with an older one, so concurrent
publishers converge on the database's newest version.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from riskops.audit_chain import AuditEntry
from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.files import atomic_write
from riskops.registry.keychain import fingerprint
from riskops.registry.manifest import (
    SCHEMA,
    Manifest,
    VersionEntry,
    canonical_bytes,
    parse_manifest,
    verify_with_any,
)
from riskops.registry.ossf import SIGNATURE_NAME
from riskops.registry.signing import load_private_key, sign_bytes
from riskops.registry.store import version_folder
from riskops.registry.trust import (
    pinned_keys,
    publish_chain_file,
    statements_from_rows,
    workspace_trust,
)
from riskops.storage import db, repository
from riskops.storage.tables import ManifestRow

log = logging.getLogger(__name__)


def next_manifest_version(session: Any) -> int:
    latest = repository.latest_manifest(session)
    return (latest.manifest_version + 1) if latest else 1


def build_manifest(
    session: Any, *, manifest_version: int, published_at: str, audit_head: AuditEntry | None
) -> dict[str, Any]:
    """The manifest document for the registry's current state."""
    artifacts: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in repository.list_artifacts(session):
        artifacts.setdefault((row.model_name, row.version), []).append(
            {"path": row.path, "sha256": row.sha256, "size": row.size}
        )
    approvals: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for a in repository.all_approvals(session):
        approvals.setdefault((a.model_name, a.version), []).append(
            {"user": a.user_name, "role": a.role, "decision": a.decision,
             "at": a.created_at.isoformat(), "comment": a.comment,
             "artifacts_sha256": a.artifacts_sha256, "purpose": a.purpose or "promotion"})
    versions: dict[str, dict[str, Any]] = {}
    for v in repository.list_versions(session):
        files = artifacts.get((v.model_name, v.version), [])
        signature = f"{version_folder(v.model_name, v.version)}/{SIGNATURE_NAME}"
        versions.setdefault(v.model_name, {})[str(v.version)] = {
            "version": v.version,
            "created_at": v.created_at.isoformat(),
            "author": v.author,
            "entrypoint": v.entrypoint,
            "artifacts": files,
            "signature": signature if any(f["path"] == signature for f in files) else None,
            "metrics": json.loads(v.metrics),
            "params": json.loads(v.params),
            "approvals": approvals.get((v.model_name, v.version), []),
            "training_run_id": v.training_run_id,
        }
    models: dict[str, Any] = {}
    for m in repository.list_models(session):
        canary = (
            {"version": m.canary_version, "percent": m.canary_percent}
            if m.canary_version is not None
            else None
        )
        models[m.name] = {
            "stages": {
                "production": m.production_version,
                "staging": m.staging_version,
                "canary": canary,
            },
            "history": json.loads(m.history),
            "versions": versions.get(m.name, {}),
            "pins": json.loads(m.pins or "{}"),
        }
    return {
        "schema": SCHEMA,
        "manifest_version": manifest_version,
        "published_at": published_at,
        "artifact_root": "artifacts",
        "audit_head": {"seq": audit_head.seq, "hash": audit_head.hash} if audit_head else None,
        "models": models,
    }


def publish_manifest(
    session: Any, ws: Workspace, *, manifest_version: int, now: datetime,
    audit_head: AuditEntry | None, private_key: Path | None = None,
    published_keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
    resigned: Collection[str] = (),
) -> ManifestRow:
    """Sign the current state as ``manifest_version`` and store it in the database.

    ``published_keys`` verify the database's newest manifest (default: the
    keys the chain still trusts, revoked ones excepted); ``resigned`` names
    the OpenSSF bundles the caller re-signed itself (a key rotation), whose
    digests and sizes may change. See ``check_published_entries``.

    Raises
    ------
    IntegrityError
        If the signer is not trusted, the newest manifest does not verify, or
        a version it published would change.
    """
    document = build_manifest(
        session, manifest_version=manifest_version, published_at=now.isoformat(),
        audit_head=audit_head,
    )
    body = canonical_bytes(document)
    # Never sign what readers would refuse: one bad entry would take every model down.
    proposed = parse_manifest(body, subject=f"manifest v{manifest_version} (about to be signed)")
    key = load_private_key(private_key or ws.private_key_path)
    check_signer(session, ws, key, path=private_key or ws.private_key_path)
    check_published_entries(session, ws, proposed, keys=published_keys, resigned=resigned)
    signature = sign_bytes(key, body)
    row = ManifestRow(
        manifest_version=manifest_version,
        published_at=now,
        sha256=hashlib.sha256(body).hexdigest(),
        body=body.decode(),
        signature=base64.b64encode(signature).decode(),
    )
    repository.add_manifest(session, row)
    return row


def check_signer(session: Any, ws: Workspace, key: ec.EllipticCurvePrivateKey, *,
                 path: Path) -> None:
    """Refuse to sign with a key the key chain (and this host's pins) do not trust.

    A replaced ``keys/signing.pem`` would otherwise publish manifests no
    verifier accepts (or, with a replaced ``public.pem`` too, ones a careless
    verifier would). A workspace without a recorded chain (made before key
    chains existed) is not checked; ``riskops init`` records its root key.

    Raises
    ------
    IntegrityError
        Naming the key's fingerprint and the trusted ones.
    """
    if not repository.key_statements(session) and not pinned_keys(ws)[0]:
        return
    trust = workspace_trust(ws, session=session)
    signer = fingerprint(key.public_key())
    if signer not in trust.current:
        raise IntegrityError(
            f"{path} is key {signer}, which is not a trusted signing key (trusted: "
            f"{trust.describe()}); nothing was signed. Restore the signing key from its "
            "backup, or introduce a new key with riskops keys rotate.",
            [(path.name, "untrusted signing key")])


#: The parts of a published version that never change (``approvals`` grow; stage pointers,
#: history and pins live on the model, not on the version).
FROZEN_FIELDS = ("created_at", "author", "entrypoint", "signature", "metrics", "params",
                 "training_run_id")


@dataclass(frozen=True)
class FrozenChange:
    """One change to a version an earlier manifest published: ``field``, ``was`` -> ``now``."""

    model: str
    version: str
    field: str
    was: str
    now: str

    def describe(self) -> str:
        return f"{self.model} v{self.version} {self.field}: {self.was} -> {self.now}"


def _shown(value: Any) -> str:
    """A value for a one-line message: digests shortened, long values cut."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text if len(text) <= 80 else text[:79] + "…"


def _artifact_changes(model: str, version: str, was: VersionEntry, now: VersionEntry,
                      resigned: Collection[str]) -> list[FrozenChange]:
    before = {a.path: a for a in was.artifacts}
    after = {a.path: a for a in now.artifacts}
    changes = [FrozenChange(model, version, f"artifact {p}", "listed", "gone")
               for p in sorted(before.keys() - after.keys())]
    changes += [FrozenChange(model, version, f"artifact {p}", "not listed", "listed")
                for p in sorted(after.keys() - before.keys())]
    for path in sorted(before.keys() & after.keys()):
        if path in resigned:
            continue
        for name in ("sha256", "size"):
            old, new = getattr(before[path], name), getattr(after[path], name)
            if old != new:
                changes.append(FrozenChange(model, version, f"artifact {path} {name}",
                                            _shown(old), _shown(new)))
    return changes


def frozen_changes(previous: Manifest, proposed: Manifest, *,
                   resigned: Collection[str] = ()) -> list[FrozenChange]:
    """What ``proposed`` changes in the versions ``previous`` published (empty: nothing).

    Every version ``previous`` lists must still be there with the same
    artifacts (paths, SHA-256, sizes) and the same ``FROZEN_FIELDS``;
    ``resigned`` paths (OpenSSF bundles a key rotation re-signed) may change
    digest and size. New versions, approvals and the models' stage pointers,
    history and pins are free to change.
    """
    changes: list[FrozenChange] = []
    for model, entry in sorted(previous.models.items()):
        current = proposed.models.get(model)
        for number, was in sorted(entry.versions.items(), key=lambda item: int(item[0])):
            now = current.versions.get(number) if current is not None else None
            if now is None:
                changes.append(FrozenChange(model, number, "version", "published", "gone"))
                continue
            changes += _artifact_changes(model, number, was, now, resigned)
            changes += [FrozenChange(model, number, name, _shown(getattr(was, name)),
                                     _shown(getattr(now, name)))
                        for name in FROZEN_FIELDS if getattr(was, name) != getattr(now, name)]
    return changes


def published_manifest(session: Any, ws: Workspace,
                       keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None
                       ) -> tuple[int, Manifest] | None:
    """The database's newest manifest (version, parsed), verified with ``keys`` (default: the
    keys the chain trusts, revoked ones excepted); ``None`` before the first.

    Raises
    ------
    IntegrityError
        If its signature does not verify: what was published cannot then be told
        apart from an edit.
    """
    row = repository.latest_manifest(session)
    if row is None:
        return None
    if keys is None:
        trust = workspace_trust(ws, session=session)
        keys = {k: v for k, v in trust.known.items() if k not in trust.revoked}
    subject = f"the database's newest manifest v{row.manifest_version}"
    body = row.body.encode()
    try:
        verify_with_any(keys, body, base64.b64decode(row.signature), subject=subject)
    except (IntegrityError, ValueError) as exc:
        raise IntegrityError(
            f"{subject} does not verify with a trusted key ({exc}); what it published cannot "
            "be told apart from an edit, so nothing was signed.\n"
            "  next: riskops verify names the problem; restore the database from its backup.",
            [(f"manifest v{row.manifest_version}", "does not verify")]) from None
    return row.manifest_version, parse_manifest(body, subject=subject)


def check_published_entries(session: Any, ws: Workspace, proposed: Manifest, *,
                            keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
                            resigned: Collection[str] = ()) -> None:
    """Refuse to sign ``proposed`` if it changes a version the newest manifest published.

    A version's rows are written once, at registration; an artifact digest,
    path or entrypoint that differs later was edited in the database, and
    signing it would bless it (a tampered ``.skops`` then loads in serving).

    Raises
    ------
    IntegrityError
        Naming each model, version and field, ``(MODEL vN, reason)`` per change.
    """
    published = published_manifest(session, ws, keys)
    if published is None:
        return
    number, previous = published
    changes = frozen_changes(previous, proposed, resigned=resigned)
    if changes:
        raise IntegrityError(
            f"{'; '.join(c.describe() for c in changes)}: already published in manifest "
            f"v{number}, where a version may not change; the database's rows were edited "
            "outside riskops. Nothing was signed.\n"
            f"  next: compare the rows with the signed manifest (riskops verify {changes[0].model} "
            f"{changes[0].version}) and restore them, or the database from its backup; new "
            "files need a new version (riskops models register).",
            [(f"{c.model} v{c.version}", f"{c.field} changed: {c.was} -> {c.now}")
             for c in changes])


def record_change(
    session: Any, ws: Workspace, *, now: datetime, actor: str, action: str, subject: str,
    data: dict[str, Any], private_key: Path | None = None, manifest_version: int | None = None,
    published_keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
    resigned: Collection[str] = (),
) -> int:
    """Append the audit entry for a change and publish the manifest that anchors it.

    Call inside the change's write transaction; returns the new manifest
    version, which the audit entry's ``data`` also records. ``manifest_version``
    jumps the version counter forward (``riskops keys reset-floor`` only);
    ``published_keys`` and ``resigned`` are for a key rotation (see
    ``publish_manifest``).
    """
    return record_changes(session, ws, now=now, actor=actor, entries=[(action, subject, data)],
                          private_key=private_key, manifest_version=manifest_version,
                          published_keys=published_keys, resigned=resigned)


def record_changes(
    session: Any, ws: Workspace, *, now: datetime, actor: str,
    entries: Sequence[tuple[str, str, dict[str, Any]]], private_key: Path | None = None,
    manifest_version: int | None = None,
    published_keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
    resigned: Collection[str] = (),
) -> int:
    """``record_change`` for several ``(action, subject, data)`` entries of one change:
    each appended in order, all anchored by one new manifest (the last is its head)."""
    if not entries:
        raise ValueError("record_changes needs at least one entry.")
    following = next_manifest_version(session)
    if manifest_version is not None and manifest_version < following:
        raise ValueError(f"manifest v{manifest_version} would not follow v{following - 1}.")
    manifest_version = manifest_version or following
    entry = None
    for action, subject, data in entries:
        entry = repository.append_audit(
            session, ts=now.isoformat(), actor=actor, action=action, subject=subject,
            data={**data, "manifest_version": manifest_version},
        )
    publish_manifest(session, ws, manifest_version=manifest_version, now=now,
                     audit_head=entry, private_key=private_key,
                     published_keys=published_keys, resigned=resigned)
    return manifest_version


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by rename from a fresh, exclusively created temporary file.

    Mode 0o600, as these files have always had (they were written through mkstemp).
    """
    with atomic_write(path, permissions=0o600) as fh:
        fh.write(data)


def sync_manifest_files(ws: Workspace) -> SyncResult:
    """Make ``manifest.json(.sig)`` on disk the database's newest manifest.

    The database is the record; the files are its published copy. Under a file
    lock, the newest row is compared byte for byte with the files; if they
    differ the files are rewritten (signature first, then manifest, each by
    atomic rename). A replaced file that is not simply an older published
    manifest (edited, forged, or of unknown origin) is first kept aside as
    ``manifests/displaced-TIMESTAMP.json(.sig)`` for the investigation.
    """
    with _file_lock(ws.home / ".manifest.lock"):
        with db.read_session(ws.database_url) as session:
            statements = statements_from_rows(repository.key_statements(session))
            row = repository.latest_manifest(session)
            if row is None:
                return SyncResult(0, False, None)
            version, body, signature = row.manifest_version, row.body.encode(), row.signature
        # The chain before the manifest: a replica reading files only must know a
        # rotated-in key before it meets a manifest signed with it.
        publish_chain_file(ws, statements)
        sig = base64.b64decode(signature)
        on_disk = _read_or_none(ws.manifest_path)
        sig_on_disk = _read_or_none(ws.signature_path)
        if on_disk == body and sig_on_disk == sig:
            return SyncResult(version, False, None)
        archive = ws.manifest_archive_dir
        archive.mkdir(parents=True, exist_ok=True)
        displaced = None
        if on_disk is not None and not _is_published(archive, on_disk, sig_on_disk):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
            displaced = archive / f"displaced-{stamp}.json"
            _write_atomic(displaced, on_disk)
            if sig_on_disk is not None:
                _write_atomic(archive / f"displaced-{stamp}.json.sig", sig_on_disk)
            log.warning(
                "%s was not a manifest this workspace published (edited, replaced or "
                "corrupt); kept it as %s and wrote manifest v%d from the database",
                ws.manifest_path, displaced, version,
            )
        _write_atomic(archive / f"manifest-{version:06d}.json", body)
        _write_atomic(archive / f"manifest-{version:06d}.json.sig", sig)
        # Signature first, then the manifest: a reader between the two sees a
        # mismatch and retries (see manifest.read_verified_manifest).
        _write_atomic(ws.signature_path, sig)
        _write_atomic(ws.manifest_path, body)
        return SyncResult(version, True, displaced)


@dataclass(frozen=True)
class SyncResult:
    """What ``sync_manifest_files`` did: newest version, whether files were written,
    and where a displaced unknown file was kept."""

    manifest_version: int
    written: bool
    displaced: Path | None


def _is_published(archive: Path, body: bytes, signature: bytes | None) -> bool:
    """True if ``body`` (and its signature) is byte for byte an archived manifest."""
    try:
        version = int(json.loads(body)["manifest_version"])
    except (ValueError, KeyError, TypeError):
        return False
    name = f"manifest-{version:06d}.json"
    return (_read_or_none(archive / name) == body
            and _read_or_none(archive / f"{name}.sig") == signature)

"""`riskops init`: create a workspace, or confirm an existing one unchanged."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from riskops.config import CONFIG_NAME, Workspace, open_workspace, resolve_home
from riskops.errors import InputError, IntegrityError
from riskops.files import atomic_write, durable_replace, fsync_file
from riskops.registry import ossf
from riskops.registry.integrity import sha256_file, unlisted_files, verify_artifacts
from riskops.registry.key_admin import root_statement, rotation_statement
from riskops.registry.keychain import fingerprint, public_pem
from riskops.registry.manifest import parse_manifest, verify_with_any
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.signing import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    verify_bytes,
)
from riskops.registry.store import version_folder
from riskops.registry.trust import pinned_keys, workspace_trust
from riskops.storage import db, repository
from riskops.storage.tables import ApiTokenRow
from riskops.tokens import PREFIX, ensure_user, hash_token

ADMIN_TOKEN_NAME = "admin"


@dataclass
class InitResult:
    workspace: Workspace
    created: bool
    admin_token: str | None = None
    notes: list[str] = field(default_factory=list)
    #: The chain's root key fingerprint: what operators pin (RISKOPS_TRUSTED_KEYS).
    anchor: str | None = None


def init_workspace(home: str | Path | None = None, *, force: bool = False,
                   actor: str = "riskops-init") -> InitResult:
    """Create the workspace at ``home``; idempotent, keys kept unless ``force``.

    With ``force`` on an existing workspace the key pair is replaced (a key
    rotation): every version folder is re-checked against the manifest signed
    with the old key, then re-signed, and a new manifest is published.
    """
    path = resolve_home(home)
    config = path / CONFIG_NAME
    set_aside = None  # this host's mark of an earlier workspace here, set aside below
    if config.is_file():
        ws = open_workspace(path)
        db.migrate(ws.database_url)
        recovered = _recover_rotation(ws)
        if recovered is not None:
            return InitResult(ws, created=False, notes=[recovered])
        if force:
            return _rotate_keys(ws, actor=actor)
        if _has_manifest(ws):
            if not ws.private_key_path.exists():
                raise InputError(
                    f"{ws.private_key_path} is missing, but this workspace has published "
                    "manifests; restore the key from its backup (verifier-only hosts need "
                    "only public.pem and should not run init), or rotate keys with "
                    "riskops init --force."
                )
            repaired = check_key_files(ws, actor=actor)
            synced = sync_manifest_files(ws)
            notes = [f"workspace {path} is already initialised; nothing changed "
                     "(keys are kept; pass --force to replace them)."]
            if synced.written:
                notes = [f"workspace {path} is already initialised; manifest.json was "
                         f"rewritten from the database (v{synced.manifest_version})."]
                if synced.displaced is not None:
                    notes.append(f"the manifest.json found was not one this workspace "
                                 f"published; kept as {synced.displaced}.")
            return InitResult(ws, created=False, notes=[*repaired, *notes], anchor=_anchor(ws))
        # Half made (interrupted before its first manifest): finish it below.
    else:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, ...
            raise InputError(f"cannot create workspace folder {path}: {exc.strerror}.") from None
        # The database first: an unreachable or malformed URL then leaves no
        # config behind, so running init again after fixing it starts afresh.
        db.migrate(Workspace(home=path).database_url)
        with atomic_write(config, "w", encoding="utf-8") as fh:
            fh.write(tomli_w.dumps({"workspace": {"format": 1}}))
        ws = open_workspace(path)
        set_aside = set_aside_host_mark(ws)
    for sub in ("artifacts", "lake", "manifests"):
        (path / sub).mkdir(exist_ok=True)
    ws.keys_dir.mkdir(mode=0o700, exist_ok=True)
    if not ws.private_key_path.exists():
        generate_key_pair(ws.private_key_path, ws.public_key_path)
    result = InitResult(ws, created=True)
    if set_aside is not None:
        result.notes.append(
            f"this host had verified an earlier workspace at {path}; its replay mark was set "
            f"aside as {set_aside} (a new workspace starts a new key chain).")
    with db.write_transaction(ws.database_url) as session:
        now = datetime.now(UTC)
        if not repository.key_statements(session):
            root_statement(session, load_private_key(ws.private_key_path), now=now, actor=actor)
        if repository.token_by_name(session, ADMIN_TOKEN_NAME) is None:
            token = PREFIX + secrets.token_urlsafe(32)
            ensure_user(session, name=ADMIN_TOKEN_NAME, roles=("admin",), actor=actor, now=now)
            repository.add_token(session, ApiTokenRow(
                name=ADMIN_TOKEN_NAME, role="admin", token_hash=hash_token(token),
                created_at=now, user_name=ADMIN_TOKEN_NAME))
            result.admin_token = token
        else:
            result.notes.append("the database already has an admin token; none was created.")
        record_change(session, ws, now=now, actor=actor, action="workspace.initialized",
                      subject=str(path), data={"home": str(path)})
    sync_manifest_files(ws)
    result.anchor = _anchor(ws)
    return result


def set_aside_host_mark(ws: Workspace) -> Path | None:
    """Move this host's replay mark for ``ws``'s folder aside, when there is one; for ``init``
    making a new workspace where an earlier one was (its new root key would otherwise be
    refused as a rewritten chain). Only a person running init on this host does this: an
    attacker who only writes the workspace cannot."""
    from riskops.registry.floor import mark_path

    mark = mark_path(ws)
    if not mark.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = mark.with_name(f"{mark.stem}.replaced-{stamp}.json")
    mark.rename(target)
    return target


def _anchor(ws: Workspace) -> str | None:
    """The fingerprint to pin: the current signing key's."""
    if not ws.private_key_path.exists():
        return None
    return fingerprint(load_private_key(ws.private_key_path).public_key())


def _has_manifest(ws: Workspace) -> bool:
    with db.read_session(ws.database_url) as session:
        return repository.latest_manifest(session) is not None


def retire_folder(ws: Workspace, folder: str | Path) -> Path:
    """``folder`` (``keys rotate --retire-to``), checked to be an existing folder outside ``ws``.

    Raises
    ------
    InputError
        If it is not a folder, or lies inside the workspace (whoever can
        write the workspace could then sign with the retired key).
    """
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise InputError(f"--retire-to {folder}: not an existing folder; create it (on an "
                         "offline medium or a vault mount, outside the workspace) first.")
    if path == ws.home or ws.home in path.parents:
        raise InputError(f"--retire-to {folder} is inside the workspace {ws.home}; a retired "
                         "private key must leave it (whoever can write the workspace could "
                         "sign with it): give a folder outside it, or leave the option out "
                         "to delete the old key.")
    return path


def _keep_retired_key(ws: Workspace, folder: Path) -> Path:
    """Copy the current private key into ``folder`` (never over an existing file), mode 0600."""
    key = load_private_key(ws.private_key_path)
    fp = fingerprint(key.public_key()).removeprefix("sha256:")
    target = folder / f"signing-{fp[:16]}.pem"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"--retire-to: {target} already exists; nothing was changed.") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(ws.private_key_path.read_bytes())
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _rotate_keys(ws: Workspace, *, actor: str, retire_to: Path | None = None) -> InitResult:
    # Check every version against the manifest signed with the current key
    # before anything is re-signed, so a tampered file is never blessed.
    with db.read_session(ws.database_url) as session:
        latest = repository.latest_manifest(session)
    # A lost signing key cannot sign its successor: the new key becomes a new root
    # that pinned replicas refuse until they are re-pinned (said loudly below).
    old_key = load_private_key(ws.private_key_path) if ws.private_key_path.exists() else None
    trust = workspace_trust(ws)
    if old_key is not None and fingerprint(old_key.public_key()) not in trust.current:
        raise IntegrityError(
            f"keys were not replaced: {ws.private_key_path} is not a trusted key (trusted: "
            f"{trust.describe()}); restore the signing key from its backup first.",
            [(ws.private_key_path.name, "untrusted signing key")])
    if latest is not None:
        body = latest.body.encode()
        # The record must still be what the current key signed before we re-sign it.
        verify_with_any(trust.current, body, base64.b64decode(latest.signature),
                        subject=f"database manifest v{latest.manifest_version}")
        manifest = parse_manifest(body)
        root = ws.store_dir
        failures = []
        for name, model in manifest.models.items():
            for number, version in model.versions.items():
                failures += [f for f in verify_artifacts(root, version.artifacts)
                             if not f.path.endswith(ossf.SIGNATURE_NAME)]
                failures += unlisted_files(root, version_folder(name, int(number)),
                                           [a.path for a in version.artifacts])
        if failures:
            raise IntegrityError(
                "keys were not replaced: artifacts fail verification: "
                + "; ".join(f"{f.path}: {f.reason}" for f in failures),
                [(f.path, f.reason) for f in failures])
    # The new pair and the new bundles are staged beside the live ones and only
    # renamed into place after the database has committed the re-signed state,
    # so a failure before the commit leaves the workspace exactly as it was,
    # and a crash after it is finished by the next `riskops init`.
    # The old private key never stays in the workspace: kept only where the operator
    # pointed (outside it), before anything changes; else deleted with the rotation.
    kept = _keep_retired_key(ws, retire_to) if retire_to and old_key is not None else None
    next_private, next_public = _staged_keys(ws)
    generate_key_pair(next_private, next_public)
    staged: list[Path] = []
    try:
        with db.write_transaction(ws.database_url) as session:
            now = datetime.now(UTC)
            resigned: list[str] = []
            for row in repository.list_artifacts(session):
                if row.path.endswith("/" + ossf.SIGNATURE_NAME):
                    folder = ws.store_dir / row.path.rsplit("/", 1)[0]
                    staged.append(ossf.sign_folder(folder, next_private, staged=True))
                    row.sha256, row.size = sha256_file(staged[-1])
                    resigned.append(row.path)
            new_key = load_private_key(next_private)
            if old_key is None:
                statement = root_statement(session, new_key, now=now, actor=actor)
            else:
                if not repository.key_statements(session):
                    root_statement(session, old_key, now=now, actor=actor)
                statement = rotation_statement(session, old_key, new_key, now=now, actor=actor)
            previous = statement.data.get("previous")
            # The bundles just re-signed may change digest; nothing else that was
            # published may. The newest manifest verified with the keys trusted before.
            mv = record_change(session, ws, now=now, actor=actor,
                               action="keys.rotated" if previous else "keys.reanchored",
                               subject=str(ws.home), private_key=next_private,
                               data={"previous": previous, "key": statement.key,
                                     "seq": statement.seq},
                               published_keys=trust.current, resigned=resigned)
    except BaseException:
        for path in (*staged, next_private, next_public, *([kept] if kept else [])):
            path.unlink(missing_ok=True)
        raise
    backup = _finish_rotation(ws)
    old_private = (f"the old private key was moved to {kept}" if kept else
                   "the old private key was deleted" if old_key is not None else
                   "there was no old private key")
    done = (f"signing keys replaced ({old_private}; its public key is kept in {backup}); "
            f"every version re-signed; manifest v{mv} published; ")
    if previous:
        done += (f"rotation {previous} -> {statement.key} signed by both keys (key statement "
                 f"{statement.seq}). Replicas pinned to the old key follow it; add "
                 f"{statement.key} to their pins, then drop the old one.")
    else:
        done += (f"the signing key was missing, so {statement.key} is a NEW ROOT (key statement "
                 f"{statement.seq}) that nothing vouches for: replicas pinned to the old key "
                 f"refuse it until you pin RISKOPS_TRUSTED_KEYS={statement.key}.")
    return InitResult(ws, created=False, anchor=statement.key, notes=[done])


def rotate_keys(ws: Workspace, *, actor: str, retire_to: str | Path | None = None
                ) -> InitResult:
    """Replace the signing key: a rotation statement signed by the old and the new key,
    every version re-signed, a new manifest published (``riskops keys rotate``).

    The old private key is deleted from the workspace, or moved to ``retire_to``
    (a folder outside the workspace) when given.
    """
    folder = retire_folder(ws, retire_to) if retire_to is not None else None
    db.migrate(ws.database_url)
    recovered = _recover_rotation(ws)
    if recovered is not None:
        return InitResult(ws, created=False, notes=[recovered], anchor=_anchor(ws))
    return _rotate_keys(ws, actor=actor, retire_to=folder)


def check_key_files(ws: Workspace, *, actor: str) -> list[str]:
    """Make the key files agree with the key chain; what was repaired, as notes.

    * ``keys/signing.pem`` must be a trusted key; if it is not, nothing is
      changed and ``IntegrityError`` says so (restore it from its backup).
    * ``keys/public.pem`` is a copy: if it is missing or another key (an
      attacker's), it is kept aside as ``keys/displaced-public-TIMESTAMP.pem``
      and rewritten from the signing key.
    * A workspace made before key chains existed gets its root statement,
      once its newest manifest is shown to verify with the signing key.
    """
    notes: list[str] = []
    key = load_private_key(ws.private_key_path)
    signer = fingerprint(key.public_key())
    with db.write_transaction(ws.database_url) as session:
        if not repository.key_statements(session) and not pinned_keys(ws)[0]:
            latest = repository.latest_manifest(session)
            if latest is not None:
                verify_with_any({signer: key.public_key()}, latest.body.encode(),
                                base64.b64decode(latest.signature),
                                subject=f"database manifest v{latest.manifest_version}")
            now = datetime.now(UTC)
            root_statement(session, key, now=now, actor=actor)
            record_change(session, ws, now=now, actor=actor, action="keys.anchored",
                          subject=signer, data={"key": signer})
            notes.append(f"recorded {signer} as this workspace's root key (key chain "
                         "statement 1).")
        trust = workspace_trust(ws, session=session)
    if signer not in trust.current:
        raise IntegrityError(
            f"{ws.private_key_path} is key {signer}, which is not a trusted signing key "
            f"(trusted: {trust.describe()}); nothing was changed. Restore the signing key "
            "from its backup.", [(ws.private_key_path.name, "untrusted signing key")])
    try:
        copy: str | None = fingerprint(load_public_key(ws.public_key_path))
    except IntegrityError:
        copy = None
    if copy != signer:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        if ws.public_key_path.exists() or ws.public_key_path.is_symlink():
            kept = ws.keys_dir / f"displaced-public-{stamp}.pem"
            ws.public_key_path.rename(kept)
            notes.append(f"keys/public.pem was {copy or 'not a usable key'}, not the signing "
                         f"key {signer}: kept as {kept} for the investigation and rewritten.")
        with atomic_write(ws.public_key_path) as fh:
            fh.write(public_pem(key.public_key()).encode())
    return notes


def _staged_keys(ws: Workspace) -> tuple[Path, Path]:
    return (ws.private_key_path.with_name("signing.pem.next"),
            ws.public_key_path.with_name("public.pem.next"))


def _finish_rotation(ws: Workspace) -> Path:
    """Move the staged pair and bundles into place, publish the files.

    The old public key is kept in ``keys/retired-TIMESTAMP/``; the old private
    key is not kept in the workspace at all: the staged key is renamed over it.
    """
    next_private, next_public = _staged_keys(ws)
    backup = ws.keys_dir / f"retired-{datetime.now(UTC):%Y%m%dT%H%M%S.%f}"
    backup.mkdir(parents=True)
    if ws.public_key_path.exists():
        shutil.move(ws.public_key_path, backup / ws.public_key_path.name)
    durable_replace(next_private, ws.private_key_path)
    durable_replace(next_public, ws.public_key_path)
    for bundle in ws.store_dir.glob(f"models/*/*/{ossf.STAGED_SIGNATURE_NAME}"):
        fsync_file(bundle)  # written by model_signing, which does not fsync
        durable_replace(bundle, bundle.with_name(ossf.SIGNATURE_NAME))
    sync_manifest_files(ws)
    return backup


def _recover_rotation(ws: Workspace) -> str | None:
    """Finish or discard a key rotation that a crash interrupted; what was done, if anything."""
    next_private, next_public = _staged_keys(ws)
    if not next_private.exists():
        return None
    with db.read_session(ws.database_url) as session:
        latest = repository.latest_manifest(session)
    committed = False
    if latest is not None and next_public.exists():
        try:
            verify_bytes(load_public_key(next_public), latest.body.encode(),
                         base64.b64decode(latest.signature), subject="database manifest")
            committed = True
        except IntegrityError:
            committed = False
    if committed:
        _finish_rotation(ws)
        return "finished a key rotation that was interrupted after it committed."
    for path in (next_private, next_public,
                 *ws.store_dir.glob(f"models/*/*/{ossf.STAGED_SIGNATURE_NAME}")):
        path.unlink(missing_ok=True)
    return "discarded a key rotation that was interrupted before it committed."

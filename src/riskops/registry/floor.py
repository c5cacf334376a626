"""The replay floor: the lowest manifest version a verifier may still accept.

Three witnesses, and the floor is their maximum:

* this host's **high-water mark**: the highest ``manifest_version`` (and its
  digest) this host has verified, kept in its state folder
  (``RISKOPS_STATE_DIR``, else ``$XDG_STATE_HOME/riskops``, else
  ``~/.local/state/riskops``), outside the workspace, written atomically,
  in a file named by the workspace's folder alone;
* the **database's** newest published manifest;
* the newest validly signed manifest in the **archive** folder
  (``manifests/manifest-NNNNNN.json``).

Restoring an older backup of the database together with the manifest files
lowers the second witness and possibly the third, never the first, and the
archive usually keeps the newer files too. A manifest below the floor is
refused with the three numbers. Recovering on purpose from a restored
backup is a signed, audited act (``riskops keys reset-floor``), never silent.

The mark also keeps how far this host followed the key chain (its length and
the digest of its statements) and every key it saw revoked: a chain that is
emptied, shorter or rewritten is refused, and a key seen revoked is never
trusted again even when the chain presented later does not revoke it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from riskops.config import ENV_STATE_DIR, Workspace
from riskops.errors import IntegrityError
from riskops.files import atomic_write
from riskops.registry.keychain import Trust, without_revoked
from riskops.registry.manifest import VerifiedManifest, verify_with_any
from riskops.registry.trust import read_workspace_manifest, workspace_trust

ARCHIVE_NAME = re.compile(r"^manifest-(\d{6,})\.json$")


def state_dir() -> Path:
    """This host's riskops state folder (outside every workspace)."""
    chosen = os.environ.get(ENV_STATE_DIR, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_STATE_HOME", "").strip() or "~/.local/state"
    return Path(base).expanduser() / "riskops"


def mark_path(ws: Workspace) -> Path:
    """The mark file of one workspace on this host, named by the workspace's folder only.

    Nothing the workspace's files or database hold goes into the name: an
    attacker who rewrites the key chain must not be able to point this host
    at another, empty mark.
    """
    ident = hashlib.sha256(f"{ws.home}".encode()).hexdigest()[:24]
    return state_dir() / f"high-water-home-{ident}.json"


def legacy_mark_path(ws: Workspace, root_key: str | None) -> Path:
    """Where earlier releases kept the mark: named by the folder *and* the chain's root key."""
    ident = hashlib.sha256(f"{ws.home}\n{root_key or '-'}".encode()).hexdigest()[:24]
    return state_dir() / f"high-water-{ident}.json"


@dataclass(frozen=True)
class Mark:
    """What this host verified last: the highest manifest, how far it followed the key chain
    (``chain_seq`` statements, whose running digest was ``chain_head``) and every key it saw
    revoked. None of it is ever lowered or forgotten."""

    manifest_version: int = 0
    sha256: str = ""
    chain_seq: int = 0
    chain_head: str = ""
    revoked: frozenset[str] = frozenset()


def read_mark(path: Path) -> Mark:
    """The mark at ``path``; an absent file is the zero mark.

    Raises
    ------
    IntegrityError
        If the file exists but is not a mark (the state folder is this
        host's own; a damaged mark is not silently reset to zero).
    """
    try:
        data = json.loads(path.read_bytes())
        revoked = data.get("revoked", [])
        if not isinstance(revoked, list) or not all(isinstance(k, str) for k in revoked):
            raise ValueError("revoked must be a list of key fingerprints")
        return Mark(int(data["manifest_version"]), str(data["sha256"]),
                    int(data.get("chain_seq", 0)), str(data.get("chain_head", "")),
                    frozenset(revoked))
    except FileNotFoundError:
        return Mark()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IntegrityError(
            f"high-water mark {path} is unreadable ({exc}); it is this host's record of the "
            "newest manifest it verified: restore it, or remove it knowingly to start afresh.",
            [(str(path), "unreadable high-water mark")]) from None


def merge_marks(marks: Iterable[Mark]) -> Mark:
    """One mark as high as every one of ``marks`` (the highest manifest, the longest chain,
    every revoked key)."""
    merged = Mark()
    for mark in marks:
        newer = mark.manifest_version > merged.manifest_version
        longer = mark.chain_seq > merged.chain_seq
        merged = Mark(mark.manifest_version if newer else merged.manifest_version,
                      mark.sha256 if newer else merged.sha256,
                      mark.chain_seq if longer else merged.chain_seq,
                      mark.chain_head if longer else merged.chain_head,
                      merged.revoked | mark.revoked)
    return merged


def host_mark(ws: Workspace, trust: Trust) -> Mark:
    """This host's mark for ``ws``.

    While the mark file named by the folder alone does not exist yet (a host
    upgraded from a release that also named it by the root key), the old
    files are read instead: the one of the chain's root, of every pinned key
    and of "no root", merged. The next admitted manifest writes the new file.

    Raises
    ------
    IntegrityError
        If a mark file exists but is unreadable.
    """
    path = mark_path(ws)
    if path.exists():
        return read_mark(path)
    anchors = dict.fromkeys((trust.root, *trust.pins, None))
    return merge_marks(read_mark(legacy_mark_path(ws, key)) for key in anchors)


def raise_mark(path: Path, *, manifest_version: int, sha256: str, chain_seq: int,
               chain_head: str = "", revoked: Iterable[str] = (), base: Mark | None = None) -> Mark:
    """Raise the mark to ``manifest_version`` / ``chain_seq`` (never lower it, never forget a
    revoked key); the mark now. ``base`` is merged in too (a mark read from a legacy file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_mark(path)
        mark = merge_marks([current, base or Mark(),
                            Mark(manifest_version, sha256, chain_seq, chain_head,
                                 frozenset(revoked))])
        if not mark.chain_head and mark.chain_seq == chain_seq:
            mark = replace(mark, chain_head=chain_head)  # a mark from before heads were kept
        if mark != current:
            with atomic_write(path, "w", encoding="utf-8", permissions=0o600) as fh:
                json.dump({"manifest_version": mark.manifest_version, "sha256": mark.sha256,
                           "chain_seq": mark.chain_seq, "chain_head": mark.chain_head,
                           "revoked": sorted(mark.revoked),
                           "updated_at": datetime.now(UTC).isoformat()}, fh)
        return mark


def archive_floor(archive: Path, keys: Mapping[str, ec.EllipticCurvePublicKey]) -> int:
    """The newest archived manifest whose signature verifies with one of ``keys`` (0 if none)."""
    try:
        names = [(int(m.group(1)), p) for p in archive.iterdir()
                 if (m := ARCHIVE_NAME.match(p.name))]
    except OSError:
        return 0
    for _number, path in sorted(names, reverse=True):
        try:
            body = path.read_bytes()
            signature = path.with_name(path.name + ".sig").read_bytes()
            verify_with_any(keys, body, signature, subject=path.name)
            return int(json.loads(body)["manifest_version"])
        except (OSError, IntegrityError, ValueError, KeyError, TypeError):
            continue
    return 0


@dataclass(frozen=True)
class Floor:
    """The three witnesses; ``database`` is ``None`` when the database could not be read."""

    mark: Mark
    database: int | None
    database_sha256: str | None
    archive: int

    @property
    def value(self) -> int:
        return max(self.mark.manifest_version, self.database or 0, self.archive)

    def describe(self) -> str:
        database = "unreadable" if self.database is None else f"v{self.database}"
        return (f"this host's high-water mark v{self.mark.manifest_version}, the database's "
                f"newest {database}, the newest signed manifest in manifests/ v{self.archive}")


def database_newest(ws: Workspace, session: Any = None) -> tuple[int | None, str | None]:
    """The database's newest published manifest version and digest; ``(None, None)`` if away."""
    from riskops.storage import db, repository

    def newest(s: Any) -> tuple[int | None, str | None]:
        row = repository.latest_manifest(s)
        return (0, None) if row is None else (row.manifest_version, row.sha256)

    if session is not None:
        return newest(session)
    try:
        with db.read_session(ws.database_url) as own:
            return newest(own)
    except Exception:  # the files stay the only witness when the database is away
        return None, None


def current_floor(ws: Workspace, mark: Mark, keys: Mapping[str, ec.EllipticCurvePublicKey],
                  session: Any = None) -> Floor:
    version, digest = database_newest(ws, session)
    return Floor(mark, version, digest, archive_floor(ws.manifest_archive_dir, keys))


RECOVERY = ("if a backup was restored on purpose, run riskops keys reset-floor --reason TEXT "
            "(signed and audited)")


def manifest_problem(floor: Floor, *, version: int, sha256: str) -> str | None:
    """Why a verified manifest may not be served or passed, or ``None`` when it may."""
    if floor.database is not None and version < floor.database:
        return (f"stale: v{version} on disk, the database published v{floor.database} (an older "
                "manifest put back, or an interrupted publish); refused; riskops init rewrites "
                "it from the database")
    if version < floor.value:
        return (f"manifest v{version} is below the replay floor v{floor.value} "
                f"({floor.describe()}); refused as a replay or a restored backup; {RECOVERY}")
    if version == floor.mark.manifest_version and sha256 != floor.mark.sha256:
        return (f"manifest v{version} differs from the v{version} this host verified before "
                f"(sha256 {sha256[:12]}…, then {floor.mark.sha256[:12]}…): two manifests with "
                "one version; refused")
    if floor.database is not None and floor.database_sha256 is not None:
        if version > floor.database:
            return (f"manifest v{version} is newer than the database's newest v{floor.database}"
                    ": the registry never published it; refused")
        if version == floor.database and sha256 != floor.database_sha256:
            return (f"manifest.json v{version} is not the manifest the database published as "
                    f"v{version} (sha256 {sha256[:12]}…, database {floor.database_sha256[:12]}…)"
                    "; refused")
    return None


def chain_problem(mark: Mark, trust: Trust, *, mark_file: Path) -> str | None:
    """A problem if the key chain is not the one this host followed before, or an extension of it:
    emptied, shorter (a rotation or revocation removed) or rewritten (a fork)."""
    where = (f"restore the key chain (the database's key statements, keys/chain.json) from a "
             f"backup; only if this folder was deliberately made a new workspace, remove "
             f"{mark_file} on this host knowingly")
    if mark.chain_seq and trust.seq == 0:
        return (f"the key chain is empty, but this host followed it to statement "
                f"{mark.chain_seq} before: the chain was removed; refused; {where}")
    if trust.seq < mark.chain_seq:
        return (f"the key chain ends at statement {trust.seq}, but this host followed it to "
                f"statement {mark.chain_seq} before: a rotation or revocation was removed; "
                f"refused; {where}")
    if mark.chain_seq and mark.chain_head and (
            trust.heads[mark.chain_seq - 1] != mark.chain_head):
        return (f"the key chain's statements 1-{mark.chain_seq} are not the ones this host "
                f"followed before (a rewritten, forked chain); refused; {where}")
    return None


@dataclass(frozen=True)
class Admission:
    """The verdict on the workspace manifest: may it be served (or passed by ``verify``)?

    ``verified`` is ``None`` when the signature failed. ``refused`` means the
    manifest may not be used (unverified, below the floor, not what the
    database published, or the key chain was rolled back); ``problems`` also
    holds trust problems that do not refuse the manifest (a replaced
    ``keys/public.pem``) but must be seen.
    """

    trust: Trust
    verified: VerifiedManifest | None
    floor: Floor | None
    mark_file: Path
    problems: tuple[str, ...]
    refused: bool
    #: ``(file, reason)`` of a failed signature check, for reports that list files.
    details: tuple[tuple[str, str], ...] = ()
    #: The mark this verdict was made against (merged from legacy files on a first run).
    mark: Mark = Mark()

    @property
    def behind_database(self) -> bool:
        """The only objection is that the verified manifest on disk is older than the
        database's newest, yet not older than what this host verified before: what a
        reader sees between a publisher's commit and its file write
        (``publish.sync_manifest_files``), or after a publish was interrupted. An older
        manifest than this host's mark is a replay, never this."""
        if self.verified is None or self.floor is None or self.floor.database is None:
            return False
        version = self.verified.manifest.manifest_version
        stale = self.mark.manifest_version <= version < self.floor.database
        return stale and len(self.problems) == 1 and not self.trust.problems

    def record(self) -> None:
        """Raise this host's high-water mark to the admitted manifest (no-op when refused)."""
        if self.refused or self.verified is None:
            return
        raise_mark(self.mark_file, manifest_version=self.verified.manifest.manifest_version,
                   sha256=self.verified.sha256, chain_seq=self.trust.seq,
                   chain_head=self.trust.head, revoked=self.trust.revoked, base=self.mark)


def admit_manifest(ws: Workspace) -> Admission:
    """Verify ``manifest.json`` under the trusted keys and check it against the replay floor.

    Raises
    ------
    InputError
        For a malformed ``RISKOPS_TRUSTED_KEYS``.
    IntegrityError
        When no key can be trusted at all (no anchor and no ``public.pem``).
    """
    trust = workspace_trust(ws)
    mark_file = mark_path(ws)
    try:
        mark = host_mark(ws, trust)
    except IntegrityError as exc:
        return Admission(trust, None, None, mark_file, (*trust.problems, str(exc)), True)
    # Keys this host saw revoked stay revoked, whatever the chain presented now says.
    trust, forgotten = without_revoked(trust, mark.revoked)
    problems = list(trust.problems)
    refused = forgotten is not None
    rolled_back = chain_problem(mark, trust, mark_file=mark_file)
    if rolled_back:
        problems.append(rolled_back)
        refused = True
    try:
        verified = read_workspace_manifest(ws, trust)
    except IntegrityError as exc:
        problems.append(f"manifest not verified: {exc}")
        return Admission(trust, None, None, mark_file, tuple(problems), True,
                         tuple(exc.failures), mark)
    keys = {k: v for k, v in trust.known.items() if k not in trust.revoked}
    floor = current_floor(ws, mark, keys)
    problem = manifest_problem(floor, version=verified.manifest.manifest_version,
                               sha256=verified.sha256)
    if problem:
        problems.append(problem)
        refused = True
    return Admission(trust, verified, floor, mark_file, tuple(problems), refused, (), mark)

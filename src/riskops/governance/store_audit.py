"""What lies in the artifact store beyond what the registry put there.

The store (``artifacts/``) should hold only what the database lists: each
version's files under ``models/<model>/<version>/`` (the OpenSSF
``model.sig`` included) and one blob per listed digest under
``blobs/sha256/<ab>/<digest>``. ``incoming/`` and ``blobs/tmp/`` are staging
for registrations in flight. This module walks the store without following
links and reports:

- a symbolic link anywhere (critical): a loader could be sent outside the store;
- a ``.skops`` file of a version folder needing types skops does not trust (critical);
- a file no artifact row lists (medium);
- a file left in staging (low): an interrupted registration, or one running now.

Digests and sizes of the listed files are ``riskops verify``'s business.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from riskops.governance.security_findings import Finding
from riskops.registry.loader import untrusted_types_in

_STAGING = ("incoming/", "blobs/tmp/")


@dataclass(frozen=True)
class StoreAudit:
    """Files looked at and what was found."""

    files_scanned: int
    findings: tuple[Finding, ...]


def audit_store(root: Path, listed: Iterable[tuple[str, str]], *,
                trusted_types: Iterable[str] = ()) -> StoreAudit:
    """Walk the store at ``root``; find links, unlisted files and untrusted ``.skops``.

    Parameters
    ----------
    root : Path
        The artifact store (``Workspace.store_dir``).
    listed : iterable of (str, str)
        ``(path, sha256)`` of every artifact row; paths relative to ``root``.
    trusted_types : iterable of str, default=()
        Types trusted beyond skops' defaults (``[registry] trusted_types``).

    Returns
    -------
    StoreAudit
        Findings sorted by path; an absent store has nothing to report.
    """
    rows = list(listed)
    paths = {path for path, _ in rows}
    digests = {digest for _, digest in rows}
    trusted = tuple(trusted_types)
    if root.is_symlink():
        return StoreAudit(0, (_link_finding(root, root.name),))
    if not root.is_dir():
        return StoreAudit(0, ())
    findings: list[Finding] = []
    scanned = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                findings.append(_link_finding(path, rel))
            elif stat.S_ISDIR(mode):
                continue
            else:
                scanned += 1
                findings += _file_findings(path, rel, mode, paths, digests, trusted)
    return StoreAudit(scanned, tuple(sorted(findings, key=lambda f: (f.subject, f.check))))


def _file_findings(path: Path, rel: str, mode: int, paths: set[str], digests: set[str],
                   trusted: tuple[str, ...]) -> list[Finding]:
    found: list[Finding] = []
    if rel.startswith(_STAGING):
        found.append(Finding(
            "staging_leftover", "low", rel,
            "file in registration staging (a registration running now, or one interrupted)",
            "if no registration is running, remove it; registering again is safe"))
    elif not _expected(rel, paths, digests):
        kind = "file" if stat.S_ISREG(mode) else "special file (not a regular file)"
        found.append(Finding(
            "unexpected_file", "medium", rel,
            f"{kind} in the artifact store that no registered version lists",
            "find out who put it there and remove it; 'riskops verify' checks the listed files"))
    if stat.S_ISREG(mode) and rel.endswith(".skops") and rel.startswith("models/"):
        problem = untrusted_types_in(path.read_bytes(), trusted, subject=rel)
        if problem is not None:
            found.append(Finding(
                "untrusted_types", "critical", rel, problem,
                "do not serve this version; retire it or, after review, list the types "
                "under [registry] trusted_types"))
    return found


def _expected(rel: str, paths: set[str], digests: set[str]) -> bool:
    if rel in paths:
        return True
    parts = rel.split("/")
    return (len(parts) == 4 and parts[:2] == ["blobs", "sha256"] and parts[3] in digests
            and parts[2] == parts[3][:2])


def _link_finding(path: Path, rel: str) -> Finding:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return Finding(
        "symlink", "critical", rel,
        f"symbolic link to {target}; riskops never writes links, so a loader could be "
        "sent outside the store",
        "remove the link; then run 'riskops verify' to see whether a listed file is missing")

"""Digest, size and confinement checks of artifacts on disk.

Files are hashed in fixed-size chunks (constant memory) on a small thread
pool; ``hashlib`` releases the GIL while hashing, so several files hash in
parallel on several cores.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from riskops.registry.manifest import ArtifactEntry
from riskops.registry.store import version_folder

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Failure:
    """One failing file: its path relative to the store, and why."""

    path: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def sha256_file(path: Path | str, *, chunk: int = CHUNK) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, read in ``chunk``-byte pieces."""
    with open(path, "rb", buffering=0) as fh:
        return _sha256_stream(fh, chunk)


def _sha256_stream(fh: io.RawIOBase, chunk: int = CHUNK) -> tuple[str, int]:
    digest = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    size = 0
    while n := fh.readinto(buffer):
        digest.update(view[:n])
        size += n
    return digest.hexdigest(), size


def default_workers() -> int:
    """Hashing threads: the CPUs this process may run on, at most 4."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return max(1, min(4, usable))


def check_artifact(root: Path, entry: ArtifactEntry) -> Failure | None:
    """Check one artifact against its manifest entry; ``None`` when it holds.

    The file is opened once, without following a final symlink and without
    blocking on a FIFO; type, size and digest are all taken from that open
    file, so swapping the file between checks achieves nothing.
    """
    failure = confinement_failure(root, entry.path)
    if failure is not None:
        return failure
    try:
        fd = os.open(root / entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return Failure(entry.path, "missing")
    except OSError as exc:  # ELOOP (a link), ENOTDIR, EACCES, ...
        return Failure(entry.path, f"cannot be opened: {exc.strerror}")
    with os.fdopen(fd, "rb", buffering=0) as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Failure(entry.path, "not a regular file")
        if info.st_size == 0 and entry.size != 0:
            return Failure(entry.path, f"empty (expected {entry.size} bytes)")
        if info.st_size != entry.size:
            kind = "truncated" if info.st_size < entry.size else "grown"
            return Failure(entry.path, f"{kind}: size {info.st_size}, expected {entry.size}")
        os.set_blocking(fd, True)
        try:
            digest, size = _sha256_stream(fh)
        except OSError as exc:
            return Failure(entry.path, f"read failed: {exc.strerror}")
    if size != entry.size:
        return Failure(entry.path, f"changed while being read: {size} bytes, expected "
                                   f"{entry.size}")
    if digest != entry.sha256:
        return Failure(
            entry.path, f"sha256 mismatch: {digest[:12]}…, expected {entry.sha256[:12]}…"
        )
    return None


def confinement_failure(root: Path, relative: str) -> Failure | None:
    """A failure if ``root / relative`` is, or passes through, a symlink or leaves ``root``."""
    root_real = os.path.realpath(root)
    current = Path(root)
    for part in relative.split("/"):
        current = current / part
        if current.is_symlink():
            target = os.path.realpath(current)
            where = "outside the store" if not _within(target, root_real) else "inside the store"
            return Failure(relative, f"symbolic link to {where} ({target}); the store holds only "
                                     "regular files")
    if not _within(os.path.realpath(current), root_real):
        return Failure(relative, "resolves outside the artifact store")
    return None


def verify_artifacts(
    root: Path, entries: Sequence[ArtifactEntry], *, workers: int | None = None
) -> list[Failure]:
    """Check every entry; failures in the order of ``entries``."""
    if not entries:
        return []
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        results = list(pool.map(lambda e: check_artifact(root, e), entries))
    return [r for r in results if r is not None]


def unlisted_files(root: Path, folder: str, listed: Iterable[str]) -> list[Failure]:
    """Files (or links, or other entries) under ``root/folder`` that are not in ``listed``."""
    expected = set(listed)
    base = root / folder
    found: list[Failure] = []
    if not base.is_dir() or base.is_symlink():
        return found
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        for name in sorted(filenames + [d for d in dirnames if Path(dirpath, d).is_symlink()]):
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if rel not in expected:
                found.append(Failure(rel, "unlisted file (not in the signed manifest)"))
    return sorted(found, key=lambda f: f.path)


def unlisted_version_folders(root: Path, listed: Iterable[tuple[str, int]]) -> list[Failure]:
    """Entries under ``root/models`` that are not the version folders in ``listed``.

    The store's ``models/`` holds ``<model>/<version>`` folders and nothing
    else. A folder, file or symbolic link there (or in a model folder) that no
    ``(model, version)`` of ``listed`` accounts for is a failure; what a listed
    folder holds is left to ``verify_artifacts`` and ``unlisted_files``. An
    empty model folder is not a failure (a registration that failed before it
    committed leaves one). ``blobs/`` and ``incoming/`` (registrations being
    staged) are not looked at.

    Examples
    --------
    ``models/evil/1`` and ``models/fraud/99``, with only ``("fraud", 1)`` listed:
    ``[Failure("models/evil/1", "unlisted version folder (not in the signed
    manifest)"), Failure("models/fraud/99", ...)]``.
    """
    expected = {version_folder(model, version) for model, version in listed}
    models = root / "models"
    if models.is_symlink():
        return [Failure("models", "symbolic link; the store's models folder must be a real "
                                  "folder")]
    if not models.exists():
        return []
    if not models.is_dir():
        return [Failure("models", "not a folder")]
    found: list[Failure] = []
    for entry in _entries(models, "models", found):
        rel = f"models/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            found += [_unlisted(child, f"{rel}/{child.name}")
                      for child in _entries(Path(entry.path), rel, found)
                      if f"{rel}/{child.name}" not in expected]
        elif not any(folder.startswith(rel + "/") for folder in expected):
            found.append(_unlisted(entry, rel))
    return sorted(found, key=lambda f: f.path)


def _entries(folder: Path, rel: str, found: list[Failure]) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` by name; a failure in ``found`` if it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        found.append(Failure(_printable(rel), f"cannot be listed: {exc.strerror}"))
        return []


def _unlisted(entry: os.DirEntry[str], rel: str) -> Failure:
    kind = ("symbolic link" if entry.is_symlink() else
            "version folder" if entry.is_dir(follow_symlinks=False) else "file")
    return Failure(_printable(rel), f"unlisted {kind} (not in the signed manifest)")


def _printable(name: str) -> str:
    """``name`` with undecodable bytes and control or format characters escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _within(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real + os.sep)

"""Content-addressed artifact store.

Layout under ``artifacts/``::

    blobs/sha256/ab/abcdef…      each distinct content once, read-only
    models/fraud/3/model.skops   version folders; files hard-linked to blobs
    incoming/<id>/               staging while a registration is in flight

Only regular files are accepted from a source folder: no symbolic links, no
raw pickles (sklearn models are saved with ``skops.io.dump``), and every
``.skops`` file must load with trusted types only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from riskops.errors import InputError
from riskops.files import durable_replace
from riskops.registry.manifest import check_relative_path
from riskops.registry.ossf import SIGNATURE_NAME

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".pck", ".dill", ".cloudpickle"})
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file placed in the store: path relative to its version folder, digest, size."""

    name: str
    sha256: str
    size: int
    blob: Path
    new_blob: bool  # created by this registration (removed again if it fails)


def version_folder(model: str, version: int) -> str:
    """Store-relative folder of a model version, e.g. ``models/fraud/3``."""
    return f"models/{model}/{version}"


def scan_source(source: Path, *, max_bytes: int) -> list[Path]:
    """Validate a bring-your-own-artifacts folder; return its files, sorted.

    Raises
    ------
    InputError
        If ``source`` is missing, not a folder, empty, larger than
        ``max_bytes``, or holds a symbolic link, a special file, a raw pickle
        or a file named ``model.sig`` (reserved for the OpenSSF signature).
    """
    if not source.exists():
        raise InputError(f"--from {source}: folder does not exist.")
    if source.is_symlink() or not source.is_dir():
        raise InputError(f"--from {source}: not a folder; give the folder holding the artifacts.")
    files: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            rel = _clean_name(source, path)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise InputError(
                    f"--from {source}: {rel} is a symbolic link; copy the real file in instead."
                )
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise InputError(f"--from {source}: {rel} is not a regular file.")
            if rel == SIGNATURE_NAME:
                raise InputError(
                    f"--from {source}: {rel} is reserved for the OpenSSF signature riskops "
                    "writes; rename it."
                )
            if path.suffix.lower() in PICKLE_SUFFIXES:
                raise InputError(
                    f"--from {source}: {rel} looks like a raw pickle, which can run arbitrary "
                    "code when loaded; save sklearn models with skops.io.dump(model, "
                    "'model.skops') instead."
                )
            total += path.lstat().st_size
            files.append(path)
    if not files:
        raise InputError(f"--from {source}: folder is empty; nothing to register.")
    if total > max_bytes:
        raise InputError(
            f"--from {source}: {total} bytes exceeds registry.max_artifact_bytes ({max_bytes})."
        )
    return sorted(files)


def _clean_name(source: Path, path: Path) -> str:
    """``path`` relative to ``source`` if it is a name every manifest reader accepts."""
    rel = path.relative_to(source).as_posix()
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "backslashreplace").decode()
        raise InputError(
            f"--from {source}: a file name is not valid UTF-8 ({shown}); rename it."
        ) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in rel):
        raise InputError(f"--from {source}: {rel!r} has a control character in its name; "
                         "rename it.")
    try:
        check_relative_path(rel, what="file name")
    except ValueError as exc:
        raise InputError(f"--from {source}: {exc}; rename it.") from None
    if len(rel.encode()) > 900:
        raise InputError(f"--from {source}: {rel[:40]}… is a path longer than 900 bytes.")
    return rel


def stage_files(
    store_root: Path, source: Path, files: list[Path], *, max_bytes: int
) -> tuple[Path, list[StoredFile]]:
    """Copy ``files`` into blobs and hard-link them into a fresh staging folder.

    Each file is opened once, without following links and without blocking,
    checked to be a regular file on the open descriptor, and copied from it,
    so swapping a file for a link or a FIFO after ``scan_source`` achieves
    nothing. ``max_bytes`` is enforced on what is actually copied.
    Returns the staging folder (to be renamed into place) and what it holds.
    """
    staging = store_root / "incoming" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    stored: list[StoredFile] = []
    budget = max_bytes
    try:
        for path in files:
            rel = path.relative_to(source).as_posix()
            blob, digest, size, created = _put_blob(store_root, path, budget=budget,
                                                    source=source)
            budget -= size
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(blob, target)
            except OSError:  # file systems without hard links
                shutil.copyfile(blob, target)
            stored.append(StoredFile(rel, digest, size, blob, created))
    except BaseException:
        discard(staging, stored)
        raise
    return staging, stored


def discard(folder: Path, stored: list[StoredFile]) -> None:
    """Remove a staging or version folder and the blobs its registration created."""
    shutil.rmtree(folder, ignore_errors=True)
    for item in stored:
        if item.new_blob:
            item.blob.unlink(missing_ok=True)


def _open_regular(path: Path, source: Path) -> int:
    rel = path.relative_to(source).as_posix()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"--from {source}: cannot open {rel} as a regular file "
                         f"({exc.strerror}); it changed while being registered?") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"--from {source}: {rel} is no longer a regular file.")
    os.set_blocking(fd, True)
    return fd


def _put_blob(
    store_root: Path, path: Path, *, budget: int, source: Path
) -> tuple[Path, str, int, bool]:
    tmp_dir = store_root / "blobs" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    fd = _open_regular(path, source)
    try:
        with os.fdopen(fd, "rb") as src, open(tmp, "xb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
                if size > budget:
                    raise InputError(f"--from {source}: grew past registry.max_artifact_bytes "
                                     "while being copied.")
            dst.flush()
            os.fsync(dst.fileno())
        hexdigest = digest.hexdigest()
        blob = store_root / "blobs" / "sha256" / hexdigest[:2] / hexdigest
        created = not blob.exists()
        if not created:
            tmp.unlink()
        else:
            blob.parent.mkdir(parents=True, exist_ok=True)
            durable_replace(tmp, blob, permissions=0o444)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return blob, hexdigest, size, created


def place_version(store_root: Path, staging: Path, model: str, version: int) -> Path:
    """Rename a staging folder to the version folder; refuse to overwrite one."""
    final = store_root / version_folder(model, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise InputError(
            f"artifact folder {final} already exists but {model} v{version} is not registered "
            "(left by an interrupted registration?); move it away and register again."
        )
    os.rename(staging, final)
    return final

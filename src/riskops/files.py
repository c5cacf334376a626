"""Replacing a file so that a reader sees the old bytes or the new ones, never a part.

    with atomic_write(path) as fh:          # a binary handle ("w" for text)
        fh.write(data)

    with atomic_path(path) as tmp:          # for writers that want a path
        frame.to_parquet(tmp)

Both write to a temporary file created exclusively (``O_EXCL``, never
following a link) in the target's folder, named ``.<name>.<random>.tmp``;
on success they fsync it, rename it over the target and fsync the folder, so
the new file survives a crash once the block has ended. On any failure the
temporary file is removed and the target is left as it was.
``durable_replace`` is the last step alone, for a file written elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write", "durable_replace", "fsync_dir", "fsync_file"]

#: Attempts to find a free temporary name (each has 64 random bits).
_ATTEMPTS = 16


@contextmanager
def atomic_write(
    path: os.PathLike[str] | str, mode: str = "wb", *, encoding: str | None = None,
    permissions: int | None = None,
) -> Iterator[IO[Any]]:
    """An open handle whose bytes replace ``path`` when the block ends without error.

    Parameters
    ----------
    path : path-like
        The file to replace (or create); its folder must exist.
    mode : {"wb", "w"}
        Binary or text.
    encoding : str, optional
        For text mode.
    permissions : int, optional
        Mode bits of the new file (e.g. ``0o600``); default: what a plain
        ``open`` would create (0o666 less the umask).

    Raises
    ------
    ValueError
        For a mode other than "wb" or "w".
    OSError
        If the temporary file cannot be created, written or renamed.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes whole files; mode must be 'wb' or 'w', not "
                         f"{mode!r}.")
    target = Path(path)
    fd, tmp = _create_temporary(target, permissions)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        durable_replace(tmp, target, permissions=permissions)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(
    path: os.PathLike[str] | str, *, permissions: int | None = None
) -> Iterator[Path]:
    """A temporary path (an empty file already) whose content replaces ``path`` at the end.

    For writers that take a path (``DataFrame.to_csv``, ``pyarrow.parquet.write_table``).
    Same guarantees and parameters as :func:`atomic_write`.
    """
    target = Path(path)
    fd, tmp = _create_temporary(target, permissions)
    os.close(fd)
    try:
        yield tmp
        fsync_file(tmp)
        durable_replace(tmp, target, permissions=permissions)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def durable_replace(
    source: os.PathLike[str] | str, target: os.PathLike[str] | str, *,
    permissions: int | None = None,
) -> None:
    """Rename ``source`` over ``target`` (same file system) and fsync the target's folder.

    ``source`` should already be fsynced; ``permissions`` are set on it first.
    """
    if permissions is not None:
        os.chmod(source, permissions)
    os.replace(source, target)
    fsync_dir(Path(target).parent)


def fsync_file(path: os.PathLike[str] | str) -> None:
    """Flush a written file's bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: os.PathLike[str] | str) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders
    cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temporary(target: Path, permissions: int | None) -> tuple[int, Path]:
    """A new, exclusively created file beside ``target``; its descriptor and path.

    Created with ``permissions`` from the start (less the umask; ``durable_replace``
    sets them exactly), so a private file is never readable by others, not even
    while it is written.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, 0o666 if permissions is None else permissions), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target} after {_ATTEMPTS} tries")

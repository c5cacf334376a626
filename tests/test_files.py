"""The one atomic write: all of the new bytes or none, no temporary file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from riskops import files
from riskops.files import atomic_path, atomic_write, durable_replace


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with target.open("rb") as reader:  # a reader that opened the old file keeps it whole
        with atomic_write(target, "w", encoding="utf-8") as fh:
            fh.write("new ✓")
            assert target.read_text() == "old"  # nothing visible before the block ends
        assert reader.read() == b"old"
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_bytes(b"published")
    with pytest.raises(RuntimeError, match="half way"), atomic_write(target) as fh:
        fh.write(b"half a manif")
        raise RuntimeError("half way")
    assert target.read_bytes() == b"published"
    assert _leftovers(tmp_path) == []


def test_atomic_path_for_writers_that_take_a_path(tmp_path: Path) -> None:
    target = tmp_path / "part.parquet"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".part.parquet.")
        assert tmp.name.endswith(".tmp") and tmp.exists()
        tmp.write_bytes(b"rows")
    assert target.read_bytes() == b"rows" and _leftovers(tmp_path) == []

    with pytest.raises(OSError), atomic_path(target) as tmp:
        tmp.write_bytes(b"other rows")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"rows" and _leftovers(tmp_path) == []


def test_a_missing_folder_fails_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "nope" / "x.json") as fh:
        fh.write(b"never")


def test_permissions_hold_from_creation_to_the_end(tmp_path: Path) -> None:
    target = tmp_path / "signing.pem"
    with atomic_write(target, permissions=0o600) as fh:
        (tmp,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # private while being written
        fh.write(b"key")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    blob = tmp_path / "blob"
    with atomic_path(blob, permissions=0o444) as tmp:
        tmp.write_bytes(b"data")
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444


def test_default_permissions_are_those_of_a_plain_open(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    with atomic_write(tmp_path / "atomic") as fh:
        fh.write(b"x")
    assert stat.S_IMODE((tmp_path / "atomic").stat().st_mode) == \
        stat.S_IMODE(plain.stat().st_mode)


def test_the_temporary_file_is_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["taken", "link", "free"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda _n: next(names))
    target = tmp_path / "w.json"
    (tmp_path / ".w.json.taken.tmp").write_bytes(b"someone else's")
    outside = tmp_path / "outside"
    (tmp_path / ".w.json.link.tmp").symlink_to(outside)
    with atomic_write(target) as fh:
        fh.write(b"mine")
    assert target.read_bytes() == b"mine"
    assert (tmp_path / ".w.json.taken.tmp").read_bytes() == b"someone else's"
    assert not outside.exists()  # the link was not followed


def test_file_then_folder_are_fsynced_before_and_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    with atomic_write(tmp_path / "a") as fh:
        fh.write(b"a")
    with atomic_path(tmp_path / "b") as tmp:
        tmp.write_bytes(b"b")
    assert events == ["fsync file", "rename", "fsync dir"] * 2


def test_durable_replace_moves_a_staged_file(tmp_path: Path) -> None:
    staged = tmp_path / "public.pem.next"
    staged.write_bytes(b"new key")
    (tmp_path / "public.pem").write_bytes(b"old key")
    durable_replace(staged, tmp_path / "public.pem")
    assert (tmp_path / "public.pem").read_bytes() == b"new key" and not staged.exists()


def test_only_whole_file_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w', not 'ab'"), \
            atomic_write(tmp_path / "x", "ab"):
        pass

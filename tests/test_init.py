"""`riskops init` when the database is not there yet, and the workspace layout it leaves."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest


def test_unreachable_database_leaves_no_half_workspace(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "ws"
    monkeypatch.setenv("RISKOPS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    failed = cli("init", "--home", home)
    assert failed.code == 2 and "cannot reach the database" in failed.err
    assert len(failed.err.strip().splitlines()) == 1
    assert not (home / "riskops.toml").exists() and not (home / "keys").exists()

    monkeypatch.delenv("RISKOPS_DATABASE_URL")
    fixed = cli("init", "--home", home, "--json")
    assert fixed.code == 0, fixed.err
    assert fixed.json()["created"] is True and fixed.json()["admin_token"].startswith("rko_")
    assert cli("verify", "--home", home).code == 0


def test_interrupted_init_is_finished_by_the_next_one(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    for name in ("manifest.json", "manifest.json.sig"):
        (home / name).unlink()
    (home / "keys" / "signing.pem").unlink()  # as if init died before the keys were written
    (home / "keys" / "public.pem").unlink()
    again = cli("init", "--home", home, "--json")
    assert again.code == 0, again.err
    assert again.json()["admin_token"] is None  # the database already had one
    assert cli("verify", "--home", home).code == 0
    assert cli("audit-log", "verify", "--home", home).code == 0


def test_layout_and_permissions(workspace, cli) -> None:  # type: ignore[no-untyped-def]
    home = workspace.home
    for sub in ("artifacts", "lake", "manifests", "keys"):
        assert (home / sub).is_dir()
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "keys" / "signing.pem").stat().st_mode) == 0o600
    assert (home / "manifests" / "manifest-000001.json").read_bytes() == (
        home / "manifest.json").read_bytes()

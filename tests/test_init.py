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


def test_lost_manifest_files_are_rewritten_from_the_database(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    published = (home / "manifest.json").read_bytes()
    for name in ("manifest.json", "manifest.json.sig"):
        (home / name).unlink()  # as if the process died between commit and file write
    assert cli("verify", "--home", home).code == 1
    again = cli("init", "--home", home)
    assert again.code == 0, again.err
    assert "rewritten from the database (v1)" in again.out
    assert (home / "manifest.json").read_bytes() == published
    assert cli("verify", "--home", home).code == 0


def test_missing_signing_key_is_not_silently_replaced(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    public = (home / "keys" / "public.pem").read_bytes()
    (home / "keys" / "signing.pem").unlink()
    refused = cli("init", "--home", home)
    assert refused.code == 2 and "signing.pem is missing" in refused.err
    assert (home / "keys" / "public.pem").read_bytes() == public
    assert not (home / "keys" / "signing.pem").exists()
    rotated = cli("init", "--home", home, "--force")
    assert rotated.code == 0, rotated.err
    assert (home / "keys" / "public.pem").read_bytes() != public
    assert cli("verify", "--home", home).code == 0
    assert cli("audit-log", "verify", "--home", home).code == 0


def test_tampered_manifest_file_is_kept_aside_when_rewritten(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    (home / "manifest.json").write_text('{"manifest_version": 999999}')
    repaired = cli("init", "--home", home)
    assert repaired.code == 0
    assert "warning:" in repaired.err and "displaced-" in repaired.err
    kept = list((home / "manifests").glob("displaced-*.json"))
    assert [p.read_text() for p in kept] == ['{"manifest_version": 999999}']
    assert cli("verify", "--home", home).code == 0


def test_layout_and_permissions(workspace, cli) -> None:  # type: ignore[no-untyped-def]
    home = workspace.home
    for sub in ("artifacts", "lake", "manifests", "keys"):
        assert (home / sub).is_dir()
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "keys" / "signing.pem").stat().st_mode) == 0o600
    assert (home / "manifests" / "manifest-000001.json").read_bytes() == (
        home / "manifest.json").read_bytes()


def _registered_home(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    from conftest import make_model_dir

    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    assert cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "m"),
               "--home", home).code == 0
    return home


def test_rotation_failing_before_commit_changes_nothing(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from riskops import workspace

    home = _registered_home(tmp_path, cli)
    keys = {p.name: p.read_bytes() for p in (home / "keys").glob("*.pem")}
    bundle = (home / "artifacts/models/fraud/1/model.sig").read_bytes()

    def fail(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(workspace, "record_change", fail)
    assert cli("init", "--home", home, "--force").code == 70
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (home / "keys").glob("*.pem")} == keys
    assert not list((home / "keys").glob("*.next"))
    assert (home / "artifacts/models/fraud/1/model.sig").read_bytes() == bundle
    assert not list(home.rglob("model.sig.next"))
    assert cli("verify", "--home", home).code == 0


def test_rotation_interrupted_after_commit_is_finished_by_init(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from riskops import workspace

    home = _registered_home(tmp_path, cli)
    public = (home / "keys" / "public.pem").read_bytes()

    def crash(_ws):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # the process dies between commit and renames

    monkeypatch.setattr(workspace, "_finish_rotation", crash)
    assert cli("init", "--home", home, "--force").code == 130
    monkeypatch.undo()
    assert (home / "keys" / "signing.pem.next").exists()
    finished = cli("init", "--home", home)
    assert finished.code == 0 and "finished a key rotation" in finished.out
    assert (home / "keys" / "public.pem").read_bytes() != public
    assert not list(home.rglob("*.next"))
    assert cli("verify", "--home", home).code == 0
    assert cli("audit-log", "verify", "--home", home).code == 0

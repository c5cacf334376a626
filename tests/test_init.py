"""`riskops init` when the database is not there yet, and the workspace layout it leaves."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
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


def test_env_prints_export_lines_a_shell_can_eval(tmp_path: Path) -> None:
    home = tmp_path / "my ws"  # a space: the values are shell-quoted
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKOPS_")}
    env["RISKOPS_STATE_DIR"] = str(tmp_path / "host-state")
    riskops = shlex.quote(str(Path(sys.executable).parent / "riskops"))
    script = (f'eval "$({riskops} init --home {shlex.quote(str(home))} --env)"\n'
              f"{riskops} token create --name app --role scorer --quiet\n"
              'echo "$RISKOPS_HOME|$RISKOPS_TRUSTED_KEYS"\n')
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    token, where = done.stdout.strip().splitlines()
    assert token.startswith("rko_")  # made with the admin token that eval exported
    assert where.split("|")[0] == str(home.resolve())
    assert where.split("|")[1].startswith("sha256:")


def test_env_on_a_workspace_that_exists_says_why_no_token(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"
    assert cli("init", "--home", home).code == 0
    again = cli("init", "--home", home, "--env")
    assert again.code == 0, again.err
    assert "RISKOPS_TOKEN" not in again.out
    assert again.out.splitlines()[0] == f"export RISKOPS_HOME={shlex.quote(str(home.resolve()))}"
    assert again.out.splitlines()[1].startswith("export RISKOPS_TRUSTED_KEYS=sha256:")
    assert "already had one" in again.err


def test_env_and_json_together_is_a_usage_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    both = cli("init", "--home", tmp_path / "ws", "--env", "--json")
    assert both.code == 2 and "--json or --env" in both.err
    assert not (tmp_path / "ws").exists()

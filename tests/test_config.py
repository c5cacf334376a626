"""The workspace and its `riskops.toml`: finding it, validating it, `riskops
init` (idempotent, and key rotation with --force), and the bare command line."""

from __future__ import annotations

import random
import sqlite3
import stat
from pathlib import Path

import pytest

from conftest import admin_token
from riskops import __version__
from riskops.config import DEFAULT_MAX_ARTIFACT_BYTES, Settings, Workspace, settings_from_dict
from riskops.errors import InputError


def _one_error_line(result, *needles: str, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    """Exit ``code`` with exactly one ``error:`` line on stderr holding ``needles``."""
    assert result.code == code, result.out + result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _db_counts(ws: Workspace) -> dict[str, int]:
    conn = sqlite3.connect(ws.home / "riskops.db")
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("manifests", "audit_log", "api_tokens", "model_versions")}
    finally:
        conn.close()


def _snapshot(ws: Workspace) -> dict[str, bytes]:
    return {p.relative_to(ws.home).as_posix(): p.read_bytes()
            for p in (ws.config_path, ws.private_key_path, ws.public_key_path,
                      ws.manifest_path, ws.signature_path)}


# --- finding the workspace -----------------------------------------------------------


def test_no_workspace_says_run_init(cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_error_line(cli("models", "list"), "riskops init", "riskops.toml")
    assert str(Path.cwd() / ".riskops") in line


def test_no_workspace_at_riskops_home(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / "nowhere"))
    _one_error_line(cli("models", "list"), "riskops init", str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()  # reading never creates a workspace


@pytest.mark.parametrize("command", [("models", "list"), ("verify",), ("audit-log", "verify"),
                                     ("token", "list")])
def test_riskops_home_is_a_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                command: tuple[str, ...]) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("hello\n")
    monkeypatch.setenv("RISKOPS_HOME", str(target))
    _one_error_line(cli(*command), str(target), "not a folder")
    assert target.read_text() == "hello\n"


def test_init_on_a_file_is_refused(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("hello\n")
    monkeypatch.setenv("RISKOPS_HOME", str(target))
    _one_error_line(cli("init"), str(target))
    _one_error_line(cli("init", "--home", target / "sub"), str(target / "sub"))
    assert target.read_text() == "hello\n"


# --- riskops.toml through the command line -------------------------------------------

BAD_CONFIGS = {
    "malformed": (b"[workspace\nformat = 1\n", ["malformed TOML"]),
    "bad-value": (b"[workspace]\nformat = = 1\n", ["malformed TOML"]),
    "not-utf8": (b"\xff\xfe", ["not UTF-8"]),
    "latin1": ('[database]\nurl = "sqlite:///caf\u00e9.db"\n'.encode("latin-1"), ["not UTF-8"]),
    "unknown-section": (b"[workspace]\nformat = 1\n[servr]\nport = 1\n",
                        ["unknown section [servr]",
                         "amqp, database, events, governance, grafana, monitoring, registry"]),
    "unknown-top-level-key": (b"debug = true\n", ["unknown section [debug]"]),
    "section-not-a-table": (b"database = 5\n", ["[database] must be a table"]),
    "unknown-key": (b"[database]\nurll = \"sqlite:///x.db\"\n",
                    ["unknown key database.urll", "url"]),
    "url-int": (b"[database]\nurl = 5\n", ["database.url"]),
    "url-empty": (b"[database]\nurl = \"  \"\n", ["database.url"]),
    "trusted-string": (b"[registry]\ntrusted_types = \"x\"\n", ["registry.trusted_types"]),
    "trusted-ints": (b"[registry]\ntrusted_types = [1, 2]\n", ["registry.trusted_types"]),
    "max-negative": (b"[registry]\nmax_artifact_bytes = -1\n", ["registry.max_artifact_bytes"]),
    "max-zero": (b"[registry]\nmax_artifact_bytes = 0\n", ["registry.max_artifact_bytes"]),
    "max-bool": (b"[registry]\nmax_artifact_bytes = true\n", ["registry.max_artifact_bytes"]),
    "max-float": (b"[registry]\nmax_artifact_bytes = 1.5\n", ["registry.max_artifact_bytes"]),
    "max-string": (b"[registry]\nmax_artifact_bytes = \"8GB\"\n",
                   ["registry.max_artifact_bytes"]),
    "5mb-random": (random.Random(0).randbytes(5 * 1024 * 1024), ["not UTF-8"]),
    "5mb-ascii": (b"a" * (5 * 1024 * 1024), ["malformed TOML"]),
    "5mb-nested-arrays": (b"x = " + b"[" * (5 * 1024 * 1024), ["malformed TOML"]),
    "5mb-nested-tables": (b"x = " + b"{a = " * (1024 * 1024), ["malformed TOML"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS), ids=list(BAD_CONFIGS))
def test_bad_config_is_one_clear_line(workspace: Workspace, cli, case: str) -> None:  # type: ignore[no-untyped-def]
    content, needles = BAD_CONFIGS[case]
    workspace.config_path.write_bytes(content)
    for command in (("models", "list"), ("audit-log", "verify")):
        line = _one_error_line(cli(*command), str(workspace.config_path), *needles)
        assert len(line) < 1000  # the garbage is never echoed back
    # init neither repairs nor overwrites a broken config
    _one_error_line(cli("init"), str(workspace.config_path))
    assert workspace.config_path.read_bytes() == content


def test_valid_config_values_are_used(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    workspace.config_path.write_text(
        '[workspace]\nformat = 1\n[registry]\ntrusted_types = ["numpy.dtype"]\n'
        "max_artifact_bytes = 10\n", encoding="utf-8")
    assert cli("models", "list").code == 0


def test_max_artifact_bytes_is_enforced(workspace: Workspace, cli, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    workspace.config_path.write_text("[registry]\nmax_artifact_bytes = 10\n", encoding="utf-8")
    result = cli("models", "register", "fraud", "--from", model_dir)
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.err


def test_database_url_in_config_is_used(workspace: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.db"
    workspace.config_path.write_text(f'[database]\nurl = "sqlite:///{other}"\n',
                                     encoding="utf-8")
    assert cli("models", "list").code == 0
    assert other.is_file()  # migrated into the configured database


# --- settings_from_dict --------------------------------------------------------------


def test_settings_defaults() -> None:
    assert settings_from_dict({}, source="t.toml") == Settings()
    assert Settings().max_artifact_bytes == DEFAULT_MAX_ARTIFACT_BYTES
    assert settings_from_dict({"workspace": {"format": 1}, "database": {}, "registry": {}},
                              source="t.toml") == Settings()


def test_settings_full() -> None:
    settings = settings_from_dict(
        {"workspace": {"format": 1}, "database": {"url": "sqlite:///x.db"},
         "registry": {"trusted_types": ["a.B", "c.D"], "max_artifact_bytes": 1024}},
        source="t.toml")
    assert settings == Settings(database_url="sqlite:///x.db", trusted_types=("a.B", "c.D"),
                                max_artifact_bytes=1024)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"nope": {}}, "unknown section [nope]"),
        ({"database": 5}, "[database] must be a table"),
        ({"registry": []}, "[registry] must be a table"),
        ({"database": {"url": "x", "user": "y"}}, "unknown key database.user"),
        ({"workspace": {"colour": 1}}, "unknown key workspace.colour"),
        ({"database": {"url": 5}}, "database.url"),
        ({"database": {"url": ""}}, "database.url"),
        ({"database": {"url": ["sqlite://"]}}, "database.url"),
        ({"registry": {"trusted_types": "x"}}, "registry.trusted_types"),
        ({"registry": {"trusted_types": [""]}}, "registry.trusted_types"),
        ({"registry": {"trusted_types": ["a", 1]}}, "registry.trusted_types"),
        ({"registry": {"trusted_types": {"a": 1}}}, "registry.trusted_types"),
        ({"registry": {"max_artifact_bytes": -1}}, "registry.max_artifact_bytes"),
        ({"registry": {"max_artifact_bytes": 0}}, "registry.max_artifact_bytes"),
        ({"registry": {"max_artifact_bytes": True}}, "registry.max_artifact_bytes"),
        ({"registry": {"max_artifact_bytes": False}}, "registry.max_artifact_bytes"),
        ({"registry": {"max_artifact_bytes": 2.0}}, "registry.max_artifact_bytes"),
        ({"registry": {"max_artifact_bytes": "1"}}, "registry.max_artifact_bytes"),
    ],
)
def test_settings_errors(data: dict[str, object], needle: str) -> None:
    with pytest.raises(InputError) as info:
        settings_from_dict(data, source="/x/riskops.toml")
    message = str(info.value)
    assert message.startswith("/x/riskops.toml: ")
    assert needle in message
    assert "\n" not in message
    assert info.value.exit_code == 2


# --- riskops init --------------------------------------------------------------------


def test_init_creates_a_workspace(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "new" / "ws"
    result = cli("init", "--home", home)
    assert result.code == 0, result.err
    assert "initialised workspace" in result.out and "rko_" in result.out
    for sub in ("artifacts", "lake", "keys", "manifests"):
        assert (home / sub).is_dir()
    assert (home / "riskops.toml").is_file() and (home / "manifest.json").is_file()
    assert cli("verify", "--home", home).code == 0
    assert cli("audit-log", "verify", "--home", home).code == 0


def test_signing_key_is_private(workspace: Workspace) -> None:
    assert stat.S_IMODE(workspace.private_key_path.stat().st_mode) == 0o600
    assert workspace.private_key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert workspace.public_key_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_init_twice_changes_nothing(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    before, counts = _snapshot(workspace), _db_counts(workspace)
    for args in (("init",), ("init", "--home", workspace.home)):
        result = cli(*args)
        assert result.code == 0, result.err
        assert "already initialised" in " ".join(result.out.split())
        assert "rko_" not in result.out  # no second admin token
    assert _snapshot(workspace) == before
    assert _db_counts(workspace) == counts
    document = cli("init", "--json").json()
    assert document["created"] is False and document["admin_token"] is None


def test_init_force_rotates_the_keys(workspace: Workspace, cli, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    before, counts = _snapshot(workspace), _db_counts(workspace)
    entries = cli("audit-log", "verify", "--json").json()["entries"]

    result = cli("init", "--force")
    assert result.code == 0, result.err
    assert "signing keys replaced" in " ".join(result.out.split())

    after = _snapshot(workspace)
    assert after["keys/public.pem"] != before["keys/public.pem"]
    assert after["keys/signing.pem"] != before["keys/signing.pem"]
    assert stat.S_IMODE(workspace.private_key_path.stat().st_mode) == 0o600
    retired = [p for p in workspace.keys_dir.iterdir() if p.name.startswith("retired-")]
    assert len(retired) == 1
    assert (retired[0] / "public.pem").read_bytes() == before["keys/public.pem"]
    assert _db_counts(workspace)["manifests"] == counts["manifests"] + 1

    verify = cli("verify")
    assert verify.code == 0, verify.err
    audit = cli("audit-log", "verify", "--json")
    assert audit.code == 0, audit.out
    assert audit.json()["entries"] == entries + 1
    assert audit.json()["anchored_seq"] == entries + 1


def test_new_key_signs_later_changes(workspace: Workspace, cli, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("init", "--force").code == 0
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "2", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    assert cli("verify").code == 0
    assert cli("audit-log", "verify").code == 0


def test_init_force_refuses_to_bless_a_tampered_artifact(workspace: Workspace, cli,  # type: ignore[no-untyped-def]
                                                         model_dir: Path) -> None:
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    target = workspace.store_dir / "models/fraud/1/model.skops"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    before, counts = _snapshot(workspace), _db_counts(workspace)
    keys = sorted(p.name for p in workspace.keys_dir.iterdir())

    result = cli("init", "--force")
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    assert result.err.startswith("error: keys were not replaced")
    assert "models/fraud/1/model.skops" in result.err

    assert _snapshot(workspace) == before
    assert _db_counts(workspace) == counts
    assert sorted(p.name for p in workspace.keys_dir.iterdir()) == keys
    assert cli("verify").code == 1  # still reported, not re-signed away


def test_init_force_on_a_new_home_just_initialises(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", "--force", "--home", tmp_path / "fresh")
    assert result.code == 0, result.err
    assert "initialised workspace" in result.out


# --- the bare command line -----------------------------------------------------------


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert result.code == 0, result.err
    assert result.out.strip() == f"riskops {__version__}"


def test_version_needs_no_workspace_even_with_a_command(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version", "models", "list")
    assert result.code == 0, result.err
    assert __version__ in result.out


def test_no_arguments_shows_help(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli()
    assert result.code in (0, 2)
    assert "Traceback" not in result.err and "internal error" not in result.err
    text = result.out + result.err
    assert "Usage" in text and "init" in text and "audit-log" in text


def test_help(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--help")
    assert result.code == 0
    assert "Usage" in result.out


@pytest.mark.parametrize("args", [("bogus",), ("models", "bogus"), ("token", "bogus"),
                                  ("models", "list", "--bogus"), ("promote",)])
def test_usage_errors_exit_2(cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert "Usage" in result.err or "Error" in result.err


@pytest.mark.parametrize("group", ["models", "token", "audit-log"])
def test_group_without_command_shows_help(cli, group: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(group)
    assert result.code in (0, 2)
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert "Usage" in result.out + result.err

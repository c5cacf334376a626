"""API tokens: shown once, stored hashed, revocable, and the identity every
command acts as."""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.tokens import ROLES

TOKEN = re.compile(r"rko_[A-Za-z0-9_-]+")


@pytest.fixture(autouse=True)
def _as_admin(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Token management needs an admin token; these tests act as the one init printed."""
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())


def _create(cli, name: str, role: str = "risk_lead") -> str:  # type: ignore[no-untyped-def]
    result = cli("token", "create", "--name", name, "--role", role)
    assert result.code == 0, result.err
    found = TOKEN.findall(result.out)
    assert len(found) == 1, result.out
    return found[0]


def _audit_count(cli) -> int:  # type: ignore[no-untyped-def]
    result = cli("audit-log", "verify", "--json")
    assert result.code == 0, result.out + result.err
    document = result.json()
    assert document["status"] == "pass"
    assert document["anchored_seq"] == document["entries"]
    return int(document["entries"])


def _audit_rows(ws: Workspace) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(ws.home / "riskops.db")
    try:
        return conn.execute("SELECT actor, action, subject FROM audit_log ORDER BY seq").fetchall()
    finally:
        conn.close()


def _fails(result, code: int = 2, *needles: str) -> str:  # type: ignore[no-untyped-def]
    assert result.code == code, result.out + result.err
    assert "Traceback" not in result.err
    assert result.err.startswith("error: "), result.err
    for needle in needles:
        assert needle in result.err, result.err
    return result.err


def test_create_prints_the_token_once(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("token", "create", "--name", "alice", "--role", "risk_lead")
    assert result.code == 0, result.err
    tokens = TOKEN.findall(result.out)
    assert len(tokens) == 1 and tokens[0].startswith("rko_")
    assert len(tokens[0]) > len("rko_") + 32
    assert "alice" in result.out and "risk_lead" in result.out
    assert tokens[0] not in result.err


def test_create_json(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("token", "create", "--name", "svc-1", "--role", "service", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["name"] == "svc-1" and document["role"] == "service"
    assert document["token"].startswith("rko_")


def test_create_quiet_prints_only_the_token(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("token", "create", "--name", "app", "--role", "scorer", "--quiet")
    assert result.code == 0, result.err
    assert TOKEN.fullmatch(result.out.strip()) and result.out.count("\n") == 1
    whoami = cli("models", "list", token=result.out.strip())
    assert whoami.code == 0, whoami.err


def test_create_quiet_and_json_together_is_a_usage_error(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _fails(cli("token", "create", "--name", "app", "--role", "scorer", "--quiet", "--json"),
           2, "--json or --quiet")


def test_tokens_are_unique(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    tokens = {_create(cli, f"user{i}") for i in range(3)}
    assert len(tokens) == 3


def test_database_stores_only_the_sha256(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    token = _create(cli, "alice")
    conn = sqlite3.connect(workspace.home / "riskops.db")
    try:
        (stored,) = conn.execute(
            "SELECT token_hash FROM api_tokens WHERE name = 'alice'").fetchone()
    finally:
        conn.close()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    secret = token.encode()
    body = token.removeprefix("rko_").encode()
    files = [p for p in workspace.home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("riskops.db") for p in files)
    for path in files:  # the database, its WAL, manifests, config, keys, artifacts
        data = path.read_bytes()
        assert secret not in data, path
        assert body not in data, path


def test_list_shows_names_and_roles_never_secrets(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    alice = _create(cli, "alice", "risk_lead")
    bob = _create(cli, "bob", "scorer")
    result = cli("token", "list", "--json")
    assert result.code == 0, result.err
    rows = result.json()
    by_name = {r["name"]: r for r in rows}
    assert by_name["alice"]["role"] == "risk_lead"
    assert by_name["bob"]["role"] == "scorer"
    assert by_name["admin"]["role"] == "admin"  # created by init
    assert all(r["revoked_at"] is None for r in rows)
    assert set(rows[0]) == {"name", "user", "role", "created_at", "revoked_at"}
    table = cli("token", "list")
    assert table.code == 0 and "alice" in table.out and "risk_lead" in table.out
    for text in (result.out, table.out, table.err):
        for token in (alice, bob):
            assert token not in text
            assert hashlib.sha256(token.encode()).hexdigest() not in text
        assert "rko_" not in text


def test_duplicate_name_is_refused(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _create(cli, "alice")
    before = _audit_count(cli)
    _fails(cli("token", "create", "--name", "alice", "--role", "scorer"), 2, "alice",
           "exists already")
    assert _audit_count(cli) == before
    rows = cli("token", "list", "--json").json()
    assert [r["role"] for r in rows if r["name"] == "alice"] == ["risk_lead"]


def test_duplicate_of_the_admin_token_name_is_refused(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _fails(cli("token", "create", "--name", "admin", "--role", "admin"), 2, "exists already")


@pytest.mark.parametrize("role", ["root", "", "Admin", "risk-lead", "admin "])
def test_unknown_role_names_the_allowed_roles(workspace: Workspace, cli, role: str) -> None:  # type: ignore[no-untyped-def]
    err = _fails(cli("token", "create", "--name", "alice", "--role", role), 2)
    for allowed in ROLES:
        assert allowed in err
    assert "alice" not in {r["name"] for r in cli("token", "list", "--json").json()}


@pytest.mark.parametrize(
    "name",
    ["../x", "", "a" * 200, "a" * 129, "-alice", ".hidden", "a b", "alice/bob", "alice\n",
     "älice", "x;rm"],
    ids=["dotdot", "empty", "200-chars", "129-chars", "leading-dash", "leading-dot", "space",
         "slash", "newline", "non-ascii", "semicolon"],
)
def test_invalid_name_is_refused(workspace: Workspace, cli, name: str) -> None:  # type: ignore[no-untyped-def]
    before = _audit_count(cli)
    _fails(cli("token", "create", "--name", name, "--role", "scorer"), 2, "--name")
    assert _audit_count(cli) == before
    assert len(cli("token", "list", "--json").json()) == 1  # only admin


@pytest.mark.parametrize("name", ["a", "a" * 128, "svc.fraud-scorer_1", "ann@example.com"])
def test_valid_names(workspace: Workspace, cli, name: str) -> None:  # type: ignore[no-untyped-def]
    _create(cli, name)
    assert name in {r["name"] for r in cli("token", "list", "--json").json()}


def test_missing_options_are_usage_errors(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    for args in (("token", "create", "--name", "x"), ("token", "create", "--role", "admin"),
                 ("token", "revoke")):
        result = cli(*args)
        assert result.code == 2, args
        assert "Traceback" not in result.err


def test_revoked_token_is_refused(workspace: Workspace, cli,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    token = _create(cli, "alice")
    monkeypatch.setenv("RISKOPS_TOKEN", token)
    assert cli("models", "list").code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    result = cli("token", "revoke", "--name", "alice")
    assert result.code == 0, result.err
    assert "revoked token alice" in result.out
    rows = {r["name"]: r for r in cli("token", "list", "--json").json()}
    assert rows["alice"]["revoked_at"] is not None
    monkeypatch.setenv("RISKOPS_TOKEN", token)
    for args in (("models", "list"), ("token", "list"), ("audit-log", "verify"),
                 ("token", "create", "--name", "bob", "--role", "admin")):
        err = _fails(cli(*args), 2, "revoked", "alice")
        assert token not in err
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    assert "bob" not in {r["name"] for r in cli("token", "list", "--json").json()}


@pytest.mark.parametrize("value", ["rko_not-a-real-token", "garbage", ""])
def test_unknown_token_is_refused(workspace: Workspace, cli, monkeypatch: pytest.MonkeyPatch,
                                  value: str) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", value)
    for args in (("models", "list"), ("token", "create", "--name", "bob", "--role", "admin")):
        err = _fails(cli(*args), 2, "token")
        if value:
            assert value not in err  # never echo a secret-looking value back
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    assert "bob" not in {r["name"] for r in cli("token", "list", "--json").json()}


def test_token_with_surrounding_whitespace_is_accepted(workspace: Workspace, cli,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    token = _create(cli, "alice")
    monkeypatch.setenv("RISKOPS_TOKEN", f"  {token}\n")
    assert cli("models", "list").code == 0


def test_author_is_the_token_name_or_the_local_user(
    workspace: Workspace, cli, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    token = _create(cli, "alice")
    monkeypatch.delenv("RISKOPS_TOKEN")
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", token)
    result = cli("models", "register", "fraud", "--from", model_dir)
    assert result.code == 0, result.err
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    versions = cli("models", "show", "fraud", "--json").json()["versions"]
    assert [v["author"] for v in versions] == [f"local:{getpass.getuser()}", "alice"]
    manifest = json.loads(workspace.manifest_path.read_bytes())
    assert manifest["models"]["fraud"]["versions"]["2"]["author"] == "alice"
    actors = [(actor, action) for actor, action, _ in _audit_rows(workspace)]
    assert actors[-2:] == [(f"local:{getpass.getuser()}", "model.registered"),
                           ("alice", "model.registered")]


def test_revoke_twice_and_unknown(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _create(cli, "alice")
    assert cli("token", "revoke", "--name", "alice").code == 0
    before = _audit_count(cli)
    _fails(cli("token", "revoke", "--name", "alice"), 2, "already revoked")
    _fails(cli("token", "revoke", "--name", "nobody"), 2, "no token named 'nobody'")
    assert _audit_count(cli) == before


def test_revoked_name_cannot_be_reused(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _create(cli, "alice")
    assert cli("token", "revoke", "--name", "alice").code == 0
    _fails(cli("token", "create", "--name", "alice", "--role", "scorer"), 2, "exists already")


def test_other_tokens_survive_a_revocation(workspace: Workspace, cli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _create(cli, "alice")
    bob = _create(cli, "bob", "scorer")
    assert cli("token", "revoke", "--name", "alice").code == 0
    monkeypatch.setenv("RISKOPS_TOKEN", bob)
    assert cli("models", "list").code == 0


def test_every_token_action_is_audited(workspace: Workspace, cli,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    start = _audit_count(cli)
    ops = _create(cli, "ops", "admin")
    assert _audit_count(cli) == start + 1
    monkeypatch.setenv("RISKOPS_TOKEN", ops)
    _create(cli, "alice")
    assert _audit_count(cli) == start + 2
    assert cli("token", "revoke", "--name", "alice").code == 0
    assert _audit_count(cli) == start + 3
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    rows = _audit_rows(workspace)[-3:]
    assert rows == [("admin", "token.created", "ops"),
                    ("ops", "token.created", "alice"),
                    ("ops", "token.revoked", "alice")]
    # Each token action publishes a manifest anchoring it as the audit head.
    manifest = json.loads(workspace.manifest_path.read_bytes())
    assert manifest["audit_head"]["seq"] == start + 3
    assert cli("verify").code == 0

"""The registry's flows on PostgreSQL: the same commands, the same answers as on SQLite,
and tampering done directly in the database caught by `riskops audit-log verify`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.registry.manifest import read_verified_manifest
from riskops.storage import db, repository

pytestmark = pytest.mark.postgres

MODEL = "models/fraud/1/model.skops"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement directly against the database, as someone bypassing riskops would."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _ok(result) -> Any:  # type: ignore[no-untyped-def]
    assert result.code == 0, result.out + result.err
    return result


def _audit_fails(cli, *needles: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("audit-log", "verify")
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    err = " ".join(result.err.split())  # the console may wrap long lines
    for needle in needles:
        assert needle in err, result.err
    return err


@pytest.fixture
def pg_registered(pg_workspace: Workspace, tmp_path: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    """fraud v1 and v2 registered, v1 in production: audit entries 1 (init) to 4."""
    _ok(cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "in1", seed=1)))
    _ok(cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "in2", seed=2)))
    _ok(cli("promote", "fraud", "1", "--break-glass", "test set-up", token=admin_token()))
    _ok(cli("audit-log", "verify"))
    return pg_workspace


def test_init_is_idempotent(postgres_url: str, tmp_path: Path, monkeypatch, cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RISKOPS_DATABASE_URL", postgres_url)
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / "ws"))
    first = _ok(cli("init"))
    assert "initialised workspace" in first.out
    assert "127.0.0.1:5432" in first.out
    assert not (tmp_path / "ws" / "riskops.db").exists()  # the state went to PostgreSQL

    second = _ok(cli("init"))
    assert "nothing changed" in second.out
    assert "admin API token" not in second.out
    assert _sql(postgres_url, "SELECT seq, action FROM audit_log") == [
        (1, "workspace.initialized")]
    assert _sql(postgres_url, "SELECT count(*) FROM manifests") == [(1,)]
    assert _sql(postgres_url, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    assert _ok(cli("audit-log", "verify", "--json")).json()["entries"] == 1


def test_register_promote_canary_rollback(pg_workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    url = pg_workspace.database_url
    assert url.startswith("postgresql+psycopg://")
    for seed in (1, 2):
        registered = _ok(cli("models", "register", "fraud", "--from",
                             make_model_dir(tmp_path / f"in{seed}", seed=seed),
                             "--metrics", json.dumps({"auc": seed / 10}), "--json"))
        assert registered.json()["version"] == seed

    _ok(cli("promote", "fraud", "1", "--break-glass", "test set-up", token=admin_token()))
    canary = _ok(cli("promote", "fraud", "2", "--stage", "canary", "--percent", "10",
                     "--break-glass", "test set-up", token=admin_token()))
    assert "to canary at 10%" in canary.out
    _ok(cli("promote", "fraud", "2", "--break-glass", "test set-up", token=admin_token()))
    again = _ok(cli("promote", "fraud", "2", "--break-glass", "test set-up", token=admin_token()))
    assert "nothing changed" in again.out

    rolled = _ok(cli("rollback", "fraud", "--json", token=admin_token())).json()
    assert (rolled["from"], rolled["to"], rolled["action"]) == (2, 1, "rollback")
    _ok(cli("verify"))
    _ok(cli("audit-log", "verify"))

    listed = _ok(cli("models", "list", "--json")).json()
    assert listed == [{"model": "fraud", "production": 1, "staging": None, "canary": 2,
                       "canary_percent": 10, "versions": [1, 2], "latest": 2}]

    shown = _ok(cli("models", "show", "fraud", "--json")).json()
    assert shown["stages"] == {"production": 1, "staging": None,
                               "canary": {"version": 2, "percent": 10}}
    assert shown["history"] == [1]
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][1]["metrics"] == {"auc": 0.2}
    assert {a["path"] for a in shown["versions"][0]["artifacts"]} == {
        "models/fraud/1/model.skops", "models/fraud/1/evaluation-report.json",
        "models/fraud/1/model.sig"}
    assert all(v["created_at"].endswith("+00:00") for v in shown["versions"])

    history = _ok(cli("models", "history", "fraud", "--json")).json()
    assert [(h["stage"], h["action"], h["from"], h["to"], h["percent"]) for h in history] == [
        ("production", "promote", None, 1, None),
        ("canary", "promote", None, 2, 10),
        ("production", "promote", 1, 2, None),
        ("production", "rollback", 2, 1, None),
    ]
    # init + 2 registrations + 4 pointer changes, each its own manifest version.
    assert [h["manifest_version"] for h in history] == [4, 5, 6, 7]

    # The signed files on disk are the newest manifest in PostgreSQL, byte for byte.
    ws = pg_workspace
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    with db.read_session(url) as session:
        latest = repository.latest_manifest(session)
        entries = repository.audit_entries(session)
    assert latest is not None and latest.manifest_version == 7
    assert verified.raw == latest.body.encode()
    assert verified.manifest.models["fraud"].stages.production == 1
    assert verified.manifest.audit_head is not None
    assert (verified.manifest.audit_head.seq, verified.manifest.audit_head.hash) == (
        entries[-1].seq, entries[-1].hash)
    assert [e.action for e in entries] == [
        "workspace.initialized", "model.registered", "model.registered", "model.promoted",
        "model.promoted", "model.promoted", "model.rolled_back"]
    assert not (ws.home / "riskops.db").exists()


def test_rollback_with_to_and_unknown_version(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _ok(cli("promote", "fraud", "2", "--break-glass", "test set-up", token=admin_token()))
    _ok(cli("rollback", "fraud", "--to", "1", token=admin_token()))
    assert _ok(cli("models", "show", "fraud", "--json")).json()["history"] == [1]
    missing = cli("promote", "fraud", "9", "--break-glass", "test set-up", token=admin_token())
    assert missing.code == 2 and "no version 9" in missing.err
    assert "Traceback" not in missing.err


def test_flipped_byte_is_caught(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    path = pg_registered.store_dir / MODEL
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    result = cli("verify")
    assert result.code == 1, result.out + result.err
    assert MODEL in result.err and "sha256 mismatch" in result.err
    assert "Traceback" not in result.err


def test_audit_row_edited_in_the_database(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    url = pg_registered.database_url
    [(data,)] = _sql(url, "SELECT data FROM audit_log WHERE seq = 2")
    edited = json.loads(data)
    edited["files"] = edited["files"][:1]  # hide an artifact from the record
    _sql(url, "UPDATE audit_log SET data = %s WHERE seq = 2", (json.dumps(edited),))
    _audit_fails(cli, "entry 2", "edited")


def test_audit_row_edited_and_rehashed(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    """Recomputing the edited entry's own hash moves the break to the entry after it."""
    from riskops.audit_chain import entry_hash

    url = pg_registered.database_url
    [(ts, actor, action, subject, prev)] = _sql(
        url, "SELECT ts, actor, action, subject, prev_hash FROM audit_log WHERE seq = 2")
    data = json.dumps({"forged": True})
    digest = entry_hash(prev, seq=2, ts=ts, actor=actor, action=action, subject=subject,
                        data=data)
    _sql(url, "UPDATE audit_log SET data = %s, hash = %s WHERE seq = 2", (data, digest))
    _audit_fails(cli, "entry 3", "does not chain")


def test_middle_audit_row_deleted(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _sql(pg_registered.database_url, "DELETE FROM audit_log WHERE seq = 2")
    _audit_fails(cli, "entry 2 is missing")


def test_newest_audit_row_deleted(pg_registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    url = pg_registered.database_url
    [(newest,)] = _sql(url, "SELECT max(seq) FROM audit_log")
    assert newest == 4
    _sql(url, "DELETE FROM audit_log WHERE seq = %s", (newest,))
    # What remains still chains; only the head anchored in the signed manifest shows the loss.
    err = _audit_fails(cli, f"entry {newest}", "missing (newest entries deleted)")
    assert "signed manifest v4" in err


def test_unreachable_database(tmp_path: Path, monkeypatch, cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RISKOPS_DATABASE_URL",
                       "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test")
    result = cli("init", "--home", tmp_path / "ws")
    assert result.code == 2, result.out + result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: cannot reach the database at postgresql+psycopg://")
    assert "port 1" in lines[0] and "RISKOPS_DATABASE_URL" in lines[0]
    assert "s3cret" not in result.err  # the password is never printed
    assert "Traceback" not in result.err and result.out == ""


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://x", "is not supported"),
        ("postgresql+psycopg://postgres@127.0.0.1:notaport/test", "is malformed"),
        ("postgresql+nodriver://postgres@127.0.0.1/test", "is malformed"),
    ],
    ids=["mysql", "bad-port", "unknown-driver"],
)
def test_malformed_database_url(tmp_path: Path, monkeypatch, cli, url: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RISKOPS_DATABASE_URL", url)
    result = cli("init", "--home", tmp_path / "ws")
    assert result.code == 2, result.out + result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database URL"), result.err
    assert needle in lines[0]
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_a_server_that_never_answers_fails_the_connection_after_the_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A partitioned database (TCP accepted, no PostgreSQL handshake ever) must not hang a
    request or the inference log's writer: the connection fails after connect_timeout."""
    import socket
    import time

    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(db, "PG_CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
        port = silent.getsockname()[1]
        started = time.monotonic()
        engine = db.get_engine(f"postgresql+psycopg://u@127.0.0.1:{port}/x")
        with pytest.raises(OperationalError, match="timeout"), engine.connect():
            pass
        assert time.monotonic() - started < 15
    db.dispose_engines()

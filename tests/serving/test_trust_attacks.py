"""An attacker with write access to the workspace folder, against real `riskops serve` processes.

Each attack runs against a server started before it (it must not switch to
what the attacker planted, and ``/ready`` must say why) and one started after
it (it must not load it either). The attacker can write every file under the
workspace, SQLite database included, but holds neither the signing key nor
anything outside the folder (the pinned fingerprint, this host's state folder).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    example_row,
    served_template,
    served_ws,
    tokens,
)
from serving_helpers_process import RISKOPS, Server, free_port
from sqlalchemy import select

from riskops.config import Workspace
from riskops.registry.keychain import fingerprint, make_statement, public_pem
from riskops.registry.manifest import canonical_bytes
from riskops.registry.service import Registry
from riskops.registry.signing import generate_key_pair, load_private_key, sign_bytes
from riskops.storage import db, repository
from riskops.storage.tables import KeyStatementRow, OutboxEventRow

pytestmark = pytest.mark.slow

START_TIMEOUT = 90.0


@contextmanager
def running(ws: Workspace, tmp_path: Path, **env: str) -> Iterator[Server]:
    """``riskops serve`` (one worker, 0.2 s manifest polling), up once it answers /ready at all."""
    port = free_port()
    config = ws.config_path.read_text()
    if "manifest_poll_seconds" not in config:
        ws.config_path.write_text(config + "\n[serving]\nmanifest_poll_seconds = 0.2\n")
    environment = {**os.environ, "RISKOPS_HOME": str(ws.home), **env}
    environment.pop("RISK_ML_ENABLED", None)
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(RISKOPS), "serve", "--home", str(ws.home), "--port", str(port),
             "--workers", "1", "--log-level", "warning"],
            stdout=sink, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"riskops serve exited:\n{server.output()}")
            try:
                httpx.get(f"{server.url}/ready", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail(f"riskops serve did not answer:\n{server.output()}")
                time.sleep(0.2)
        yield server
    finally:
        server.kill()
        db.dispose_engines()


def ready(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/ready", timeout=5)


def wait_for(server: Server, check: Callable[[httpx.Response], bool],
              timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = ready(server)
        if check(answer):
            return answer.json()  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            pytest.fail(f"/ready never matched: {answer.status_code} {answer.text}\n"
                        f"{server.output()}")
        time.sleep(0.2)


def not_ready(answer: httpx.Response) -> bool:
    return answer.status_code == 503


def is_ready(answer: httpx.Response) -> bool:
    return answer.status_code == 200


def fraud_answer(server: Server, tokens: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/risk/fraud", json=example_row("fraud"),
                          headers=auth(tokens["scorer"]), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def forge_manifest(ws: Workspace, key_path: Path, **changes: Any) -> int:
    """Write manifest.json(.sig) signed with ``key_path``: fraud's production -> v2, one up."""
    data = json.loads(ws.manifest_path.read_bytes())
    data["manifest_version"] += 1
    data["models"]["fraud"]["stages"]["production"] = 2
    data.update(changes)
    body = canonical_bytes(data)
    ws.signature_path.write_bytes(sign_bytes(load_private_key(key_path), body))
    ws.manifest_path.write_bytes(body)
    return int(data["manifest_version"])


def integrity_events(ws: Workspace) -> list[str]:
    with db.read_session(ws.database_url) as session:
        rows = session.scalars(select(OutboxEventRow).where(
            OutboxEventRow.type == "model_integrity_failed"))
        return [row.envelope for row in rows]


def cli(*args: str, token: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    if token:
        environment["RISKOPS_TOKEN"] = token
    return subprocess.run([str(RISKOPS), *args], capture_output=True, text=True, timeout=300,
                          env=environment)


def test_replaced_public_key_with_a_forged_manifest(served_ws: Workspace, tokens, tmp_path):
    """Attack 1: public.pem, manifest.json and its signature replaced with the attacker's."""
    evil = tmp_path / "evil.pem"
    with running(served_ws, tmp_path) as before:
        wait_for(before, is_ready)
        assert fraud_answer(before, tokens)["risk_model_version"] == 1
        generate_key_pair(evil, served_ws.public_key_path)
        forge_manifest(served_ws, evil)
        why = json.dumps(wait_for(before, not_ready)["problems"])
        assert "public.pem" in why and "not a trusted key" in why
        answer = fraud_answer(before, tokens)
        assert answer["risk_score_method"] == "ml" and answer["risk_model_version"] == 1
        assert any("not a trusted key" in p for p in integrity_events(served_ws))
        with running(served_ws, tmp_path) as after:
            state = wait_for(after, not_ready)
            assert state["models"] == {} and "manifest not verified" in json.dumps(state)
            assert fraud_answer(after, tokens)["risk_score_method"] == "heuristic"
        # The documented recovery evicts it: init restores public.pem and the manifest.
        repaired = cli("init", "--home", str(served_ws.home))
        assert repaired.returncode == 0, repaired.stderr
        assert "kept as" in repaired.stdout and "displaced-public" in repaired.stdout
        state = wait_for(before, is_ready)
        assert state["models"]["fraud"]["production"] == 1
        assert fraud_answer(before, tokens)["risk_model_version"] == 1
    assert cli("verify", "--home", str(served_ws.home)).returncode == 0


def test_pinned_key_refuses_a_replaced_key_even_with_a_rewritten_chain(
        served_ws: Workspace, tokens, tmp_path):
    """Attack 1 with the database rewritten too: only the pin outside the folder holds."""
    genuine = fingerprint(load_private_key(served_ws.private_key_path).public_key())
    evil = tmp_path / "evil.pem"
    generate_key_pair(evil, served_ws.public_key_path)
    key = load_private_key(evil)
    with db.write_transaction(served_ws.database_url) as session:  # the attacker's own chain
        for row in repository.key_statements(session):
            session.delete(row)
        session.flush()
        forged = make_statement({"seq": 1, "kind": "root", "key": fingerprint(key.public_key()),
                                 "public_key": public_pem(key.public_key()), "at": "x",
                                 "by": "evil"}, [key])
        session.add(KeyStatementRow(seq=1, kind="root", key=forged.key,
                                    body=forged.body.decode(),
                                    signatures=json.dumps(forged.as_json()["signatures"]),
                                    created_at=db_now()))
    forge_manifest(served_ws, evil)
    with running(served_ws, tmp_path, RISKOPS_TRUSTED_KEYS=genuine) as server:
        state = wait_for(server, not_ready)
        assert state["models"] == {} and genuine in json.dumps(state["problems"])
        assert fraud_answer(server, tokens)["risk_score_method"] == "heuristic"
    unpinned = cli("verify", "--home", str(served_ws.home), RISKOPS_TRUSTED_KEYS=genuine)
    assert unpinned.returncode == 1 and "no public key is known for trusted key" in (
        unpinned.stdout + unpinned.stderr)


def db_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_restored_backup_is_refused_until_the_floor_is_reset(served_ws: Workspace, tokens,
                                                              tmp_path):
    """Attack 2: the database and the manifest files rolled back together to an older backup."""
    backup = tmp_path / "backup"
    backup.mkdir()
    with sqlite3.connect(served_ws.home / "riskops.db") as live, \
            sqlite3.connect(backup / "riskops.db") as copy:
        live.backup(copy)  # the SQLite online backup: consistent whatever the WAL holds
    for name in ("manifest.json", "manifest.json.sig"):
        shutil.copy2(served_ws.home / name, backup / name)
    with running(served_ws, tmp_path) as before:
        wait_for(before, is_ready)
        Registry(served_ws).promote("fraud", 2, actor="local:t", force=True)
        wait_for(before, lambda r: r.status_code == 200
                 and r.json()["models"]["fraud"]["production"] == 2)
        db.dispose_engines()
        for stale in ("riskops.db-wal", "riskops.db-shm"):  # a restore replaces the WAL too
            (served_ws.home / stale).unlink(missing_ok=True)
        for name in ("riskops.db", "manifest.json.sig", "manifest.json"):
            os.replace(shutil.copy2(backup / name, served_ws.home / f".{name}.restore"),
                       served_ws.home / name)
        # The server that saw v2 go live never goes back to the restored v1.
        why = json.dumps(wait_for(before, not_ready)["problems"])
        assert "replay floor" in why or "stale" in why or "newer than anything" in why
        assert fraud_answer(before, tokens)["risk_model_version"] != 1
        verified = cli("verify", "--home", str(served_ws.home))
        assert verified.returncode == 1
        assert "replay floor" in verified.stderr and "high-water mark v" in verified.stderr
        with running(served_ws, tmp_path) as after:
            state = wait_for(after, not_ready)
            assert state["models"] == {} and "replay floor" in json.dumps(state["problems"])
            assert fraud_answer(after, tokens)["risk_score_method"] == "heuristic"
            # The deliberate recovery: signed, audited, never silent.
            reset = cli("keys", "reset-floor", "--home", str(served_ws.home), "--reason",
                        "restored the 02:00 backup after a disk failure", token=tokens["admin"])
            assert reset.returncode == 0, reset.stderr
            for server in (after, before):
                state = wait_for(server, is_ready)
                assert state["models"]["fraud"]["production"] == 1
                assert fraud_answer(server, tokens)["risk_model_version"] == 1
    assert cli("verify", "--home", str(served_ws.home)).returncode == 0
    with db.read_session(served_ws.database_url) as session:
        entry = repository.audit_entries(session)[-1]
    assert entry.action == "manifest.floor_reset" and "02:00 backup" in entry.data
    assert list((served_ws.manifest_archive_dir).glob("orphaned-*/manifest-*.json"))


def test_forged_rotation_is_refused_and_a_genuine_one_is_followed(served_ws: Workspace, tokens,
                                                                  tmp_path):
    genuine = fingerprint(load_private_key(served_ws.private_key_path).public_key())
    with running(served_ws, tmp_path, RISKOPS_TRUSTED_KEYS=genuine) as server:
        wait_for(server, is_ready)
        # Forged: a rotation to the attacker's key signed by that key alone.
        evil = tmp_path / "evil.pem"
        generate_key_pair(evil, tmp_path / "evil.pub")
        key = load_private_key(evil)
        with db.write_transaction(served_ws.database_url) as session:
            seq = repository.key_statements(session)[-1].seq + 1
            forged = make_statement({"seq": seq, "kind": "rotate", "previous": genuine,
                                     "key": fingerprint(key.public_key()),
                                     "public_key": public_pem(key.public_key()), "at": "x",
                                     "by": "evil"}, [key])
            session.add(KeyStatementRow(seq=seq, kind="rotate", key=forged.key,
                                        body=forged.body.decode(),
                                        signatures=json.dumps(forged.as_json()["signatures"]),
                                        created_at=db_now()))
        shutil.copy(tmp_path / "evil.pub", served_ws.public_key_path)
        forge_manifest(served_ws, evil)
        state = wait_for(server, not_ready)
        assert "forged" in json.dumps(state["problems"])
        assert fraud_answer(server, tokens)["risk_model_version"] == 1
        with db.write_transaction(served_ws.database_url) as session:
            session.delete(session.get(KeyStatementRow, seq))
        repaired = cli("init", "--home", str(served_ws.home))
        assert repaired.returncode == 0, repaired.stderr
        wait_for(server, is_ready)
        # Genuine: followed without a restart, from the old pin.
        rotated = cli("keys", "rotate", "--home", str(served_ws.home), token=tokens["admin"])
        assert rotated.returncode == 0, rotated.stderr
        new = fingerprint(load_private_key(served_ws.private_key_path).public_key())
        state = wait_for(server, lambda r: r.status_code == 200 and r.json()["signed_by"] == new)
        assert state["models"]["fraud"]["production"] == 1
        revoked = cli("keys", "revoke", genuine, "--reason", "rotated out",
                      "--home", str(served_ws.home), token=tokens["admin"])
        assert revoked.returncode == 0, revoked.stderr
        wait_for(server, lambda r: r.status_code == 200
                 and r.json()["manifest_version"] == state["manifest_version"] + 1)
    with running(served_ws, tmp_path, RISKOPS_TRUSTED_KEYS=genuine) as fresh:
        assert wait_for(fresh, is_ready)["signed_by"] == new

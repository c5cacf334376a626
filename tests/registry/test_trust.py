"""The trust anchor, the replay floor and the repairs `init` makes, on a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.registry import floor
from riskops.registry.keychain import fingerprint
from riskops.registry.signing import generate_key_pair, load_private_key, load_public_key
from riskops.storage import db, repository
from riskops.storage.tables import KeyStatementRow


def signer(ws: Workspace) -> str:
    return fingerprint(load_private_key(ws.private_key_path).public_key())


def test_init_prints_the_fingerprint_to_pin_and_records_the_root(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", "--home", tmp_path / "ws", "--json")
    ws_key = fingerprint(load_public_key(tmp_path / "ws/keys/public.pem"))
    assert result.code == 0 and result.json()["trusted_key"] == ws_key
    chain = json.loads((tmp_path / "ws/keys/chain.json").read_text())
    assert [s["statement"]["kind"] for s in chain["statements"]] == ["root"]


def test_pins_from_the_environment_are_checked(workspace: Workspace, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", "sha256:nothex")
    bad = cli("verify")
    assert bad.code == 2 and "RISKOPS_TRUSTED_KEYS" in bad.err and "64 hex" in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", f"sha256:{'1' * 64}, {signer(workspace)}")
    assert cli("verify").code == 0
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", f"sha256:{'1' * 64}")
    other = cli("verify")
    assert other.code == 1 and "no public key is known for trusted key" in other.err


def test_pins_in_the_config_file_are_validated(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    config = workspace.config_path.read_text()
    workspace.config_path.write_text(config + '\n[trust]\nkeys = ["md5:abc"]\n')
    bad = cli("verify")
    assert bad.code == 2 and "trust.keys" in bad.err
    workspace.config_path.write_text(config + f'\n[trust]\nkeys = ["{signer(workspace)}"]\n')
    assert cli("verify").code == 0


def test_init_restores_a_replaced_public_key_and_keeps_the_bad_one(workspace: Workspace, cli,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    generate_key_pair(tmp_path / "evil.pem", workspace.public_key_path)
    assert cli("verify").code == 1
    repaired = cli("init")
    assert repaired.code == 0 and "displaced-public-" in repaired.out
    assert fingerprint(load_public_key(workspace.public_key_path)) == signer(workspace)
    assert len(list(workspace.keys_dir.glob("displaced-public-*.pem"))) == 1
    assert cli("verify").code == 0


def test_a_replaced_signing_key_signs_nothing(registered_ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    before = registered_ws.manifest_path.read_bytes()
    generate_key_pair(registered_ws.private_key_path, registered_ws.public_key_path)
    refused = cli("rollback", "fraud", "--fallback", "heuristic", token=admin_token())
    assert refused.code == 1 and "not a trusted signing key" in refused.err
    assert registered_ws.manifest_path.read_bytes() == before
    init = cli("init")
    assert init.code == 1 and "not a trusted signing key" in init.err


def test_a_workspace_from_before_key_chains_is_anchored_by_init(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with db.write_transaction(workspace.database_url) as session:
        for row in repository.key_statements(session):
            session.delete(row)
    (workspace.keys_dir / "chain.json").unlink()
    assert cli("verify").code == 0  # public.pem, as before chains existed
    anchored = cli("init")
    assert anchored.code == 0 and "recorded" in anchored.out and "root key" in anchored.out
    with db.read_session(workspace.database_url) as session:
        assert [r.kind for r in repository.key_statements(session)] == ["root"]
    assert cli("verify").code == 0 and cli("audit-log", "verify").code == 0


def test_a_lost_signing_key_becomes_a_new_root_that_pins_refuse(workspace: Workspace, cli,  # type: ignore[no-untyped-def]
                                                                monkeypatch) -> None:
    old = signer(workspace)
    workspace.private_key_path.unlink()
    rotated = cli("init", "--force")
    assert rotated.code == 0 and "NEW ROOT" in rotated.out
    assert cli("verify").code == 0
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", old)
    assert cli("verify").code == 1


def test_key_acts_are_listed_and_refuse_nonsense(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    token = admin_token()
    current = signer(workspace)
    own = cli("keys", "revoke", current, "--reason", "x", token=token)
    assert own.code == 2 and "rotate first" in own.err
    assert cli("keys", "rotate", token=token).code == 0
    assert cli("keys", "revoke", current, "--reason", "", token=token).code == 2
    assert cli("keys", "revoke", current, "--reason", "rotated out", token=token).code == 0
    again = cli("keys", "revoke", current, "--reason", "twice", token=token)
    assert again.code == 2 and "already revoked" in again.err
    listing = cli("keys", "list", "--json").json()
    assert [s["status"] for s in listing["statements"]] == ["revoked", "current", "revoked"]
    assert listing["public_pem"] == listing["signing_pem"] == signer(workspace)
    nothing = cli("keys", "reset-floor", "--reason", "drill", token=token)
    assert nothing.code == 2 and "nothing to reset" in nothing.err


def test_the_high_water_mark_only_rises(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mark.json"
    assert floor.read_mark(path) == floor.Mark()
    floor.raise_mark(path, manifest_version=5, sha256="a" * 64, chain_seq=2)
    floor.raise_mark(path, manifest_version=3, sha256="b" * 64, chain_seq=1)
    assert floor.read_mark(path) == floor.Mark(5, "a" * 64, 2)
    path.write_text("{not json")
    with pytest.raises(Exception, match="unreadable"):
        floor.read_mark(path)


@pytest.mark.parametrize(("version", "digest", "needle"), [
    (4, "d" * 64, "stale: v4 on disk, the database published v6"),
    (6, "x" * 64, "not the manifest the database published"),
    (7, "d" * 64, "newer than the database's newest"),
    (6, "d" * 64, None),
])
def test_manifest_problems_name_the_witnesses(version: int, digest: str, needle: str | None
                                              ) -> None:
    witnesses = floor.Floor(floor.Mark(5, "e" * 64), 6, "d" * 64, 5)
    problem = floor.manifest_problem(witnesses, version=version, sha256=digest)
    assert problem is None if needle is None else needle in (problem or "")


def test_below_the_floor_without_the_database_names_all_three_numbers() -> None:
    witnesses = floor.Floor(floor.Mark(9, "a" * 64), 5, "b" * 64, 8)
    problem = floor.manifest_problem(witnesses, version=5, sha256="b" * 64) or ""
    assert "replay floor v9" in problem and "high-water mark v9" in problem
    assert "database's newest v5" in problem and "manifests/ v8" in problem
    assert "reset-floor" in problem
    fork = floor.manifest_problem(floor.Floor(floor.Mark(9, "a" * 64), None, None, 0),
                                  version=9, sha256="c" * 64)
    assert fork is not None and "two manifests with one version" in fork


@pytest.fixture
def registered_ws(workspace: Workspace, model_dir: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "set-up", token=admin_token()).code == 0
    return workspace


def test_statement_rows_mirror_the_published_chain(registered_ws: Workspace) -> None:
    with db.read_session(registered_ws.database_url) as session:
        rows: list[KeyStatementRow] = repository.key_statements(session)
    published = json.loads((registered_ws.keys_dir / "chain.json").read_text())["statements"]
    assert [r.seq for r in rows] == [s["statement"]["seq"] for s in published]

"""This host's mark: named by the workspace's folder alone, it keeps the manifest floor, how far
the key chain reached (length and digest) and the keys seen revoked, whatever an attacker who
writes the workspace folder and its SQLite database does to the key chain."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import admin_token
from riskops.config import Workspace
from riskops.registry import floor
from riskops.registry.keychain import (
    Statement,
    Trust,
    chain_heads,
    fingerprint,
    make_statement,
    public_pem,
)
from riskops.registry.manifest import canonical_bytes
from riskops.registry.signing import load_private_key, sign_bytes
from riskops.storage import db, repository
from riskops.storage.tables import KeyStatementRow, ManifestRow


def signer(ws: Workspace) -> str:
    return fingerprint(load_private_key(ws.private_key_path).public_key())


def manifest_version(ws: Workspace) -> int:
    return int(json.loads(ws.manifest_path.read_bytes())["manifest_version"])


@pytest.fixture
def registered_ws(workspace: Workspace, model_dir: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "set-up", token=admin_token()).code == 0
    return workspace


def drop_manifests_above(ws: Workspace, version: int) -> None:
    """The attacker's clean-up: the database and the archive forget every manifest above."""
    with db.write_transaction(ws.database_url) as session:
        for row in repository.all_manifests(session):
            if row.manifest_version > version:
                session.delete(row)
    for path in ws.manifest_archive_dir.glob("manifest-*.json*"):
        if int(path.name.removeprefix("manifest-").split(".")[0]) > version:
            path.unlink()


def replace_chain(ws: Workspace, statements: list[Statement]) -> None:
    """The attacker rewrites ``key_statements`` (and ``keys/chain.json`` goes with it)."""
    with db.write_transaction(ws.database_url) as session:
        for row in repository.key_statements(session):
            session.delete(row)
        session.flush()
        for s in statements:
            session.add(KeyStatementRow(seq=s.seq, kind=s.kind, key=s.key, body=s.body.decode(),
                                        signatures=json.dumps(s.as_json()["signatures"]),
                                        created_at=datetime.now(UTC)))
    (ws.keys_dir / "chain.json").unlink(missing_ok=True)


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "unpinned"])
def test_an_emptied_key_chain_does_not_reset_the_high_water_mark(
        registered_ws: Workspace, cli, monkeypatch, tmp_path: Path, pinned: bool) -> None:  # type: ignore[no-untyped-def]
    """Attack: delete the chain (rows and chain.json), the newer manifests from the database and
    the archive, and put an older signed manifest back: only this host's mark remembers."""
    ws = registered_ws
    if pinned:
        monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", signer(ws))
    old = manifest_version(ws)
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("manifest.json", "manifest.json.sig"):
        shutil.copy2(ws.home / name, kept / name)
    assert cli("rollback", "fraud", "--fallback", "heuristic", token=admin_token()).code == 0
    assert cli("verify").code == 0  # this host's mark: the newer manifest, chain statement 1

    replace_chain(ws, [])
    drop_manifests_above(ws, old)
    for name in ("manifest.json.sig", "manifest.json"):
        shutil.copy2(kept / name, ws.home / name)

    replayed = cli("verify")
    assert replayed.code == 1, replayed.out
    assert "the key chain is empty" in replayed.err and "statement 1" in replayed.err
    assert f"below the replay floor v{old + 1}" in replayed.err
    assert f"high-water mark v{old + 1}" in replayed.err


def test_a_chain_forked_at_the_same_length_by_a_revoked_key_is_refused(
        registered_ws: Workspace, cli, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Attack: with a revoked key's private half (a retired copy, a leak), rewrite the chain at
    the length this host saw so that it never revokes that key, and sign a manifest with it."""
    ws = registered_ws
    first = load_private_key(ws.private_key_path)
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", fingerprint(first.public_key()))
    token = admin_token()
    assert cli("keys", "rotate", token=token).code == 0
    assert cli("keys", "revoke", fingerprint(first.public_key()), "--reason", "rotated out",
               token=token).code == 0
    assert cli("verify").code == 0  # the mark: 3 statements, the first key revoked

    evil = ec.generate_private_key(ec.SECP256R1())
    with db.read_session(ws.database_url) as session:
        genuine_root = repository.key_statements(session)[0]
    rotated = make_statement({"seq": 2, "kind": "rotate", "previous": fingerprint(
        first.public_key()), "key": fingerprint(evil.public_key()),
        "public_key": public_pem(evil.public_key()), "at": "t", "by": "evil"}, [first, evil])
    padding = make_statement({"seq": 3, "kind": "root", "key": fingerprint(evil.public_key()),
                              "public_key": public_pem(evil.public_key()), "at": "t",
                              "by": "evil"}, [evil])
    replace_chain(ws, [Statement(genuine_root.body.encode(), {
        s["key"]: base64.b64decode(s["signature"]) for s in json.loads(
            genuine_root.signatures)}), rotated, padding])
    data = json.loads(ws.manifest_path.read_bytes())
    data["manifest_version"] += 1
    body = canonical_bytes(data)
    signature = sign_bytes(evil, body)
    with db.write_transaction(ws.database_url) as session:
        session.add(ManifestRow(manifest_version=data["manifest_version"],
                                published_at=datetime.now(UTC),
                                sha256=hashlib.sha256(body).hexdigest(), body=body.decode(),
                                signature=base64.b64encode(signature).decode()))
    ws.signature_path.write_bytes(signature)
    ws.manifest_path.write_bytes(body)
    ws.public_key_path.write_text(public_pem(evil.public_key()))

    forked = cli("verify", "--no-openssf")  # what serving checks (model.sig is not loaded)
    assert forked.code == 1, forked.out
    assert "statements 1-3 are not the ones this host followed before" in forked.err
    assert f"key {fingerprint(first.public_key())} was revoked" in forked.err


def test_a_key_seen_revoked_stays_revoked_when_the_chain_never_says_so(
        registered_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = registered_ws
    assert cli("verify").code == 0
    floor.raise_mark(floor.mark_path(ws), manifest_version=0, sha256="", chain_seq=0,
                     revoked=[signer(ws)])  # as a verifier that followed a revocation records
    refused = cli("verify")
    assert refused.code == 1
    assert f"key {signer(ws)} was revoked in the key chain this host followed before" in (
        refused.err)
    listing = cli("keys", "list", "--json").json()
    assert [s["status"] for s in listing["statements"]] == ["revoked"]


def test_the_mark_file_is_named_by_the_folder_and_an_old_one_is_still_read(
        registered_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = registered_ws
    floor.mark_path(ws).unlink(missing_ok=True)  # a host upgraded from an earlier release:
    legacy = floor.legacy_mark_path(ws, signer(ws))  # its mark is under the old name only
    floor.raise_mark(legacy, manifest_version=manifest_version(ws) + 4, sha256="a" * 64,
                     chain_seq=1)
    refused = cli("verify")
    assert refused.code == 1 and f"high-water mark v{manifest_version(ws) + 4}" in refused.err
    legacy.unlink()
    floor.raise_mark(legacy, manifest_version=1, sha256="b" * 64, chain_seq=1)
    assert cli("verify").code == 0
    mark = floor.read_mark(floor.mark_path(ws))  # written under the new name, head included
    assert mark.manifest_version == manifest_version(ws) and mark.chain_seq == 1
    with db.read_session(ws.database_url) as session:
        rows = repository.key_statements(session)
    assert mark.chain_head == chain_heads([Statement(r.body.encode(), {}) for r in rows])[-1]


def _trust(statements: list[Statement]) -> Trust:
    heads = chain_heads(statements)
    return Trust("t", (), current={}, known={}, seq=len(statements), heads=heads)


def test_chain_problems_name_an_emptied_a_shorter_and_a_forked_chain() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    one, two, other = (make_statement({"seq": n, "kind": "root", "key": fingerprint(
        key.public_key()), "at": at, "by": "a"}, [key]) for n, at in ((1, "a"), (2, "b"), (2, "c")))
    seen = floor.Mark(5, "a" * 64, 2, chain_heads([one, two])[-1])
    where = Path("/state/high-water-home-x.json")
    assert floor.chain_problem(seen, _trust([one, two]), mark_file=where) is None
    extended = make_statement({"seq": 3, "kind": "root", "key": "k", "at": "d", "by": "a"}, [key])
    assert floor.chain_problem(seen, _trust([one, two, extended]), mark_file=where) is None
    emptied = floor.chain_problem(seen, _trust([]), mark_file=where) or ""
    assert "key chain is empty" in emptied and str(where) in emptied
    shorter = floor.chain_problem(seen, _trust([one]), mark_file=where) or ""
    assert "ends at statement 1" in shorter
    for fork in ([one, other], [one, other, extended]):
        problem = floor.chain_problem(seen, _trust(fork), mark_file=where) or ""
        assert "statements 1-2 are not the ones" in problem
    legacy = floor.Mark(5, "a" * 64, 2)  # no head recorded yet: the length is all it can check
    assert floor.chain_problem(legacy, _trust([one, other]), mark_file=where) is None


def test_the_mark_never_forgets_a_revoked_key_or_the_first_head(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mark.json"
    floor.raise_mark(path, manifest_version=5, sha256="a" * 64, chain_seq=2)
    floor.raise_mark(path, manifest_version=5, sha256="a" * 64, chain_seq=2, chain_head="h2",
                     revoked=["sha256:old"])
    floor.raise_mark(path, manifest_version=6, sha256="b" * 64, chain_seq=2, chain_head="x2")
    assert floor.read_mark(path) == floor.Mark(6, "b" * 64, 2, "h2", frozenset({"sha256:old"}))
    floor.raise_mark(path, manifest_version=6, sha256="b" * 64, chain_seq=3, chain_head="h3")
    assert floor.read_mark(path) == floor.Mark(6, "b" * 64, 3, "h3", frozenset({"sha256:old"}))


def test_a_new_workspace_made_where_one_was_starts_a_new_mark(
        registered_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    """A person starting over (remove the folder, init again) is not an attacker: init on this
    host sets the old mark aside and says so; the new workspace verifies."""
    from riskops.workspace import init_workspace

    ws = registered_ws
    assert cli("verify").code == 0
    old_mark = floor.mark_path(ws)
    assert old_mark.exists()
    db.dispose_engines()
    shutil.rmtree(ws.home)
    result = init_workspace(ws.home)
    assert result.created
    assert any("replay mark was set aside" in note for note in result.notes)
    assert not old_mark.exists()
    assert list(old_mark.parent.glob(f"{old_mark.stem}.replaced-*.json"))
    assert cli("verify").code == 0
    # init on an existing workspace never touches the mark.
    again = init_workspace(ws.home)
    assert not again.created and old_mark.exists()

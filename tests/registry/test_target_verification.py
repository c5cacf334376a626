"""A pointer change that names a version checks that version's files first: a broken
target is refused through the registry, the CLI and HTTP, and nothing is signed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry.service import Registry
from riskops.storage import db, repository

FOLDER = "models/fraud/1"


@pytest.fixture
def two_live(workspace: Workspace, tmp_path: Path) -> Workspace:
    """fraud v1 then v2 promoted: production 2, history [1, 2]; v3 registered, never live."""
    registry = Registry(workspace)
    for seed in (1, 2, 3):
        registry.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed),
                          actor="local:a")
    registry.promote("fraud", 1, actor="local:a", force=True)
    registry.promote("fraud", 2, actor="local:a", force=True)
    return workspace


def _rewrite(path: Path, data: bytes) -> None:
    # The store's files are hard links to read-only blobs: replace, never edit in place.
    path.unlink()
    path.write_bytes(data)


def _truncate(store: Path) -> tuple[str, str]:
    path = store / FOLDER / "model.skops"
    size = path.stat().st_size
    _rewrite(path, path.read_bytes()[:10])
    return f"{FOLDER}/model.skops", f"truncated: size 10, expected {size}"


def _flip_a_byte(store: Path) -> tuple[str, str]:
    path = store / FOLDER / "model.skops"
    data = bytearray(path.read_bytes())
    before = hashlib.sha256(data).hexdigest()
    data[len(data) // 2] ^= 0x01
    _rewrite(path, bytes(data))
    after = hashlib.sha256(data).hexdigest()
    return f"{FOLDER}/model.skops", f"sha256 mismatch: {after[:12]}…, expected {before[:12]}…"


def _delete(store: Path) -> tuple[str, str]:
    (store / FOLDER / "evaluation-report.json").unlink()
    return f"{FOLDER}/evaluation-report.json", "missing"


def _add_unlisted(store: Path) -> tuple[str, str]:
    (store / FOLDER / "extra.bin").write_bytes(b"not registered")
    return f"{FOLDER}/extra.bin", "unlisted file (not in the signed manifest)"


def _link(store: Path) -> tuple[str, str]:
    path = store / FOLDER / "model.skops"
    path.unlink()
    path.symlink_to(store / "models/fraud/2/model.skops")
    return f"{FOLDER}/model.skops", "symbolic link to inside the store"


TAMPER: dict[str, Callable[[Path], tuple[str, str]]] = {
    "truncated": _truncate, "byte flipped": _flip_a_byte, "deleted": _delete,
    "unlisted file": _add_unlisted, "symlink": _link,
}


def _state(ws: Workspace) -> tuple:
    """What a refused change must leave alone: the database's newest manifest, the files
    serving reads, and the pointers."""
    with db.read_session(ws.database_url) as session:
        newest = repository.latest_manifest(session)
        assert newest is not None
        version = newest.manifest_version
    shown = Registry(ws).show_model("fraud")
    return (version, ws.manifest_path.read_bytes(), ws.signature_path.read_bytes(),
            shown["stages"], shown["history"], shown["pins"])


#: (what the refusal says the change was, CLI arguments)
CLI_CHANGES = [
    ("promoted to production", ["promote", "fraud", "1", "--break-glass", "test"]),
    ("promoted to canary",
     ["promote", "fraud", "1", "--stage", "canary", "--percent", "10", "--break-glass", "t"]),
    ("promoted to staging", ["promote", "fraud", "1", "--stage", "staging"]),
    ("put back in production by a rollback", ["rollback", "fraud"]),
    ("put back in production by a rollback", ["rollback", "fraud", "--to", "1"]),
    ("pinned for tenant 'acme'", ["models", "pin", "fraud", "--tenant", "acme", "--version", "1"]),
]

#: (what the refusal says the change was, method, path, body)
HTTP_CHANGES = [
    ("promoted to production", "/models/fraud/promote", {"version": 1, "break_glass": "test"}),
    ("promoted to canary", "/models/fraud/promote",
     {"version": 1, "stage": "canary", "percent": 10, "break_glass": "test"}),
    ("promoted to staging", "/models/fraud/promote", {"version": 1, "stage": "staging"}),
    ("put back in production by a rollback", "/models/fraud/rollback", {}),
    ("put back in production by a rollback", "/models/fraud/rollback", {"to": 1}),
    ("pinned for tenant 'acme'", "/models/fraud/pins", {"tenant": "acme", "version": 1}),
]


@pytest.mark.parametrize("tamper", TAMPER.values(), ids=TAMPER.keys())
def test_the_cli_refuses_a_broken_target_and_changes_nothing(
        tamper, two_live: Workspace, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path, reason = tamper(two_live.store_dir)
    before = _state(two_live)
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    for action, args in CLI_CHANGES:
        result = cli(*args)
        assert result.code == 1, (args, result.out, result.err)
        assert (f"error: fraud v1 cannot be {action}: {path}: {reason}" in result.err
                and "nothing was changed" in result.err), (args, result.err)
        assert "Traceback" not in result.err
        assert _state(two_live) == before, args
    gated = cli("promote", "fraud", "1")  # without break-glass the integrity gate says no first
    assert gated.code == 1 and f"{path}: {reason}" in gated.err
    assert _state(two_live) == before


@pytest.mark.parametrize("tamper", TAMPER.values(), ids=TAMPER.keys())
def test_http_refuses_a_broken_target_with_409_and_changes_nothing(
        tamper, two_live: Workspace) -> None:  # type: ignore[no-untyped-def]
    from riskops.serving.app import create_app

    path, reason = tamper(two_live.store_dir)
    before = _state(two_live)
    headers = {"Authorization": f"Bearer {admin_token()}"}
    with TestClient(create_app(two_live), raise_server_exceptions=False) as client:
        for action, url, body in HTTP_CHANGES:
            response = client.post(url, json=body, headers=headers)
            assert response.status_code == 409, (url, body, response.text)
            answer = response.json()
            assert answer["detail"].startswith(f"fraud v1 cannot be {action}: {path}: {reason}")
            assert answer["kind"] == "integrity"
            assert any(f["path"] == path and f["reason"].startswith(reason)
                       for f in answer["failures"]), answer
            assert _state(two_live) == before, (url, body)


def test_the_registry_refusal_names_every_failing_file(two_live: Workspace) -> None:
    truncated, why = _truncate(two_live.store_dir)
    unlisted, _ = _add_unlisted(two_live.store_dir)
    with pytest.raises(IntegrityError) as refused:
        Registry(two_live).promote("fraud", 1, actor="local:a", force=True)
    assert str(refused.value).splitlines() == [
        f"fraud v1 cannot be promoted to production: {truncated}: {why}; {unlisted}: unlisted "
        "file (not in the signed manifest); nothing was changed.",
        "  next: riskops verify fraud 1 lists every failure; put the registered files back, or "
        "register the model again and use the new version.",
    ]
    assert [p for p, _ in refused.value.failures] == [truncated, unlisted]


def test_untouched_versions_still_move_while_another_is_broken(
        two_live: Workspace, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _truncate(two_live.store_dir)
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--version", "2").code == 0
    promoted = cli("promote", "fraud", "3", "--break-glass", "v3 is fine")
    assert promoted.code == 0, promoted.err
    assert cli("promote", "fraud", "2", "--stage", "canary", "--percent", "10",
               "--break-glass", "t").code == 0
    rolled = cli("rollback", "fraud", "--to", "2")
    assert rolled.code == 0, rolled.err
    stages = Registry(two_live).show_model("fraud")["stages"]
    assert stages["production"] == 2 and stages["canary"] == {"version": 2, "percent": 10}


def test_the_heuristic_and_unpinning_need_no_check(
        two_live: Workspace, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(two_live)
    registry.pin("fraud", "acme", 2, actor="local:a")
    os.unlink(two_live.store_dir / "models/fraud/2/model.skops")  # production itself breaks
    monkeypatch.setenv("RISKOPS_TOKEN", admin_token())
    assert cli("models", "unpin", "fraud", "--tenant", "acme").code == 0
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic").code == 0
    fallback = cli("rollback", "fraud", "--fallback", "heuristic")
    assert fallback.code == 0, fallback.err
    assert registry.show_model("fraud")["stages"]["production"] is None

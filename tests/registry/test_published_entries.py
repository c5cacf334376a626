"""A version the signed manifest published never changes: rows edited in the database behind
riskops' back are refused at the next publish, however unrelated, and nothing is signed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.registry.manifest import parse_manifest
from riskops.registry.publish import frozen_changes
from riskops.registry.service import Registry
from riskops.storage import db, repository

EVIL = hashlib.sha256(b"the attacker's model.skops").hexdigest()
SKOPS = "models/fraud/1/model.skops"


@pytest.fixture
def published(workspace: Workspace, tmp_path: Path) -> Workspace:
    """fraud v1 in production, deal v1 registered: both in the signed manifest."""
    registry = Registry(workspace)
    registry.register("fraud", make_model_dir(tmp_path / "f1", seed=1), actor="local:a")
    registry.register("deal", make_model_dir(tmp_path / "c1", seed=2), actor="local:a")
    registry.promote("fraud", 1, actor="local:a", force=True)
    return workspace


def attacker_sql(ws: Workspace, statement: str) -> None:
    """What someone who can write riskops.db does, without riskops."""
    db.dispose_engines()
    with sqlite3.connect(ws.home / "riskops.db") as conn:
        assert conn.execute(statement).rowcount >= 1, statement


#: (edit, the field the refusal names)
EDITS: dict[str, tuple[str, str]] = {
    "artifact digest": (f"UPDATE artifacts SET sha256 = '{EVIL}' WHERE path = '{SKOPS}'",
                        f"fraud v1 artifact {SKOPS} sha256: "),
    "artifact size": (f"UPDATE artifacts SET size = 1 WHERE path = '{SKOPS}'",
                      f"fraud v1 artifact {SKOPS} size: "),
    "artifact path": (f"UPDATE artifacts SET path = 'models/fraud/1/evil.skops' "
                      f"WHERE path = '{SKOPS}'", f"fraud v1 artifact {SKOPS}: listed -> gone"),
    "artifact added": ("INSERT INTO artifacts (model_name, version, path, sha256, size) VALUES "
                       f"('fraud', 1, 'models/fraud/1/evil.skops', '{EVIL}', 10)",
                       "fraud v1 artifact models/fraud/1/evil.skops: not listed -> listed"),
    "entrypoint": ("UPDATE model_versions SET entrypoint = 'evil.skops' "
                   "WHERE model_name = 'fraud' AND version = 1",
                   "fraud v1 entrypoint: model.skops -> evil.skops"),
    "params": ("UPDATE model_versions SET params = '{\"C\": 9}' "
               "WHERE model_name = 'fraud' AND version = 1", "fraud v1 params: "),
    "version deleted": ("DELETE FROM model_versions WHERE model_name = 'fraud' AND version = 1",
                        "fraud v1 version: published -> gone"),
}


def _state(ws: Workspace) -> tuple[int, bytes, bytes]:
    with db.read_session(ws.database_url) as session:
        newest = repository.latest_manifest(session)
        assert newest is not None
        version = newest.manifest_version
    return version, ws.manifest_path.read_bytes(), ws.signature_path.read_bytes()


@pytest.mark.parametrize(("edit", "named"), EDITS.values(), ids=EDITS.keys())
def test_an_edited_published_version_is_not_signed_by_an_unrelated_promotion(
        published: Workspace, cli, edit: str, named: str) -> None:  # type: ignore[no-untyped-def]
    before = _state(published)
    attacker_sql(published, edit)
    refused = cli("promote", "deal", "1", "--break-glass", "unrelated", token=admin_token())
    assert refused.code == 1, (refused.out, refused.err)
    assert named in refused.err and "already published in manifest v" in refused.err
    assert "Nothing was signed" in refused.err and "Traceback" not in refused.err
    assert _state(published) == before
    assert Registry(published).show_model("deal")["stages"]["production"] is None


def test_http_answers_409_naming_the_version_and_the_field(published: Workspace) -> None:
    from riskops.serving.app import create_app

    before = _state(published)
    attacker_sql(published, EDITS["artifact digest"][0])
    headers = {"Authorization": f"Bearer {admin_token()}"}
    with TestClient(create_app(published), raise_server_exceptions=False) as client:
        response = client.post("/models/deal/promote", headers=headers,
                               json={"version": 1, "break_glass": "unrelated"})
    assert response.status_code == 409, response.text
    answer = response.json()
    assert answer["kind"] == "integrity"
    assert answer["failures"] == [{"path": "fraud v1", "reason": (
        f"artifact {SKOPS} sha256 changed: {_digest_of(published)[:12]}… -> {EVIL[:12]}…")}]
    assert _state(published) == before


def _digest_of(ws: Workspace) -> str:
    data = json.loads(ws.manifest_path.read_bytes())
    return next(a["sha256"] for a in data["models"]["fraud"]["versions"]["1"]["artifacts"]
                if a["path"] == SKOPS)


def test_stage_changes_approvals_and_new_versions_are_still_signed(
        published: Workspace, tmp_path: Path) -> None:
    registry = Registry(published)
    registry.register("fraud", make_model_dir(tmp_path / "f2", seed=3), actor="local:a")
    registry.promote("fraud", 2, actor="local:a", force=True)
    registry.promote("fraud", 1, actor="local:a", stage="staging")
    registry.rollback("fraud", actor="local:a", to=1)
    assert registry.show_model("fraud")["stages"]["production"] == 1


def _document(**version: object) -> dict[str, object]:
    entry = {"version": 1, "created_at": "t", "author": "a", "entrypoint": "model.skops",
             "artifacts": [{"path": SKOPS, "sha256": "a" * 64, "size": 3},
                           {"path": "models/fraud/1/model.sig", "sha256": "b" * 64, "size": 4}],
             "signature": "models/fraud/1/model.sig", "metrics": {}, "params": {},
             "approvals": [], "training_run_id": None, **version}
    return {"schema": "riskops.manifest/v1", "manifest_version": 1, "published_at": "t",
            "artifact_root": "artifacts", "audit_head": None, "models": {"fraud": {
                "stages": {"production": 1, "staging": None, "canary": None},
                "history": [1], "versions": {"1": entry}, "pins": {}}}}


def _manifest(document: dict[str, object], change: Callable[[dict], None] = lambda d: None):  # type: ignore[no-untyped-def]
    change(document)
    return parse_manifest(json.dumps(document).encode())


def test_frozen_changes_let_pointers_and_approvals_move_and_rotated_bundles_be_resigned() -> None:
    previous = _manifest(_document())

    def moved(d: dict) -> None:  # type: ignore[type-arg]
        d["manifest_version"] = 2
        d["models"]["fraud"]["stages"] = {"production": None, "staging": 1, "canary": None}
        d["models"]["fraud"]["history"] = []
        d["models"]["fraud"]["pins"] = {"acme": "heuristic"}
        d["models"]["fraud"]["versions"]["1"]["approvals"] = [{"user": "b"}]

    assert frozen_changes(previous, _manifest(_document(), moved)) == []
    resigned = _manifest(_document(artifacts=[
        {"path": SKOPS, "sha256": "a" * 64, "size": 3},
        {"path": "models/fraud/1/model.sig", "sha256": "c" * 64, "size": 5}]))
    assert [c.field for c in frozen_changes(previous, resigned)] == [
        "artifact models/fraud/1/model.sig sha256", "artifact models/fraud/1/model.sig size"]
    assert frozen_changes(previous, resigned, resigned={"models/fraud/1/model.sig"}) == []
    edited = _manifest(_document(author="evil", training_run_id="run-x", metrics={"auc": 1}))
    assert [c.describe() for c in frozen_changes(previous, edited)] == [
        "fraud v1 author: a -> evil", "fraud v1 metrics: {} -> {\"auc\": 1}",
        "fraud v1 training_run_id: null -> run-x"]

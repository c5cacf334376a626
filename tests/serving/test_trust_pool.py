"""What a server keeps when a version fails to load, and when it drops what it served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    example_row,
    served_template,
    served_ws,
    tokens,
)

from riskops.config import Workspace, open_workspace
from riskops.registry.floor import Admission, Floor, Mark
from riskops.registry.keychain import Trust
from riskops.registry.service import Registry
from riskops.serving.pool import ModelSlot, Snapshot, _eviction


@pytest.fixture
def quiet_client(served_ws: Workspace) -> Iterator[TestClient]:
    """A server that reloads only when the test says so (no background polling)."""
    from riskops.serving.app import create_app

    served_ws.config_path.write_text(served_ws.config_path.read_text()
                                     + "\n[serving]\nmanifest_poll_seconds = 3600\n")
    ws = open_workspace(served_ws.home)
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        yield client


def truncate(ws: Workspace, version: int) -> tuple[Path, bytes]:
    path = ws.store_dir / f"models/fraud/{version}/model.skops"
    data = path.read_bytes()
    path.unlink()  # a hard link to the blob: replace it, never write through it
    path.write_bytes(data[: len(data) // 2])
    return path, data


def served(client: TestClient, tokens: dict[str, str]) -> tuple[str, int | None]:
    body = client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).json()
    return body["risk_score_method"], body["risk_model_version"]


def test_a_failing_promotion_keeps_the_version_it_had_and_a_failing_rollback_does_not(
        quiet_client: TestClient, served_ws: Workspace, tokens: dict[str, str]) -> None:
    pool = quiet_client.app.state.serving.pool
    assert served(quiet_client, tokens) == ("ml", 1)
    Registry(served_ws).promote("fraud", 2, actor="local:t", force=True)
    path, data = truncate(served_ws, 2)
    assert pool.refresh()
    ready = quiet_client.get("/ready")
    assert ready.status_code == 503
    assert "keeping production v1, the version it had" in " ".join(ready.json()["problems"])
    assert served(quiet_client, tokens) == ("ml", 1)
    path.unlink()
    path.write_bytes(data)
    assert pool.refresh(force=True)
    assert quiet_client.get("/ready").status_code == 200
    assert served(quiet_client, tokens) == ("ml", 2)
    Registry(served_ws).rollback("fraud", actor="local:t", to=1)
    truncate(served_ws, 1)
    assert pool.refresh()
    assert quiet_client.get("/ready").status_code == 503
    assert served(quiet_client, tokens) == ("heuristic", None)


def _admission(trust: Trust, floor: Floor | None = None) -> Admission:
    return Admission(trust, None, floor, Path("mark.json"), (), False)


def test_a_snapshot_from_a_revoked_or_unpublished_manifest_is_evicted() -> None:
    snapshot = Snapshot(manifest_version=7, slots={"fraud": ModelSlot()}, problems=(),
                        sha256="a" * 64, signed_by="sha256:old")
    revoked = Trust("db", (), current={}, known={}, revoked=frozenset({"sha256:old"}))
    assert "revoked" in (_eviction(snapshot, _admission(revoked)) or "")
    kept = Trust("db", (), current={}, known={"sha256:old": None})  # type: ignore[dict-item]
    assert _eviction(snapshot, _admission(kept)) is None
    ahead = Floor(Mark(), 6, "b" * 64, 0)
    assert "newer than anything" in (_eviction(snapshot, _admission(kept, ahead)) or "")
    other = Floor(Mark(), 7, "b" * 64, 0)
    assert "not the one the database" in (_eviction(snapshot, _admission(kept, other)) or "")
    same = Floor(Mark(), 9, "b" * 64, 0)
    assert _eviction(snapshot, _admission(kept, same)) is None

"""A rollback to a version the pool served before is a swap, not a load.

The pool keeps the versions the manifest stopped routing to (``RETAINED_VERSIONS``
per model) and reuses one when a later manifest routes to it again with the same
artifact digest and threshold, as it reuses a version that stays live."""

from __future__ import annotations

import pytest
from serving_helpers import served_template, served_ws  # noqa: F401

from riskops.config import Workspace
from riskops.registry.service import Registry
from riskops.scenarios import REFERENCE, get_scenario
from riskops.serving import pool as pool_module
from riskops.serving.pool import ModelPool


def _counting_pool(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelPool, list]:
    loads: list[tuple[str, int]] = []
    real = pool_module.load_model

    def counting(verified, name, version, **kwargs):  # type: ignore[no-untyped-def]
        loads.append((name, version))
        return real(verified, name, version, **kwargs)

    monkeypatch.setattr(pool_module, "load_model", counting)
    pool = ModelPool(ws, {n: get_scenario(n) for n in REFERENCE})
    pool.refresh(force=True)
    return pool, loads


def test_rolling_back_to_the_version_served_before_reuses_it(
        served_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    pool, loads = _counting_pool(served_ws, monkeypatch)
    v1 = pool.snapshot.slots["fraud"].production
    registry = Registry(served_ws)
    registry.promote("fraud", 2, actor="local:test", force=True)
    assert pool.refresh() and pool.snapshot.slots["fraud"].production.version == 2
    loads.clear()

    registry.promote("fraud", 1, actor="local:test", force=True)
    assert pool.refresh()
    assert pool.snapshot.slots["fraud"].production is v1
    assert loads == []
    assert pool.snapshot.ready


def test_with_nothing_retained_the_version_is_loaded_again(
        served_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "RETAINED_VERSIONS", 0)
    pool, loads = _counting_pool(served_ws, monkeypatch)
    v1 = pool.snapshot.slots["fraud"].production
    registry = Registry(served_ws)
    registry.promote("fraud", 2, actor="local:test", force=True)
    pool.refresh()
    loads.clear()
    registry.promote("fraud", 1, actor="local:test", force=True)
    pool.refresh()
    assert loads == [("fraud", 1)]
    assert pool.snapshot.slots["fraud"].production is not v1

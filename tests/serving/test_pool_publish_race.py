"""A replica reading the manifest while another one publishes is not an integrity failure.

The registry commits a new manifest to the database, then writes the files. A
pool that reads in between finds the files one version behind the database:
before, that was refused and reported as ``model_integrity_failed`` (found with
three replicas promoting and rolling back in turn, tests/scaling). Now it keeps
its models and looks again; only a lag that outlasts the grace is reported.
"""

from __future__ import annotations

import shutil
import threading

import pytest
from serving_helpers import served_template, served_ws  # noqa: F401

from riskops.config import Workspace
from riskops.registry.floor import admit_manifest
from riskops.registry.service import Registry
from riskops.scenarios import REFERENCE, get_scenario
from riskops.serving import pool as pool_module
from riskops.serving.pool import ModelPool


def _pool(ws: Workspace, reports: list[str]) -> ModelPool:
    scenarios = {name: get_scenario(name) for name in REFERENCE}
    pool = ModelPool(ws, scenarios, on_integrity_failure=lambda p, _d: reports.append(p))
    pool.refresh(force=True)
    return pool


def test_refreshing_while_another_process_publishes_reports_nothing(served_ws: Workspace
                                                                    ) -> None:
    reports: list[str] = []
    pool = _pool(served_ws, reports)
    registry = Registry(served_ws)
    stop = threading.Event()
    behind = []

    def publish() -> None:
        try:
            for _ in range(15):
                registry.promote("fraud", 2, actor="local:test", force=True)
                registry.promote("fraud", 1, actor="local:test", force=True)
        finally:
            stop.set()

    writer = threading.Thread(target=publish)
    writer.start()
    while not stop.is_set():
        behind.append(admit_manifest(served_ws).behind_database)
        pool.refresh()
    writer.join()
    pool.refresh()

    assert any(behind), "the race this test is about never happened; publish more"
    assert reports == []
    assert pool.snapshot.ready and pool.snapshot.problems == ()
    assert pool.snapshot.slots["fraud"].production.version == 1


def test_a_manifest_left_behind_the_database_is_refused_after_the_grace(
        served_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "PUBLISH_GRACE_SECONDS", 0.0)
    reports: list[str] = []
    pool = _pool(served_ws, reports)
    before = pool.snapshot.manifest_version
    saved = {p: p.read_bytes() for p in (served_ws.manifest_path, served_ws.signature_path)}
    Registry(served_ws).promote("fraud", 2, actor="local:test", force=True)
    for path, data in saved.items():  # the files of the old manifest put back
        path.write_bytes(data)

    assert pool.refresh() is True
    assert pool.snapshot.manifest_version == before
    assert any("stale" in r for r in reports), reports
    assert pool.snapshot.slots["fraud"].production.version == 1


def test_within_the_grace_a_lagging_manifest_keeps_the_models_and_is_read_again(
        served_ws: Workspace, tmp_path) -> None:
    reports: list[str] = []
    pool = _pool(served_ws, reports)
    keep = tmp_path / "kept"
    keep.mkdir()
    for path in (served_ws.manifest_path, served_ws.signature_path):
        shutil.copy2(path, keep / path.name)
    Registry(served_ws).promote("fraud", 2, actor="local:test", force=True)
    published = {p: p.read_bytes() for p in (served_ws.manifest_path, served_ws.signature_path)}
    for path in (served_ws.manifest_path, served_ws.signature_path):
        shutil.copy2(keep / path.name, path)  # as if the files were not written yet

    assert pool.refresh() is False and reports == []
    assert pool.snapshot.slots["fraud"].production.version == 1
    for path, data in published.items():  # the publisher's files land
        path.write_bytes(data)
    assert pool.refresh() is True and reports == []
    assert pool.snapshot.slots["fraud"].production.version == 2


def test_an_older_manifest_than_this_host_served_is_refused_at_once(served_ws: Workspace
                                                                    ) -> None:
    """The grace is for a publish in progress, never for a replay: a manifest older than
    the one this host verified is refused and reported on the first read."""
    reports: list[str] = []
    pool = _pool(served_ws, reports)
    old = {p: p.read_bytes() for p in (served_ws.manifest_path, served_ws.signature_path)}
    registry = Registry(served_ws)
    registry.promote("fraud", 2, actor="local:test", force=True)
    assert pool.refresh() and pool.snapshot.slots["fraud"].production.version == 2
    for path, data in old.items():
        path.write_bytes(data)

    assert pool.refresh() is True
    assert reports, "a replayed manifest must be reported at once"
    assert pool.snapshot.slots["fraud"].production.version == 2

"""Fault: the shared artifact store is damaged under three running replicas.

Three cases, in order, on one fleet (fraud v1 in production, v2 trained):

1. v2's ``model.skops`` has bytes flipped (same size), then an admin promotes v2
   with break-glass through replica 0: refused before anything is signed (HTTP 409,
   ``"kind": "integrity"``, the file named), every replica keeps serving v1 with
   ``/ready`` 200; ``riskops verify`` exits 1 naming the file. No event: nothing
   was served or changed (the refusal is the promote's answer).
2. v2 is promoted intact and served everywhere, then its file is damaged. Running
   replicas keep scoring with the bytes they verified when they loaded v2 (they
   are in memory; the file on disk is never read again) and ``/ready`` stays 200
   even across a later manifest change, which reuses the loaded version: the
   damage is seen by ``riskops verify`` and the ``integrity-check`` job (exit 1,
   one ``model_integrity_failed``). A replica started now refuses v2 (it has no
   verified copy): its default tenant gets the heuristic, ``/ready`` 503 naming the
   file, one ``model_integrity_failed``; a rollback to v1 heals it.
3. ``manifest.json`` is edited to route production to v2 (signature untouched):
   every replica refuses it and keeps its last good snapshot (v1), ``/ready`` 503
   "manifest not verified", one ``model_integrity_failed`` per replica; restoring
   the file brings every replica back to 200.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fault_helpers import (
    events_of,
    post,
    ready,
    riskops,
    score,
    start_replica,
    wait_every_ready,
)
from replica_harness import Cluster
from scaling_helpers import fleet, fraud_row  # noqa: F401

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.slow]

#: No scheduler or worker: these faults concern serving and the store.
FLEET_PROCESSES = {"scheduler": False, "worker": False}
ROW = fraud_row(3)
#: Manifest polls a replica gets to notice a change it should not act on.
SETTLE_SECONDS = 3.0


def _model_file(fleet: Cluster, version: int) -> Path:
    [path] = (fleet.home / "artifacts" / "models" / "fraud" / str(version)).glob("*.skops")
    return path


@contextmanager
def _flipped(path: Path) -> Iterator[str]:
    """``path`` with 16 bytes in its middle inverted (same size); restored afterwards.
    Yields the path relative to the artifact store, as ``riskops verify`` names it."""
    original = path.read_bytes()
    middle = len(original) // 2
    damaged = original[:middle] + bytes(b ^ 0xFF for b in original[middle:middle + 16]) \
        + original[middle + 16:]
    _overwrite(path, damaged)
    try:
        yield str(path.relative_to(path.parents[3]))
    finally:
        _overwrite(path, original)


def _overwrite(path: Path, data: bytes) -> None:
    """In place, as a disk fault or a careless hand would (the blob it is linked to too)."""
    with path.open("r+b") as fh:
        fh.write(data)
        fh.truncate(len(data))
        os.fsync(fh.fileno())


def _production(version: int | None):  # type: ignore[no-untyped-def]
    return lambda r: (r.status_code == 200
                      and r.json()["models"]["fraud"]["production"] == version)


def test_promoting_a_corrupt_version_is_refused_and_every_replica_keeps_v1(
        fleet: Cluster) -> None:
    before = ready(fleet, fleet.replicas[0]).json()["manifest_version"]
    events = len(events_of(fleet, "model_integrity_failed"))
    with _flipped(_model_file(fleet, 2)) as damaged:
        started = time.monotonic()
        refused = post(fleet, 0, "/models/fraud/promote", "admin",
                       {"version": 2, "break_glass": "fault drill: corrupt artifact"})
        print(f"promote answered {refused.status_code} in {time.monotonic() - started:.2f} s: "
              f"{refused.text}")
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["kind"] == "integrity"
        assert [f["path"] for f in body["failures"]] == [damaged], body
        assert "sha256" in body["failures"][0]["reason"]
        verify = riskops(fleet, "verify", "fraud", "2")
        assert verify.returncode == 1 and damaged in verify.stdout + verify.stderr, verify
        time.sleep(SETTLE_SECONDS)
        for replica in fleet.replicas:
            state = ready(fleet, replica)
            assert state.status_code == 200, state.text
            assert (state.json()["manifest_version"], state.json()["problems"]) == (before, [])
            answer = score(fleet, replica, ROW)
            assert (answer["risk_score_method"], answer["risk_model_version"]) == ("ml", 1)
    print("model_integrity_failed events:", len(events_of(fleet, "model_integrity_failed"))
          - events)
    assert len(events_of(fleet, "model_integrity_failed")) == events


def test_an_artifact_damaged_while_served_is_never_loaded_again(fleet: Cluster) -> None:
    promoted = post(fleet, 0, "/models/fraud/promote", "admin",
                    {"version": 2, "break_glass": "fault drill: corrupt artifact"})
    assert promoted.status_code == 200, promoted.text
    wait_every_ready(fleet, _production(2))
    events = len(events_of(fleet, "model_integrity_failed"))
    late = None
    try:
        with _flipped(_model_file(fleet, 2)) as damaged:
            # Running replicas: the verified bytes in memory keep scoring; nothing re-reads
            # the file, not even a new manifest (a pin), which reuses the loaded version.
            pinned = post(fleet, 1, "/models/fraud/pins", "platform_owner",
                          {"tenant": "acme", "version": 1})
            assert pinned.status_code == 200, pinned.text
            target = pinned.json()["manifest_version"]
            wait_every_ready(fleet, lambda r: r.json()["manifest_version"] == target)
            time.sleep(SETTLE_SECONDS)
            for replica in fleet.replicas:
                state = ready(fleet, replica)
                print(f"replica {replica.index} /ready {state.status_code} "
                      f"problems={state.json()['problems']}")
                assert state.status_code == 200
                assert score(fleet, replica, ROW)["risk_model_version"] == 2
            assert len(events_of(fleet, "model_integrity_failed")) == events
            # What does look at the files says so.
            verify = riskops(fleet, "verify")
            assert verify.returncode == 1 and damaged in verify.stdout + verify.stderr, verify
            check = riskops(fleet, "jobs", "run", "integrity-check")
            assert check.returncode == 1 and damaged in check.stderr, check
            after_job = events_of(fleet, "model_integrity_failed")
            assert len(after_job) == events + 1 and after_job[-1].subject == "fraud"
            # A replica that starts now has no verified copy of v2: it refuses the file.
            late = start_replica(fleet)
            state = wait_every_ready(fleet, lambda r: r.status_code == 503,
                                     replicas=[late])[late.url]
            print(f"late replica /ready 503 problems={state['problems']}")
            assert state["models"]["fraud"]["production"] is None
            assert any(damaged in p and "fraud v2 (production) not loaded" in p
                       for p in state["problems"]), state
            answer = score(fleet, late, ROW)
            assert (answer["risk_score_method"], answer["risk_model_version"]) == (
                "heuristic", None)
            assert score(fleet, late, ROW, tenant="acme")["risk_model_version"] == 1
            time.sleep(SETTLE_SECONDS)
            refused = events_of(fleet, "model_integrity_failed")[len(after_job):]
            print("late replica's model_integrity_failed events:",
                  [json.loads(e.envelope)["data"]["problem"] for e in refused])
            assert len(refused) == 1 and refused[0].subject == "fraud"
            # Recovery: roll back to v1 (verified), every replica including the late one.
            rolled = post(fleet, 2, "/models/fraud/rollback", "platform_owner", {"to": 1})
            assert rolled.status_code == 200, rolled.text
            wait_every_ready(fleet, _production(1))
    finally:
        if late is not None:
            late.kill()
            fleet.replicas.remove(late)
    assert riskops(fleet, "verify").returncode == 0


def test_a_tampered_manifest_is_refused_by_every_replica(fleet: Cluster) -> None:
    manifest = fleet.home / "manifest.json"
    original = manifest.read_bytes()
    served = ready(fleet, fleet.replicas[0]).json()
    assert served["models"]["fraud"]["production"] == 1
    events = len(events_of(fleet, "model_integrity_failed"))
    data = json.loads(original)
    data["models"]["fraud"]["stages"]["production"] = 2  # the signature stays as it was
    tampered = manifest.with_name(".manifest.tampered")
    tampered.write_bytes(json.dumps(data).encode())
    try:
        started = time.monotonic()
        os.replace(tampered, manifest)
        states = wait_every_ready(fleet, lambda r: r.status_code == 503)
        print(f"every replica refused the manifest within {time.monotonic() - started:.2f} s")
        for replica in fleet.replicas:
            state = states[replica.url]
            assert state["manifest_version"] == served["manifest_version"]
            assert state["models"]["fraud"]["production"] == 1  # the last good snapshot
            assert any(p.startswith("manifest not verified") for p in state["problems"]), state
            answer = score(fleet, replica, ROW)
            assert (answer["risk_model_version"], answer["manifest_version"]) == (
                1, served["manifest_version"])
        verify = riskops(fleet, "verify")
        assert verify.returncode == 1 and "manifest.json" in verify.stdout + verify.stderr
        time.sleep(SETTLE_SECONDS)
        refused = events_of(fleet, "model_integrity_failed")[events:]
        print(f"model_integrity_failed events for {len(fleet.replicas)} replicas: "
              f"{len(refused)}: {[json.loads(e.envelope)['data']['problem'] for e in refused]}")
        assert len(refused) == len(fleet.replicas)
        assert {e.subject for e in refused} == {"manifest.json"}
    finally:
        tampered.write_bytes(original)
        os.replace(tampered, manifest)
    wait_every_ready(fleet, _production(1))
    assert riskops(fleet, "verify").returncode == 0

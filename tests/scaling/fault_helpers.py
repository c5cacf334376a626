"""Probes shared by the fault tests of tests/scaling (test_fault_*.py).

They add to ``replica_harness`` and ``scaling_helpers`` without changing them: calls
through one replica's HTTP API, the ``riskops`` command line run as a replica's host
would, the outbox read straight from the cluster's PostgreSQL, and a replica started
without waiting for ``/ready`` to say 200.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from replica_harness import RISKOPS, Cluster, Replica, free_port

from riskops.storage import db


def post(fleet: Cluster, replica: int, path: str, role: str, body: dict[str, Any]
         ) -> httpx.Response:
    return httpx.post(f"{fleet.replicas[replica].url}{path}", json=body,
                      headers=fleet.headers(role), timeout=60)


def ready(fleet: Cluster, replica: Replica) -> httpx.Response:
    return httpx.get(f"{replica.url}/ready", headers=fleet.headers("admin"), timeout=10)


def wait_every_ready(fleet: Cluster, check: Callable[[httpx.Response], bool], *,
                     replicas: list[Replica] | None = None, seconds: float = 30.0
                     ) -> dict[str, dict[str, Any]]:
    """Wait until ``check`` holds for each replica's ``/ready``; their bodies by URL."""
    deadline = time.monotonic() + seconds
    pending = list(replicas if replicas is not None else fleet.replicas)
    found: dict[str, dict[str, Any]] = {}
    last: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for replica in list(pending):
            try:
                answer = ready(fleet, replica)
            except httpx.HTTPError as exc:
                last[replica.url] = f"{type(exc).__name__}: {exc}"
                continue
            last[replica.url] = f"{answer.status_code} {answer.text[:600]}"
            if check(answer):
                found[replica.url] = answer.json()
                pending.remove(replica)
        time.sleep(0.2)
    if pending:
        pytest.fail(f"/ready did not match within {seconds:g} s on "
                    f"{[r.url for r in pending]}: {last}\n{fleet.logs()}")
    return found


def score(fleet: Cluster, replica: Replica, row: dict[str, Any], *, tenant: str = "default"
          ) -> dict[str, Any]:
    response = httpx.post(f"{replica.url}/risk/fraud", json=row, timeout=30,
                          headers={**fleet.headers("scorer"), "X-Tenant-ID": tenant})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def riskops(fleet: Cluster, *args: str, role: str = "admin", timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
    """``riskops ARGS`` as replica 0's host runs it, with ``role``'s token; prints the time."""
    env = {**fleet.env(0), "RISKOPS_TOKEN": fleet.tokens[role]}
    started = time.monotonic()
    done = subprocess.run([str(RISKOPS), *args, "--home", str(fleet.home)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    print(f"riskops {' '.join(args)}: exit {done.returncode} in "
          f"{time.monotonic() - started:.2f} s")
    return done


def outbox_rows(fleet: Cluster, sql: str, **params: Any) -> list[Any]:
    """Rows of ``sql`` on the cluster's database (the outbox tables, read directly)."""
    from sqlalchemy import text

    with db.get_engine(fleet.database_url).connect() as conn:
        return list(conn.execute(text(sql), params).all())


def events_of(fleet: Cluster, event_type: str) -> list[Any]:
    """``(id, subject, envelope)`` of every outbox event of ``event_type``, oldest first."""
    return outbox_rows(fleet, "SELECT id, subject, envelope FROM event_outbox "
                              "WHERE type = :type ORDER BY seq", type=event_type)


def start_replica(fleet: Cluster, **processes: bool) -> Replica:
    """One more replica (serve, plus ``scheduler``/``worker`` if asked) whose ``/ready``
    answers, whatever its status: for replicas that start into a broken store."""
    index = len(fleet.replicas)
    port = free_port()
    replica = Replica(index, f"http://127.0.0.1:{port}")
    replica.processes["serve"] = fleet.spawn(index, "serve", [
        "serve", "--port", str(port), "--workers", "1", "--log-level", "warning"])
    for name, wanted in processes.items():
        if wanted:
            replica.processes[name] = fleet.spawn(index, name, [name])
    fleet.replicas.append(replica)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not replica.processes["serve"].alive:
            pytest.fail(f"riskops serve exited:\n{replica.processes['serve'].output()}")
        try:
            ready(fleet, replica)
            return replica
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"replica {index} did not answer /ready:\n{replica.processes['serve'].output()}")

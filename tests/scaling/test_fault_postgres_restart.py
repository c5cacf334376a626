"""Fault: the PostgreSQL server stops for a few seconds under load, then starts again.

Three replicas (serve, scheduler and worker each) share the server; three
clients score rows and batches round-robin without retrying, and a probe polls
``/health`` and ``/ready`` of every replica. The server is stopped (``pg_ctlcluster
stop -m fast``: every connection is closed), kept down ``OUTAGE`` seconds, and
started again; a job trigger is published while it is down. Then:

* a request the log cannot commit is refused fast with 503, a reason and
  ``Retry-After``: never a 500, a traceback or a hang past the request timeout;
* every prediction acknowledged with 200 is a row with the same answer, and
  no request is half written (a batch's rows are all there or none);
* every replica answers 200 again by itself within ``RECOVERY_BOUND`` seconds
  of the server taking connections, without a restart;
* ``/health`` and ``/ready`` stay 200 and fast. ``/ready`` says whether this
  replica serves what its signed manifest routes; it does not follow the
  shared database on purpose: every replica shares it, so a database check
  would drain every replica at once and clients would get the load balancer's
  unexplained error instead of riskops' 503 with a reason and ``Retry-After``,
  and come back only after the probes' success threshold;
* schedulers and workers are alive afterwards, the trigger sent during the
  outage ran, and a scheduled slot after it was claimed and run.

The server is started again in ``finally`` whatever happens. PostgreSQL is shared
by everything on this machine: keep the outage short.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fault_load import (
    Load,
    Probe,
    check_acknowledged,
    logged_predictions,
    pg_ctlcluster,
    postgres_control_unavailable,
    rows_per_request,
    start_postgres,
)
from replica_harness import Cluster
from scaling_helpers import fleet, fraud_row  # noqa: F401

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.slow]

FLEET_CONFIG = """
fault-probe = { cron = "* * * * *", target = "fault_jobs:probe" }
"""
#: Seconds the server stays down.
OUTAGE = 5.0
#: ``[serving] request_timeout_seconds`` (the default): no answer may take much longer.
REQUEST_TIMEOUT = 10.0
#: A replica that does not answer 200 this long after the server is back is broken.
RECOVERY_BOUND = 60.0


@pytest.fixture(autouse=True)
def _postgres_control(fleet: Cluster) -> None:
    reason = postgres_control_unavailable(fleet.database_url)
    if reason is not None:
        pytest.skip(reason)


def _job_runs(database_url: str, job: str) -> list[tuple]:
    import psycopg

    libpq = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, connect_timeout=10) as conn:
        return conn.execute(
            "SELECT trigger, trigger_id, scheduled_for, status, owner, error FROM job_runs "
            "WHERE job = %s ORDER BY id", (job,)).fetchall()


def _publish_trigger(fleet: Cluster, trigger_id: str) -> None:
    from riskops.jobs import amqp
    from riskops.jobs.settings import load_worker_settings

    amqp.publish_trigger(fleet.amqp_url, load_worker_settings(fleet.ws),
                         amqp.trigger_envelope("fault-probe", {}, id=trigger_id))


def test_postgres_restart_under_load_is_503_then_recovers_without_a_restart(
        fleet: Cluster) -> None:
    urls = [r.url for r in fleet.replicas]
    for url in urls:
        warm = httpx.post(f"{url}/risk/fraud", json=fraud_row(0), timeout=30,
                          headers=fleet.headers("scorer"))
        assert warm.status_code == 200, warm.text
    trigger_id = str(uuid.uuid4())

    with Probe(urls) as probe, \
            Load(urls, fleet.headers("scorer"), clients=3, retries=0, pause=0.02) as load:
        time.sleep(3)
        try:
            down_at = time.monotonic()
            pg_ctlcluster("stop", "-m", "fast")
            stopped_in = time.monotonic() - down_at
            _publish_trigger(fleet, trigger_id)
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        finally:
            start_postgres(fleet.database_url)
        back_at = time.monotonic()
        back_wall = datetime.now(UTC)
        recovered = _wait_recovered(load, urls, back_at)
        time.sleep(1)
    assert all(r.alive for r in fleet.replicas), fleet.logs()

    # What the clients saw: 200 or a fast, explained 503; nothing else.
    attempts = [a for r in load.done() for a in r.attempts]
    statuses = load.statuses()
    assert set(statuses) <= {"200", "503"}, (statuses, [
        (a.status, a.detail) for a in attempts if a.status not in (200, 503)][:5])
    refused = [a for a in attempts if a.status == 503]
    assert refused, "no request was refused: the outage was not observed"
    assert all(a.retry_after and "detail" in a.detail for a in refused), refused[:3]
    slowest = max(a.ended - a.started for a in attempts)
    assert slowest < REQUEST_TIMEOUT + 5, slowest

    # Nothing acknowledged is lost; nothing half written.
    logged = logged_predictions(fleet.database_url)
    check_acknowledged(load, logged)
    rows = rows_per_request(load, logged)
    written_though_refused = []
    for request in load.done():
        ids = rows[request.key]
        if request.acknowledged:
            assert sorted(ids) == sorted(a["prediction_id"] for a in request.answers), request
        else:
            assert len(ids) in (0, len(request.amounts)), (request.key, ids)
            if ids:
                written_though_refused.append(request.key)

    # Recovery: every replica answers 200 again on its own.
    assert max(recovered.values()) < RECOVERY_BOUND, recovered

    # /health stays 200 throughout; /ready says whether the log can commit.
    health = probe.between("/health", down_at, back_at)
    assert health and {s[3] for s in health} == {200}, health[:3]
    ready_down = probe.between("/ready", down_at, back_at)
    assert ready_down and {s[3] for s in ready_down} == {200}, ready_down[:3]
    ready_after = probe.seen[-2 * len(urls):]
    assert all(s[3] == 200 for s in ready_after if s[2] == "/ready"), ready_after
    assert max(s[4] for s in probe.seen) < REQUEST_TIMEOUT, max(s[4] for s in probe.seen)

    # Schedulers and workers survived and work: the trigger sent during the outage ran,
    # and a slot scheduled after it was claimed and run.
    runs = _wait_job_runs(fleet, trigger_id, back_wall)
    print(f"\npostgres restart: server stopped in {stopped_in:.2f} s, down "
          f"{back_at - down_at:.1f} s; {len(load.done())} requests, attempts by status "
          f"{statuses}; slowest answer {slowest:.3f} s; 503 answers took "
          f"max {max(a.ended - a.started for a in refused):.3f} s; "
          f"{len(written_though_refused)} refused requests were committed anyway; "
          f"first 200 after the restart per replica (s): "
          f"{ {u[-5:]: round(v, 2) for u, v in recovered.items()} }; "
          f"/ready during the outage: {sorted({str(s[3]) for s in ready_down})}; "
          f"example 503: {refused[0].detail[:200]}; job runs: {runs}")


def _wait_recovered(load: Load, urls: list[str], since: float) -> dict[str, float]:
    """Seconds from ``since`` to each replica's first 200 to a request sent after it."""
    deadline = since + RECOVERY_BOUND + 30
    while time.monotonic() < deadline:
        firsts = {}
        for url in urls:
            ok = [a.ended for r in load.done() for a in r.attempts
                  if a.url == url and a.status == 200 and a.started >= since]
            if ok:
                firsts[url] = min(ok) - since
        if len(firsts) == len(urls):
            return firsts
        time.sleep(0.2)
    pytest.fail(f"not every replica answered 200 within {RECOVERY_BOUND + 30:g} s of "
                f"PostgreSQL being back; statuses {load.statuses()}")


def _wait_job_runs(fleet: Cluster, trigger_id: str, back: datetime) -> dict[str, str]:
    deadline = time.monotonic() + 90
    while True:
        runs = _job_runs(fleet.database_url, "fault-probe")
        triggered = [r for r in runs if r[1] == trigger_id and r[3] == "succeeded"]
        scheduled = [r for r in runs if r[0] == "schedule" and r[2] is not None
                     and r[2] >= back.replace(second=0, microsecond=0) and r[3] == "succeeded"]
        if triggered and scheduled:
            alive = {f"{r.index}:{p.name}": p.alive for r in fleet.replicas
                     for p in r.processes.values()}
            assert all(alive.values()), (alive, fleet.logs())
            return {"triggered": triggered[0][4], "scheduled": str(scheduled[0][2])}
        if time.monotonic() > deadline:
            pytest.fail(f"fault-probe runs after the outage: {runs}\n{fleet.logs()}")
        time.sleep(1)

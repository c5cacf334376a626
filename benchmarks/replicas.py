"""One, two and three ``riskops serve`` replicas on one PostgreSQL database, side by side.

What it measures
----------------
A fresh workspace on a fresh PostgreSQL database (``--database-url``, default the
local test server; the database is dropped at the end) gets fraud v1 in
production and v2 trained, both through the ``riskops`` command line as in
``serving.py``. Then, for each count in ``--replicas`` (default ``1,2,3``):

* that many ``riskops serve --workers 1`` processes start on their own loopback
  ports, sharing the workspace folder (the artifact store) and the database,
  each with its own state folder (the replay floor of one host);
* every replica must answer one request from the model, with the score the
  first replica gave;
* ``--warmup`` seconds of untimed load, then ``--duration`` seconds measured:
  one ``wrk`` per replica, all started together, ``--connections`` in all
  split as evenly as they go (8 over 3 replicas: 3, 3, 2). The offered load is
  the same for every row, so the rows compare what more replicas do with it.

Aggregate requests/s is the sum over the wrk runs. wrk reports percentiles per
run, not the latencies, so the aggregate p50/p99 shown are the highest of the
runs' (an upper bound of the pooled percentile).

With three replicas up, ``--promotions`` times: promote v2 (or roll back to v1)
through replica 1's HTTP API, and time from the moment the API answered until
each replica's ``/ready`` names the new manifest (polled every 10 ms per
replica, one thread each). The target of issue 16 is under 2 s.

Run ``.venv/bin/python benchmarks/replicas.py`` (about 3 minutes); it exits 1
when the propagation target is missed. Needs ``wrk`` and a PostgreSQL server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from _report import cpu_model, load_average, memory_total, table

from serving import (
    MODEL,
    Running,
    Server,
    WrkResult,
    free_port,
    http,
    make_workspace,
    native_env,
    riskops_exe,
    run,
    run_wrk,
)

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROPAGATION_TARGET_S = 2.0
HERE = Path(__file__).resolve().parent


def split_connections(total: int, replicas: int) -> list[int]:
    """``total`` connections over ``replicas`` as evenly as they go, larger shares first.

    >>> split_connections(8, 3)
    [3, 3, 2]
    """
    if replicas < 1 or total < replicas:
        raise ValueError(f"need at least one connection per replica ({total} for {replicas})")
    base, extra = divmod(total, replicas)
    return [base + (1 if i < extra else 0) for i in range(replicas)]


@dataclass
class Row:
    replicas: int
    connections: list[int]
    runs: list[WrkResult]

    @property
    def requests_per_s(self) -> float:
        return sum(r.requests_per_s for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return max(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return max(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.non_2xx + r.socket_errors for r in self.runs)


@contextlib.contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new database on ``base_url``'s server, dropped afterwards."""
    import psycopg

    libpq = base_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"riskops_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def replica_server(home: Path, token: str, row: dict, index: int, folder: Path) -> Server:
    port = free_port()
    host = folder / f"replica-{index}"
    # A fresh workspace is a new registry: a host's replay floor from an earlier run
    # would (rightly) refuse it as a rewritten key chain.
    shutil.rmtree(host, ignore_errors=True)
    for sub in ("state", "metrics"):
        (host / sub).mkdir(parents=True, exist_ok=True)
    env = native_env(0, {**os.environ, "RISKOPS_STATE_DIR": str(host / "state"),
                         "PROMETHEUS_MULTIPROC_DIR": str(host / "metrics")})
    return Server(
        name=f"replica {index}", port=port, env=env,
        argv=[riskops_exe(), "serve", "--home", str(home), "--port", str(port),
              "--workers", "1"],
        path=f"/risk/{MODEL}", ready_path="/ready", body=json.dumps(row).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        score_of=lambda response: float(response["risk_score"]))


def check_score(server: Server) -> float:
    status, body = http(server.base + server.path, body=server.body, headers=server.headers)
    answer = json.loads(body)
    if status != 200 or answer.get("risk_score_method") != "ml":
        raise RuntimeError(f"{server.name} did not answer from the model: {status} {answer}")
    return float(answer["risk_score"])


def load(servers: Sequence[Server], connections: list[int], seconds: float,
         folder: Path) -> list[WrkResult]:
    """One wrk per server, all at once; their results in server order."""
    results: list[WrkResult | None] = [None] * len(servers)
    failures: list[BaseException] = []

    def drive(i: int) -> None:
        workdir = folder / f"wrk-{i}"
        workdir.mkdir(exist_ok=True)
        try:
            results[i] = run_wrk(servers[i].base + servers[i].path, servers[i].body,
                                 servers[i].headers, seconds=seconds,
                                 connections=connections[i], threads=1, workdir=workdir)
        except BaseException as exc:  # reported after the others finished
            failures.append(exc)

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [r for r in results if r is not None]


def manifest_version(server: Server) -> int:
    _, body = http(server.base + "/ready", timeout=5)
    return int(json.loads(body)["manifest_version"])


def propagation(servers: Sequence[Server], admin: str, promotions: int) -> list[list[float]]:
    """Seconds from each promotion's answer until each replica serves it (per promotion,
    per replica); promotions of v2 alternate with rollbacks to v1."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"}
    lags = []
    for i in range(promotions):
        if i % 2 == 0:
            change = ("promote", {"version": 2, "break_glass": "replica benchmark"})
        else:
            change = ("rollback", {"to": 1})
        lags.append(one_change(servers, *change, headers))
        time.sleep(1.0)
    return lags


def one_change(servers: Sequence[Server], action: str, body: dict,
               headers: dict[str, str]) -> list[float]:
    """Make one registry change through replica 1 (or 0); the seconds each replica took
    after the API answered to serve the manifest it published (0 when it was earlier)."""
    seen: dict[int, float] = {}
    done = threading.Event()
    target: list[int] = []

    def follow(k: int) -> None:
        while not done.is_set():
            with contextlib.suppress(OSError, ValueError, KeyError):
                if target and manifest_version(servers[k]) >= target[0]:
                    seen[k] = time.monotonic()
                    return
            time.sleep(0.01)

    watchers = [threading.Thread(target=follow, args=(k,)) for k in range(len(servers))]
    for watcher in watchers:
        watcher.start()
    try:
        status, answer = http(servers[1 % len(servers)].base + f"/models/{MODEL}/{action}",
                              body=json.dumps(body).encode(), headers=headers, timeout=60)
        answered = time.monotonic()
        if status != 200:
            raise RuntimeError(f"{action} answered {status}: {answer[:500]!r}")
        target.append(int(json.loads(answer)["manifest_version"]))
        for watcher in watchers:
            watcher.join(timeout=30)
    finally:
        done.set()
    if len(seen) != len(servers):
        raise RuntimeError(f"not every replica served manifest v{target[0]} within 30 s")
    return [max(0.0, seen[k] - answered) for k in range(len(servers))]


def prepare(folder: Path, rows: int) -> tuple[Path, str, str, dict]:
    """The workspace (v1 production, v2 trained), the scorer and an admin token, the row."""
    from riskops.config import open_workspace
    from riskops.tokens import create_token

    setup = make_workspace(folder, rows)
    run([riskops_exe(), "train", MODEL, "--data", str(folder / f"fraud-{rows}.parquet"),
         "--home", str(setup.home), "--seed", "1", "--json"], what="riskops train v2")
    admin = create_token(open_workspace(setup.home), name="bench-admin", role="admin",
                         actor="local:benchmark")
    return setup.home, setup.token, admin, setup.row


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,3",
                        help="replica counts to measure, comma-separated (default 1,2,3)")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8,
                        help="wrk connections in all, split over the replicas")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--promotions", type=int, default=6)
    parser.add_argument("--database-url", default=os.environ.get(
        "RISKOPS_TEST_POSTGRES_URL", DEFAULT_DATABASE))
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data" / "replicas")
    args = parser.parse_args(argv)
    args.counts = [int(c) for c in args.replicas.split(",") if c.strip()]
    if not args.counts or min(args.counts) < 1:
        parser.error("--replicas needs counts of at least 1, e.g. 1,2,3")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = args.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    before = load_average()
    rows: list[Row] = []
    saved = os.environ.get("RISKOPS_DATABASE_URL")
    with fresh_database(args.database_url) as url, contextlib.ExitStack() as restore:
        os.environ["RISKOPS_DATABASE_URL"] = url  # every riskops child shares it
        restore.callback(_restore_env, "RISKOPS_DATABASE_URL", saved)
        home, token, admin, row = prepare(folder, args.rows)
        servers = [replica_server(home, token, row, i, folder) for i in range(max(args.counts))]
        with contextlib.ExitStack() as stack:
            running: list[Running] = []
            scores: set[float] = set()
            for count in sorted(args.counts):
                while len(running) < count:
                    server = servers[len(running)]
                    process = stack.enter_context(
                        Running(server, folder / f"replica-{len(running)}.log"))
                    process.wait_ready(120)
                    running.append(process)
                live = servers[:count]
                scores |= {check_score(s) for s in live}
                if len(scores) != 1:
                    raise RuntimeError(f"replicas disagree on the score: {sorted(scores)}")
                connections = split_connections(args.connections, count)
                if args.warmup > 0:
                    load(live, connections, args.warmup, folder)
                rows.append(Row(count, connections, load(live, connections, args.duration,
                                                         folder)))
                print(f"{count} replica(s): {rows[-1].requests_per_s:.0f} req/s, p99 "
                      f"<= {rows[-1].p99_ms:.1f} ms", file=sys.stderr)
            lags = propagation(servers[:len(running)], admin, args.promotions)
    after = load_average()
    base = rows[0].requests_per_s
    print(f"date {started}; CPU {cpu_model()}, {os.cpu_count()} cores, {memory_total()}; "
          f"load average {before} before, {after} after")
    print(table([["replicas", "connections", "req/s", "vs 1 replica", "p50 ms (max)",
                  "p99 ms (max)", "errors"]]
                + [[str(r.replicas), "+".join(map(str, r.connections)),
                    f"{r.requests_per_s:.0f}", f"{r.requests_per_s / base:.2f}x",
                    f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", str(r.errors)] for r in rows]))
    flat = [lag for lag_row in lags for lag in lag_row]
    print()
    print(table([["promotion", *[f"replica {k} s" for k in range(len(lags[0]))], "slowest s"]]
                + [[str(i + 1), *[f"{lag:.3f}" for lag in lag_row], f"{max(lag_row):.3f}"]
                   for i, lag_row in enumerate(lags)]))
    slowest = max(flat)
    met = slowest < PROPAGATION_TARGET_S
    print(f"\npropagation: median {statistics.median(flat):.3f} s, slowest {slowest:.3f} s "
          f"over {len(flat)} replica-promotions; target < {PROPAGATION_TARGET_S:g} s: "
          f"{'PASS' if met else 'FAIL'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

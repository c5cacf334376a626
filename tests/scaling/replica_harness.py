"""Several riskops replicas on one machine: the set-up of a scaled-out deployment.

A *replica* is what one host of a real deployment runs: ``riskops serve`` on its
own loopback port, and beside it ``riskops scheduler`` and ``riskops worker``.
All replicas share what a deployment shares: one PostgreSQL database, one
RabbitMQ broker (their own exchange and queues, deleted afterwards) and one
workspace folder, the artifact store (manifest, signatures, model files). Each
replica has what a host has to itself: its state folder (the replay floor of
``registry.floor``), its Prometheus folder and its logs.

Every process runs in its own process group, so ``kill(signal.SIGKILL)`` takes
a replica down the way a crashed host goes (no shutdown handlers).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.storage import db
from riskops.tokens import create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

RISKOPS = Path(sys.executable).with_name("riskops")
HERE = Path(__file__).parent
START_TIMEOUT = 90.0
#: How often replicas look for a new manifest in these tests (the default, see
#: ``serving.settings``), and how often schedulers look for due slots.
MANIFEST_POLL = 0.5
SCHEDULER_POLL = 0.2
ROLES = ("admin", "scorer", "reviewer", "risk_lead", "platform_owner", "service")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to the whole process group and wait for the leader."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=30)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class Replica:
    index: int
    url: str
    processes: dict[str, Process] = field(default_factory=dict)

    def kill(self, signum: int = signal.SIGKILL) -> None:
        for process in self.processes.values():
            process.kill(signum)

    @property
    def alive(self) -> bool:
        return all(p.alive for p in self.processes.values())


@dataclass
class Cluster:
    """The shared workspace, the broker names of this cluster and its replicas."""

    home: Path
    root: Path
    database_url: str
    amqp_url: str
    tag: str
    tokens: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)

    @property
    def ws(self) -> Workspace:
        return open_workspace(self.home)

    @property
    def events_exchange(self) -> str:
        return f"riskops.test.scale.{self.tag}"

    def env(self, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("RISKOPS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        host = self.root / f"replica-{index}"
        (host / "state").mkdir(parents=True, exist_ok=True)
        (host / "metrics").mkdir(parents=True, exist_ok=True)
        env.update({
            "RISKOPS_HOME": str(self.home),
            "RISKOPS_STATE_DIR": str(host / "state"),
            "PROMETHEUS_MULTIPROC_DIR": str(host / "metrics"),
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep),
        })
        return env

    def start(self, count: int, *, scheduler: bool = False, worker: bool = False) -> None:
        """Start ``count`` more replicas and wait until every server answers /ready."""
        for _ in range(count):
            self.replicas.append(self._start_one(len(self.replicas), scheduler, worker))
        for replica in self.replicas[-count:]:
            wait_ready(replica)

    def _start_one(self, index: int, scheduler: bool, worker: bool) -> Replica:
        port = free_port()
        replica = Replica(index, f"http://127.0.0.1:{port}")
        commands = {"serve": ["serve", "--port", str(port), "--workers", "1",
                              "--log-level", "warning"]}
        if scheduler:
            commands["scheduler"] = ["scheduler", "--poll", str(SCHEDULER_POLL)]
        if worker:
            commands["worker"] = ["worker"]
        for name, args in commands.items():
            replica.processes[name] = self.spawn(index, name, args)
        return replica

    def spawn(self, index: int, name: str, args: list[str]) -> Process:
        log = self.root / f"replica-{index}" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            popen = subprocess.Popen([str(RISKOPS), *args, "--home", str(self.home)],
                                     stdout=sink, stderr=subprocess.STDOUT,
                                     env=self.env(index), start_new_session=True)
        return Process(name, popen, log)

    def stop(self) -> None:
        for replica in self.replicas:
            replica.kill()

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def logs(self) -> str:
        return "\n".join(f"--- replica {r.index} {p.name} ---\n{p.output(2000)}"
                         for r in self.replicas for p in r.processes.values())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(replica: Replica, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    serve = replica.processes["serve"]
    while time.monotonic() < deadline:
        if not serve.alive:
            pytest.fail(f"replica {replica.index}: riskops serve exited with "
                        f"{serve.popen.returncode}:\n{serve.output()}")
        try:
            if httpx.get(f"{replica.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"replica {replica.index} was not ready within {timeout:g} s:\n"
                f"{serve.output()}")


def build_workspace(root: Path, database_url: str, amqp_url: str, tag: str,
                    *, versions: int = 2, rows: int = 2000,
                    extra_config: str = "") -> tuple[Path, dict[str, str]]:
    """A workspace on ``database_url`` with fraud v1 (production) and v2..vN (trained,
    not promoted), the broker configured, and one token per role."""
    home = root / "shared"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RISKOPS_DATABASE_URL", database_url)
        mp.setenv("RISKOPS_STATE_DIR", str(root / "builder-state"))
        init_workspace(home)
    with (home / "riskops.toml").open("a", encoding="utf-8") as f:
        f.write(f"""
[database]
url = "{database_url}"

[amqp]
url = "{amqp_url}"

[serving]
manifest_poll_seconds = {MANIFEST_POLL}

[events]
sinks = ["log", "amqp"]
exchange = "riskops.test.scale.{tag}"
amqp_timeout_seconds = 2

[worker]
exchange = "riskops.test.scale.{tag}"
queue = "test_scale_{tag}"
{extra_config}
""")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RISKOPS_STATE_DIR", str(root / "builder-state"))
        ws = open_workspace(home)
        scenario = get_scenario("fraud")
        for seed in range(1, versions + 1):
            frame = scenario.generate(rows, start=date(2026, 1, 1), days=30, seed=seed)
            path = root / f"fraud{seed}.parquet"
            frame.to_parquet(path)
            train_scenario(ws, "fraud", path, actor="local:trainer")
            if seed == 1:  # later versions are compared with it at training
                Registry(ws).promote("fraud", 1, actor="local:trainer", force=True)
        tokens = {role: create_token(ws, name=f"t-{role}", role=role, actor="local:test")
                  for role in ROLES}
    db.dispose_engines()
    return home, tokens


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``base_url``'s server; dropped afterwards."""
    import psycopg

    libpq = base_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"riskops_scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        db.dispose_engines()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delete_topology(amqp_url: str, tag: str) -> None:
    import pika

    with suppress(Exception):
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = connection.channel()
        for queue in (f"test_scale_{tag}", f"test_scale_{tag}.dead"):
            channel.queue_delete(queue)
        for exchange in (f"riskops.test.scale.{tag}", f"test_scale_{tag}.dead"):
            channel.exchange_delete(exchange)
        connection.close()


@contextmanager
def cluster(root: Path, database_url: str, amqp_url: str, **build: Any) -> Iterator[Cluster]:
    """A built workspace and no replicas yet (``Cluster.start``); all stopped afterwards."""
    tag = uuid.uuid4().hex[:10]
    home, tokens = build_workspace(root, database_url, amqp_url, tag, **build)
    made = Cluster(home, root, database_url, amqp_url, tag, tokens)
    try:
        yield made
    finally:
        made.stop()
        delete_topology(amqp_url, tag)
        db.dispose_engines()

"""A real ``riskops serve`` in its own process group on a free port, for system tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from riskops.config import Workspace
from riskops.storage import db

RISKOPS = Path(sys.executable).with_name("riskops")
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole process group (the CLI and every uvicorn worker)."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def serve(ws: Workspace, tmp_path: Path, *, workers: int = 2,
          grpc_port: int | None = None) -> Iterator[Server]:
    port = free_port()
    grpc = [] if grpc_port is None else ["--grpc-port", str(grpc_port)]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    env = {**os.environ, "RISKOPS_HOME": str(ws.home),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    env.pop("RISK_ML_ENABLED", None)
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(RISKOPS), "serve", "--home", str(ws.home), "--port", str(port),
             "--workers", str(workers), "--log-level", "warning", *grpc],
            stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.kill()
        db.dispose_engines()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"riskops serve exited with {server.process.returncode}:\n"
                        f"{server.output()}")
        try:
            if httpx.get(f"{server.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"riskops serve was not ready within {START_TIMEOUT:g} s:\n{server.output()}")

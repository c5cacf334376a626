"""`riskops serve` as a real multi-process server: crash safety, hot swap, merged metrics.

Each test starts ``riskops serve --workers 2`` on a free port in its own process
group, drives it over HTTP from client threads, and kills the group in a
``finally``. The crash test kills it with SIGKILL on purpose.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from serving_helpers import (  # noqa: F401  (fixtures)
    example_row,
    served_template,
    served_ws,
    tokens,
)
from serving_helpers_process import Server, serve
from sqlalchemy import select

from riskops.config import open_workspace
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import PredictionRow

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32",
                                                   reason="process groups are POSIX")]

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Answer:
    started: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    body: dict


class Hammer:
    """Client threads posting /risk/fraud until stopped, keeping every answer."""

    def __init__(self, server: Server, token: str, *, threads: int = 6) -> None:
        self._server = server
        self._token = token
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        row = example_row("fraud", index=index)
        with httpx.Client(base_url=self._server.url, headers=headers, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    r = client.post("/risk/fraud", json=row)
                    answer = Answer(started, r.status_code,
                                    r.json() if r.status_code == 200 else {"text": r.text})
                except (httpx.HTTPError, ValueError):
                    answer = Answer(started, 0, {})
                    time.sleep(0.01)
                with self._lock:
                    self.answers.append(answer)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {timeout:g} s")


def test_every_acknowledged_prediction_survives_sigkill(served_ws, tokens, tmp_path):
    token = tokens["scorer"]
    with serve(served_ws, tmp_path) as server:
        hammer = Hammer(server, token, threads=8)
        with hammer:
            time.sleep(2.0)
            _wait_until(lambda: sum(a.status == 200 for a in hammer.snapshot()) >= 30,
                        timeout=30, what="30 answers")
            server.kill()  # mid-traffic: some requests are in flight, some just answered
        answers = hammer.snapshot()
    acknowledged = {a.body["prediction_id"] for a in answers if a.status == 200}
    assert not [a for a in answers if a.status >= 500]
    with db.read_session(served_ws.database_url) as session:
        stored = set(session.scalars(select(PredictionRow.id)))
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged predictions lost"


def test_hot_swap_under_load_never_fails_a_request(served_ws, tokens, tmp_path):
    with served_ws.config_path.open("a", encoding="utf-8") as config:
        config.write(f"\n[serving]\nmanifest_poll_seconds = {POLL_SECONDS}\n")
    ws = open_workspace(served_ws.home)
    token = tokens["scorer"]
    settle = 10 * POLL_SECONDS + 1.0  # every worker polls and loads within this
    with serve(ws, tmp_path) as server, Hammer(server, token) as hammer:
        time.sleep(1.0)

        def swap_to(version: int, change: Callable[[], object]) -> None:
            change()
            changed = time.monotonic()
            seen = _wait_until(
                lambda: any(a.started > changed and a.status == 200
                            and a.body["risk_model_version"] == version
                            for a in hammer.snapshot()),
                timeout=25 * POLL_SECONDS + 5, what=f"serving fraud v{version}")
            time.sleep(settle + 1.0)
            late = [a for a in hammer.snapshot() if a.started > seen + settle]
            assert late, "no requests after the swap settled"
            versions = {a.body.get("risk_model_version") for a in late}
            assert versions == {version}, f"after the swap to v{version}: {versions}"

        swap_to(2, lambda: Registry(ws).promote("fraud", 2, actor="local:test", force=True))
        swap_to(1, lambda: Registry(ws).rollback("fraud", actor="local:test"))
    answers = hammer.snapshot()
    assert len(answers) > 100
    statuses = {a.status for a in answers}
    assert statuses == {200}, f"statuses under hot swap: {statuses}"
    assert {a.body["risk_model_version"] for a in answers} == {1, 2}
    assert {a.body["risk_score_method"] for a in answers} == {"ml"}


def test_metrics_are_merged_across_workers(served_ws, tokens, tmp_path):
    from prometheus_client.mmap_dict import MmapedDict

    token = tokens["scorer"]
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    requests = 80

    def post(i: int) -> int:
        # A new connection each time, so the kernel spreads them over the workers.
        r = httpx.post(f"{server.url}/risk/fraud", json=example_row("fraud", index=i % 5),
                       headers=headers, timeout=10)
        return r.status_code

    with serve(served_ws, tmp_path) as server:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(post, range(requests))) == {200}
        text = httpx.get(f"{server.url}/metrics", timeout=10).text

    def total(name: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name + "{"))

    assert total("risk_requests_total") == requests
    assert total("ml_predictions_total") == requests
    assert total("ml_inference_duration_seconds_count") == requests
    assert 'ml_model_info{model="fraud",sha256=' in text
    per_worker = []
    for path in (tmp_path / "metrics").glob("counter_*.db"):
        per_worker.append(sum(value for key, value, *_ in
                              MmapedDict.read_all_values_from_file(str(path))
                              if '"risk_requests_total"' in key))
    assert sum(per_worker) == requests
    assert sum(1 for n in per_worker if n > 0) == 2, f"requests per worker: {per_worker}"

"""Client load and database checks for the fault tests (tests/scaling/test_fault_*.py).

``Load`` runs a few client threads that score fraud rows round-robin across the
replicas, each logical request with its own ``X-Request-Key`` and rows whose
``amount`` is unique (so the inference log's rows of one request can be found
again: riskops stores the inputs, not the request key). A client may retry a
request that got no answer or a 5xx on the next replica, as a client behind a
load balancer would. ``logged_predictions`` reads the ``predictions`` table back
so a test can check every acknowledged prediction against it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from scaling_helpers import fraud_row

#: What a client waits for one answer; the server's own request timeout is 10 s.
CLIENT_TIMEOUT = 30.0
#: Row amounts 50.005, 50.015, ...: unique across every ``Load`` of the session, and never
#: a value of the generated rows (two decimals at most) other tests send.
_AMOUNTS = itertools.count()
_AMOUNTS_LOCK = threading.Lock()


@dataclass
class Attempt:
    url: str
    started: float
    ended: float
    status: int | None  # None: no answer (connection refused, reset, timeout)
    detail: str = ""
    retry_after: str | None = None


@dataclass
class Request:
    """One logical request of a client: its rows, every attempt, the acknowledged answer."""

    key: str
    amounts: list[float]
    batch: bool
    attempts: list[Attempt] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # the 200's items

    @property
    def acknowledged(self) -> bool:
        return bool(self.answers)

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    @property
    def failed_over(self) -> bool:
        """Acknowledged by another replica than the one first tried."""
        return self.acknowledged and self.attempts[-1].url != self.attempts[0].url


@dataclass
class Load:
    """Client threads scoring round-robin across ``urls`` until ``stop``.

    ``retries`` is how many more replicas a request is tried on after an attempt
    without an answer or with a 5xx (0: never retried). Every ``batch_every``-th
    request of a client is a batch of ``batch_rows`` rows.
    """

    urls: list[str]
    headers: dict[str, str]
    clients: int = 4
    retries: int = 2
    batch_every: int = 5
    batch_rows: int = 3
    pause: float = 0.01
    rotate: bool = True
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._base = fraud_row(0)

    def __enter__(self) -> Load:
        for client in range(self.clients):
            thread = threading.Thread(target=self._client, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT * (self.retries + 2))

    @staticmethod
    def _amount() -> float:
        with _AMOUNTS_LOCK:
            return round(50.005 + next(_AMOUNTS) * 0.01, 3)

    def _client(self, client: int) -> None:
        with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            for seq in itertools.count():
                if self._stop.is_set():
                    return
                batch = self.batch_every > 0 and seq % self.batch_every == self.batch_every - 1
                amounts = [self._amount() for _ in range(self.batch_rows if batch else 1)]
                request = Request(f"client{client}-{seq}", amounts, batch)
                with self._lock:
                    self.requests.append(request)
                start = (client + seq) % len(self.urls) if self.rotate else 0
                for tried in range(self.retries + 1):
                    url = self.urls[(start + tried) % len(self.urls)]
                    if self._send(http, url, request):
                        break
                self._stop.wait(self.pause)

    def _send(self, http: httpx.Client, url: str, request: Request) -> bool:
        """One attempt; True when it needs no retry (answered, or refused with a 4xx)."""
        rows = [{**self._base, "amount": amount} for amount in request.amounts]
        headers = {**self.headers, "X-Request-Key": request.key}
        started = time.monotonic()
        try:
            response = http.post(f"{url}/risk/fraud", headers=headers,
                                 json=rows if request.batch else rows[0])
        except httpx.HTTPError as exc:
            request.attempts.append(Attempt(url, started, time.monotonic(), None,
                                            f"{type(exc).__name__}: {exc}"))
            return False
        attempt = Attempt(url, started, time.monotonic(), response.status_code,
                          response.text[:300], response.headers.get("retry-after"))
        request.attempts.append(attempt)
        if response.status_code == 200:
            body = response.json()
            request.answers = body["items"] if request.batch else [body]
            return True
        return response.status_code < 500

    # --- what the clients saw ----------------------------------------------------

    def done(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def acknowledged(self) -> dict[str, tuple[Request, dict[str, Any]]]:
        """prediction_id -> (its request, its answer) of every 200."""
        return {a["prediction_id"]: (r, a) for r in self.done() for a in r.answers}

    def statuses(self) -> dict[str, int]:
        """How many attempts ended with each status ('none': no answer)."""
        counts: dict[str, int] = defaultdict(int)
        for request in self.done():
            for attempt in request.attempts:
                counts[str(attempt.status or "none")] += 1
        return dict(counts)

    def answered_by(self, url: str, since: float) -> int:
        return sum(1 for r in self.done() for a in r.attempts
                   if a.url == url and a.status == 200 and a.started >= since)


def logged_predictions(database_url: str) -> dict[str, dict[str, Any]]:
    """Every row of the ``predictions`` table by id: score, version, method, amount."""
    import psycopg

    libpq = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT id, score, label, method, model_version, manifest_version, inputs "
            "FROM predictions WHERE scenario = 'fraud'").fetchall()
    return {pid: {"score": score, "label": label, "method": method,
                  "model_version": version, "manifest_version": manifest,
                  "amount": json.loads(inputs)["amount"]}
            for pid, score, label, method, version, manifest, inputs in rows}


def check_acknowledged(load: Load, logged: dict[str, dict[str, Any]]) -> None:
    """Every 200 the clients got is a row with the same answer (the durability promise)."""
    missing, different = [], []
    for pid, (request, answer) in load.acknowledged().items():
        row = logged.get(pid)
        if row is None:
            missing.append((request.key, pid))
            continue
        seen = (answer["risk_score"], answer["risk_label"], answer["risk_score_method"],
                answer["risk_model_version"], answer["manifest_version"])
        kept = (row["score"], row["label"], row["method"], row["model_version"],
                row["manifest_version"])
        if seen != kept:
            different.append((request.key, pid, seen, kept))
    assert not missing, f"{len(missing)} acknowledged predictions are not logged: {missing[:5]}"
    assert not different, f"logged answers differ from the acknowledged: {different[:5]}"


def rows_per_request(load: Load, logged: dict[str, dict[str, Any]]
                     ) -> dict[str, list[str]]:
    """Request key -> ids of the logged rows holding one of its (unique) amounts."""
    by_amount: dict[float, list[str]] = defaultdict(list)
    for pid, row in logged.items():
        by_amount[round(float(row["amount"]), 3)].append(pid)
    return {r.key: sorted(pid for amount in r.amounts for pid in by_amount.get(amount, []))
            for r in load.done()}


@dataclass
class Probe:
    """Polls ``/health`` and ``/ready`` of every replica every ``every`` seconds until
    ``stop``; keeps (time, url, path, status or None, seconds, body)."""

    urls: list[str]
    every: float = 0.25
    seen: list[tuple[float, str, str, int | None, float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            while not self._stop.is_set():
                for url in self.urls:
                    for path in ("/health", "/ready"):
                        started = time.monotonic()
                        try:
                            response = http.get(f"{url}{path}")
                            status, body = response.status_code, response.text[:400]
                        except httpx.HTTPError as exc:
                            status, body = None, f"{type(exc).__name__}: {exc}"
                        self.seen.append((started, url, path, status,
                                          time.monotonic() - started, body))
                self._stop.wait(self.every)

    def between(self, path: str, start: float, end: float
                ) -> list[tuple[float, str, str, int | None, float, str]]:
        return [s for s in self.seen if s[2] == path and start <= s[0] <= end]


# --- the PostgreSQL server of this machine -------------------------------------------

PG_CLUSTER = ("15", "main")


def postgres_control_unavailable(url: str) -> str | None:
    """Why this test cannot stop and start the server at ``url``; None if it can."""
    import os
    import shutil

    if shutil.which("pg_ctlcluster") is None:
        return "pg_ctlcluster is not installed"
    if os.geteuid() != 0:
        return "stopping PostgreSQL needs root"
    if "@127.0.0.1:" not in url and "@localhost:" not in url:
        return f"PostgreSQL at {url} is not this machine's"
    return None


def pg_ctlcluster(action: str, *options: str) -> None:
    import subprocess

    subprocess.run(["pg_ctlcluster", *PG_CLUSTER, action, *options], check=True,
                   capture_output=True, timeout=120)


def wait_postgres(url: str, timeout: float = 120.0) -> float:
    """Wait until the server at ``url`` takes connections; the seconds waited."""
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.monotonic()
    while True:
        try:
            with psycopg.connect(libpq, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return time.monotonic() - started
        except psycopg.Error:
            if time.monotonic() - started > timeout:
                raise
            time.sleep(0.2)


def start_postgres(url: str) -> float:
    """Start the server (nothing if it runs) and wait until it takes connections."""
    import subprocess

    subprocess.run(["pg_ctlcluster", *PG_CLUSTER, "start"], capture_output=True, timeout=120)
    return wait_postgres(url)

"""Fixtures and probes shared by the replica tests (tests/scaling).

``fleet`` is one cluster per test module: three replicas (serve, scheduler and
worker each) on a fresh PostgreSQL database and this machine's RabbitMQ.
``Watch`` follows what each replica serves while a test changes the registry.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from replica_harness import Cluster, cluster, fresh_database

from riskops.scenarios import get_scenario

BUILTINS_OFF = """
[scheduler.jobs]
model-monitoring = "off"
integrity-check = "off"
lake-export = "off"
events-dispatch = "off"
revalidation-check = "off"
slo-watch = "off"
retrain-triggers = "off"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
          ) -> Iterator[Cluster]:
    """Three replicas (serve + scheduler + worker) on one database, broker and store.

    A module may set ``FLEET_CONFIG`` (TOML appended to the workspace config) and
    ``FLEET_PROCESSES`` (a dict of ``scheduler``/``worker`` flags).
    """
    from conftest import (
        AMQP_URL,
        POSTGRES_URL,
        amqp_unavailable,
        postgres_available,
        require_service,
    )

    require_service("PostgreSQL", POSTGRES_URL, postgres_available())
    require_service("RabbitMQ", AMQP_URL, amqp_unavailable(AMQP_URL))
    config = BUILTINS_OFF + getattr(request.module, "FLEET_CONFIG", "")
    processes = getattr(request.module, "FLEET_PROCESSES",
                        {"scheduler": True, "worker": True})
    root = tmp_path_factory.mktemp("fleet")
    with fresh_database(POSTGRES_URL) as url, \
            cluster(root, url, AMQP_URL, extra_config=config) as made:
        made.start(3, **processes)
        yield made


def fraud_row(index: int = 0, *, seed: int = 5) -> dict[str, Any]:
    """One payment's nine features, JSON-ready."""
    scenario = get_scenario("fraud")
    frame = scenario.generate(index + 1, start=date(2026, 3, 1), days=1, seed=seed)
    row = frame.iloc[index][scenario.schema.feature_names].to_dict()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def archived_routing(home: Path, manifest_version: int, tenant: str = "default"
                     ) -> int | str | None:
    """The fraud version manifest ``manifest_version`` routes ``tenant`` to: its pin
    (a version or ``"heuristic"``), else production (``None``: the heuristic)."""
    path = home / "manifests" / f"manifest-{manifest_version:06d}.json"
    model = json.loads(path.read_text())["models"]["fraud"]
    pin = model.get("pins", {}).get(tenant)
    if pin is not None:
        return "heuristic" if pin == "heuristic" else int(pin)
    return model["stages"].get("production")


@dataclass
class Seen:
    at: float
    manifest_version: int | None
    model_version: int | None
    method: str


@dataclass
class Watch:
    """Scores one row on every replica in a loop (one thread per replica) and keeps
    what each answered, with the time, until ``stop``."""

    urls: list[str]
    headers: dict[str, str]
    tenant: str = "default"
    seen: dict[str, list[Seen]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Watch:
        row = fraud_row(1)
        for url in self.urls:
            self.seen[url] = []
            thread = threading.Thread(target=self._follow, args=(url, row), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _follow(self, url: str, row: dict[str, Any]) -> None:
        headers = {**self.headers, "X-Tenant-ID": self.tenant}
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(f"{url}/risk/fraud", json=row, headers=headers)
                    body = response.json()
                    if response.status_code != 200:
                        self.errors.append(f"{url}: {response.status_code} {body}")
                    else:
                        self.seen[url].append(Seen(time.monotonic(), body["manifest_version"],
                                                   body["risk_model_version"],
                                                   body["risk_score_method"]))
                except httpx.HTTPError as exc:
                    self.errors.append(f"{url}: {type(exc).__name__}: {exc}")
                self._stop.wait(0.02)

    def first_at(self, url: str, manifest_version: int) -> float | None:
        """When ``url`` first answered under ``manifest_version`` or a newer one."""
        return next((s.at for s in self.seen[url]
                     if (s.manifest_version or 0) >= manifest_version), None)

    def wait_all(self, manifest_version: int, seconds: float = 30.0) -> dict[str, float]:
        """Wait until every replica answered under ``manifest_version``; the time each did."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = {u: self.first_at(u, manifest_version) for u in self.urls}
            if all(v is not None for v in found.values()):
                return {u: float(v) for u, v in found.items() if v is not None}
            time.sleep(0.05)
        pytest.fail(f"not every replica served manifest v{manifest_version} within "
                    f"{seconds:g} s: last seen "
                    f"{ {u: s[-1] if s else None for u, s in self.seen.items()} }")

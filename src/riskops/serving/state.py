"""What one server process holds (``ServingState``, on ``app.state.serving``) and its start/stop.

The state is built by ``create_app`` and started by the app's lifespan: it
loads and verifies the served models (``ModelPool``), starts the group-commit
inference log and a thread that watches for new manifests. Routes reach it
through ``serving_state(request)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from riskops import metrics
from riskops.config import Workspace
from riskops.registry.definitions import CustomServed
from riskops.scenarios import REFERENCE, get_scenario
from riskops.scenarios.base import Scenario
from riskops.serving import schemas
from riskops.serving.batcher import MicroBatcher
from riskops.serving.pool import ModelPool
from riskops.serving.settings import ServingSettings
from riskops.serving.slo_gauge import SloGauge

log = logging.getLogger("riskops.serving")


class ServingState:
    """Everything one server process holds; lives on ``app.state.serving``."""

    def __init__(self, ws: Workspace, settings: ServingSettings) -> None:
        from riskops.serving.inference_log import InferenceLog

        self.ws = ws
        self.settings = settings
        reference: dict[str, Scenario] = {name: get_scenario(name) for name in REFERENCE}
        self._reference = reference
        self._catalog = Catalog.build(reference, {}, None,
                                      max_text_chars=settings.max_text_chars)
        self._catalog_lock = threading.Lock()
        self.incident_text_model = schemas.text_request_model(
            reference["incident"], max_text_chars=settings.max_text_chars)
        self.pool = ModelPool(ws, reference, on_integrity_failure=self._integrity_failed,
                              fast_path=settings.fast_path)
        self.log = InferenceLog(ws.database_url)
        self.slo_gauge = SloGauge(ws)
        self.batcher = MicroBatcher(model_threads=settings.model_threads)
        self._thread_limits: Any = None
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self._published: set[tuple[str, str, str]] = set()

    def catalog(self) -> Catalog:
        """The scenarios served now: the reference ones and the custom ones of the current
        model snapshot, with their request models (rebuilt only when those change)."""
        custom = self.pool.snapshot.custom
        catalog = self._catalog
        if catalog.custom is custom:
            return catalog
        with self._catalog_lock:
            if self._catalog.custom is not custom:
                self._catalog = Catalog.build(
                    self._reference, custom, self._catalog,
                    max_text_chars=self.settings.max_text_chars)
            return self._catalog

    @property
    def scenarios(self) -> Mapping[str, Scenario]:
        """Scenario by name: reference, then custom (see ``catalog``)."""
        return self.catalog().scenarios

    @property
    def request_models(self) -> Mapping[str, type[BaseModel]]:
        """The request model of each served scenario (see ``catalog``)."""
        return self.catalog().request_models

    def _integrity_failed(self, problem: str, data: dict[str, Any]) -> None:
        from riskops.events import emit_now

        subject = str(data.get("modelId") or data.get("subject") or "manifest.json")
        metrics.MODEL_INTEGRITY_FAILURES.labels(model=subject).inc()
        emit_now(self.ws, type="model_integrity_failed", subject=subject,
                 data={**data, "problem": problem}, source="riskops/serving")

    def start(self) -> None:
        self.log.start()
        self.pool.refresh(force=True)
        # One native thread per model call: a one-row predict opens hundreds of OpenMP
        # regions, and waiting for a second thread in each costs more than it gives.
        # Applied after loading (the pools exist by then); concurrency comes from
        # micro-batching and from --workers instead.
        from threadpoolctl import threadpool_limits

        self._thread_limits = threadpool_limits(limits=self.settings.model_threads)
        settle_heap()
        self.publish_model_info()
        self._thread(self._watch, "riskops-manifest-watch")
        if self.settings.dispatch_events:
            self._thread(self._dispatch, "riskops-event-dispatch")

    def _thread(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _watch(self) -> None:
        while not self.stop.wait(self.settings.manifest_poll_seconds):
            try:
                if self.pool.refresh():
                    self.publish_model_info()
                    settle_heap()
            except Exception:
                log.exception("manifest refresh failed; keeping the current models")

    def _dispatch(self) -> None:
        try:
            from riskops.events.dispatcher import Dispatcher

            Dispatcher(self.ws).run_forever(self.stop, interval=1.0)
        except Exception:
            log.exception("event dispatcher stopped; events stay in the outbox")

    def publish_model_info(self) -> None:
        versions = [v for slot in self.pool.snapshot.slots.values() for v in slot.versions()]
        live = {(v.model, str(v.version), v.loaded.sha256) for v in versions}
        for labels in self._published - live:
            metrics.MODEL_INFO.labels(*labels).set(0)
        for labels in live:
            metrics.MODEL_INFO.labels(*labels).set(1)
        self._published = live
        for v in versions:
            metrics.MODEL_FAST_PATH.labels(v.model, str(v.version)).set(v.fast is not None)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.batcher.close()
        self.log.close()
        if self._thread_limits is not None:
            self._thread_limits.restore_original_limits()
            self._thread_limits = None


@dataclass(frozen=True)
class Catalog:
    """The scenarios one snapshot serves and their request models; ``custom`` is the
    snapshot's mapping it was built from (compared by identity)."""

    scenarios: Mapping[str, Scenario]
    request_models: Mapping[str, type[BaseModel]]
    custom: Mapping[str, CustomServed]

    @classmethod
    def build(cls, reference: Mapping[str, Scenario], custom: Mapping[str, CustomServed],
              previous: Catalog | None, *, max_text_chars: int) -> Catalog:
        """Reference scenarios first (a custom model never shadows one); the request model
        ``previous`` built for the same scenario object is reused."""
        scenarios = {**reference,
                     **{n: c.scenario for n, c in custom.items() if n not in reference}}
        models: dict[str, type[BaseModel]] = {}
        for name, scenario in list(scenarios.items()):
            if previous is not None and previous.scenarios.get(name) is scenario:
                models[name] = previous.request_models[name]
                continue
            try:
                models[name] = schemas.request_model(scenario, max_text_chars=max_text_chars)
            except Exception:  # a definition pydantic cannot take: that scenario, not all
                if name in reference:
                    raise
                log.exception("%s: no request schema can be built from its definition; "
                              "not served", name)
                del scenarios[name]
        return cls(scenarios, models, custom)


def settle_heap() -> None:
    """Move what loading created out of the garbage collector's sight.

    Loaded models and pandas leave a large, long-lived heap; a full collection
    walking it paused requests for 50-100 ms (p99 3x worse). Freezing it after
    each load keeps collections short; nothing frozen is ever freed, which is
    what a served model is for (a swapped-out version's memory stays, bounded
    by the number of swaps).
    """
    import gc

    gc.collect()
    gc.freeze()


def serving_state(request: Request) -> ServingState:
    """The ``ServingState`` of the app serving ``request``."""
    return request.app.state.serving  # type: ignore[no-any-return]

"""Serving one scoring request: route, score, record durably, observe. No HTTP here.

``score_and_record`` is the one scoring path of every scoring route (``/risk``,
``/risk/{scenario}``, ``/plan/compliance`` and V2 ``infer``); each route parses
its own input into validated feature rows and shapes its own answer from the
``PredictionRecord`` list returned.

For one request: choose the route (tenant pin, canary by request key,
production, or the heuristic) on the current model snapshot → score the rows
through the micro-batcher; a model that does not answer within the request
timeout is a model fault, answered by the heuristic → append every prediction
to the inference log and wait for its commit → count metrics (the error
budget is read from the log itself, ``serving.slo_gauge``). Predictions that
cannot be recorded durably are not returned: ``PredictionsNotRecorded`` is
raised instead and the client may retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from riskops import metrics
from riskops.errors import PredictionsNotRecorded, UnknownScenario
from riskops.serving.pool import ServedVersion
from riskops.serving.records import PredictionRecord, new_prediction_id
from riskops.serving.routing import Route, choose_route
from riskops.serving.scoring import Scored, score_rows
from riskops.serving.state import ServingState

log = logging.getLogger("riskops.serving")


async def score_and_record(state: ServingState, scenario: str,
                           rows: Sequence[dict[str, Any]], *, tenant: str,
                           request_key: str = "") -> list[PredictionRecord]:
    """Score validated feature ``rows`` of ``scenario`` for ``tenant``; one durably logged
    record per row, in order.

    ``request_key`` (``X-Request-Key``) places the request on a side of a canary
    split; without one the first prediction id does. The caller has validated
    ``scenario``, ``tenant`` and ``rows``. Raises ``PredictionsNotRecorded``
    when the inference log cannot commit the records.
    """
    spec = state.scenarios.get(scenario)
    if spec is None:  # a custom scenario whose model went away since the request came in
        raise UnknownScenario(f"scenario {scenario[:64]!r} is no longer served here; "
                              "its model was retired or rolled back past its definition.")
    snapshot = state.pool.snapshot
    ids = [new_prediction_id() for _ in rows]
    route = choose_route(snapshot.slots.get(scenario), tenant=tenant,
                         key=request_key or ids[0], ml_enabled=state.settings.ml_enabled)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(state.settings.request_timeout_seconds):
            scored = await state.batcher.score(spec, route, rows)
    except TimeoutError:
        # A model that does not answer in time is a model fault: the heuristic answers.
        seconds = state.settings.request_timeout_seconds
        error = "Timeout"
        scored = [Scored(h.score, h.label, "heuristic",
                         (*h.reasons, f"model {route.served.model} v{route.served.version} did "
                                      f"not answer within {seconds:g} s; heuristic answered"),
                         model_error=error) if route.served else h
                  for h in score_rows(spec, Route(None, "timeout"), rows)]
    elapsed = time.perf_counter() - started
    now = datetime.now(UTC)
    served = route.served
    per_row_ms = elapsed * 1000 / len(rows)
    records = [
        PredictionRecord(
            id=pid, created_at=now, tenant_id=tenant, scenario=scenario,
            model_name=served.model if served and s.method == "ml" else None,
            model_version=served.version if served and s.method == "ml" else None,
            manifest_version=snapshot.manifest_version, method=s.method,
            route=route.name, inputs=row, score=s.score, label=s.label,
            threshold=served.threshold if served and s.method == "ml" else None,
            reasons=list(s.reasons), latency_ms=per_row_ms)
        for pid, row, s in zip(ids, rows, scored, strict=True)
    ]
    try:
        # All of the request's predictions are queued or none; once queued they are
        # committed even if this request is cancelled, so the wait is shielded.
        futures = state.log.submit_many(records)
        await asyncio.shield(asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
    except Exception as exc:
        log.error("could not record predictions durably: %s", exc)
        raise PredictionsNotRecorded from None
    state.slo_gauge.changed()
    _observe(state, scenario, served, scored, elapsed)
    return records


def _observe(state: ServingState, scenario: str, served: ServedVersion | None,
             scored: list[Scored], elapsed: float) -> None:
    model = served.model if served is not None else "heuristic"
    metrics.INFERENCE_DURATION.labels(model, scenario).observe(elapsed)
    metrics.RISK_REQUESTS.labels(scored[0].method).inc()
    for s in scored:
        metrics.PREDICTIONS.labels(model if s.method == "ml" else "heuristic", scenario,
                                   s.method).inc()
        metrics.RISK_SCORE.observe(s.score)
        for feature in s.out_of_range:
            metrics.OUT_OF_RANGE_INPUTS.labels(model, feature).inc()
    if served is not None:
        failed = sum(1 for s in scored if s.model_error is not None)
        if failed:
            metrics.MODEL_FALLBACKS.labels(scenario, scored[0].model_error or "error").inc(failed)

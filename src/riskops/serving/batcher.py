"""Micro-batching: concurrent single-row requests to one model version share a model call.

A one-row ``predict_proba`` of riskops' reference models costs about as much
as an eight-row one (the per-call overhead of the column transformer and the
calibrated boosters dominates), so scoring rows one call each wastes most of
the CPU. The batcher queues the rows of requests that arrive while a model
call for the same version is running and scores them together in the next
call, off the event loop. Under light load a request goes straight through
(a batch of one); under load batches grow by themselves, with no timer and
no added latency.

A batch in which the model fails is scored again request by request, so one
bad request cannot push the others onto the heuristic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from riskops.scenarios.base import Scenario
from riskops.serving.routing import Route
from riskops.serving.scoring import Scored, score_rows

#: Rows scored in one model call at most.
MAX_BATCH_ROWS = 256

_Pending = tuple[Sequence[dict[str, Any]], "asyncio.Future[list[Scored]]"]


class MicroBatcher:
    """Per served version, a queue of waiting requests and at most one model call in flight."""

    def __init__(self, *, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.max_rows = max_rows
        self._pending: dict[tuple[Any, ...], list[_Pending]] = {}
        self._draining: set[tuple[Any, ...]] = set()
        self.calls = 0
        self.rows = 0

    async def score(self, scenario: Scenario, route: Route,
                    rows: Sequence[dict[str, Any]]) -> list[Scored]:
        """Score ``rows`` on ``route``; the heuristic path runs inline (it is cheap)."""
        if route.served is None:
            return score_rows(scenario, route, rows)
        served = route.served
        key = (scenario.name, served.model, served.version, served.loaded.sha256,
               served.threshold)
        future: asyncio.Future[list[Scored]] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((rows, future))
        if key not in self._draining:
            self._draining.add(key)
            asyncio.get_running_loop().create_task(self._drain(key, scenario, route))
        return await future

    async def _drain(self, key: tuple[Any, ...], scenario: Scenario, route: Route) -> None:
        try:
            while self._pending.get(key):
                batch = self._take(key)
                if not batch:
                    continue
                try:
                    results = await asyncio.to_thread(_score_batch, scenario, route, batch)
                except Exception as exc:  # a bug in scoring itself: fail these requests
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.calls += 1
                self.rows += sum(len(rows) for rows, _ in batch)
                for (_, future), scored in zip(batch, results, strict=True):
                    if not future.done():  # a timed-out request has given up already
                        future.set_result(scored)
        finally:
            self._draining.discard(key)
            if not self._pending.get(key):
                self._pending.pop(key, None)

    def _take(self, key: tuple[Any, ...]) -> list[_Pending]:
        queue = self._pending[key]
        taken: list[_Pending] = []
        count = 0
        while queue and (not taken or count + len(queue[0][0]) <= self.max_rows):
            rows, future = queue.pop(0)
            if future.done():
                continue
            taken.append((rows, future))
            count += len(rows)
        return taken


def _score_batch(scenario: Scenario, route: Route,
                 batch: list[_Pending]) -> list[list[Scored]]:
    """Score every request of ``batch`` in one model call; split the results back."""
    if len(batch) == 1:
        return [score_rows(scenario, route, batch[0][0])]
    rows = [row for request_rows, _ in batch for row in request_rows]
    scored = score_rows(scenario, route, rows)
    if any(s.model_error is not None for s in scored):
        return [score_rows(scenario, route, request_rows) for request_rows, _ in batch]
    out, start = [], 0
    for request_rows, _ in batch:
        out.append(scored[start:start + len(request_rows)])
        start += len(request_rows)
    return out

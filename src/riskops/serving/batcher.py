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
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from riskops.scenarios.base import Scenario
from riskops.serving.routing import Route
from riskops.serving.scoring import Scored, score_rows

#: Rows scored in one model call at most.
MAX_BATCH_ROWS = 256
#: Longest a model call waits for requests that are already being read and validated.
GATHER_SECONDS = 0.002

_Pending = tuple[Sequence[dict[str, Any]], "asyncio.Future[list[Scored]]"]


class MicroBatcher:
    """Per served version, a queue of waiting requests and at most one model call in flight."""

    def __init__(self, *, max_rows: int = MAX_BATCH_ROWS,
                 gather_seconds: float = GATHER_SECONDS, model_threads: int | None = None) -> None:
        self.max_rows = max_rows
        self.gather_seconds = gather_seconds
        self.model_threads = model_threads
        self._executor: ThreadPoolExecutor | None = None
        #: Scoring requests being read and validated, not yet queued here (``arriving``).
        self.arriving = 0
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

    def _model_executor(self) -> ThreadPoolExecutor:
        """The one thread model calls run on, its native pools limited to ``model_threads``.

        OpenMP's thread count is per calling thread, so the limit is set inside it.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="riskops-model",
                initializer=_limit_native_threads, initargs=(self.model_threads,))
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=False)
            self._executor = None

    def arrive(self) -> None:
        """A scoring request started; a model call about to run may wait for it."""
        self.arriving += 1

    def settle(self) -> None:
        """That request was queued here, or failed before it got here."""
        self.arriving = max(0, self.arriving - 1)

    async def _gather(self) -> None:
        """Let requests already on their way (``arriving``) join the next call, briefly.

        Only concurrency makes it wait: with nothing arriving the call starts at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.gather_seconds
        while self.arriving > 0 and loop.time() < deadline:
            await asyncio.sleep(0)

    async def _drain(self, key: tuple[Any, ...], scenario: Scenario, route: Route) -> None:
        try:
            while self._pending.get(key):
                await self._gather()
                batch = self._take(key)
                if not batch:
                    continue
                try:
                    results = await asyncio.get_running_loop().run_in_executor(
                        self._model_executor(), _score_batch, scenario, route, batch)
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


def _limit_native_threads(threads: int | None) -> None:
    if threads is not None:
        from threadpoolctl import threadpool_limits

        # Kept alive for the thread's lifetime: the limit is undone when it is collected.
        threading.current_thread().riskops_limits = threadpool_limits(  # type: ignore[attr-defined]
            limits=threads)


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


ARRIVED = "riskops_arrived"


class ArrivalMiddleware:
    """Counts scoring requests from the moment they reach the app (``MicroBatcher.arrive``).

    The endpoint settles the count once the request is validated and queued
    (``settle_arrival``); whatever ends the request first (an auth or validation
    error, a disconnect) settles it here instead.
    """

    def __init__(self, app: ASGIApp, *, batcher: MicroBatcher) -> None:
        self.app = app
        self.batcher = batcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope.get("method") != "POST" or not _is_scoring(path):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[ARRIVED] = True
        self.batcher.arrive()
        try:
            await self.app(scope, receive, send)
        finally:
            if state.pop(ARRIVED, False):
                self.batcher.settle()


def settle_arrival(scope: Scope, batcher: MicroBatcher) -> None:
    """Called by the endpoint when its request is about to queue for the model."""
    if scope.get("state", {}).pop(ARRIVED, False):
        batcher.settle()


def _is_scoring(path: str) -> bool:
    return path.startswith(("/risk", "/plan/")) or (
        path.startswith("/v2/models/") and path.endswith("/infer"))

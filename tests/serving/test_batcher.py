"""Micro-batching: shared model calls under concurrency, identical answers, fault isolation."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from riskops.scenarios import get_scenario
from riskops.serving.batcher import MicroBatcher
from riskops.serving.pool import ServedVersion
from riskops.serving.routing import Route
from riskops.serving.scoring import score_rows

FRAUD = get_scenario("fraud")


class CountingModel:
    """Score = amount / 1000 (clipped); raises for amount == 666; counts its calls."""

    classes_ = np.array(["0", "1"])

    def __init__(self, delay: float = 0.02) -> None:
        self.calls: list[int] = []
        self.delay = delay
        self.lock = threading.Lock()

    def predict_proba(self, frame):
        with self.lock:
            self.calls.append(len(frame))
        time.sleep(self.delay)  # long enough for other requests to queue up
        amount = frame["amount"].to_numpy(dtype=float)
        if (amount == 666).any():
            raise ValueError("poison row")
        p = np.clip(amount / 1000, 0, 1)
        return np.column_stack([1 - p, p])


def _route(model: CountingModel) -> Route:
    loaded = SimpleNamespace(model="fraud", version=1, sha256="a" * 64, estimator=model)
    return Route(ServedVersion(loaded, 0.5), "production")  # type: ignore[arg-type]


def _row(amount: float) -> dict:
    return {"amount": amount, "hour_of_day": 3, "account_age_days": 40, "txn_count_24h": 1,
            "distance_from_home_km": 2.0, "failed_auth_7d": 0, "card_present": "yes",
            "channel": "pos", "new_device": "no"}


async def _many(batcher: MicroBatcher, route: Route, amounts: list[float]):
    return await asyncio.gather(*(batcher.score(FRAUD, route, [_row(a)]) for a in amounts))


def test_concurrent_requests_share_model_calls_and_get_their_own_scores():
    model = CountingModel()
    route = _route(model)
    batcher = MicroBatcher()
    amounts = [float(10 * i) for i in range(40)]
    results = asyncio.run(_many(batcher, route, amounts))
    assert [r[0].score for r in results] == pytest.approx([a / 1000 for a in amounts])
    assert all(r[0].method == "ml" for r in results)
    assert sum(model.calls) == 40 and len(model.calls) < 40  # batched
    # Identical to scoring each row alone.
    alone = [score_rows(FRAUD, route, [_row(a)])[0] for a in amounts]
    assert [r[0] for r in results] == alone


def test_a_failing_request_does_not_push_its_batch_onto_the_heuristic():
    route = _route(CountingModel())
    amounts = [100.0, 666.0, 300.0, 400.0, 500.0]
    results = asyncio.run(_many(MicroBatcher(), route, amounts))
    methods = [r[0].method for r in results]
    assert methods[1] == "heuristic" and "ValueError" in results[1][0].reasons[-1]
    assert [m for i, m in enumerate(methods) if i != 1] == ["ml"] * 4


def test_max_rows_bounds_one_call_and_batch_requests_stay_whole():
    model = CountingModel()
    route = _route(model)
    batcher = MicroBatcher(max_rows=5)

    async def run():
        return await asyncio.gather(
            batcher.score(FRAUD, route, [_row(1.0)]),
            *(batcher.score(FRAUD, route, [_row(float(i)) for i in range(3)])
              for _ in range(4)))

    results = asyncio.run(run())
    assert [len(r) for r in results] == [1, 3, 3, 3, 3]
    assert max(model.calls) <= 5 and sum(model.calls) == 13


def test_a_lone_request_is_scored_at_once_without_waiting():
    model = CountingModel(delay=0.0)
    started = time.perf_counter()
    asyncio.run(MicroBatcher().score(FRAUD, _route(model), [_row(5.0)]))
    assert model.calls == [1] and time.perf_counter() - started < 1.0


def test_heuristic_routes_do_not_queue():
    results = asyncio.run(MicroBatcher().score(FRAUD, Route(None, "disabled"), [_row(900.0)]))
    assert results[0].method == "heuristic"


def test_a_cancelled_request_is_skipped():
    model = CountingModel(delay=0.05)
    route = _route(model)
    batcher = MicroBatcher()

    async def run():
        first = asyncio.ensure_future(batcher.score(FRAUD, route, [_row(1.0)]))
        await asyncio.sleep(0.01)  # the first call is running; these two queue behind it
        doomed = asyncio.ensure_future(batcher.score(FRAUD, route, [_row(2.0)]))
        kept = asyncio.ensure_future(batcher.score(FRAUD, route, [_row(3.0)]))
        await asyncio.sleep(0)
        doomed.cancel()
        return await first, await kept

    first, kept = asyncio.run(run())
    assert first[0].score == pytest.approx(0.001) and kept[0].score == pytest.approx(0.003)
    assert sum(model.calls) == 2

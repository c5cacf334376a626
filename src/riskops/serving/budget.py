"""The inference error budget: how much model failure a scenario may still spend.

The service level is that at most ``allowed_error_rate`` of the requests
routed to a model fall back to the heuristic because the model failed. Over
a trailing window, ``remaining = 1 - failures / (allowed_error_rate * total)``,
clipped to [0, 1]: 1.0 is an untouched budget, 0.0 a spent one (the DESIGN
rollback trigger fires under 5% for 15 minutes). Counts are kept per minute,
per process; ``ml_inference_error_budget_remaining`` exports them.
"""

from __future__ import annotations

import threading
import time
from collections import deque

DEFAULT_ALLOWED_ERROR_RATE = 0.01
DEFAULT_WINDOW_SECONDS = 3600


def budget_remaining(total: int, failed: int, allowed_error_rate: float) -> float:
    """Share of the error budget left after ``failed`` of ``total`` requests failed."""
    if total <= 0:
        return 1.0
    allowed = allowed_error_rate * total
    return max(0.0, min(1.0, 1.0 - failed / allowed))


class ErrorBudget:
    """Per-scenario trailing counts of model-routed requests and model failures."""

    def __init__(self, *, allowed_error_rate: float = DEFAULT_ALLOWED_ERROR_RATE,
                 window_seconds: int = DEFAULT_WINDOW_SECONDS) -> None:
        self.allowed_error_rate = allowed_error_rate
        self._window = window_seconds
        self._minutes: dict[str, deque[list[int]]] = {}
        self._lock = threading.Lock()

    def record(self, scenario: str, *, total: int, failed: int,
               now: float | None = None) -> float:
        minute = int((time.time() if now is None else now) // 60)
        with self._lock:
            buckets = self._minutes.setdefault(scenario, deque())
            if buckets and buckets[-1][0] == minute:
                buckets[-1][1] += total
                buckets[-1][2] += failed
            else:
                buckets.append([minute, total, failed])
            return self._remaining(scenario, minute)

    def _remaining(self, scenario: str, minute: int) -> float:
        buckets = self._minutes.get(scenario, deque())
        oldest = minute - self._window // 60
        while buckets and buckets[0][0] <= oldest:
            buckets.popleft()
        total = sum(b[1] for b in buckets)
        failed = sum(b[2] for b in buckets)
        return budget_remaining(total, failed, self.allowed_error_rate)

    def remaining_all(self, now: float | None = None) -> dict[str, float]:
        minute = int((time.time() if now is None else now) // 60)
        with self._lock:
            return {name: self._remaining(name, minute) for name in self._minutes}

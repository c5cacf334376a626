"""Service-level maths: error budgets and burn rates. Pure functions, no I/O.

An objective says which share of model-routed requests must be good (answered
by the model itself, or answered under the latency objective). Over a window
with ``total`` requests of which ``bad`` were not good:

- the error budget is ``(1 - objective) * total`` bad requests;
- ``budget_remaining = 1 - bad / budget``, clipped to [0, 1] (1.0 untouched,
  0.0 spent; a window without requests has spent nothing);
- the burn rate is ``(bad / total) / (1 - objective)``: 1.0 spends exactly the
  budget over the window, 14.4 spends 2% of a 30-day budget in one hour.

Multi-window burn-rate alerts (Google SRE workbook, "Alerting on SLOs"): an
alert fires when both its long and its short window burn at or above its rate,
so it fires fast on a real burn and stops soon after the burn stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class BurnWindow:
    """One burn-rate alert: both windows at or above ``rate`` fire it."""

    name: str  # fast | slow
    long: timedelta
    short: timedelta
    rate: float


def burn_windows(fast_rate: float = 14.4, slow_rate: float = 6.0) -> tuple[BurnWindow, ...]:
    """The design's two alerts: page on a fast burn, ticket on a slow one."""
    return (BurnWindow("fast", timedelta(hours=1), timedelta(minutes=5), fast_rate),
            BurnWindow("slow", timedelta(hours=6), timedelta(minutes=30), slow_rate))


def budget_remaining(bad: int, total: int, objective: float) -> float:
    """Share of the error budget left after ``bad`` of ``total`` requests missed ``objective``.

    >>> budget_remaining(5, 1000, 0.99)    # half of the 10 allowed
    0.5
    >>> budget_remaining(0, 0, 0.99)
    1.0
    """
    _check(bad, total, objective)
    if total == 0:
        return 1.0
    allowed = allowed_error_rate(objective) * total
    return max(0.0, min(1.0, 1.0 - bad / allowed))


def burn_rate(bad: int, total: int, objective: float) -> float:
    """How many times faster than the objective allows the budget is spent.

    >>> round(burn_rate(144, 1000, 0.99), 6)
    14.4
    >>> burn_rate(0, 0, 0.99)
    0.0
    """
    _check(bad, total, objective)
    if total == 0:
        return 0.0
    return bad / (total * allowed_error_rate(objective))


def allowed_error_rate(objective: float) -> float:
    """``1 - objective``, rounded to 12 decimals so 0.99 allows exactly 0.01 (binary floating
    point gives 0.010000000000000009, and 144 of 1000 failures would burn under 14.4).

    >>> allowed_error_rate(0.99)
    0.01
    """
    return round(1.0 - objective, 12)


#: Burn rates within this relative distance under a threshold count as reaching it:
#: they are the threshold, up to floating-point rounding.
RATE_TOLERANCE = 1e-9


def alert_fires(long_rate: float, short_rate: float, threshold: float) -> bool:
    """A multi-window alert fires when both windows burn at or above ``threshold``."""
    floor = threshold * (1.0 - RATE_TOLERANCE)
    return long_rate >= floor and short_rate >= floor


def _check(bad: int, total: int, objective: float) -> None:
    if total < 0 or bad < 0 or bad > total:
        raise ValueError(f"need 0 <= bad <= total, got bad={bad}, total={total}")
    if not 0.0 < objective < 1.0:
        raise ValueError(f"an objective is a share strictly between 0 and 1, got {objective}")

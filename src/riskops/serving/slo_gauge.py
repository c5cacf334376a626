"""``ml_inference_error_budget_remaining`` read from the inference log at scrape time.

The gauge is the value ``riskops slo status`` shows: computed in SQL over the
shared inference log (``governance.slo_status``), so every worker and replica
exports the same number, whichever one Prometheus scrapes. A burst of scrapes
within ``min_interval`` seconds reuses the last computation unless this
process logged predictions since (``changed``); a database that cannot be read
leaves the last values in place and logs why.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from riskops import metrics
from riskops.config import Workspace

log = logging.getLogger("riskops.serving")


class SloGauge:
    """Refreshes the error-budget gauge of every scenario from the inference log."""

    def __init__(self, ws: Workspace, *, min_interval: float = 1.0) -> None:
        self.ws = ws
        self.min_interval = min_interval
        self._last = float("-inf")
        self._changed = True
        self._lock = threading.Lock()

    def changed(self) -> None:
        """This process committed predictions: the next scrape recomputes."""
        self._changed = True

    def refresh(self) -> None:
        """Recompute the gauge unless it was computed under ``min_interval`` seconds ago."""
        from riskops.governance.slo_status import slo_status

        with self._lock:
            if not self._changed and time.monotonic() - self._last < self.min_interval:
                return
            self._changed = False
            try:
                status = slo_status(self.ws, now=datetime.now(UTC))
            except Exception as exc:  # a scrape never fails for the budget; say why
                log.warning("error budget not refreshed from the inference log: %s", exc)
                self._changed = True
                return
            for item in status:
                metrics.ERROR_BUDGET_REMAINING.labels(item.scenario).set(item.budget_remaining)
            self._last = time.monotonic()

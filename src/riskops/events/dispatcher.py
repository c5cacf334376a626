"""Delivers outbox events to sinks: at least once, in order per subject and sink.

One pass of :meth:`Dispatcher.run_once`:

1. select due deliveries (``pending``, ``next_attempt_at <= now``) that head
   their (sink, subject) queue: no earlier event of the same subject to the
   same sink is still ``pending`` or ``failed``;
2. claim them with a conditional UPDATE that pushes ``next_attempt_at`` a
   lease into the future and counts the attempt, so another dispatcher (other
   workers, the scheduler) skips them;
3. send each, then mark it ``delivered``, schedule a retry with exponential
   backoff and full jitter, or dead-letter it (``failed``) after
   ``max_attempts``.

A dispatcher that dies mid-send leaves its claims to expire after the lease;
they are then sent again (at least once; consumers de-duplicate on the id).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from riskops.config import Workspace
from riskops.errors import DeliveryFailed, PermanentFailure
from riskops.events.settings import EventSettings, load_settings
from riskops.events.sink_factory import build_sinks
from riskops.events.sinks import Sink
from riskops.storage import deliveries
from riskops.storage.db import DatabaseError

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000


@dataclass
class DispatchResult:
    """What one :meth:`Dispatcher.run_once` did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.failed

    def as_dict(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retried": self.retried, "failed": self.failed}


@dataclass(frozen=True)
class _Claim:
    id: int
    sink: str
    attempts: int
    envelope: str


def backoff_seconds(attempts: int, *, base: float, cap: float,
                    rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempts-1))].

    >>> backoff_seconds(3, base=2, cap=300, rng=random.Random(0)) <= 8
    True
    """
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(0.0, ceiling)


class Dispatcher:
    """Delivers due outbox deliveries to ``sinks`` (default: ``[events] sinks``).

    ``sinks`` maps sink names to objects with ``send(envelope, body)`` and
    ``close()``; only deliveries for those names are handled. ``clock``
    returns the current aware UTC datetime (tests move it forward).
    """

    def __init__(
        self, ws: Workspace, *, sinks: Mapping[str, Sink] | Iterable[Sink] | None = None,
        clock: Callable[[], datetime] | None = None, rng: random.Random | None = None,
    ) -> None:
        self.ws = ws
        self.settings: EventSettings = load_settings(ws)
        if sinks is None:
            self.sinks = build_sinks(self.settings)
        elif isinstance(sinks, Mapping):
            self.sinks = dict(sinks)
        else:
            self.sinks = {sink.name: sink for sink in sinks}
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.url = ws.database_url

    def run_once(self, *, limit: int = 500) -> DispatchResult:
        """Deliver up to ``limit`` due deliveries; each is tried at most once per call."""
        result = DispatchResult()
        tried: set[int] = set()
        while result.attempted < limit and self.sinks:
            claims = self._claim(min(limit - result.attempted, self._claim_size()), tried)
            if not claims:
                break
            for claim in claims:
                tried.add(claim.id)
                self._deliver(claim, result)
        return result

    def run_forever(self, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, sleeping ``interval`` seconds when idle.

        Database or sink trouble is logged and retried; it never ends the loop.
        """
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once().attempted > 0
                except DatabaseError as exc:
                    log.warning("event dispatch paused: database error: %s",
                                " ".join(str(exc).split())[:300])
                    busy = False
                except Exception:
                    log.exception("event dispatch pass failed; retrying in %.1fs", interval)
                    busy = False
                if not busy:
                    stop.wait(interval)
        finally:
            self.close()

    def _claim_size(self) -> int:
        """Claims taken at once: few enough to all be sent before their lease runs out,
        even if every send waits for its full timeout."""
        grafana = self.settings.grafana
        slowest = max(self.settings.webhook_timeout_seconds, self.settings.amqp_timeout_seconds,
                      grafana.timeout_seconds if grafana is not None else 0.0)
        return max(1, int(self.settings.lease_seconds // (2 * max(slowest, 0.1))))

    def close(self) -> None:
        for sink in self.sinks.values():
            try:
                sink.close()
            except Exception:
                log.warning("closing event sink %s failed", sink.name, exc_info=True)

    # --- steps -----------------------------------------------------------------------

    def _claim(self, limit: int, tried: set[int]) -> list[_Claim]:
        now = self.clock()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        due = deliveries.due_deliveries(self.url, sinks=sorted(self.sinks), now=now,
                                        limit=limit + len(tried))
        rows = [r for r in due if r.id not in tried][:limit]
        if not rows:
            return []
        # (event_seq, sink) order on every dispatcher: no lock cycles.
        won = set(deliveries.claim_deliveries(self.url, [r.id for r in rows], now=now,
                                              lease_until=lease_until))
        return [_Claim(r.id, r.sink, r.attempts + 1, r.envelope) for r in rows if r.id in won]

    def _deliver(self, claim: _Claim, result: DispatchResult) -> None:
        sink = self.sinks[claim.sink]
        try:
            sink.send(json.loads(claim.envelope), claim.envelope)
        except DeliveryFailed as exc:
            error = str(exc)[:MAX_ERROR_CHARS]
            permanent = isinstance(exc, PermanentFailure)
        except Exception as exc:  # a sink bug must not stop the others
            log.exception("event sink %s raised unexpectedly", claim.sink)
            error, permanent = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS], False
        else:
            self._record(claim, status="delivered", last_error=None,
                         delivered_at=self.clock())
            result.delivered += 1
            return
        if permanent or claim.attempts >= self.settings.max_attempts:
            why = "refused for good" if permanent else f"{claim.attempts} attempts"
            log.warning("event delivery %s to %s dead-lettered (%s): %s",
                        claim.id, claim.sink, why, error)
            self._record(claim, status="failed", last_error=error)
            result.failed += 1
            return
        delay = backoff_seconds(claim.attempts, base=self.settings.backoff_base_seconds,
                                cap=self.settings.backoff_max_seconds, rng=self.rng)
        self._record(claim, status="pending", last_error=error,
                     next_attempt_at=self.clock() + timedelta(seconds=delay))
        result.retried += 1

    def _record(self, claim: _Claim, *, status: str, last_error: str | None,
                delivered_at: datetime | None = None,
                next_attempt_at: datetime | None = None) -> None:
        # A no-op if the claim is no longer ours (its lease expired and another
        # dispatcher claimed the delivery again).
        deliveries.record_attempt(self.url, claim.id, attempts=claim.attempts, status=status,
                                  last_error=last_error, delivered_at=delivered_at,
                                  next_attempt_at=next_attempt_at)

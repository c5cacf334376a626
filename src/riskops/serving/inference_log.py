"""The inference log: every prediction committed durably before it is answered.

One writer thread drains a bounded queue and commits the records that arrived
together in one transaction (group commit), so thousands of single-row requests
a second cost a few hundred commits. A record's future resolves only after its
batch committed; if the commit fails, every future of that batch fails and the
server answers 503, never "ok". See docs/inference-log.md for the guarantee.

    log = InferenceLog(ws.database_url)
    log.start()
    await log.append(record)       # returns once the row is durable
    log.submit(record).result()    # the same from a thread
    log.close()                    # flushes what is queued
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from riskops.errors import (
    InferenceLogClosed,
    InferenceLogFull,
    InferenceLogWriteFailed,
)
from riskops.serving.records import PredictionRecord
from riskops.storage.predictions import SQLITE_SYNCHRONOUS, PredictionWriter, insert_predictions

log = logging.getLogger("riskops.serving.inference_log")

_Item = tuple[dict[str, Any], "Future[None]"]


def write_predictions(database_url: str, records: Iterable[PredictionRecord]) -> int:
    """Insert ``records`` in one transaction, without the queue; the number written.

    For backfills and tests. Raises the database's error when the transaction fails,
    in which case nothing was written.
    """
    return insert_predictions(database_url, [r.to_row() for r in records])


class InferenceLog:
    """Group-committing writer of :class:`PredictionRecord` rows.

    Parameters
    ----------
    database_url : str
        The riskops database (SQLite or PostgreSQL), already migrated.
    max_batch : int, default=512
        Most records committed in one transaction.
    max_delay : float, default=0.002
        Seconds an idle writer waits after the first record for more to join its
        batch; 0 commits at once.
    max_queue : int, default=16384
        Most records waiting for the database; beyond it ``submit`` raises
        :class:`InferenceLogFull` instead of letting memory and latency grow.
    sqlite_synchronous : {"FULL", "EXTRA", "NORMAL"}, default="FULL"
        ``PRAGMA synchronous`` of the writer's SQLite connection. FULL (and EXTRA)
        survive power loss; NORMAL survives a process crash but may lose the last
        commits on an OS crash or power cut.
    """

    def __init__(self, database_url: str, *, max_batch: int = 512, max_delay: float = 0.002,
                 max_queue: int = 16384, sqlite_synchronous: str = "FULL") -> None:
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive integer, got {max_batch!r}.")
        if not 0 <= max_delay <= 1:
            raise ValueError(f"max_delay must be between 0 and 1 second, got {max_delay!r}.")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < max_batch:
            raise ValueError(
                f"max_queue must be an integer of at least max_batch ({max_batch}), "
                f"got {max_queue!r}."
            )
        mode = sqlite_synchronous.upper()
        if mode not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"sqlite_synchronous {sqlite_synchronous!r} is not one of "
                f"{', '.join(SQLITE_SYNCHRONOUS)}."
            )
        self.database_url = database_url
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.max_queue = max_queue
        self.sqlite_synchronous = mode
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._closing = False
        self._writer = PredictionWriter(database_url, sqlite_synchronous=mode)
        self._committed = 0
        self._failed = 0
        self._batches = 0
        self._largest_batch = 0

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread; calling it again while running does nothing."""
        with self._cond:
            if self._closing:
                raise InferenceLogClosed("this inference log was closed; create a new one.")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="riskops-inference-log",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> bool:
        """Commit everything queued, then stop; True if all of it was written.

        Records still queued after ``timeout`` seconds (the database is stuck) fail
        with :class:`InferenceLogClosed`; a batch already being committed finishes
        or fails on its own.
        """
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            leftovers = list(self._queue)
            self._queue.clear()
        if leftovers:
            _fail(leftovers, InferenceLogClosed(
                f"the inference log closed with {len(leftovers)} records not yet written "
                f"(the database did not answer within {timeout:g} s); they were not recorded."))
        return not leftovers and (thread is None or not thread.is_alive())

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._closing

    def stats(self) -> dict[str, int]:
        """Counters since start: records committed and failed, batches, queue depth."""
        with self._cond:
            queued = len(self._queue)
        return {"committed": self._committed, "failed": self._failed,
                "batches": self._batches, "largest_batch": self._largest_batch,
                "queued": queued}

    # --- producers ---------------------------------------------------------------

    def submit(self, record: PredictionRecord) -> Future[None]:
        """Queue ``record``; the future resolves once it is committed (or fails).

        Raises
        ------
        InferenceLogFull
            If ``max_queue`` records are already waiting for the database.
        InferenceLogClosed
            If the log was not started or is closing.
        TypeError
            If the record's inputs or reasons cannot be encoded as JSON.
        """
        row = record.to_row()
        future: Future[None] = Future()
        with self._cond:
            if self._thread is None or self._closing:
                raise InferenceLogClosed(
                    "the inference log is not running (start() was not called, or close() "
                    f"was); prediction {record.id} was not recorded."
                )
            depth = len(self._queue)
            if depth >= self.max_queue:
                raise InferenceLogFull(
                    f"the inference log has {depth} predictions waiting for the database "
                    f"(limit max_queue={self.max_queue}); the database is not keeping up, "
                    f"so prediction {record.id} was not recorded. Retry shortly."
                )
            self._queue.append((row, future))
            # Wake an idle writer on the first record, a delaying one on a full batch.
            if depth == 0 or depth + 1 == self.max_batch:
                self._cond.notify()
        return future

    def submit_many(self, records: list[PredictionRecord]) -> list[Future[None]]:
        """Queue all of ``records`` or none (``InferenceLogFull`` if they do not all fit).

        A batch request then either has every prediction on its way to the
        database or none, never a committed prefix behind a 503.
        """
        rows = [record.to_row() for record in records]
        futures: list[Future[None]] = [Future() for _ in records]
        with self._cond:
            if self._thread is None or self._closing:
                raise InferenceLogClosed(
                    "the inference log is not running; the predictions were not recorded.")
            depth = len(self._queue)
            if depth + len(rows) > self.max_queue:
                raise InferenceLogFull(
                    f"the inference log has {depth} predictions waiting for the database "
                    f"(limit max_queue={self.max_queue}); the {len(rows)} predictions of "
                    "this request were not recorded. Retry shortly.")
            self._queue.extend(zip(rows, futures, strict=True))
            self._cond.notify()
        return futures

    async def append(self, record: PredictionRecord) -> None:
        """Queue ``record`` and return once it is committed; raises if it was not.

        Cancelling the caller before the writer took the record withdraws it; once
        taken it is committed regardless (a 503 may then leave a row behind).
        """
        await asyncio.wrap_future(self.submit(record))

    # --- the writer --------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                if batch:
                    self._write(batch)
        except BaseException as exc:  # a bug here must not leave futures hanging
            log.exception("inference log writer stopped")
            with self._cond:
                self._closing = True
                leftovers = list(self._queue)
                self._queue.clear()
            _fail(leftovers, InferenceLogClosed(
                f"the inference log writer stopped ({type(exc).__name__}: {exc}); "
                "the prediction was not recorded."))
        finally:
            self._disconnect()
            self._writer.close()

    def _next_batch(self) -> list[_Item] | None:
        """The next batch, [] if every record in it was cancelled, None when done."""
        with self._cond:
            waited = False
            while not self._queue and not self._closing:
                waited = True
                self._cond.wait()
            if not self._queue:
                return None
            if waited and self.max_delay > 0:
                # Records arriving while a commit ran are taken at once; an idle
                # writer gives the first record's neighbours max_delay to join it.
                deadline = time.monotonic() + self.max_delay
                while len(self._queue) < self.max_batch and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            count = min(len(self._queue), self.max_batch)
            taken = [self._queue.popleft() for _ in range(count)]
        # A future cancelled before now is dropped; from here on it cannot be cancelled.
        return [item for item in taken if item[1].set_running_or_notify_cancel()]

    def _write(self, batch: list[_Item]) -> None:
        try:
            self._writer.write([row for row, _ in batch])
        except Exception as exc:
            self._failed += len(batch)
            self._disconnect(invalidate=True)
            log.error("inference log: a batch of %d predictions did not commit: %s",
                      len(batch), _one_line(exc))
            _fail(batch, InferenceLogWriteFailed(
                f"the batch of {len(batch)} predictions holding this one did not commit to "
                f"the database ({type(exc).__name__}: {_one_line(exc)}); it was not recorded."))
            return
        self._committed += len(batch)
        self._batches += 1
        self._largest_batch = max(self._largest_batch, len(batch))
        for _, future in batch:
            future.set_result(None)

    def _disconnect(self, *, invalidate: bool = False) -> None:
        try:
            self._writer.disconnect(invalidate=invalidate)
        except Exception as exc:
            log.warning("inference log: closing the database connection failed: %s", exc)


def _fail(items: list[_Item], exc: Exception) -> None:
    for _, future in items:
        # Taken futures are running; queued ones may have been cancelled meanwhile.
        if future.running() or future.set_running_or_notify_cancel():
            future.set_exception(exc)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]

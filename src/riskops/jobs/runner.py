"""Run one job and record it: ``job_runs`` row, metrics, ``workflow.job.failed``.

A run is ``running`` from its start until the job function returns
(``succeeded``, its dict stored as the result) or raises (``failed``, the
exception as the error, and a ``workflow.job.failed`` event written in the
same transaction). ``KeyboardInterrupt`` and ``SystemExit`` are not caught:
the row stays ``running`` and the scheduler marks it failed on its next start.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, RiskopsError
from riskops.jobs import catalog
from riskops.jobs.settings import SchedulerSettings, load_scheduler_settings
from riskops.metrics import BATCH_JOB_DURATION, BATCH_JOB_FAILURES, BATCH_JOB_TRIGGERS
from riskops.storage import db, job_runs

log = logging.getLogger(__name__)

MAX_METADATA_BYTES = 64 * 1024
TRIGGERS = ("schedule", "manual", "message")
EVENT_SOURCE = "riskops/jobs"


@dataclass
class RunOutcome:
    """What happened to one run; ``status`` is ``succeeded``, ``failed`` or ``duplicate``."""

    job: str
    status: str
    trigger: str
    run_id: int | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    duration_seconds: float = 0.0
    scheduled_for: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job, "status": self.status, "trigger": self.trigger,
            "run_id": self.run_id, "error": self.error, "result": self.result,
            "duration_seconds": round(self.duration_seconds, 6),
            "scheduled_for": None if self.scheduled_for is None
            else self.scheduled_for.isoformat(),
            "metadata": self.metadata,
        }


def owner_id() -> str:
    """``host:pid`` of this process, as recorded in ``job_runs.owner``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_metadata(text: str | None, *, where: str = "--metadata") -> dict[str, Any]:
    """Parse job metadata given as JSON text; ``{}`` for ``None``.

    Raises
    ------
    InputError
        If the text is not JSON, not an object, holds NaN or infinity, or is
        larger than ``MAX_METADATA_BYTES``.
    """
    if text is None:
        return {}
    if len(text.encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES:
        raise InputError(f"{where} is larger than {MAX_METADATA_BYTES} bytes; pass a reference "
                         "(a path or an id) instead of the data itself.")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON: {exc.msg} at position {exc.pos}; "
                         "e.g. --metadata '{\"tenant\": \"acme\"}'.") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where} is not valid JSON: {exc}.") from None
    return check_metadata(value, where=where)


def check_metadata(value: object, *, where: str = "metadata") -> dict[str, Any]:
    """``value`` if it is a JSON object of at most ``MAX_METADATA_BYTES``, else InputError."""
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a JSON object, not {_json_kind(value)}; e.g. "
                         "{\"tenant\": \"acme\"}.")
    try:
        size = len(json.dumps(value, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"{where} is not strict JSON ({exc}).") from None
    if size > MAX_METADATA_BYTES:
        raise InputError(f"{where} is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}. "
                         "Pass a reference (a path or an id) instead of the data itself.")
    return value


def _json_kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def run_job(
    ws: Workspace, name: str, metadata: dict[str, Any] | None = None, *,
    trigger: str = "manual", trigger_id: str | None = None,
    settings: SchedulerSettings | None = None,
) -> RunOutcome:
    """Run job ``name`` in this process now and record the run.

    Returns a ``duplicate`` outcome without running anything when
    ``trigger_id`` already has a run.

    Raises
    ------
    InputError
        Unknown job (the message lists the known ones) or invalid metadata.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
    settings = settings or load_scheduler_settings(ws)
    spec = settings.spec(name)
    metadata = check_metadata({} if metadata is None else metadata)
    with db.write_transaction(ws.database_url) as session:
        run_id = job_runs.start_run(session, job=name, trigger=trigger, owner=owner_id(),
                                    now=datetime.now(UTC), metadata=metadata,
                                    trigger_id=trigger_id)
    if run_id is None:
        return RunOutcome(name, "duplicate", trigger, metadata=metadata)
    return execute(ws, spec, run_id, metadata, trigger=trigger)


def execute(
    ws: Workspace, spec: catalog.JobSpec, run_id: int, metadata: dict[str, Any], *,
    trigger: str, scheduled_for: datetime | None = None,
) -> RunOutcome:
    """Call the job of ``spec`` for the already recorded run ``run_id``; record the end."""
    BATCH_JOB_TRIGGERS.labels(batch_job=spec.name).inc()
    started = time.perf_counter()
    outcome = RunOutcome(spec.name, "succeeded", trigger, run_id=run_id,
                         scheduled_for=scheduled_for, metadata=metadata)
    try:
        func = catalog.load(spec)
        outcome.result = _result_dict(spec.name, func(ws, dict(metadata)))
    except Exception as exc:  # any failure of the job is recorded, never propagated
        # INFO: the caller reports the failure (CLI error line, worker warning).
        log.info("job %s (run %s) failed: %s", spec.name, run_id, describe(exc),
                 exc_info=log.isEnabledFor(logging.DEBUG))
        outcome.status, outcome.error = "failed", describe(exc)
    outcome.duration_seconds = time.perf_counter() - started
    BATCH_JOB_DURATION.labels(job_name=spec.name).observe(outcome.duration_seconds)
    record_end(ws, outcome)
    if spec.name != "events-dispatch":
        deliver_events(ws)
    return outcome


def deliver_events(ws: Workspace) -> None:
    """Deliver what the job put in the outbox now, so its alerts need not wait for the
    next ``events-dispatch`` run; what fails stays in the outbox for the retries."""
    try:
        from riskops.events.dispatcher import Dispatcher

        dispatcher = Dispatcher(ws)
        try:
            dispatcher.run_once()
        finally:
            dispatcher.close()
    except Exception as exc:  # delivery is retried later; the job's result stands
        log.warning("events of this job stay in the outbox for later delivery: %s",
                    describe(exc))


def record_end(ws: Workspace, outcome: RunOutcome) -> None:
    """Write the end of ``outcome``'s run and, if it failed, its ``workflow.job.failed``."""
    if outcome.run_id is None:
        raise ValueError("outcome has no run id to record")
    with db.write_transaction(ws.database_url) as session:
        job_runs.finish_run(session, outcome.run_id, status=outcome.status,
                            now=datetime.now(UTC), error=outcome.error, result=outcome.result)
        if outcome.status == "failed":
            emit_failed(session, ws, outcome)


def emit_failed(session: Any, ws: Workspace, outcome: RunOutcome) -> None:
    """Add ``workflow.job.failed`` for ``outcome`` to the caller's transaction, if it can.

    Counts the failed run in ``batch_job_failures_total`` either way, so the alert
    on it fires even when the event cannot be recorded.
    """
    BATCH_JOB_FAILURES.labels(job_name=outcome.job).inc()
    try:
        from riskops.events import emit
    except ImportError as exc:
        log.warning("workflow.job.failed for %s not recorded: %s", outcome.job, exc)
        return
    data = {"job": outcome.job, "error": outcome.error, "metadata": outcome.metadata,
            "runId": outcome.run_id, "trigger": outcome.trigger}
    try:
        emit(session, ws, type="workflow.job.failed", subject=outcome.job, data=data,
             source=EVENT_SOURCE)
    except (ValueError, RiskopsError) as exc:  # bad [events] config: the run is still recorded
        log.warning("workflow.job.failed for %s not recorded: %s", outcome.job, exc)


def describe(exc: BaseException) -> str:
    """One line naming an exception: ``Type: message`` (riskops errors: just the message)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, RiskopsError) and text:  # JobUnavailable is one too
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _result_dict(job: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"job {job} returned {type(value).__name__}; a job returns a dict "
                        "(or None)")
    # Round-trip so what is stored is what a reader gets back (dates become strings).
    return json.loads(json.dumps(value, default=str))  # type: ignore[no-any-return]

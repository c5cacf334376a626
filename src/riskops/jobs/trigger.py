"""`riskops jobs trigger`: hand a job to the workers, or run it here without a broker."""

from __future__ import annotations

import logging
from typing import Any

from riskops.config import Workspace
from riskops.errors import RiskopsError
from riskops.jobs import amqp
from riskops.jobs.runner import check_metadata, run_job
from riskops.jobs.settings import load_scheduler_settings, load_worker_settings

log = logging.getLogger(__name__)


def trigger_job(ws: Workspace, name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Publish a trigger for job ``name`` (broker configured) or run it in-process (none).

    With a broker, the trigger is first recorded as a ``workflow.job.trigger``
    event in the outbox, then published, persistent and confirmed, with the
    event's id as ``message_id``. When the outbox later delivers its own copy
    to the same exchange, the worker recognises the id and does not run the
    job twice.

    Returns ``{"mode": "queued", "trigger_id", ...}`` or ``{"mode": "in-process",
    "run": {...}}``.

    Raises
    ------
    InputError
        Unknown job, invalid metadata, or (``BrokerUnavailable``) the broker
        cannot be reached or refuses the message.
    """
    settings = load_scheduler_settings(ws)
    settings.spec(name)
    metadata = check_metadata({} if metadata is None else metadata)
    if not ws.amqp_url:
        outcome = run_job(ws, name, metadata, trigger="manual", settings=settings)
        return {"mode": "in-process", "job": name, "run": outcome.as_dict()}
    worker = load_worker_settings(ws)
    event_id = _record(ws, name, metadata)
    envelope = amqp.trigger_envelope(name, metadata, id=event_id)
    amqp.publish_trigger(ws.amqp_url, worker, envelope)
    return {"mode": "queued", "job": name, "trigger_id": envelope["id"],
            "exchange": worker.exchange, "routing_key": worker.routing_key,
            "queue": worker.queue, "recorded": event_id is not None}


def _record(ws: Workspace, name: str, metadata: dict[str, Any]) -> str | None:
    """The id of the ``workflow.job.trigger`` outbox event, or None if it cannot be written."""
    try:
        from riskops.events import emit_now

        return emit_now(ws, type=amqp.TRIGGER_TYPE, subject=name,
                        data={"job": name, "metadata": metadata}, source="riskops/jobs")
    except (ImportError, ValueError, RiskopsError) as exc:
        log.warning("the trigger of %s is not recorded as an event: %s", name, exc)
        return None

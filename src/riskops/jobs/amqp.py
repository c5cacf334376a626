"""RabbitMQ topology of job triggers and the publisher of trigger messages.

::

    riskops.events (topic, durable)
        └─ workflow.job.trigger ─▶ bi_batch_jobs (durable queue,
                                     x-dead-letter-exchange = bi_batch_jobs.dead)
    bi_batch_jobs.dead (fanout, durable) ─▶ bi_batch_jobs.dead (durable queue)

A trigger message is a CloudEvents envelope of type ``workflow.job.trigger``
whose ``data`` is ``{"job": ..., "metadata": {...}}``; ``message_id`` is the
envelope id. The worker also accepts a bare ``{"job": ..., "metadata": ...}``.
"""

from __future__ import annotations

import json
from typing import Any

import pika
import pika.exceptions

from riskops.errors import BrokerUnavailable, InputError
from riskops.jobs.settings import WorkerSettings

TRIGGER_TYPE = "workflow.job.trigger"
REASON_HEADER = "x-riskops-reason"
CLOUDEVENTS_JSON = "application/cloudevents+json"


def connect(url: str, *, timeout: float = 5.0, heartbeat: int | None = 60) -> Any:
    """A blocking connection to ``url``; BrokerUnavailable naming the host if it fails."""
    try:
        params = pika.URLParameters(url)
    except Exception as exc:  # pika raises assorted types for a malformed URL
        raise InputError(f"AMQP URL is malformed ({exc}); expected "
                         "amqp://user:password@host:5672/%2F.") from None
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = max(timeout, 30.0)
    params.connection_attempts = 1
    if heartbeat is not None:
        params.heartbeat = heartbeat
    try:
        return pika.BlockingConnection(params)
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerUnavailable(
            f"cannot reach the AMQP broker at {params.host}:{params.port}: {describe(exc)}; "
            "check RISKOPS_AMQP_URL or [amqp] url, or unset both to run jobs in-process."
        ) from None


def declare(channel: Any, settings: WorkerSettings) -> None:
    """Declare the exchanges, the queue, its dead-letter queue and the bindings (idempotent).

    Raises
    ------
    BrokerUnavailable
        If a queue or exchange exists with other arguments (PRECONDITION_FAILED).
    """
    try:
        channel.exchange_declare(exchange=settings.exchange, exchange_type="topic",
                                 durable=True)
        channel.exchange_declare(exchange=settings.dead_letter_exchange,
                                 exchange_type="fanout", durable=True)
        channel.queue_declare(queue=settings.dead_letter_queue, durable=True)
        channel.queue_bind(queue=settings.dead_letter_queue,
                           exchange=settings.dead_letter_exchange, routing_key="#")
        channel.queue_declare(queue=settings.queue, durable=True, arguments={
            "x-dead-letter-exchange": settings.dead_letter_exchange})
        channel.queue_bind(queue=settings.queue, exchange=settings.exchange,
                           routing_key=settings.routing_key)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise BrokerUnavailable(
            f"the broker refused the job queue topology ({exc.reply_code} {exc.reply_text}); "
            f"an exchange or queue named {settings.queue!r}, {settings.exchange!r} or "
            f"{settings.dead_letter_exchange!r} exists with other settings. Delete it, or "
            "choose other names in [worker] (queue, exchange, dead_letter_exchange)."
        ) from None


def trigger_envelope(job: str, metadata: dict[str, Any], *, id: str | None = None,
                     source: str = "riskops/jobs") -> dict[str, Any]:
    """The CloudEvents ``workflow.job.trigger`` envelope for ``job``."""
    from riskops.events.envelope import build_envelope

    return build_envelope(type=TRIGGER_TYPE, subject=job,
                          data={"job": job, "metadata": metadata}, source=source, id=id)


def publish_trigger(url: str, settings: WorkerSettings, envelope: dict[str, Any], *,
                    timeout: float = 5.0) -> None:
    """Publish ``envelope`` persistently to the trigger exchange; return once confirmed.

    Declares the topology first, so a trigger sent before any worker started
    waits in the durable queue instead of being dropped by the exchange.

    Raises
    ------
    BrokerUnavailable
        If the broker cannot be reached, nacks, or returns the message unroutable.
    """
    connection = connect(url, timeout=timeout)
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.confirm_delivery()
        channel.basic_publish(
            exchange=settings.exchange, routing_key=settings.routing_key,
            body=json.dumps(envelope, separators=(",", ":")).encode("utf-8"),
            properties=pika.BasicProperties(
                content_type=CLOUDEVENTS_JSON, content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent, message_id=envelope["id"],
                type=TRIGGER_TYPE, app_id="riskops"),
            mandatory=True,
        )
    except pika.exceptions.UnroutableError:
        raise BrokerUnavailable(f"the broker could not route the trigger (exchange "
                                f"{settings.exchange!r}, key {settings.routing_key!r}); no "
                                "queue is bound to it.") from None
    except pika.exceptions.NackError:
        raise BrokerUnavailable("the broker refused (nacked) the trigger message; check its "
                                "logs (disk or memory alarm?).") from None
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerUnavailable(f"publishing the trigger failed: {describe(exc)}.") from None
    finally:
        close_quietly(connection)


def close_quietly(connection: Any) -> None:
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except Exception:  # closing a broken connection: nothing left to save
        pass


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"

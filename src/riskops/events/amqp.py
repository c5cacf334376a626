"""The RabbitMQ sink: publish to a durable topic exchange with publisher confirms.

Routing key = event type (bind ``ml.model.#`` to get every model event);
``message_id`` = CloudEvents id (consumers de-duplicate on it); persistent
delivery; ``content_type`` ``application/cloudevents+json``. ``send`` returns
only after the broker confirmed the message.
"""

from __future__ import annotations

import logging
from typing import Any

import pika
import pika.exceptions

from riskops.errors import DeliveryFailed
from riskops.events.envelope import CLOUDEVENTS_JSON

log = logging.getLogger(__name__)


class AmqpSink:
    name = "amqp"

    def __init__(self, url: str, *, exchange: str = "riskops.events",
                 timeout: float = 5.0) -> None:
        self.url = url
        self.exchange = exchange
        self.timeout = timeout
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        pika_log = logging.getLogger("pika")
        if pika_log.level == logging.NOTSET:
            # pika logs every refused connection at ERROR with a traceback; the reason is
            # kept in the delivery's last_error instead (riskops events list).
            pika_log.setLevel(logging.CRITICAL)

    def send(self, envelope: dict[str, Any], body: str) -> None:
        reused = self._channel is not None
        try:
            self._publish(envelope, body)
        except pika.exceptions.NackError:
            raise DeliveryFailed(f"broker {self._where()} nacked the message "
                                 f"(exchange {self.exchange!r})") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            self.close()
            if not reused:
                raise DeliveryFailed(f"broker {self._where()}: {_describe(exc)}") from None
            # A long-idle connection may have been dropped; try once on a fresh one.
            try:
                self._publish(envelope, body)
            except (pika.exceptions.AMQPError, OSError) as again:
                self.close()
                raise DeliveryFailed(f"broker {self._where()}: {_describe(again)}") from None

    def _publish(self, envelope: dict[str, Any], body: str) -> None:
        channel = self._open()
        channel.basic_publish(
            exchange=self.exchange,
            routing_key=envelope["type"],
            body=body.encode("utf-8"),
            properties=pika.BasicProperties(
                content_type=CLOUDEVENTS_JSON,
                content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=envelope["id"],
                type=envelope["type"],
                app_id="riskops",
            ),
        )

    def _open(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        params = pika.URLParameters(self.url)
        params.socket_timeout = self.timeout
        params.stack_timeout = self.timeout
        params.blocked_connection_timeout = self.timeout
        params.connection_attempts = 1
        self._connection = pika.BlockingConnection(params)
        channel = self._connection.channel()
        channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing left to save
                log.debug("closing the AMQP connection failed", exc_info=True)

    def _where(self) -> str:
        params = pika.URLParameters(self.url)
        return f"{params.host}:{params.port}"


def _describe(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"

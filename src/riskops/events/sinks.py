"""Where events go: the sink protocol, its failures and the log sink.

A sink's ``send`` returns when the event is durably handed over and raises
:class:`DeliveryFailed` (retry later) or :class:`PermanentFailure` (retrying
cannot help; dead-letter now) otherwise. The webhook and AMQP sinks live in
their own modules; :mod:`riskops.events.sink_factory` builds the configured ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from riskops.errors import DeliveryFailed


class Sink(Protocol):
    """What the dispatcher needs from a sink."""

    name: str

    def send(self, envelope: dict[str, Any], body: str) -> None:
        """Deliver one event; ``body`` is the exact CloudEvents JSON of ``envelope``."""

    def close(self) -> None:
        """Release connections; ``send`` may be called again afterwards."""


class LogSink:
    """Appends each envelope as one JSON line to a file and fsyncs it.

    One ``write`` per line on an ``O_APPEND`` descriptor, so lines from several
    dispatchers never interleave.
    """

    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, envelope: dict[str, Any], body: str) -> None:
        line = (body.replace("\n", " ") + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
                if written != len(line):
                    raise DeliveryFailed(f"short write to {self.path} ({written} of "
                                         f"{len(line)} bytes)")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        pass


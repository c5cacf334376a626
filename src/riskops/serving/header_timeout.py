"""uvicorn's HTTP protocol with a deadline for the request head (slow-header clients).

uvicorn closes a kept-alive connection that stays idle for ``timeout_keep_alive``
after a response, but sets no deadline for the head of a request: a client that
connects and sends nothing, or half a header and then nothing, holds its
connection open for good. ``HeaderTimeoutProtocol`` closes a connection whose
request head (request line and headers) is not complete within
``header_timeout`` seconds of the connection being made, or of the first byte
of the next request on a kept-alive connection. The idle time between requests
stays governed by ``timeout_keep_alive``; the body, by ``body_timeout.py``.

It extends uvicorn's httptools protocol, the one uvicorn's ``auto`` picks
(``uvicorn[standard]`` installs httptools). Give uvicorn
``header_timeout_protocol(seconds)`` as ``http``::

    uvicorn.Config(app, http=header_timeout_protocol(10.0))

That is a ``functools.partial`` of this module's class, so it pickles into the
worker processes of ``--workers N``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("riskops.serving")


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that closes a connection whose request head is late."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            # The first bytes after a response: the next request's head begins.
            self._start_head_timer()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head_timer()  # a pipelined request begins while one is answered

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            logger.debug("closing a connection from %s: no complete request head within "
                         "%g s ([serving] header_timeout_seconds)", self.client,
                         self.header_timeout)
            self.transport.close()


def header_timeout_protocol(seconds: float) -> functools.partial[HeaderTimeoutProtocol]:
    """The ``http`` protocol for ``uvicorn.Config``: ``HeaderTimeoutProtocol`` closing
    connections whose request head takes longer than ``seconds``.

    Raises
    ------
    ValueError
        If ``seconds`` is not a positive number.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ValueError(f"header timeout must be a positive number of seconds, not "
                         f"{seconds!r}; set [serving] header_timeout_seconds.")
    return functools.partial(HeaderTimeoutProtocol, header_timeout=float(seconds))

"""Request body read timeout as pure ASGI middleware (slow-body clients).

The whole body of a request must arrive within ``seconds`` of the request
reaching the app (its head is read by then): each ``http.request`` message is
awaited with what is left of that budget. When it runs out first, the client
gets ``408 Request Timeout`` with ``Connection: close`` and a JSON ``detail``
(``error`` too on ``/v2/`` paths) if no response has started, and the app is
told the client is gone (``http.disconnect``); what it answers after that is
dropped. A request whose body has arrived is never touched, nor is any
``receive`` after the last chunk (waiting for a disconnect), nor a request the
app answers without reading its body.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_GONE: Message = {"type": "http.disconnect"}


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ValueError(f"body timeout must be a positive number of seconds, not "
                             f"{seconds!r}; set [serving] body_timeout_seconds.")
        self.app = app
        self.seconds = float(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        received = 0
        body_done = started = timed_out = answered = False

        async def timed_receive() -> Message:
            nonlocal received, body_done, timed_out, answered
            if timed_out:
                return _GONE
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not started:
                    answered = True
                    await _reject(send, scope, self._message(scope, received))
                return _GONE
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the client has its 408; the app answers a client that is gone
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, tracking_send)

    def _message(self, scope: Scope, received: int) -> str:
        declared = next((value for name, value in scope.get("headers", ())
                         if name == b"content-length"), b"")
        got = f"{received} of {int(declared)}" if declared.isdigit() else f"{received}"
        return (f"the request body did not arrive within {self.seconds:g} s ({got} bytes "
                "received); send the whole body without pausing, or ask the operator to raise "
                "[serving] body_timeout_seconds.")


async def _reject(send: Send, scope: Scope, detail: str) -> None:
    payload = {"error": detail, "detail": detail} if scope.get("path", "").startswith("/v2/") \
        else {"detail": detail}
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 408,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

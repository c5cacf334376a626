"""The body read timeout, on a tiny ASGI app with a client that sends chunks on a schedule."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from riskops.serving.body_timeout import BodyTimeoutMiddleware

FOREVER = 3600.0


def client(chunks: list[tuple[float, bytes]], *, then: float = FOREVER):
    """A ``receive`` that sends each chunk after its delay; after the last chunk it waits
    ``then`` seconds and reports a disconnect."""
    pending = list(chunks)

    async def receive():
        if pending:
            delay, body = pending.pop(0)
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        await asyncio.sleep(then)
        return {"type": "http.disconnect"}

    return receive


async def echo_length(scope, receive, send):
    """Answers with the length of the body it read, or 400 when the client went away."""
    try:
        body = await Request(scope, receive).body()
    except ClientDisconnect:
        response = JSONResponse({"detail": "client gone"}, status_code=400)
    else:
        response = JSONResponse({"length": len(body)})
    await response(scope, receive, send)


def run(app, receive, *, seconds: float, path: str = "/risk/fraud",
        headers: list[tuple[bytes, bytes]] | None = None) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers or []}
    asyncio.run(BodyTimeoutMiddleware(app, seconds=seconds)(scope, receive, send))
    return sent


def answer(sent: list[dict]) -> tuple[int, dict, dict]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), json.loads(body)


def test_a_body_that_arrives_in_time_is_untouched():
    sent = run(echo_length, client([(0.0, b"ab"), (0.05, b"cde")]), seconds=1.0)
    assert answer(sent)[0] == 200 and answer(sent)[2] == {"length": 5}


def test_a_stalled_body_gets_408_with_connection_close():
    sent = run(echo_length, client([(0.0, b"x" * 10), (FOREVER, b"never")]), seconds=0.2,
               headers=[(b"content-length", b"1000")])
    status, headers, body = answer(sent)
    assert status == 408 and headers[b"connection"] == b"close"
    assert body == {"detail": "the request body did not arrive within 0.2 s (10 of 1000 bytes "
                              "received); send the whole body without pausing, or ask the "
                              "operator to raise [serving] body_timeout_seconds."}
    # The app's own answer to the disconnect (400) never reaches the client.
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_the_budget_is_for_the_whole_body_not_each_chunk():
    chunks = [(0.0, b"a")] + [(0.08, b"b")] * 10  # each in time, all together 0.8 s
    status, _, body = answer(run(echo_length, client(chunks), seconds=0.3))
    assert status == 408 and "(4 bytes received)" in body["detail"]


def test_v2_paths_get_an_error_field_too():
    sent = run(echo_length, client([(FOREVER, b"")]), seconds=0.1, path="/v2/models/fraud/infer")
    status, _, body = answer(sent)
    assert status == 408 and body["error"] == body["detail"]


def test_receive_after_the_body_is_not_limited():
    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())  # the whole body
        seen.append(await receive())  # then wait for the client to go away, past the budget
        await JSONResponse({})(scope, receive, send)

    sent = run(app, client([(0.0, b"{}")], then=0.4), seconds=0.1)
    assert seen == [{"type": "http.request", "body": b"{}", "more_body": False},
                    {"type": "http.disconnect"}]
    assert answer(sent)[0] == 200


def test_a_request_the_app_answers_without_reading_is_untouched():
    async def app(scope, receive, send):
        await asyncio.sleep(0.3)  # past the budget, never reading the body
        await JSONResponse({"ok": True})(scope, receive, send)

    assert answer(run(app, client([(FOREVER, b"")]), seconds=0.1))[:1] == (200,)


def test_after_the_response_started_the_app_just_sees_a_disconnect():
    seen = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen.append(await receive())
        await send({"type": "http.response.body", "body": b"done"})

    sent = run(app, client([(FOREVER, b"")]), seconds=0.1)
    assert seen == [{"type": "http.disconnect"}]
    assert [m.get("status") for m in sent] == [200, None] and sent[1]["body"] == b"done"


@pytest.mark.parametrize("seconds", [0, -1.0, True, "10"])
def test_the_timeout_must_be_positive(seconds):
    with pytest.raises(ValueError, match="body timeout must be a positive number of seconds"):
        BodyTimeoutMiddleware(echo_length, seconds=seconds)

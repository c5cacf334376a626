"""Slow clients against a real ``riskops serve --workers 2``: stalled heads and bodies are cut.

One server for the module, with ``header_timeout_seconds`` and
``body_timeout_seconds`` at 1 s. Clients are raw sockets that send part of a
request and stall; the tests assert that the server closes them (the body ones
after a 408), that other clients are served meanwhile, and that keep-alive
still works. Timing is asserted only loosely: cut after the timeout, well
within ``CUT_WITHIN``.
"""

from __future__ import annotations

import json
import selectors
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_helpers import example_row, served_template, tokens  # noqa: F401  (fixtures)
from serving_helpers_process import Server, serve

from riskops.config import open_workspace

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32",
                                                   reason="process groups are POSIX")]

TIMEOUT = 1.0
CUT_WITHIN = 10.0  # generous: a stalled client is cut after TIMEOUT
KEEP_ALIVE = 5.0  # uvicorn's timeout_keep_alive, which riskops serve leaves as it is
HALF_HEAD = b"GET /health HTTP/1.1\r\nHost: riskops\r\nX-Slow: aaa"


@pytest.fixture(scope="module")
def server(served_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("slow")
    shutil.copytree(served_template, root / "served")
    ws = open_workspace(root / "served")
    with ws.config_path.open("a", encoding="utf-8") as config:
        config.write(f"\n[serving]\nheader_timeout_seconds = {TIMEOUT}\n"
                     f"body_timeout_seconds = {TIMEOUT}\n")
    with serve(open_workspace(ws.home), root, workers=2) as running:
        yield running


def connect(server: Server, data: bytes = b"") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=CUT_WITHIN)
    if data:
        sock.sendall(data)
    return sock


def stalled_body(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST {path} HTTP/1.1\r\nHost: riskops\r\n{auth}"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode() \
        + b'{"amount":'


def wait_closed(socks: list[socket.socket], within: float) -> list[tuple[float, bytes]]:
    """Read each socket until the server closes it; (seconds until closed, bytes read) each,
    in order. Fails if one is still open after ``within`` seconds."""
    started = time.monotonic()
    received = {s: b"" for s in socks}
    closed: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as selector:
        for s in socks:
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
        while len(closed) < len(socks):
            left = started + within - time.monotonic()
            if left <= 0:
                pytest.fail(f"{len(socks) - len(closed)} of {len(socks)} stalled connections "
                            f"still open after {within:g} s")
            for key, _ in selector.select(timeout=left):
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    chunk = b""
                received[s] += chunk
                if not chunk:
                    closed[s] = time.monotonic() - started
                    selector.unregister(s)
                    s.close()
    return [(closed[s], received[s]) for s in socks]


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, however the server splits it."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or pytest.fail(f"closed before a response: {data!r}")
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536) or pytest.fail(f"closed mid-body: {data!r}")
    return head + b"\r\n\r\n" + body


def score(server: Server, token: str) -> int:
    r = httpx.post(f"{server.url}/risk/fraud", json=example_row("fraud"), timeout=CUT_WITHIN,
                   headers={"Authorization": f"Bearer {token}"})
    return r.status_code


def test_a_connection_without_a_complete_head_is_closed(server, tokens):
    silent = [connect(server) for _ in range(3)]
    halves = [connect(server, HALF_HEAD) for _ in range(3)]
    assert score(server, tokens["scorer"]) == 200  # others are served meanwhile
    for seconds, data in wait_closed(silent + halves, CUT_WITHIN):
        assert data == b"" and seconds >= TIMEOUT / 2


def test_a_head_sent_in_pieces_within_the_timeout_is_served(server):
    sock = connect(server, HALF_HEAD[:20])
    time.sleep(TIMEOUT / 4)
    sock.sendall(HALF_HEAD[20:] + b"\r\nConnection: close\r\n\r\n")
    [(_, data)] = wait_closed([sock], CUT_WITHIN)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'{"status":"ok"}')


def test_a_stalled_body_gets_408_and_is_closed(server, tokens):
    socks = [connect(server, stalled_body(path, tokens["scorer"]))
             for path in ("/risk/fraud", "/v2/models/fraud/infer")]
    socks.append(connect(server, stalled_body("/feedback", tokens["reviewer"])))
    assert score(server, tokens["scorer"]) == 200
    for seconds, data in wait_closed(socks, CUT_WITHIN):
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 Request Timeout")
        assert b"connection: close" in head.lower()
        assert seconds >= TIMEOUT / 2
        detail = json.loads(body)["detail"]
        assert "did not arrive within 1 s (10 of 1000 bytes received)" in detail
        assert "body_timeout_seconds" in detail


def test_a_stalled_body_the_app_refuses_unread_is_closed_too(server):
    # No token: 401 before the body is read; the rest never comes, keep-alive ends it.
    [(_, data)] = wait_closed([connect(server, stalled_body("/risk/fraud", None))],
                              KEEP_ALIVE + CUT_WITHIN)
    assert data.startswith(b"HTTP/1.1 401 ")


def test_keep_alive_outlives_the_header_timeout_between_requests(server):
    request = b"GET /health HTTP/1.1\r\nHost: riskops\r\n\r\n"
    sock = connect(server, request)
    first = read_response(sock)
    time.sleep(TIMEOUT * 2)  # idle past the header timeout, within keep-alive
    sock.sendall(request)
    second = read_response(sock)
    assert first.startswith(b"HTTP/1.1 200 ") and second.startswith(b"HTTP/1.1 200 ")
    [(seconds, rest)] = wait_closed([sock], KEEP_ALIVE + CUT_WITHIN)  # then keep-alive ends it
    assert rest == b"" and seconds >= KEEP_ALIVE / 2


def test_two_hundred_stalled_connections_are_all_cut(server, tokens):
    token = tokens["scorer"]
    socks = []
    for i in range(200):
        socks.append(connect(server, HALF_HEAD if i % 2 else stalled_body("/risk/fraud", token)))
    assert score(server, token) == 200
    results = wait_closed(socks, CUT_WITHIN * 2)
    assert all(data == b"" for _, data in results[1::2])
    assert all(data.startswith(b"HTTP/1.1 408 ") for _, data in results[0::2])
    assert score(server, token) == 200

"""End to end, as a new user would: three critical feedback labels on predictions of the
production version, sent to a running server, roll it back by themselves.

The server (uvicorn on a free port, in this process) delivers its events to
RabbitMQ; the test reads them from a queue bound to the exchange. After the
third label the next response is answered by the previous version (once the
pool has read the new manifest), ``ml.model.rolled_back`` reaches the broker
with the trigger, the audit log verifies, promotions are refused (frozen) and
the incident is in ``riskops evidence``.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pika
import pytest
import uvicorn

from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.storage import db
from riskops.tokens import create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fraud v1 then v2 promoted (history [1, 2]); trained once per module."""
    root = tmp_path_factory.mktemp("rollback-e2e")
    ws = init_workspace(root / "template").workspace
    for seed in (1, 2):
        frame = get_scenario("fraud").generate(2000, start=date(2026, 1, 1), days=30,
                                               seed=seed)
        frame.to_parquet(root / f"fraud{seed}.parquet")
        train_scenario(ws, "fraud", root / f"fraud{seed}.parquet", actor="local:trainer")
        Registry(ws).promote("fraud", seed, actor="local:trainer", force=True)
    db.dispose_engines()
    return root / "template"


#: The running server of each URL, so a test can reach its app (to break its model).
_SERVERS: dict[str, uvicorn.Server] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def exchange(amqp_url: str, tmp_path: Path) -> Iterator[tuple[str, object, str]]:
    name = f"riskops.test.rollback.{abs(hash(str(tmp_path))):x}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)
    queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue=queue, exchange=name, routing_key="ml.model.#")
    try:
        yield name, channel, queue
    finally:
        channel.exchange_delete(name)
        connection.close()


@pytest.fixture
def running(two_versions: Path, tmp_path: Path, amqp_url: str, exchange,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workspace, str]]:
    from riskops.serving.app import create_app

    home = tmp_path / "ws"
    shutil.copytree(two_versions, home)
    with (home / "riskops.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[serving]\nmanifest_poll_seconds = 0.2\n\n[events]\nsinks = ["amqp"]\n'
                f'exchange = "{exchange[0]}"\namqp_timeout_seconds = 2\n')
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    monkeypatch.setenv("RISKOPS_AMQP_URL", amqp_url)
    ws = open_workspace(home)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _SERVERS[url] = server
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        pytest.fail("the server was not ready within 60 s")
    try:
        yield ws, url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        db.dispose_engines()


def _row(index: int) -> dict:
    s = get_scenario("fraud")
    frame = s.generate(index + 1, start=date(2026, 3, 1), days=1, seed=5)
    row = frame.iloc[index][s.schema.feature_names].to_dict()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _served_version(url: str, headers: dict[str, str], *, becomes: int,
                    seconds: float = 20.0) -> int | None:
    """The version answering ``/risk/fraud`` once it is ``becomes`` (replicas follow the new
    manifest within their poll interval), or the last one seen after ``seconds``."""
    deadline = time.monotonic() + seconds
    version = None
    while time.monotonic() < deadline:
        version = httpx.post(f"{url}/risk/fraud", json=_row(4), headers=headers,
                             timeout=30).json()["risk_model_version"]
        if version == becomes:
            break
        time.sleep(0.2)
    return version


def _messages(channel, queue: str, *, want: str, seconds: float = 20.0) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            if any(m["type"] == want for m in got):
                return got
            time.sleep(0.2)
            continue
        got.append(json.loads(body))
    return got


def test_three_critical_labels_roll_production_back_by_themselves(
        running: tuple[Workspace, str], exchange, cli, tmp_path: Path) -> None:
    ws, url = running
    _, channel, queue = exchange
    scorer = {"Authorization": f"Bearer {create_token(ws, name='s', role='scorer', actor='t')}"}
    reviewer = {"Authorization":
                f"Bearer {create_token(ws, name='r', role='reviewer', actor='t')}"}
    scored = [httpx.post(f"{url}/risk/fraud", json=_row(i), headers=scorer, timeout=30).json()
              for i in range(3)]
    assert [s["risk_model_version"] for s in scored] == [2, 2, 2]
    answers = []
    for i, s in enumerate(scored):
        response = httpx.post(f"{url}/feedback", headers=reviewer, timeout=60, json={
            "prediction_id": s["prediction_id"], "label": "legit", "override": True,
            "severity": "critical", "comment": f"customer {i} wrongly blocked"})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert "rollback" not in answers[0] and "rollback" not in answers[1]
    rollback = answers[2]["rollback"]
    assert rollback["status"] == "rolled-back" and (rollback["from"], rollback["to"]) == (2, 1)

    assert _served_version(url, scorer, becomes=1) == 1

    messages = _messages(channel, queue, want="ml.model.rolled_back")
    [event] = [m for m in messages if m["type"] == "ml.model.rolled_back"]
    assert (event["data"]["fromVersion"], event["data"]["toVersion"]) == (2, 1)
    assert event["data"]["rule"] == "critical-labels" and event["data"]["automatic"] is True
    assert event["data"]["numbers"]["critical_labels"] == 3

    assert cli("audit-log", "verify").code == 0
    admin = create_token(ws, name="a", role="admin", actor="t")
    refused = cli("promote", "fraud", "2", token=admin)
    assert refused.code == 1 and "fraud is frozen" in refused.err

    bundle = tmp_path / "evidence"
    made = cli("evidence", "fraud", "2", "--out", bundle, token=admin)
    assert made.code == 0, made.err
    incidents = json.loads((bundle / "incidents.json").read_text())
    [incident] = incidents["incidents"]
    assert incident["rule"] == "critical-labels"
    assert {f["prediction"]["id"] for f in incident["record"]["feedback"]} == {
        s["prediction_id"] for s in scored}
    checked = cli("evidence", "verify", bundle, "--json")
    assert checked.code == 0, checked.out
    chain = {c["name"]: c for c in checked.json()["checks"]}["audit chain"]
    assert chain["status"] == "ok" and "1 incidents, each tied to its rollback" in chain["detail"]


def test_a_stream_of_model_failures_rolls_production_back_after_the_configured_minutes(
        running: tuple[Workspace, str], exchange, cli) -> None:
    """The error-budget rule end to end, on the real clock with a short window: the
    served model fails, the budget (counted from the log) drops under 5%, and the
    slo-watch job run again after ``budget_minutes`` rolls production back."""
    ws, url = running
    _, channel, queue = exchange
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n[governance.rollback]\nbudget_minutes = 0.05\n")  # 3 seconds
    app = _SERVERS[url].config.app
    served = app.state.serving.pool.snapshot.slots["fraud"].production

    class Broken:
        classes_ = served.loaded.estimator.classes_

        def predict_proba(self, frame):
            raise RuntimeError("model fault")

        def scores(self, rows):
            raise RuntimeError("model fault")

    object.__setattr__(served.loaded, "estimator", Broken())
    object.__setattr__(served, "fast", Broken())  # the fast path fails too
    scorer = {"Authorization": f"Bearer {create_token(ws, name='s2', role='scorer', actor='t')}"}
    answers = httpx.post(f"{url}/risk/fraud", json=[_row(i) for i in range(20)],
                         headers=scorer, timeout=60).json()["items"]
    assert {a["risk_score_method"] for a in answers} == {"heuristic"}

    first = cli("jobs", "run", "slo-watch", "--json")
    assert first.code == 0, first.err
    [report] = first.json()["result"]["budget_rules"]
    assert report["budget_remaining"] == 0.0 and report["failed"] == 20
    assert report["under_since"] is not None and report["action"] is None
    time.sleep(3.2)
    second = cli("jobs", "run", "slo-watch", "--json")
    assert second.code == 0, second.err
    [report] = second.json()["result"]["budget_rules"]
    assert report["action"]["status"] == "rolled-back"
    assert (report["action"]["from"], report["action"]["to"]) == (2, 1)

    assert _served_version(url, scorer, becomes=1) == 1
    messages = _messages(channel, queue, want="ml.model.rolled_back")
    [event] = [m for m in messages if m["type"] == "ml.model.rolled_back"]
    assert event["data"]["rule"] == "error-budget" and event["data"]["automatic"] is True
    assert event["data"]["numbers"]["failed"] == 20
    assert cli("audit-log", "verify").code == 0

"""The retrain job end to end: a scheduled trigger on an eligible model leaves a candidate
with its reports and nothing promoted; once per firing; the lake's labels."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from gov_helpers import record_bias
from retrain_helpers import (  # noqa: F401  (fixtures)
    add_feedback,
    add_outcomes,
    add_predictions,
    configure,
    events_of,
    gov_template,
    gov_ws,
    live_ws,
    people,
)

from riskops.config import Workspace
from riskops.governance import retrain_job
from riskops.governance.retrain_triggers import evaluate_triggers
from riskops.jobs.cron import parse_schedule
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.storage import db, repository, rule_firings

CRON = "0 2 * * 2#2"


def _scheduled(ws: Workspace) -> tuple[Workspace, datetime]:
    """fraud retrained on data/fraud-*.parquet on the second Tuesday; the clock five
    minutes after the next such slot, with 25 fresh labels."""
    folder = ws.home / "data"
    folder.mkdir()
    scenario = get_scenario("fraud")
    for i, start in enumerate((date(2026, 1, 1), date(2026, 2, 1))):
        scenario.generate(900, start=start, days=28, seed=10 + i).to_parquet(
            folder / f"fraud-{i}.parquet")
    ws = configure(ws, f'[governance.retrain.models.fraud]\nschedule = "{CRON}"\n'
                       'data = "data/fraud-*.parquet"\n')
    slot = parse_schedule(CRON, job="t").next_after(datetime.now(UTC))
    now = slot + timedelta(minutes=5)
    ids = add_predictions(ws, now - timedelta(hours=2), 25)
    add_feedback(ws, ids, now - timedelta(hours=1))
    return ws, now


def _versions(ws: Workspace) -> list[int]:
    return [v["version"] for v in Registry(ws).show_model("fraud")["versions"]]


def test_scheduled_trigger_trains_a_candidate_and_promotes_nothing(live_ws: Workspace,
                                                                   cli) -> None:  # type: ignore[no-untyped-def]
    record_bias(live_ws, "fraud", 1, "pass")
    ws, now = _scheduled(live_ws)
    result = evaluate_triggers(ws, now=now, models=["fraud"])
    (fired,) = result["models"][0]["firings"]
    assert fired["rule"] == "schedule" and fired["status"] == "queued", fired
    assert fired["job"]["status"] == "succeeded", fired["job"]
    info = Registry(ws).show_model("fraud")
    assert _versions(ws) == [1, 2]
    assert info["stages"]["production"] == 1 and info["stages"]["canary"] is None
    # Its reports: the evaluation report with the comparison against production ...
    files = {a["path"].rsplit("/", 1)[-1] for a in info["versions"][1]["artifacts"]}
    assert {"evaluation-report.json", "reproducibility-report.json", "model.skops"} <= files
    report = json.loads((ws.store_dir / "models" / "fraud" / "2" /
                         "evaluation-report.json").read_text())
    assert report["comparison"]["status"] == "compared"
    assert report["comparison"]["production_version"] == 1
    # ... trained on both files of the glob (900 + 900 rows) ...
    job = fired["job"]["result"]
    assert job["data"]["source"] == "data/fraud-*.parquet" and len(job["data"]["files"]) == 2
    assert len(pd.read_parquet(job["data"]["path"])) == 1800
    # ... and its bias audit stored.
    with db.read_session(ws.database_url) as session:
        assert repository.latest_bias_audit(session, "fraud", 2) is not None
    (event,) = events_of(ws, "ml.retrain.triggered")
    assert event["eligible"] is True and event["rule"] == "schedule"
    assert event["evidence"]["slot"] == fired["evidence"]["slot"]
    firing = rule_firings.firing(ws.database_url, fired["key"])
    assert firing is not None and firing["status"] == "trained"
    assert firing["data"]["version"] == 2
    # A redelivered trigger, and a second evaluation of the same slot, train nothing more.
    again = retrain_job.run(ws, {"model": "fraud", "firing": fired["key"]})
    assert again["status"] == "duplicate"
    later = evaluate_triggers(ws, now=now + timedelta(minutes=15), models=["fraud"])
    assert [f["state"] for f in later["models"][0]["firings"]] == ["already-fired"]
    assert _versions(ws) == [1, 2]
    verified = cli("audit-log", "verify")
    assert verified.code == 0, verified.err
    actions = [e.action for e in repository_audit(ws)]
    assert "model.retrain.triggered" in actions and "model.retrain.completed" in actions


def repository_audit(ws: Workspace) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from riskops.storage.tables import AuditEntryRow

    with db.read_session(ws.database_url) as session:
        return list(session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)))


def test_ineligible_scheduled_trigger_says_why_and_trains_nothing(live_ws: Workspace) -> None:
    ws, now = _scheduled(live_ws)  # no bias audit of v1
    result = evaluate_triggers(ws, now=now, models=["fraud"])
    (fired,) = result["models"][0]["firings"]
    assert fired["status"] == "not-eligible" and fired["failed"] == ["bias"]
    (event,) = events_of(ws, "ml.retrain.triggered")
    assert event["eligible"] is False and event["failed"] == ["bias"]
    bias = next(c for c in event["conditions"] if c["name"] == "bias")
    assert bias["passed"] is False and "no bias audit" in bias["detail"]
    assert _versions(ws) == [1]
    entries = [e for e in repository_audit(ws) if e.action == "model.retrain.triggered"]
    assert len(entries) == 1 and json.loads(entries[0].data)["outcome"] == "not-eligible"


def test_lake_rows_take_feedback_over_outcomes_and_count_the_unlabelled(
        live_ws: Workspace) -> None:
    now = datetime(2026, 9, 8, 12, tzinfo=UTC)
    frame = get_scenario("fraud").generate(12, start=date(2026, 9, 1), days=5, seed=3)
    features = [c for c in frame.columns if c not in ("id", "timestamp", "tenant_id", "label")]
    inputs = frame[features].to_dict("records")
    ids = add_predictions(live_ws, now - timedelta(days=1), 12, inputs=inputs)
    old = add_predictions(live_ws, now - timedelta(days=100), 2)  # outside 90 days
    add_outcomes(live_ws, ids[:8] + old, now, label="0")
    add_feedback(live_ws, ids[:3], now, label="1")  # overrides the outcome
    add_feedback(live_ws, ids[8:10], now, label="1")  # feedback only
    add_feedback(live_ws, ids[10:], now, label=None)  # a comment is not a label
    out = live_ws.home / "lake.parquet"
    path, info = retrain_job.lake_file(live_ws, get_scenario("fraud"),
                                       since=now - timedelta(days=90), until=now, out=out)
    table = pd.read_parquet(path).set_index("id")
    assert info["rows"] == 10 and info["unlabelled"] == 2
    assert info["labels_from"] == {"feedback": 5, "outcome": 5}
    expected = {**{pid: "1" for pid in ids[:3]}, **{pid: "0" for pid in ids[3:8]},
                **{pid: "1" for pid in ids[8:10]}}
    assert table["label"].to_dict() == expected
    assert table.loc[ids[0], "amount"] == pytest.approx(inputs[0]["amount"])
    assert set(features) <= set(table.columns)


def test_bad_metadata_and_no_data(live_ws: Workspace) -> None:
    from riskops.errors import InputError, InvalidTrainingData

    with pytest.raises(InputError, match="metadata model must name the model"):
        retrain_job.run(live_ws, {})
    with pytest.raises(InputError, match="is not a retrain firing of fraud"):
        retrain_job.run(live_ws, {"model": "fraud", "firing": "rollback:fraud:x"})
    ws = configure(live_ws, '[governance.retrain.models.fraud]\ndata = "nothing/*.csv"\n')
    with pytest.raises(InvalidTrainingData, match=r"matches no \.csv or \.parquet file"):
        retrain_job.run(ws, {"model": "fraud"})
    with pytest.raises(InvalidTrainingData, match="no prediction logged"):
        retrain_job.lake_file(ws, get_scenario("fraud"), since=datetime(2026, 1, 1, tzinfo=UTC),
                              until=datetime(2026, 2, 1, tzinfo=UTC), out=ws.home / "x.parquet")


@pytest.fixture
def broker(live_ws: Workspace, amqp_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``live_ws`` with RabbitMQ configured: its own exchange and worker queue, deleted after."""
    import uuid

    import pika

    tag = uuid.uuid4().hex[:10]
    monkeypatch.setenv("RISKOPS_AMQP_URL", amqp_url)
    ws = configure(live_ws, f'[worker]\nexchange = "riskops.test.{tag}"\n'
                            f'queue = "test_retrain_{tag}"\n')
    yield ws
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for queue in (f"test_retrain_{tag}", f"test_retrain_{tag}.dead"):
        channel.queue_delete(queue=queue)
    for exchange in (f"riskops.test.{tag}", f"test_retrain_{tag}.dead"):
        channel.exchange_delete(exchange=exchange)
    connection.close()


def test_with_a_broker_the_worker_trains_the_candidate_once(broker: Workspace) -> None:
    """The firing is handed to RabbitMQ, the worker trains it; a second trigger message for
    the same firing (a second scheduler, the outbox's copy) finds it taken and trains
    nothing."""
    from riskops.jobs.trigger import trigger_job
    from riskops.jobs.worker import Worker

    record_bias(broker, "fraud", 1, "pass")
    ws, now = _scheduled(broker)
    result = evaluate_triggers(ws, now=now, models=["fraud"])
    (fired,) = result["models"][0]["firings"]
    assert fired["status"] == "queued" and fired["job"]["mode"] == "queued", fired
    assert _versions(ws) == [1]  # nothing trained in the scheduler's process
    again = trigger_job(ws, "retrain", {"model": "fraud", "firing": fired["key"]})
    assert again["mode"] == "queued"
    stats = Worker(ws).run(max_messages=2, install_signals=False)
    assert stats.succeeded == 2 and stats.failed == 0
    assert _versions(ws) == [1, 2]
    firing = rule_firings.firing(ws.database_url, fired["key"])
    assert firing is not None and firing["status"] == "trained"
    assert Registry(ws).show_model("fraud")["stages"]["production"] == 1

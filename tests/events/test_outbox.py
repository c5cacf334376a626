import json
from pathlib import Path

import pytest
from events_helpers import configure_events
from sqlalchemy import func, select

from conftest import make_model_dir
from riskops.config import Workspace
from riskops.errors import InputError
from riskops.events import emit, emit_now
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow, OutboxEventRow


def _events(ws: Workspace) -> list[OutboxEventRow]:
    with db.read_session(ws.database_url) as s:
        return list(s.scalars(select(OutboxEventRow).order_by(OutboxEventRow.seq)))


def _deliveries(ws: Workspace) -> list[EventDeliveryRow]:
    with db.read_session(ws.database_url) as s:
        return list(s.scalars(select(EventDeliveryRow).order_by(EventDeliveryRow.id)))


def test_emit_now_stores_the_envelope_and_a_pending_delivery_per_sink(
    workspace: Workspace,
) -> None:
    ws = configure_events(workspace, 'sinks = ["log", "webhook"]\n'
                                     'webhook_url = "http://127.0.0.1:9/hook"')
    event_id = emit_now(ws, type="model_bias_alert", subject="fraud",
                        data={"modelId": "fraud", "status": "fail"}, source="governance")
    (row,) = _events(ws)
    envelope = json.loads(row.envelope)
    assert row.id == envelope["id"] == event_id
    assert (row.type, row.subject, row.source) == ("model_bias_alert", "fraud",
                                                   "/riskops/governance")
    assert envelope["data"] == {"modelId": "fraud", "status": "fail"}
    assert [(d.sink, d.status, d.attempts) for d in _deliveries(ws)] == [
        ("log", "pending", 0), ("webhook", "pending", 0)]


def test_emit_rolls_back_with_the_callers_transaction(workspace: Workspace) -> None:
    with pytest.raises(RuntimeError, match="the change failed"), \
            db.transaction(workspace.database_url) as session:
        emit(session, workspace, type="ml.retrain.triggered", subject="fraud",
             data={"modelId": "fraud"})
        raise RuntimeError("the change failed")
    assert _events(workspace) == []
    assert _deliveries(workspace) == []


def test_emit_inside_a_registry_write_transaction_commits_with_it(workspace: Workspace) -> None:
    with db.write_transaction(workspace.database_url) as session:
        event_id = emit(session, workspace, type="workflow.job.trigger", subject="monitoring",
                        data={"job": "monitoring", "metadata": {}})
    assert [e.id for e in _events(workspace)] == [event_id]


def test_emit_refuses_an_unknown_type_before_writing(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match=r"unknown event type 'model\.deleted'"):
        emit_now(workspace, type="model.deleted", subject="fraud", data={})
    assert _events(workspace) == []


def test_emit_refuses_a_broken_events_config(workspace: Workspace) -> None:
    ws = configure_events(workspace, 'sinks = ["amqp"]')
    with pytest.raises(InputError, match="lists the amqp sink but no broker URL"):
        emit_now(ws, type="model_bias_alert", subject="fraud", data={})


def test_an_empty_sink_list_keeps_the_event_without_deliveries(workspace: Workspace) -> None:
    ws = configure_events(workspace, "sinks = []")
    emit_now(ws, type="model_bias_alert", subject="fraud", data={})
    assert len(_events(ws)) == 1 and _deliveries(ws) == []


def test_promote_and_rollback_emit_events_in_their_transaction(
    workspace: Workspace, tmp_path: Path
) -> None:
    reg = Registry(workspace)
    for seed in (1, 2):
        reg.register("fraud", make_model_dir(tmp_path / f"m{seed}", seed=seed), actor="local:a")
    reg.promote("fraud", 1, actor="local:a", force=True)
    reg.promote("fraud", 2, actor="local:b", stage="canary", percent=10)
    promoted = reg.promote("fraud", 2, actor="local:b", force=True)
    rolled = reg.rollback("fraud", actor="local:c")
    events = [json.loads(e.envelope) for e in _events(workspace)]
    assert [e["type"] for e in events] == ["ml.model.promoted"] * 3 + ["ml.model.rolled_back"]
    assert {e["subject"] for e in events} == {"fraud"}
    assert {e["source"] for e in events} == {"/riskops/registry"}
    assert events[0]["data"] == {"modelId": "fraud", "version": 1, "stage": "production",
                                 "fromVersion": None, "actor": "local:a",
                                 "manifestVersion": events[0]["data"]["manifestVersion"]}
    assert events[1]["data"]["stage"] == "canary" and events[1]["data"]["percent"] == 10
    assert events[2]["data"]["manifestVersion"] == promoted["manifest_version"]
    assert events[2]["data"]["fromVersion"] == 1
    assert events[3]["data"] == {"modelId": "fraud", "fromVersion": 2, "toVersion": 1,
                                 "actor": "local:c",
                                 "manifestVersion": rolled["manifest_version"]}


def test_a_refused_promotion_emits_nothing(workspace: Workspace, tmp_path: Path) -> None:
    reg = Registry(workspace)
    reg.register("fraud", make_model_dir(tmp_path / "m", seed=1), actor="local:a")
    with pytest.raises(Exception, match="production needs its gates"):
        reg.promote("fraud", 1, actor="local:a")
    with db.read_session(workspace.database_url) as s:
        assert s.scalar(select(func.count()).select_from(OutboxEventRow)) == 0

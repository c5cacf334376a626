import re

from events_helpers import Receiver, configure_events, receiver  # noqa: F401

from riskops.config import Workspace
from riskops.events import build_envelope, emit_now
from riskops.events.dispatcher import Dispatcher
from riskops.events.webhook import alertmanager_payload

DRIFT = {"modelId": "fraud", "tenantId": "acme", "segment": "card", "metric": "psi",
         "value": 0.31, "threshold": 0.2, "delta": 0.11}


def test_payload_has_the_alertmanager_webhook_fields() -> None:
    env = build_envelope(type="ml.model.drift.detected", subject="fraud", data=DRIFT,
                         source="monitoring")
    body = alertmanager_payload(env, external_url="https://riskops.example.com")
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "riskops"
    assert body["groupKey"] == '{}:{alertname="ml.model.drift.detected"}'
    assert body["groupLabels"] == {"alertname": "ml.model.drift.detected"}
    assert body["externalURL"] == "https://riskops.example.com"
    assert body["truncatedAlerts"] == 0
    (alert,) = body["alerts"]
    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt",
                          "generatorURL", "fingerprint"}
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "ml.model.drift.detected", "severity": "warning", "subject": "fraud",
        "source": "/riskops/monitoring", "modelId": "fraud", "tenantId": "acme",
        "segment": "card", "metric": "psi",
    }
    assert all(isinstance(v, str) for v in alert["labels"].values())
    assert all(isinstance(v, str) for v in alert["annotations"].values())
    assert alert["annotations"]["event_id"] == env["id"]
    assert "psi = 0.31 (threshold 0.2)" in alert["annotations"]["description"]
    assert alert["startsAt"] == env["time"]
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["generatorURL"] == f"https://riskops.example.com/events/{env['id']}"
    assert re.fullmatch(r"[0-9a-f]{16}", alert["fingerprint"])
    assert body["commonLabels"] == alert["labels"]
    assert body["commonAnnotations"] == alert["annotations"]


def test_fingerprint_follows_the_labels_not_the_event() -> None:
    def fingerprint(data: dict[str, object]) -> str:
        env = build_envelope(type="ml.model.drift.detected", subject="fraud", data=data)
        return str(alertmanager_payload(env)["alerts"][0]["fingerprint"])

    assert fingerprint(DRIFT) == fingerprint({**DRIFT, "value": 0.5})
    assert fingerprint(DRIFT) != fingerprint({**DRIFT, "tenantId": "globex"})


def test_severity_comes_from_the_event_type() -> None:
    env = build_envelope(type="model_integrity_failed", subject="fraud",
                         data={"modelId": "fraud", "problem": "digest mismatch"})
    assert alertmanager_payload(env)["alerts"][0]["labels"]["severity"] == "critical"


def test_webhook_posts_the_alertmanager_body(
    workspace: Workspace, receiver: Receiver
) -> None:
    ws = configure_events(workspace, f'sinks = ["webhook"]\nwebhook_url = "{receiver.url}"\n'
                                     'webhook_format = "alertmanager"')
    event_id = emit_now(ws, type="ml.model.drift.detected", subject="fraud", data=DRIFT)
    assert Dispatcher(ws).run_once().delivered == 1
    (request,) = receiver.requests
    assert request["headers"]["Content-Type"] == "application/json"
    (body,) = receiver.json_bodies()
    assert body["version"] == "4"
    assert body["alerts"][0]["annotations"]["event_id"] == event_id


def test_a_recovery_event_is_the_resolved_alert_of_the_one_it_ends() -> None:
    data = {**DRIFT, "feature": "amount"}
    fired = alertmanager_payload(build_envelope(type="ml.model.drift.detected",
                                                subject="fraud/acme", data=data,
                                                source="monitoring"))
    env = build_envelope(type="ml.model.drift.resolved", subject="fraud/acme",
                         data={**data, "value": 0.04, "delta": -0.16}, source="monitoring")
    body = alertmanager_payload(env)
    (alert,) = body["alerts"]
    assert body["status"] == alert["status"] == "resolved"
    assert alert["labels"] == fired["alerts"][0]["labels"]
    assert alert["labels"]["alertname"] == "ml.model.drift.detected"
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["feature"] == "amount"
    assert alert["fingerprint"] == fired["alerts"][0]["fingerprint"]
    assert alert["endsAt"] == env["time"] and alert["endsAt"] != "0001-01-01T00:00:00Z"
    assert body["groupKey"] == '{}:{alertname="ml.model.drift.detected"}'
    recovered = alertmanager_payload(build_envelope(
        type="ml.model.performance.recovered", subject="fraud/acme",
        data={"modelId": "fraud", "metric": "brier", "value": 0.1, "threshold": 0.2}))
    assert recovered["alerts"][0]["labels"]["alertname"] == "ml.model.performance.degraded"
    assert recovered["alerts"][0]["status"] == "resolved"

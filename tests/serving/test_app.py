"""The scoring API end to end, in-process (FastAPI TestClient, real workspace and models)."""

from __future__ import annotations

import json
import math
import sys

import pytest
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    client,
    example_row,
    served_template,
    served_ws,
    shared_client,
    tokens,
)
from sqlalchemy import select

from riskops.registry.manifest import read_verified_manifest
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import OutboxEventRow, PredictionRow

AUDIT_FIELDS = {"prediction_id", "scenario", "tenant_id", "risk_score", "risk_label",
                "risk_score_method", "risk_model_version", "risk_threshold", "model_id",
                "manifest_version", "reasons"}


def _signed_threshold(ws, model: str, version: int) -> float:
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    return verified.manifest.version(model, version).metrics["threshold"]


@pytest.mark.parametrize("scenario", ["fraud", "shortfall", "compliance", "incident", "deal"])
def test_every_reference_scenario_is_scored_by_its_verified_model(client, tokens, served_ws,
                                                                  scenario):
    row = example_row(scenario)
    r = client.post(f"/risk/{scenario}", json=row,
                    headers=auth(tokens["scorer"], **{"X-Tenant-ID": "acme"}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= AUDIT_FIELDS
    assert body["risk_score_method"] == "ml"
    assert body["model_id"] == scenario and body["risk_model_version"] == 1
    assert body["risk_threshold"] == pytest.approx(_signed_threshold(served_ws, scenario, 1))
    assert body["manifest_version"] == client.get("/ready").json()["manifest_version"]
    assert 0 <= body["risk_score"] <= 1 and body["tenant_id"] == "acme"
    # The logged record is durable and matches the response.
    with db.read_session(served_ws.database_url) as session:
        stored = session.get(PredictionRow, body["prediction_id"])
    assert stored is not None and stored.score == pytest.approx(body["risk_score"])
    assert json.loads(stored.inputs) == row and stored.method == "ml"
    assert stored.tenant_id == "acme" and stored.model_version == 1


def test_the_ml_score_is_the_models_own_probability(client, tokens, served_ws):
    from riskops.registry.loader import load_model
    from riskops.scenarios import get_scenario

    row = example_row("fraud", index=4)
    body = client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"])).json()
    verified = read_verified_manifest(served_ws.manifest_path, served_ws.signature_path,
                                      served_ws.public_key_path)
    import pandas as pd

    model = load_model(verified, "fraud", 1).estimator
    expected = get_scenario("fraud").risk_scores(model, pd.DataFrame([row]))[0]
    assert body["risk_score"] == pytest.approx(float(expected), abs=1e-12)


def test_compliance_plan_and_incident_text(shared_client, tokens):
    client = shared_client
    r = client.post("/plan/compliance", json=example_row("compliance"),
                    headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text
    plan = r.json()["plan"]
    assert plan and {"tier", "action", "due_in_days", "reason"} <= set(plan[0])
    r = client.post("/risk", json={"text": "Datenbank komplett ausgefallen 🔥 — alle Kunden "
                                           "betroffen, payments down", "source": "phone"},
                    headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text
    assert r.json()["scenario"] == "incident"
    assert r.json()["risk_label"] in ("low", "medium", "high")


def test_batch_scores_each_row_and_logs_each(client, tokens, served_ws):
    rows = [example_row("fraud", index=i) for i in range(5)]
    r = client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 5 and len({i["prediction_id"] for i in items}) == 5
    with db.read_session(served_ws.database_url) as session:
        ids = set(session.scalars(select(PredictionRow.id)))
    assert {i["prediction_id"] for i in items} <= ids


@pytest.mark.parametrize("body,field", [
    ({"amount": "12.5"}, "body.amount"),
    ({"amount": True}, "body.amount"),
    ({"amount": None}, "body.amount"),
    ({"amount": 1e300 * 10}, "body.amount"),
    ({"channel": "carrier-pigeon"}, "body.channel"),
    ({"surprise": 1}, "body.surprise"),
])
def test_invalid_fields_are_named_and_their_values_never_echoed(shared_client, tokens, body, field):
    client = shared_client
    row = {**example_row("fraud"), **body}
    raw = json.dumps(row, allow_nan=True)
    r = client.post("/risk/fraud", content=raw, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["detail"]]
    assert field in fields
    for value in body.values():
        if isinstance(value, str):
            assert value not in r.text


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinite_numbers_are_refused(shared_client, tokens, raw):
    client = shared_client
    row = example_row("fraud")
    text = json.dumps(row).replace(f'"amount": {json.dumps(row["amount"])}', f'"amount": {raw}')
    r = client.post("/risk/fraud", content=text, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "body.amount"


def test_secret_values_do_not_leak_into_errors(shared_client, tokens):
    client = shared_client
    secret = "4111-1111-1111-1111 Jane Doe"
    row = {**example_row("fraud"), "amount": secret, "new_device": secret}
    r = client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 422 and secret not in r.text and "4111" not in r.text
    r = client.post("/risk/fraud", json=[row, row], headers=auth(tokens["scorer"]))
    assert r.status_code == 422 and secret not in r.text
    assert {e["field"] for e in r.json()["detail"]} >= {"body.0.amount", "body.1.new_device"}
    r = client.post("/feedback", json={"prediction_id": "x", "severity": secret},
                    headers=auth(tokens["reviewer"]))
    assert r.status_code == 422 and secret not in r.text


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"), (b"{not json", "not valid UTF-8 JSON"), (b"\xff\xfe", "not valid UTF-8"),
    (b"[" * 5000 + b"]" * 5000, "JSON"), (b"[]", "batch is empty"), (b"42", "body"),
])
def test_malformed_bodies_get_422(shared_client, tokens, content, reason):
    client = shared_client
    r = client.post("/risk/fraud", content=content, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert reason in r.text


def _with_long_amount(row: dict, digits: int) -> str:
    text = json.dumps({**row, "amount": 0})
    return text.replace('"amount": 0', '"amount": ' + "9" * digits)


def test_an_over_long_integer_is_named_as_such(shared_client, tokens):
    limit = sys.get_int_max_str_digits()  # the oracle: Python's own limit
    row = example_row("fraud")
    headers = {**auth(tokens["scorer"]), "Content-Type": "application/json"}
    r = shared_client.post("/risk/fraud", content=_with_long_amount(row, limit), headers=headers)
    assert r.status_code == 422  # parsed; then over the feature's limit
    assert r.json()["detail"][0]["field"] == "body.amount"
    for content in (_with_long_amount(row, limit + 1),
                    "[" + _with_long_amount(row, limit + 1) + "]"):
        r = shared_client.post("/risk/fraud", content=content, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == [{
            "field": "body", "type": "json_invalid",
            "reason": f"an integer literal has more than {limit} digits (Python's int limit); "
                      "send numbers as plain JSON numbers of sensible size"}]


@pytest.mark.parametrize("path,body,role", [
    ("/feedback", '{"prediction_id": "abc", "label": "1", "n": %s}', "reviewer"),
    ("/outcomes", '{"outcomes": [{"prediction_id": "abc", "label": %s}]}', "service"),
    ("/models/fraud/versions/1/approvals", '{"decision": "approve", "n": %s}', "risk_lead"),
    ("/models/fraud/promote", '{"version": %s}', "platform_owner"),
    ("/api/v1/ml/model-monitoring/run", '{"tenantIds": [%s]}', "service"),
])
def test_bodies_fastapi_parses_name_an_over_long_integer_too(shared_client, tokens, path, body,
                                                            role):
    limit = sys.get_int_max_str_digits()
    r = shared_client.post(path, content=body % ("1" * (limit + 1)), headers={
        **auth(tokens[role]), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{
        "field": "body", "type": "json_invalid",
        "reason": f"an integer literal has more than {limit} digits (Python's int limit); "
                  "send numbers as plain JSON numbers of sensible size"}]
    r = shared_client.post(path, content=b"{\"a\": \"\xff\"}", headers={
        **auth(tokens[role]), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["reason"] == "not valid UTF-8 JSON"


def test_other_400s_keep_their_message(shared_client, tokens):
    r = shared_client.post("/risk/fraud", content=b"{}", headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json", "Content-Length": "x"})
    assert r.status_code == 400 and r.json() == {"detail": "Content-Length is not a number."}
    r = shared_client.get("/models", headers=auth("rko_not-a-token"))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_oversized_body_and_batch_get_413(shared_client, tokens):
    client = shared_client
    big = json.dumps({"pad": "x" * (2 * 1024 * 1024)})
    r = client.post("/risk/fraud", content=big, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 413
    rows = [example_row("fraud")] * 1001
    r = client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"]))
    assert r.status_code == 413 and "1001" in r.json()["detail"]


@pytest.mark.parametrize("path,role", [("/risk/fraud", "scorer"), ("/feedback", "reviewer"),
                                       ("/outcomes", "service")])
def test_a_streamed_body_over_the_limit_gets_413(shared_client, tokens, path, role):
    def chunks():  # no Content-Length: the limit is only seen while the body streams
        yield b'{"prediction_id": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    r = shared_client.post(path, content=chunks(), headers={
        **auth(tokens[role]), "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("request body is over the limit of 1048576 bytes")


def test_unknown_scenario_is_404_and_bad_tenant_is_422(shared_client, tokens):
    client = shared_client
    r = client.post("/risk/nope", json={}, headers=auth(tokens["scorer"]))
    assert r.status_code == 404 and "fraud" in r.json()["detail"]
    r = client.post("/risk/fraud", json=example_row("fraud"),
                    headers=auth(tokens["scorer"], **{"X-Tenant-ID": "../etc"}))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "header.X-Tenant-ID"


def test_huge_text_is_refused_and_unicode_accepted(shared_client, tokens):
    client = shared_client
    row = {**example_row("incident"), "text": "ü" * 20_001}
    r = client.post("/risk/incident", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.text"
    row = {**example_row("incident"), "text": "サーバーダウン \u202e\u0000 outage"}
    assert client.post("/risk/incident", json=row, headers=auth(tokens["scorer"])).status_code \
        == 200


def test_ml_switch_forces_the_heuristic(served_ws, tokens, monkeypatch):
    from fastapi.testclient import TestClient

    from riskops.serving.app import create_app

    monkeypatch.setenv("RISK_ML_ENABLED", "false")
    with TestClient(create_app(served_ws)) as c:
        body = c.post("/risk/fraud", json=example_row("fraud"),
                      headers=auth(tokens["scorer"])).json()
    assert body["risk_score_method"] == "heuristic" and body["risk_model_version"] is None
    assert body["model_id"] is None and body["risk_threshold"] is None


def test_model_exception_answers_from_the_heuristic_and_is_counted(client, tokens):
    state = client.app.state.serving
    served = state.pool.snapshot.slots["fraud"].production

    class Broken:
        classes_ = served.loaded.estimator.classes_

        def predict_proba(self, frame):
            raise RuntimeError("boom")

        def scores(self, rows):
            raise RuntimeError("boom")

    object.__setattr__(served.loaded, "estimator", Broken())
    # The fast path fails too (a fault there falls back to the estimator, which fails).
    object.__setattr__(served, "fast", Broken())
    fallbacks = 'ml_inference_fallbacks_total{error="RuntimeError",scenario="fraud"}'
    before = _sample(client.get("/metrics").text, fallbacks)
    r = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    body = r.json()
    assert r.status_code == 200 and body["risk_score_method"] == "heuristic"
    assert any("RuntimeError" in reason for reason in body["reasons"])
    text = client.get("/metrics").text
    assert _sample(text, fallbacks) == before + 1  # the counter is the process's, not the app's
    assert 'ml_inference_error_budget_remaining{scenario="fraud"} 0.0' in text


def _sample(text: str, series: str) -> float:
    """The value of ``series`` in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_canary_split_is_stable_per_request_key(client, tokens, served_ws):
    Registry(served_ws).promote("fraud", 2, stage="canary", percent=30, actor="local:t")
    assert client.app.state.serving.pool.refresh()
    seen: dict[str, int] = {}
    for i in range(200):
        body = client.post("/risk/fraud", json=example_row("fraud"),
                           headers=auth(tokens["scorer"], **{"X-Request-Key": f"acct-{i}"})).json()
        seen[f"acct-{i}"] = body["risk_model_version"]
    share = sum(v == 2 for v in seen.values()) / len(seen)
    assert 0.18 < share < 0.42
    for key in list(seen)[:20]:
        again = client.post("/risk/fraud", json=example_row("fraud"),
                            headers=auth(tokens["scorer"], **{"X-Request-Key": key})).json()
        assert again["risk_model_version"] == seen[key]


def test_promotion_is_picked_up_and_swapped(client, tokens, served_ws):
    before = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    assert before.json()["risk_model_version"] == 1
    Registry(served_ws).promote("fraud", 2, actor="local:t", force=True)
    assert client.app.state.serving.pool.refresh()
    after = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    assert after.json()["risk_model_version"] == 2
    assert after.json()["manifest_version"] > before.json()["manifest_version"]
    assert 'ml_model_info{model="fraud"' in client.get("/metrics").text


def test_tampered_manifest_keeps_last_good_models_and_ready_explains(client, tokens, served_ws):
    good = client.get("/ready")
    assert good.status_code == 200 and good.json()["ready"]
    raw = served_ws.manifest_path.read_bytes()
    served_ws.manifest_path.write_bytes(raw.replace(b'"production": 1', b'"production": 2', 1))
    assert client.app.state.serving.pool.refresh()
    r = client.get("/ready")
    assert r.status_code == 503 and "signature" in json.dumps(r.json()["problems"])
    body = client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).json()
    assert body["risk_score_method"] == "ml" and body["risk_model_version"] == 1
    with db.read_session(served_ws.database_url) as session:
        types = list(session.scalars(select(OutboxEventRow.type)))
    assert "model_integrity_failed" in types


def test_tampered_artifact_at_start_serves_the_heuristic(served_ws, tokens):
    from fastapi.testclient import TestClient

    from riskops.serving.app import create_app

    model_file = next((served_ws.store_dir / "models" / "fraud" / "1").glob("*.skops"))
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.unlink()  # the store hard-links blobs; replace, do not write through
    model_file.write_bytes(bytes(data))
    with TestClient(create_app(served_ws)) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert any("fraud v1" in p for p in ready.json()["problems"])
        body = c.post("/risk/fraud", json=example_row("fraud"),
                      headers=auth(tokens["scorer"])).json()
        assert body["risk_score_method"] == "heuristic"
        assert c.post("/risk/shortfall", json=example_row("shortfall"),
                      headers=auth(tokens["scorer"])).json()["risk_score_method"] == "ml"


def test_older_manifest_replay_is_refused(client, served_ws):
    old = (served_ws.manifest_archive_dir / "manifest-000001.json").read_bytes()
    old_sig = (served_ws.manifest_archive_dir / "manifest-000001.json.sig").read_bytes()
    served_ws.manifest_path.write_bytes(old)
    served_ws.signature_path.write_bytes(old_sig)
    client.app.state.serving.pool.refresh()
    r = client.get("/ready")
    assert r.status_code == 503 and "older" in json.dumps(r.json()["problems"])
    assert r.json()["models"]["fraud"]["production"] == 1


def test_feedback_round_trip_insights_and_metrics(client, tokens):
    scored = client.post("/risk/fraud", json=example_row("fraud"),
                         headers=auth(tokens["scorer"])).json()
    pid = scored["prediction_id"]
    r = client.post("/feedback", json={"prediction_id": pid, "label": "1", "override": True,
                                       "severity": "critical", "comment": "confirmed fraud"},
                    headers=auth(tokens["reviewer"]))
    assert r.status_code == 200, r.text
    got = client.get(f"/feedback/{pid}", headers=auth(tokens["reviewer"])).json()
    assert got["score"] == pytest.approx(scored["risk_score"])
    assert got["feedback"][0]["override"] is True
    assert client.post("/feedback", json={"prediction_id": "0" * 36, "label": "1"},
                       headers=auth(tokens["reviewer"])).status_code == 404
    assert client.get("/feedback/unknown", headers=auth(tokens["reviewer"])).status_code == 404
    r = client.post("/outcomes", json={"outcomes": [{"prediction_id": pid, "label": "1"}]},
                    headers=auth(tokens["service"]))
    assert r.status_code == 200 and r.json()["recorded"] == 1
    r = client.post("/outcomes", json={"outcomes": [{"prediction_id": "nope", "label": "1"}]},
                    headers=auth(tokens["service"]))
    assert r.status_code == 404
    insights = client.get("/risk/insights", headers=auth(tokens["risk_lead"])).json()
    fraud = [s for s in insights["scenarios"] if s["scenario"] == "fraud"]
    assert fraud and fraud[0]["overrides"] == 1 and fraud[0]["override_rate"] == 1.0
    assert insights["live"]["fraud"]["production"] == 1
    text = client.get("/metrics").text
    assert 'ml_predictions_total{method="ml",model="fraud",scenario="fraud"}' in text
    assert 'risk_requests_total{method="ml"}' in text
    assert "ml_inference_duration_seconds_bucket" in text and "risk_score_value_bucket" in text


def test_health_ready_and_openapi(shared_client):
    client = shared_client
    assert client.get("/health").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/risk/fraud" in spec["paths"] and "FraudFeatures" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_registry_views(shared_client, tokens):
    client = shared_client
    models = client.get("/models", headers=auth(tokens["scorer"])).json()
    assert {m["model"] for m in models} >= {"fraud", "incident"}
    assert client.get("/models/fraud", headers=auth(tokens["scorer"])).status_code == 200
    assert client.get("/models/nope", headers=auth(tokens["scorer"])).status_code == 404


def test_rollback_over_http(client, tokens, served_ws):
    Registry(served_ws).promote("fraud", 2, actor="local:t", force=True)
    r = client.post("/models/fraud/rollback", json={}, headers=auth(tokens["risk_lead"]))
    assert r.status_code == 200, r.text
    client.app.state.serving.pool.refresh()
    body = client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).json()
    assert body["risk_model_version"] == 1
    assert math.isfinite(body["risk_score"])


def test_tenant_pins_route_to_their_version_or_the_heuristic(client, tokens, served_ws):
    registry = Registry(served_ws)
    registry.pin("fraud", "acme", 2, actor="local:lead")
    registry.pin("fraud", "globex", None, actor="local:lead")
    assert client.app.state.serving.pool.refresh()

    def score(tenant: str) -> dict:
        return client.post("/risk/fraud", json=example_row("fraud"),
                           headers=auth(tokens["scorer"], **{"X-Tenant-ID": tenant})).json()

    assert score("acme")["risk_model_version"] == 2
    pinned_off = score("globex")
    assert pinned_off["risk_score_method"] == "heuristic" and pinned_off["model_id"] is None
    assert score("initech")["risk_model_version"] == 1
    assert client.get("/ready").json()["models"]["fraud"]["pins"] == {
        "acme": 2, "globex": "heuristic"}


def test_fallback_heuristic_rollback_reaches_serving(client, tokens, served_ws):
    Registry(served_ws).rollback("fraud", actor="local:oncall", fallback_heuristic=True)
    assert client.app.state.serving.pool.refresh()
    body = client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).json()
    assert body["risk_score_method"] == "heuristic" and body["risk_model_version"] is None
    other = client.post("/risk/shortfall", json=example_row("shortfall"),
                        headers=auth(tokens["scorer"])).json()
    assert other["risk_score_method"] == "ml"


def test_a_log_that_cannot_commit_answers_503_and_returns_no_score(client, tokens, served_ws):
    from concurrent.futures import Future

    state = client.app.state.serving

    def failing(records):
        future: Future[None] = Future()
        future.set_exception(RuntimeError("disk full"))
        return [future for _ in records]

    state.log.submit_many = failing
    r = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    assert r.status_code == 503 and "risk_score" not in r.text
    assert r.headers["retry-after"] == "1"


def test_a_model_that_does_not_answer_in_time_is_replaced_by_the_heuristic(served_ws, tokens):
    import asyncio

    from fastapi.testclient import TestClient

    from riskops.serving.app import create_app
    from riskops.serving.settings import ServingSettings

    app = create_app(served_ws, settings=ServingSettings(request_timeout_seconds=0.2))
    with TestClient(app) as c:
        async def hung(*args):
            await asyncio.sleep(2)

        c.app.state.serving.batcher.score = hung
        r = c.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
        body = r.json()
        assert r.status_code == 200 and body["risk_score_method"] == "heuristic"
        assert "did not answer within 0.2 s" in body["reasons"][-1]
        assert 'ml_inference_fallbacks_total{error="Timeout",scenario="fraud"} 1.0' in \
            c.get("/metrics").text
    with db.read_session(served_ws.database_url) as session:
        stored = session.get(PredictionRow, body["prediction_id"])
    assert stored is not None and stored.method == "heuristic"


def test_monitoring_run_endpoint(client, tokens):
    r = client.post("/api/v1/ml/model-monitoring/run", json={"tenantIds": ["acme"]},
                    headers=auth(tokens["service"]))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"driftChecked", "performanceChecked", "events"}
    r = client.post("/api/v1/ml/model-monitoring/run", json={"tenantIds": "acme"},
                    headers=auth(tokens["service"]))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.tenantIds"


@pytest.mark.parametrize("body,field", [
    ({}, "body.text"), ({"text": ""}, "body.text"), ({"text": "x", "source": "pigeon"},
                                                     "body.source"),
    ({"text": 5}, "body.text"), ({"text": "x", "extra": 1}, "body.extra"),
])
def test_incident_report_validation(shared_client, tokens, body, field):
    r = shared_client.post("/risk", json=body, headers=auth(tokens["scorer"]))
    assert r.status_code == 422 and field in [e["field"] for e in r.json()["detail"]]


@pytest.mark.parametrize("method,path,body,role", [
    ("post", "/risk/fraud", '{"amount": ' + "1" * 5000 + "}", "scorer"),
    ("post", "/outcomes", '{"outcomes": [{"prediction_id": "abc", "label": "1", '
                          '"observed_at": "0001-01-01T00:00:00+01:00"}]}', "service"),
    ("post", "/feedback", '{"prediction_id": "\\u0000", "label": "1"}', "reviewer"),
    ("post", "/outcomes", '{"outcomes": [{"prediction_id": "a\\u0000", "label": "1"}]}',
     "service"),
    ("post", "/api/v1/ml/model-monitoring/run", '{"tenantIds": ["\\ud800"]}', "service"),
    ("get", "/feedback/%00", None, "reviewer"),
    ("post", "/v2/models/fraud/infer", '{"inputs": [{"name": "features", "shape": [1], '
     '"datatype": "BYTES", "data": ["{\\"amount\\": ' + "9" * 5000 + '}"]}]}', "scorer"),
])
def test_hostile_inputs_get_4xx_not_500(shared_client, tokens, method, path, body, role):
    headers = {**auth(tokens[role]), "Content-Type": "application/json"}
    r = shared_client.request(method.upper(), path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert "0001-01-01" not in r.text


def test_segment_values_are_logged_with_the_inputs_but_never_scored(client, tokens, served_ws):
    row = example_row("deal")
    plain = client.post("/risk/deal", json=row, headers=auth(tokens["scorer"])).json()
    tagged = client.post("/risk/deal", json={**row, "region": "emea", "industry": "retail"},
                         headers=auth(tokens["scorer"])).json()
    # Segments slice monitoring; the model does not see them.
    assert tagged["risk_score"] == plain["risk_score"]
    with db.read_session(served_ws.database_url) as session:
        sent = json.loads(session.get(PredictionRow, tagged["prediction_id"]).inputs)
        unsent = json.loads(session.get(PredictionRow, plain["prediction_id"]).inputs)
    assert sent == {**row, "region": "emea", "industry": "retail"}
    assert unsent == row  # a segment not sent is not logged as null


@pytest.mark.parametrize(("value", "kind"), [(3, "string_type"), ("", "string_too_short"),
                                             ("x" * 129, "string_too_long"),
                                             ("emea\nregion=x", "string_pattern_mismatch")])
def test_a_malformed_segment_value_is_refused_by_name(shared_client, tokens, value, kind):
    r = shared_client.post("/risk/deal", json={**example_row("deal"), "region": value},
                           headers=auth(tokens["scorer"]))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "body.region" and error["type"] == kind
    if len(str(value)) > 1:
        assert str(value) not in r.text  # never the submitted value


def test_the_openapi_schema_marks_segment_fields(shared_client):
    schema = shared_client.get("/openapi.json").json()["components"]["schemas"]["DealFeatures"]
    assert "region" not in schema["required"]
    assert schema["properties"]["deal_size_band"]["x-riskops-segment"] is True

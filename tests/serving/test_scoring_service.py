"""One scoring path: ``service.score_and_record`` behind ``/risk`` and V2 ``infer`` alike.

Both kinds of route parse their own input, call the same function and shape
their own answer from the prediction records it returns; these tests hold the
two answers against each other and against the inference log.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from concurrent.futures import Future

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

from riskops.registry.service import Registry
from riskops.serving import app as app_module
from riskops.serving import service
from riskops.serving import v2 as v2_module
from riskops.serving.records import PredictionRecord
from riskops.storage import db
from riskops.storage.tables import PredictionRow


def features_tensor(rows: list[dict]) -> dict:
    return {"inputs": [{"name": "features", "shape": [len(rows)], "datatype": "BYTES",
                        "data": rows}]}


def infer(client, token: str, body: dict, model: str = "fraud", **headers):
    return client.post(f"/v2/models/{model}/infer", json=body, headers=auth(token, **headers))


def output(body: dict, name: str) -> list:
    return next(o for o in body["outputs"] if o["name"] == name)["data"]


def stored(client, prediction_id: str) -> PredictionRow | None:
    with db.read_session(client.app.state.serving.ws.database_url) as session:
        return session.get(PredictionRow, prediction_id)


@pytest.mark.parametrize("tenant,expected_version", [("acme", 2), ("globex", None),
                                                     ("initech", 1)])
def test_risk_and_v2_give_the_same_answer_and_both_log_it(client, tokens, served_ws, tenant,
                                                          expected_version):
    # acme is pinned to v2, globex to the heuristic; initech takes production (v1).
    registry = Registry(served_ws)
    registry.pin("fraud", "acme", 2, actor="local:lead")
    registry.pin("fraud", "globex", None, actor="local:lead")
    assert client.app.state.serving.pool.refresh()
    row = example_row("fraud", index=4)
    headers = {"X-Tenant-ID": tenant, "X-Request-Key": "acct-7"}

    risk = client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"], **headers))
    v2 = infer(client, tokens["scorer"], features_tensor([row]), **headers)

    assert risk.status_code == 200 and v2.status_code == 200, (risk.text, v2.text)
    risk_body, v2_body = risk.json(), v2.json()
    assert risk_body["risk_model_version"] == expected_version
    assert output(v2_body, "risk_score") == [risk_body["risk_score"]]
    assert output(v2_body, "risk_label") == [risk_body["risk_label"]]
    assert v2_body["model_version"] == (str(expected_version) if expected_version
                                        else "heuristic")
    params = v2_body["parameters"]
    for key in ("risk_score_method", "risk_model_version", "risk_threshold", "model_id",
                "manifest_version", "tenant_id"):
        assert params[key] == risk_body[key], key
    assert [json.loads(r) for r in output(v2_body, "reasons")] == [risk_body["reasons"]]
    # Two requests, two predictions, each durably in the log with what was answered.
    ids = [risk_body["prediction_id"], output(v2_body, "prediction_id")[0]]
    assert ids[0] != ids[1]
    for prediction_id in ids:
        row_stored = stored(client, prediction_id)
        assert row_stored is not None and json.loads(row_stored.inputs) == row
        assert row_stored.score == risk_body["risk_score"]
        assert row_stored.label == risk_body["risk_label"]
        assert row_stored.model_version == expected_version
        assert row_stored.tenant_id == tenant


def test_the_compliance_plan_is_the_same_in_both(shared_client, tokens):
    row = example_row("compliance", index=1)
    plan = shared_client.post("/plan/compliance", json=row, headers=auth(tokens["scorer"]))
    v2 = infer(shared_client, tokens["scorer"], features_tensor([row]), model="compliance")
    assert plan.status_code == 200 and v2.status_code == 200, (plan.text, v2.text)
    assert json.loads(output(v2.json(), "plan")[0]) == plan.json()["plan"]
    assert output(v2.json(), "risk_score") == [plan.json()["risk_score"]]


def test_every_scoring_route_calls_the_one_scoring_function(shared_client, tokens, monkeypatch):
    assert app_module.score_and_record is service.score_and_record
    assert v2_module.score_and_record is service.score_and_record
    calls: list[tuple[str, list[dict], str, str]] = []
    returned: list[list[PredictionRecord]] = []

    async def spy(state, scenario, rows, *, tenant, request_key=""):
        calls.append((scenario, list(rows), tenant, request_key))
        records = await service.score_and_record(state, scenario, rows, tenant=tenant,
                                                 request_key=request_key)
        returned.append(records)
        return records

    monkeypatch.setattr(app_module, "score_and_record", spy)
    monkeypatch.setattr(v2_module, "score_and_record", spy)
    rows = [example_row("fraud", index=i) for i in range(3)]
    headers = {"X-Tenant-ID": "acme", "X-Request-Key": "acct-1"}

    risk = shared_client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"], **headers))
    v2 = infer(shared_client, tokens["scorer"], features_tensor(rows), **headers)
    incident = shared_client.post("/risk", json={"text": "payments down"},
                                  headers=auth(tokens["scorer"]))
    plan = shared_client.post("/plan/compliance", json=example_row("compliance"),
                              headers=auth(tokens["scorer"]))

    assert all(r.status_code == 200 for r in (risk, v2, incident, plan))
    assert [c[0] for c in calls] == ["fraud", "fraud", "incident", "compliance"]
    # Both fraud requests handed the function the same validated rows, tenant and key ...
    assert calls[0][1:] == calls[1][1:] == (rows, "acme", "acct-1")
    # ... and each answer is shaped from the records it returned, nothing else.
    assert [i["prediction_id"] for i in risk.json()["items"]] == [r.id for r in returned[0]]
    assert [i["risk_score"] for i in risk.json()["items"]] == [r.score for r in returned[0]]
    assert output(v2.json(), "prediction_id") == [r.id for r in returned[1]]
    assert output(v2.json(), "risk_score") == [r.score for r in returned[1]]
    assert v2.json()["parameters"]["prediction_ids"] == [r.id for r in returned[1]]


def test_v2_shapes_its_answer_from_the_records_not_from_a_json_answer(shared_client, tokens,
                                                                     monkeypatch):
    # Records carrying what no JSON answer says: a V2 answer reflects them exactly.
    async def marked(state, scenario, rows, *, tenant, request_key=""):
        records = await service.score_and_record(state, scenario, rows, tenant=tenant,
                                                 request_key=request_key)
        return [dataclasses.replace(r, reasons=[*r.reasons, f"marker {i}"])
                for i, r in enumerate(records)]

    monkeypatch.setattr(v2_module, "score_and_record", marked)
    rows = [example_row("fraud", index=i) for i in range(2)]
    body = infer(shared_client, tokens["scorer"], features_tensor(rows)).json()
    assert [json.loads(r)[-1] for r in output(body, "reasons")] == ["marker 0", "marker 1"]


def test_the_scoring_function_returns_durable_records_without_http(shared_client):
    state = shared_client.app.state.serving
    rows = [example_row("shortfall", index=i) for i in range(2)]
    call = functools.partial(service.score_and_record, state, "shortfall", rows,
                             tenant="acme", request_key="acct-9")
    records = shared_client.portal.call(call)  # the app's event loop, no request
    assert [type(r) for r in records] == [PredictionRecord, PredictionRecord]
    assert [r.inputs for r in records] == rows
    assert {(r.scenario, r.tenant_id, r.method, r.model_version) for r in records} == {
        ("shortfall", "acme", "ml", 1)}
    for record in records:  # committed by the time the function returned
        row = stored(shared_client, record.id)
        assert row is not None and row.score == record.score and row.route == record.route


def test_a_log_that_cannot_commit_answers_503_in_v2_too(client, tokens):
    def failing(records):
        future: Future[None] = Future()
        future.set_exception(RuntimeError("disk full"))
        return [future for _ in records]

    client.app.state.serving.log.submit_many = failing
    r = infer(client, tokens["scorer"], features_tensor([example_row("fraud")]))
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    message = "the prediction could not be recorded durably, so it is not returned; retry."
    assert r.json() == {"error": message, "detail": message}
    risk = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    assert risk.status_code == 503 and risk.json() == {"detail": message}
    assert risk.headers["retry-after"] == "1"

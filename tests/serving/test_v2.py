"""The Open Inference Protocol (V2) endpoints, in-process, against /risk as the oracle.

Tests that only read and score share one server per module (``shared_client``);
tests that change the manifest or settings get a fresh workspace each (``client``).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from fastapi.testclient import TestClient
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

from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.serving.schemas import MAX_ABS_NUMBER
from riskops.serving.settings import ServingSettings
from riskops.storage import db
from riskops.storage.tables import PredictionRow

FRAUD = get_scenario("fraud").schema


def tensors(rows: list[dict], *, nested: bool = False) -> dict:
    """One named tensor per feature, as a V2 client builds it from columns."""
    inputs = []
    for f in FRAUD.features:
        column = [row[f.name] for row in rows]
        inputs.append({
            "name": f.name, "shape": [len(rows), 1] if nested else [len(rows)],
            "datatype": "FP64" if f.kind == "numeric" else "BYTES",
            "data": [[v] for v in column] if nested else column,
        })
    return {"inputs": inputs}


def with_input(body: dict, feature: str, **changes) -> dict:
    body = json.loads(json.dumps(body))
    for tensor in body["inputs"]:
        if tensor["name"] == feature:
            tensor.update(changes)
    return body


def infer(client, token: str, body, model: str = "fraud", **headers):
    content = body if isinstance(body, str) else json.dumps(body, allow_nan=True)
    return client.post(f"/v2/models/{model}/infer", content=content, headers={
        **auth(token, **headers), "Content-Type": "application/json"})


def output(body: dict, name: str) -> list:
    return next(o for o in body["outputs"] if o["name"] == name)["data"]


def test_named_tensors_and_features_input_score_like_risk(shared_client, tokens):
    row = example_row("fraud", index=4)
    expected = shared_client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"])).json()
    named = infer(shared_client, tokens["scorer"], tensors([row]))
    as_object = infer(shared_client, tokens["scorer"], {"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]})
    as_string = infer(shared_client, tokens["scorer"], {"inputs": [
        {"name": "features", "shape": [1, 1], "datatype": "BYTES", "data": [json.dumps(row)]}]})
    for r in (named, as_object, as_string):
        assert r.status_code == 200, r.text
        body = r.json()
        assert output(body, "risk_score") == [pytest.approx(expected["risk_score"], abs=1e-12)]
        assert output(body, "risk_label") == [expected["risk_label"]]
        assert [json.loads(x) for x in output(body, "reasons")] == [expected["reasons"]]
        assert body["model_name"] == "fraud" and body["model_version"] == "1"
        params = body["parameters"]
        for key in ("risk_score_method", "risk_model_version", "risk_threshold", "model_id",
                    "manifest_version", "tenant_id"):
            assert params[key] == expected[key], key
        assert params["prediction_ids"] == output(body, "prediction_id")
        # Durably logged, exactly like /risk.
        with db.read_session(shared_client.app.state.serving.ws.database_url) as session:
            stored = session.get(PredictionRow, params["prediction_ids"][0])
        assert stored is not None and json.loads(stored.inputs) == row
        assert stored.score == pytest.approx(expected["risk_score"])


def test_a_batch_is_scored_row_by_row_like_a_risk_batch(shared_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(7)]
    expected = shared_client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"])).json()
    for nested in (False, True):
        r = infer(shared_client, tokens["scorer"], tensors(rows, nested=nested))
        assert r.status_code == 200, r.text
        body = r.json()
        assert all(o["shape"] == [7] for o in body["outputs"])
        assert output(body, "risk_score") == pytest.approx(
            [i["risk_score"] for i in expected["items"]], abs=1e-12)
        ids = body["parameters"]["prediction_ids"]
        assert len(set(ids)) == 7
        with db.read_session(shared_client.app.state.serving.ws.database_url) as session:
            stored = set(session.scalars(select(PredictionRow.id).where(PredictionRow.id.in_(ids))))
        assert stored == set(ids)


def test_model_metadata_has_one_input_per_feature(shared_client, tokens):
    r = shared_client.get("/v2/models/fraud", headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["name"] == "fraud" and meta["platform"] == "sklearn" and meta["versions"] == ["1"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        (f.name, "FP64" if f.kind == "numeric" else "BYTES", [-1]) for f in FRAUD.features]
    outputs = {o["name"]: (o["datatype"], o["shape"]) for o in meta["outputs"]}
    assert outputs == {"risk_score": ("FP64", [-1]), "risk_label": ("BYTES", [-1]),
                       "prediction_id": ("BYTES", [-1]), "reasons": ("BYTES", [-1])}
    r = shared_client.get("/v2/models/fraud/versions/1", headers=auth(tokens["scorer"]))
    assert r.json()["versions"] == ["1"]
    # v2 is registered but not routed: not served, so not described.
    r = shared_client.get("/v2/models/fraud/versions/2", headers=auth(tokens["scorer"]))
    assert r.status_code == 404 and "live versions: 1" in r.json()["error"]
    server = shared_client.get("/v2", headers=auth(tokens["scorer"])).json()
    assert server["name"] == "riskops" and server["extensions"] == ["binary_tensor_data"]


def test_health_and_readiness_are_open_like_health(shared_client, tokens):
    assert shared_client.get("/v2/health/live").json() == {"live": True}
    assert shared_client.get("/v2/health/ready").status_code == 200
    ready = shared_client.get("/v2/models/incident/ready")
    assert ready.json() == {"name": "incident", "ready": True}
    assert shared_client.get("/v2/models/nope/ready").status_code == 404
    assert shared_client.get("/v2/models/fraud/versions/2/ready").status_code == 404


def test_closed_health_needs_a_token(served_ws, tokens):
    from riskops.serving.app import create_app

    app = create_app(served_ws, settings=ServingSettings(open_health=False))
    with TestClient(app) as c:
        r = c.get("/v2/health/ready")
        assert r.status_code == 401 and "Authorization" in r.json()["error"]
        assert c.get("/v2/health/live", headers=auth(tokens["reviewer"])).status_code == 200


def test_ready_is_503_when_integrity_fails(client):
    ws = client.app.state.serving.ws
    raw = ws.manifest_path.read_bytes()
    ws.manifest_path.write_bytes(raw.replace(b'"production": 1', b'"production": 2', 1))
    assert client.app.state.serving.pool.refresh()
    assert client.get("/v2/health/ready").status_code == 503
    assert client.get("/v2/models/fraud/ready").json()["ready"] is False


def test_auth_errors_are_v2_errors(shared_client, tokens):
    body = tensors([example_row("fraud")])
    r = shared_client.post("/v2/models/fraud/infer", json=body)
    assert r.status_code == 401 and "error" in r.json()
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = infer(shared_client, "not-a-token", body)
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    r = infer(shared_client, tokens["reviewer"], body)
    assert r.status_code == 403 and "scorer" in r.json()["error"]
    assert infer(shared_client, tokens["service"], body).status_code == 200
    assert infer(shared_client, tokens["admin"], body).status_code == 200
    assert shared_client.get("/v2/models/fraud").status_code == 401


def test_unknown_model_is_404_in_v2_format(shared_client, tokens):
    body = tensors([example_row("fraud")])
    r = infer(shared_client, tokens["scorer"], body, model="nope")
    assert r.status_code == 404
    message = ("unknown model 'nope'; models served here: fraud, shortfall, compliance, "
               "incident, deal.")
    assert r.json() == {"error": message, "detail": message}
    assert shared_client.get("/v2/models/nope", headers=auth(tokens["scorer"])).status_code == 404


SECRET = "4111-1111-1111-1111 Jane Doe"
BASE = tensors([example_row("fraud", index=i) for i in range(2)])


@pytest.mark.parametrize("body,field", [
    (with_input(BASE, "amount", shape=[1, 2]), "inputs.amount.shape"),
    (with_input(BASE, "amount", shape=[3]), "inputs.amount.data"),
    (with_input(BASE, "amount", shape=[1], data=[1.0]), "inputs.amount.shape"),
    (with_input(BASE, "amount", name="surprise"), "inputs.surprise"),
    (with_input(BASE, "amount", name="surprise"), "inputs.amount"),
    (with_input(BASE, "amount", datatype="BYTES", data=[SECRET, SECRET]),
     "inputs.amount.datatype"),
    (with_input(BASE, "channel", datatype="FP64", data=[1.0, 2.0]), "inputs.channel.datatype"),
    (with_input(BASE, "amount", data=[SECRET, 1.0]), "inputs.amount.data.0"),
    (with_input(BASE, "amount", data=[1.0, float("nan")]), "inputs.amount.data.1"),
    (with_input(BASE, "amount", data=[1.0, 1e300 * 10]), "inputs.amount.data.1"),
    (with_input(BASE, "amount", data=[True, 1.0]), "inputs.amount.data.0"),
    (with_input(BASE, "channel", data=["web", SECRET]), "inputs.channel.data.1"),
    (with_input(BASE, "hour_of_day", datatype="UINT8", data=[-1, 2]),
     "inputs.hour_of_day.data.0"),
    (with_input(BASE, "amount", datatype=SECRET), "inputs.amount.datatype"),
    ({"inputs": [*BASE["inputs"], BASE["inputs"][0]]}, "inputs.amount"),
    ({"inputs": []}, "inputs"),
    ({**BASE, "surprise": SECRET}, "surprise"),
    ({**BASE, "outputs": [{"name": "risk_scor"}]}, "outputs.0.name"),
    ({"inputs": [{"name": "features", "shape": [1], "datatype": "BYTES",
                  "data": [{**example_row("fraud"), "amount": SECRET}]}]},
     "inputs.features.data.0.amount"),
    ({"inputs": [{"name": "features", "shape": [1], "datatype": "BYTES",
                  "data": ["{" + SECRET]}]}, "inputs.features.data.0"),
    ({"inputs": [{"name": "features", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
     "inputs.features.datatype"),
    ({"inputs": [{"name": "features", "shape": [1], "datatype": "BYTES",
                  "data": [example_row("fraud")]}, BASE["inputs"][0]]}, "inputs"),
])
def test_malformed_tensors_are_422_naming_the_input_not_the_value(shared_client, tokens, body,
                                                                  field):
    r = infer(shared_client, tokens["scorer"], body)
    assert r.status_code == 422, r.text
    payload = r.json()
    assert field in [e["field"] for e in payload["detail"]], payload
    assert payload["error"].startswith("invalid inference request: ")
    assert "4111" not in r.text and "Jane" not in r.text


def test_a_missing_feature_tensor_is_named(shared_client, tokens):
    body = {"inputs": [t for t in BASE["inputs"] if t["name"] != "new_device"]}
    r = infer(shared_client, tokens["scorer"], body)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "inputs.new_device", "type": "missing",
                                   "reason": "no input tensor for this feature"}]


INTEGER_TYPES = {"INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
                 "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
                 "UINT64": np.uint64}
FLOAT_TYPES = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64}


def bounds(datatype: str) -> tuple:
    """The oracle: numpy's limits of the datatype's type."""
    if datatype in INTEGER_TYPES:
        info = np.iinfo(INTEGER_TYPES[datatype])
        return int(info.min), int(info.max)
    top = float(np.finfo(FLOAT_TYPES[datatype]).max)
    return -top, top


def past(value, direction: int):
    """The next value beyond a bound: one more integer, or the next float64."""
    if isinstance(value, int):
        return value + direction
    with np.errstate(over="ignore"):  # past the largest float64 is infinity
        return float(np.nextafter(value, direction * np.inf))


def datatype_errors(r) -> list[dict]:
    return [e for e in r.json()["detail"] if e["type"] == "datatype"]


@pytest.mark.parametrize("datatype", [*INTEGER_TYPES, *FLOAT_TYPES])
def test_values_at_the_bounds_of_a_datatype_fit_it(shared_client, tokens, datatype):
    low, high = bounds(datatype)
    r = infer(shared_client, tokens["scorer"],
              with_input(BASE, "amount", datatype=datatype, data=[low, high]))
    if FRAUD.feature("amount").lower_bound <= low and high <= MAX_ABS_NUMBER:
        assert r.status_code == 200, r.text
    else:  # the datatype takes them; the feature's own limits (>= 0, 1e15) do not
        assert r.status_code == 422, r.text
        assert not datatype_errors(r), r.text
        assert {e["type"] for e in r.json()["detail"]} <= {"greater_than_equal",
                                                          "less_than_equal"}


@pytest.mark.parametrize("datatype", [*INTEGER_TYPES, *FLOAT_TYPES])
@pytest.mark.parametrize("side", ["low", "high"])
def test_one_past_a_bound_is_422_naming_input_datatype_and_range(shared_client, tokens,
                                                                 datatype, side):
    low, high = bounds(datatype)
    value = past(low, -1) if side == "low" else past(high, +1)
    r = infer(shared_client, tokens["scorer"],
              with_input(BASE, "amount", datatype=datatype, data=[1, value]))
    assert r.status_code == 422, r.text
    [error] = datatype_errors(r)
    assert error["field"] == "inputs.amount.data.1"
    assert r.json()["error"] == f"invalid inference request: inputs.amount.data.1: " \
                                f"{error['reason']}"
    if datatype in INTEGER_TYPES:
        assert f"does not fit {datatype} (range {low} to {high})" in error["reason"]
    elif np.isfinite(value):
        assert f"does not fit {datatype} (finite range ±" in error["reason"]
        assert float(error["reason"].split("±")[1].split(")")[0]) == pytest.approx(high)
    else:  # one past the largest float64 is infinity
        assert datatype in error["reason"] and "NaN or infinite" in error["reason"]


@pytest.mark.parametrize("datatype,value,reason", [
    ("INT8", 1000, "does not fit INT8 (range -128 to 127)"),
    ("UINT8", 256, "does not fit UINT8 (range 0 to 255)"),
    ("UINT8", -1, "does not fit UINT8 (range 0 to 255)"),
    ("UINT64", -1, "does not fit UINT64 (range 0 to 18446744073709551615)"),
    ("INT16", 70000, "does not fit INT16 (range -32768 to 32767)"),
    ("FP16", 70000, "does not fit FP16 (finite range ±65504)"),
    ("FP16", -70000.5, "does not fit FP16 (finite range ±65504)"),
    ("FP32", 1e39, "does not fit FP32 (finite range ±3.4028235e+38)"),
    ("FP32", 10**40, "does not fit FP32 (finite range ±3.4028235e+38)"),
    ("FP64", 10**400, "does not fit FP64 (finite range ±1.7976931e+308)"),
    ("FP16", float("nan"), "NaN or infinite; FP16 takes finite numbers"),
    ("FP64", float("-inf"), "NaN or infinite; FP64 takes finite numbers"),
    ("INT32", 1.5, "not an integer; INT32 takes JSON integers"),
    ("INT64", 2.0, "not an integer; INT64 takes JSON integers"),
    ("UINT16", "7", "not a number; UINT16 takes JSON integers"),
    ("FP32", True, "not a number; FP32 takes JSON numbers"),
])
def test_values_that_do_not_fit_their_datatype_are_named(shared_client, tokens, datatype,
                                                         value, reason):
    r = infer(shared_client, tokens["scorer"],
              with_input(BASE, "amount", datatype=datatype, data=[value, 1]))
    assert r.status_code == 422, r.text
    [error] = datatype_errors(r)
    assert error["field"] == "inputs.amount.data.0" and reason in error["reason"]
    assert r.json()["error"].startswith("invalid inference request: inputs.amount.data.0: ")


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", "42"])
def test_malformed_bodies_are_422(shared_client, tokens, content):
    r = infer(shared_client, tokens["scorer"], content)
    assert r.status_code == 422 and "error" in r.json()


def test_an_over_long_integer_is_named_as_such(shared_client, tokens):
    limit = sys.get_int_max_str_digits()  # the oracle: Python's own limit
    reason = (f"an integer literal has more than {limit} digits (Python's int limit); "
              "send numbers as plain JSON numbers of sensible size")
    text = json.dumps(with_input(BASE, "amount", data=[0, 1]))
    text = text.replace('"data": [0, 1]', '"data": [' + "7" * (limit + 1) + ", 1]")
    r = infer(shared_client, tokens["scorer"], text)
    assert r.status_code == 422, r.text
    assert r.json() == {"error": f"invalid inference request: body: {reason}",
                        "detail": [{"field": "body", "type": "json_invalid", "reason": reason}]}
    row = json.dumps({**example_row("fraud"), "amount": 0})
    row = row.replace('"amount": 0', '"amount": ' + "7" * (limit + 1))
    r = infer(shared_client, tokens["scorer"], {"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"field": "inputs.features.data.0", "type": "json_invalid",
                                   "reason": reason}]


def test_limits_give_413(shared_client, tokens):
    row = example_row("fraud")
    body = {"inputs": [{"name": "features", "shape": [1001], "datatype": "BYTES",
                        "data": [row] * 1001}]}
    r = infer(shared_client, tokens["scorer"], body)
    assert r.status_code == 413 and "1001" in r.json()["error"]
    r = infer(shared_client, tokens["scorer"], {"inputs": [{"name": "features", "shape": [1],
                                                     "datatype": "BYTES",
                                                     "data": ["x" * (2 * 1024 * 1024)]}]})
    assert r.status_code == 413


def test_a_bad_tenant_is_422_and_a_good_one_is_audited(shared_client, tokens):
    body = tensors([example_row("fraud")])
    r = infer(shared_client, tokens["scorer"], body, **{"X-Tenant-ID": "../etc"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "header.X-Tenant-ID"
    r = infer(shared_client, tokens["scorer"], body, **{"X-Tenant-ID": "acme"})
    assert r.json()["parameters"]["tenant_id"] == "acme"


def test_a_tritonclient_style_request(shared_client, tokens):
    # What tritonclient.http sends for InferInput(name, [2, 1], dtype) with
    # set_data_from_numpy(array, binary_data=False) and
    # InferRequestedOutput("risk_score", binary_data=False): numpy float32 and int64
    # columns, BYTES as strings, flattened row-major data, a request id.
    rows = [example_row("fraud", index=i) for i in range(2)]
    for row in rows:  # values float32 represents exactly, so the oracle sees the same input
        row["amount"] = round(row["amount"] * 4) / 4
        row["distance_from_home_km"] = round(row["distance_from_home_km"])
    ints = {"hour_of_day", "account_age_days", "txn_count_24h", "failed_auth_7d"}
    inputs = []
    for f in FRAUD.features:
        datatype = "BYTES" if f.kind != "numeric" else "INT64" if f.name in ints else "FP32"
        column = [row[f.name] for row in rows]
        if datatype == "INT64":
            column = [int(v) for v in column]
            for row in rows:
                row[f.name] = float(int(row[f.name]))
        inputs.append({"name": f.name, "shape": [2, 1], "datatype": datatype,
                       "parameters": {},
                       "data": column})
    payload = {"id": "req-42", "inputs": inputs,
               "parameters": {"binary_data_output": False},
               "outputs": [{"name": "risk_score", "parameters": {"binary_data": False}},
                           {"name": "prediction_id", "parameters": {"binary_data": False}}]}
    raw = json.dumps(payload, separators=(",", ":"))
    r = shared_client.post("/v2/models/fraud/infer", content=raw, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "req-42"
    assert [o["name"] for o in body["outputs"]] == ["risk_score", "prediction_id"]
    assert body["outputs"][0] == {"name": "risk_score", "datatype": "FP64", "shape": [2],
                                  "data": body["outputs"][0]["data"]}
    expected = shared_client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"])).json()
    assert body["outputs"][0]["data"] == pytest.approx(
        [i["risk_score"] for i in expected["items"]], abs=1e-12)


def test_a_kserve_v2_client_request(shared_client, tokens):
    # kserve.InferRequest(...).to_rest(): flat shape [N], the model name in the URL.
    row = example_row("fraud", index=2)
    payload = {"id": "7c4b6d2e", "inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [json.dumps(row)],
         "parameters": {"content_type": "str"}}]}
    r = infer(shared_client, tokens["scorer"], payload)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "7c4b6d2e"
    assert len(r.json()["outputs"]) == 4


def test_binary_data_without_the_header_is_refused_clearly(shared_client, tokens):
    body = with_input(BASE, "amount", parameters={"binary_data_size": 16}, data=None)
    r = infer(shared_client, tokens["scorer"], body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "inputs.amount.parameters.binary_data_size"
    assert "Inference-Header-Content-Length" in r.json()["error"]
    r = shared_client.post("/v2/models/fraud/infer", content=json.dumps(BASE), headers={
        **auth(tokens["scorer"]), "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": "100000"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "header.Inference-Header-Content-Length"


def test_a_version_in_the_url_must_be_the_routed_one(client, tokens, served_ws):
    body = tensors([example_row("fraud")])
    url = "/v2/models/fraud/versions/{}/infer"
    h = {**auth(tokens["scorer"]), "Content-Type": "application/json"}
    assert client.post(url.format(1), content=json.dumps(body), headers=h).json()[
        "model_version"] == "1"
    r = client.post(url.format(2), content=json.dumps(body), headers=h)
    assert r.status_code == 404 and "not served" in r.json()["error"]
    assert client.post(url.format("x1"), content=json.dumps(body), headers=h).status_code == 404
    Registry(served_ws).promote("fraud", 2, stage="canary", percent=30, actor="local:t")
    assert client.app.state.serving.pool.refresh()
    r = client.post(url.format(2), content=json.dumps(body), headers=h)
    assert r.status_code == 409 and "X-Request-Key" in r.json()["error"]
    versions = {}
    for i in range(40):
        key = {"X-Request-Key": f"acct-{i}"}
        routed = client.post("/v2/models/fraud/infer", content=json.dumps(body),
                             headers={**h, **key}).json()["model_version"]
        versions[routed] = key
        other = "1" if routed == "2" else "2"
        assert client.post(url.format(routed), content=json.dumps(body),
                           headers={**h, **key}).status_code == 200
        r = client.post(url.format(other), content=json.dumps(body), headers={**h, **key})
        assert r.status_code == 409 and "only the routed version" in r.json()["error"]
    assert set(versions) == {"1", "2"}


def test_the_ml_switch_answers_from_the_heuristic(served_ws, tokens, monkeypatch):
    from riskops.serving.app import create_app

    monkeypatch.setenv("RISK_ML_ENABLED", "false")
    with TestClient(create_app(served_ws)) as c:
        body = infer(c, tokens["scorer"], tensors([example_row("fraud")])).json()
        assert body["model_version"] == "heuristic"
        assert body["parameters"]["risk_score_method"] == "heuristic"
        assert body["parameters"]["risk_model_version"] is None
        r = c.post("/v2/models/fraud/versions/1/infer", json=tensors([example_row("fraud")]),
                   headers=auth(tokens["scorer"]))
        assert r.status_code == 409 and "heuristic" in r.json()["error"]


def test_compliance_answers_with_its_plan_and_incident_with_text(shared_client, tokens):
    row = example_row("compliance")
    r = infer(shared_client, tokens["scorer"], {"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]},
        model="compliance")
    assert r.status_code == 200, r.text
    plan = json.loads(output(r.json(), "plan")[0])
    assert plan and {"tier", "action"} <= set(plan[0])
    row = {**example_row("incident"), "text": "サーバーダウン — payments down"}
    inputs = [{"name": k, "shape": [1], "datatype": "BYTES", "data": [v]} for k, v in row.items()]
    r = infer(shared_client, tokens["scorer"], {"inputs": inputs}, model="incident")
    assert r.status_code == 200, r.text
    assert output(r.json(), "risk_label")[0] in ("low", "medium", "high")


def test_metrics_count_v2_requests_like_risk(shared_client, tokens):
    def total(name: str) -> float:
        text = shared_client.get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name + "{"))

    requests, predictions = total("risk_requests_total"), total("ml_predictions_total")
    body = tensors([example_row("fraud")] * 3)
    assert infer(shared_client, tokens["scorer"], body).status_code == 200
    assert total("risk_requests_total") - requests == 1  # one request ...
    assert total("ml_predictions_total") - predictions == 3  # ... of three predictions


def test_openapi_describes_v2(shared_client):
    spec = shared_client.get("/openapi.json").json()
    assert "/v2/models/{name}/infer" in spec["paths"]
    assert "InferenceRequest" in spec["components"]["schemas"]
    assert "RequestInput" in spec["components"]["schemas"]


def test_segment_values_ride_in_the_features_object_form(shared_client, tokens):
    row = {**example_row("deal"), "region": "emea"}
    r = infer(shared_client, tokens["scorer"], {"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]}, model="deal")
    assert r.status_code == 200, r.text
    [prediction_id] = r.json()["parameters"]["prediction_ids"]
    with db.read_session(shared_client.app.state.serving.ws.database_url) as session:
        assert json.loads(session.get(PredictionRow, prediction_id).inputs) == row
    # ... and the one-tensor-per-feature form takes features only.
    tensors = [{"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64",
                "data": [v]} for k, v in row.items()]
    r = infer(shared_client, tokens["scorer"], {"inputs": tensors}, model="deal")
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "unknown_input" and error["field"].startswith("inputs.")

"""Validity bounds at the door: every scoring path refuses an impossible input with 4xx naming
the field and the rule, never the value; values at the bounds are scored.

Also the training range: a valid input the served version never saw in training is scored
with the reason ``outside training range: <feature>`` and counted in
``ml_out_of_range_inputs_total``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    example_row,
    served_template,
    shared_client,
    tokens,
)
from serving_helpers_process import free_port

from riskops.config import open_workspace
from riskops.scenarios import get_scenario
from riskops.serving.oip import grpc_predict_v2_pb2 as pb
from riskops.serving.oip import grpc_predict_v2_pb2_grpc as pb_grpc
from riskops.serving.settings import serving_settings

#: (scenario, field, value, error type): impossible inputs, one or more per scenario.
HOSTILE = [
    ("fraud", "amount", -5, "greater_than_equal"),
    ("fraud", "hour_of_day", 27, "less_than_equal"),
    ("fraud", "hour_of_day", -1, "greater_than_equal"),
    ("fraud", "hour_of_day", 3.5, "int_from_float"),
    ("fraud", "account_age_days", -3, "greater_than_equal"),
    ("fraud", "txn_count_24h", -1, "greater_than_equal"),
    ("fraud", "distance_from_home_km", -0.1, "greater_than_equal"),
    ("fraud", "failed_auth_7d", 1.25, "int_from_float"),
    ("fraud", "channel", "fax", "literal_error"),
    ("shortfall", "revenue_change_pct", -100.5, "greater_than_equal"),
    ("shortfall", "balance_to_liability_ratio", -0.01, "greater_than_equal"),
    ("shortfall", "months_registered", -3, "greater_than_equal"),
    ("shortfall", "missed_payments_12m", 0.5, "int_from_float"),
    ("shortfall", "estimated_liability", -1, "greater_than_equal"),
    ("compliance", "training_completion", 1.5, "less_than_equal"),
    ("compliance", "control_test_failure_rate", -0.2, "greater_than_equal"),
    ("compliance", "open_findings", -1, "greater_than_equal"),
    ("compliance", "days_since_last_audit", 2.5, "int_from_float"),
    ("compliance", "jurisdiction_risk", "extreme", "literal_error"),
    ("deal", "amount", -5, "greater_than_equal"),
    ("deal", "discount_pct", 120, "less_than_equal"),
    ("deal", "days_to_close", 3.5, "int_from_float"),
    ("deal", "meetings_30d", -1, "greater_than_equal"),
    ("incident", "source", "carrier pigeon", "literal_error"),
]


def _refusal(r, field: str, kind: str, value: object) -> dict:
    assert r.status_code == 422, r.text
    errors = [e for e in r.json()["detail"] if e["field"] == field]
    assert errors and errors[0]["type"] == kind, r.json()
    assert str(value) not in json.dumps(errors[0]["reason"]), errors[0]  # never the value
    return errors[0]


@pytest.mark.parametrize(("scenario", "field", "value", "kind"), HOSTILE)
def test_impossible_inputs_are_refused_naming_the_field_and_rule(
        shared_client, tokens, scenario, field, value, kind):
    row = {**example_row(scenario), field: value}
    r = shared_client.post(f"/risk/{scenario}", json=row, headers=auth(tokens["scorer"]))
    _refusal(r, f"body.{field}", kind, value)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("amount", -5, "Input should be greater than or equal to 0"),
    ("hour_of_day", 27, "Input should be less than or equal to 23"),
    ("hour_of_day", 3.5, "Input should be a valid integer, got a number with a fractional part"),
    ("channel", "fax", "Input should be 'pos', 'web', 'app' or 'phone'"),
    ("hour_of_day", "3", "Input should be a valid number"),
    ("hour_of_day", True, "Input should be a valid number"),
])
def test_refusal_reasons_state_the_rule(shared_client, tokens, field, value, reason):
    row = {**example_row("fraud"), field: value}
    r = shared_client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 422
    assert r.json()["detail"][0]["reason"] == reason


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(shared_client, tokens, value):
    row = {**example_row("fraud"), "hour_of_day": value}
    content = json.dumps(row, allow_nan=True)  # NaN, Infinity, -Infinity literals
    r = shared_client.post("/risk/fraud", content=content, headers={
        **auth(tokens["scorer"]), "Content-Type": "application/json"})
    _refusal(r, "body.hour_of_day", "finite_number", value)


@pytest.mark.parametrize(("field", "value"), [
    ("hour_of_day", 0), ("hour_of_day", 23), ("hour_of_day", 3.0), ("amount", 0),
    ("account_age_days", 0), ("distance_from_home_km", 0.0),
])
def test_values_exactly_at_a_bound_are_scored(shared_client, tokens, field, value):
    row = {**example_row("fraud"), field: value}
    r = shared_client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text
    assert r.json()["risk_score_method"] == "ml"


def test_a_whole_float_scores_like_the_integer(shared_client, tokens):
    row = example_row("fraud")
    scores = [shared_client.post("/risk/fraud", json={**row, "hour_of_day": hour},
                                 headers=auth(tokens["scorer"])).json()["risk_score"]
              for hour in (4, 4.0)]
    assert scores[0] == scores[1]


def test_deal_days_to_close_may_be_negative(shared_client, tokens):
    row = {**example_row("deal"), "days_to_close": -30}
    r = shared_client.post("/risk/deal", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 200, r.text


def test_a_batch_names_the_row_and_field(shared_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(3)]
    rows[1]["hour_of_day"] = 27
    r = shared_client.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"]))
    _refusal(r, "body.1.hour_of_day", "less_than_equal", 27)


def test_v2_named_tensors_refuse_out_of_bounds(shared_client, tokens):
    row = example_row("fraud")
    inputs = [{"name": f.name, "shape": [2], "datatype": "FP64" if f.kind == "numeric"
               else "BYTES", "data": [row[f.name], row[f.name]]}
              for f in get_scenario("fraud").schema.features]
    for tensor in inputs:
        if tensor["name"] == "hour_of_day":
            tensor.update(datatype="INT64", data=[5, 27])
    r = shared_client.post("/v2/models/fraud/infer", json={"inputs": inputs},
                           headers=auth(tokens["scorer"]))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "inputs.hour_of_day.data.1"
    assert r.json()["error"] == ("invalid inference request: inputs.hour_of_day.data.1: Input "
                                 "should be less than or equal to 23")


def test_v2_features_objects_refuse_out_of_bounds(shared_client, tokens):
    row = {**example_row("fraud"), "amount": -5}
    r = shared_client.post("/v2/models/fraud/infer", json={"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [json.dumps(row)]}]},
        headers=auth(tokens["scorer"]))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "inputs.features.data.0.amount"
    assert "-5" not in r.json()["error"]


def test_v2_versioned_infer_refuses_out_of_bounds(shared_client, tokens):
    row = {**example_row("shortfall"), "months_registered": -3}
    r = shared_client.post("/v2/models/shortfall/versions/1/infer", json={"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]},
        headers=auth(tokens["scorer"]))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "inputs.features.data.0.months_registered"


@pytest.fixture(scope="module")
def grpc_stub(served_template, tmp_path_factory) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    from riskops.serving.app import create_app

    home = tmp_path_factory.mktemp("bounds-grpc") / "served"
    shutil.copytree(served_template, home)
    ws = open_workspace(home)
    settings = replace(serving_settings(ws, {}), grpc_address=f"127.0.0.1:{free_port()}")
    with TestClient(create_app(ws, settings=settings)), \
            grpc.insecure_channel(settings.grpc_address) as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def test_grpc_refuses_out_of_bounds_naming_the_field(grpc_stub, tokens):
    row = {**example_row("fraud"), "account_age_days": -3}
    message = pb.ModelInferRequest(model_name="fraud")
    for f in get_scenario("fraud").schema.features:
        tensor = message.inputs.add(name=f.name, shape=[1],
                                    datatype="FP64" if f.kind == "numeric" else "BYTES")
        if f.kind == "numeric":
            tensor.contents.fp64_contents.append(row[f.name])
        else:
            tensor.contents.bytes_contents.append(row[f.name].encode())
    with pytest.raises(grpc.RpcError) as caught:
        grpc_stub.ModelInfer(message, metadata=[("authorization",
                                                 f"Bearer {tokens['scorer']}")])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == ("invalid inference request: inputs.account_age_days.data.0"
                                      ": Input should be greater than or equal to 0")


# -- the training range --------------------------------------------------------------------


def _counted(feature: str) -> float:
    return REGISTRY.get_sample_value("ml_out_of_range_inputs_total",
                                     {"model": "fraud", "feature": feature}) or 0.0


def test_valid_input_beyond_the_training_data_is_scored_with_a_reason(shared_client, tokens):
    before = _counted("amount")
    row = {**example_row("fraud"), "amount": 250_000.0}  # the generator stops at 20,000
    r = shared_client.post("/risk/fraud", json=row, headers=auth(tokens["scorer"]))
    assert r.status_code == 200
    body = r.json()
    assert body["risk_score_method"] == "ml"
    assert body["reasons"][-1] == "outside training range: amount"
    assert _counted("amount") == before + 1


def test_input_inside_the_training_data_has_no_range_reason(shared_client, tokens):
    before = _counted("amount")
    r = shared_client.post("/risk/fraud", json=example_row("fraud"),
                           headers=auth(tokens["scorer"]))
    assert not any(x.startswith("outside training range") for x in r.json()["reasons"])
    assert _counted("amount") == before


def test_v2_answers_carry_the_range_reason(shared_client, tokens):
    row = {**example_row("fraud"), "distance_from_home_km": 19_000.0}
    r = shared_client.post("/v2/models/fraud/infer", json={"inputs": [
        {"name": "features", "shape": [1], "datatype": "BYTES", "data": [row]}]},
        headers=auth(tokens["scorer"]))
    assert r.status_code == 200
    reasons = next(o for o in r.json()["outputs"] if o["name"] == "reasons")["data"]
    assert "outside training range: distance_from_home_km" in json.loads(reasons[0])

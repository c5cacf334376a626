"""The binary tensor data extension over HTTP, in-process.

Requests are built and responses read by Triton's own HTTP client code
(``InferenceServerClient.generate_request_body`` and ``parse_response_body``, what
``client.infer`` does around its socket); ``/risk/{scenario}`` on the same rows is
the oracle for the scores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.http as triton
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    example_row,
    served_template,
    shared_client,
    tokens,
)

from riskops.scenarios import get_scenario
from riskops.serving.v2_binary import HEADER

SCENARIOS = ["fraud", "shortfall", "compliance", "incident", "deal"]


def triton_inputs(scenario: str, rows: list[dict], *, binary: bool = True,
                  float_type=np.float64) -> list[triton.InferInput]:
    """One InferInput per feature, as a Triton user builds them from numpy columns."""
    inputs = []
    for f in get_scenario(scenario).schema.features:
        column = [row[f.name] for row in rows]
        if f.kind == "numeric":
            array = np.array(column, dtype=float_type).reshape(-1, 1)
        else:
            array = np.array(column, dtype=np.object_).reshape(-1, 1)
        tensor = triton.InferInput(f.name, list(array.shape),
                                   "BYTES" if array.dtype == np.object_ else
                                   {np.float64: "FP64", np.float32: "FP32"}[float_type])
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


def post(client, token: str, body: bytes, header_length: int | None, model: str = "fraud",
         **headers):
    extra = {} if header_length is None else {HEADER: str(header_length)}
    return client.post(f"/v2/models/{model}/infer", content=body, headers={
        **auth(token, **headers), "Content-Type": "application/octet-stream", **extra})


def result_of(response) -> triton.InferResult:
    length = response.headers.get(HEADER)
    return triton.InferenceServerClient.parse_response_body(
        response.content, header_length=int(length) if length else None)


def oracle(client, token: str, scenario: str, rows: list[dict]) -> list[dict]:
    r = client.post(f"/risk/{scenario}", json=rows, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tritonclient_defaults_score_every_scenario(shared_client, tokens, scenario):
    rows = [example_row(scenario, index=i) for i in range(3)]
    body, length = triton.InferenceServerClient.generate_request_body(
        triton_inputs(scenario, rows), request_id="b-1")
    assert length is not None  # binary inputs, and binary outputs asked for by default
    r = post(shared_client, tokens["scorer"], body, length, model=scenario)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    result = result_of(r)
    expected = oracle(shared_client, tokens["scorer"], scenario, rows)
    np.testing.assert_allclose(result.as_numpy("risk_score"),
                               [e["risk_score"] for e in expected], atol=1e-12)
    assert [v.decode() for v in result.as_numpy("risk_label")] == \
        [e["risk_label"] for e in expected]
    assert [json.loads(v) for v in result.as_numpy("reasons")] == \
        [e["reasons"] for e in expected]
    response = result.get_response()
    assert response["id"] == "b-1" and response["model_name"] == scenario
    ids = [v.decode() for v in result.as_numpy("prediction_id")]
    assert response["parameters"]["prediction_ids"] == ids
    assert response["parameters"]["risk_score_method"] == expected[0]["risk_score_method"]
    assert response["parameters"]["manifest_version"] == expected[0]["manifest_version"]


def test_binary_inputs_with_json_outputs_and_the_reverse(shared_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(2)]
    asked = [triton.InferRequestedOutput("risk_score", binary_data=False),
             triton.InferRequestedOutput("prediction_id", binary_data=True)]
    body, length = triton.InferenceServerClient.generate_request_body(
        triton_inputs("fraud", rows), outputs=asked)
    r = post(shared_client, tokens["scorer"], body, length)
    assert r.status_code == 200, r.text
    header = json.loads(r.content[:int(r.headers[HEADER])])
    score, pid = header["outputs"]
    assert "data" in score and "binary_data_size" not in score.get("parameters", {})
    assert "data" not in pid and pid["parameters"]["binary_data_size"] > 0
    expected = oracle(shared_client, tokens["scorer"], "fraud", rows)
    assert score["data"] == pytest.approx([e["risk_score"] for e in expected], abs=1e-12)

    # JSON inputs and JSON outputs only: a plain JSON answer, no binary header.
    body, length = triton.InferenceServerClient.generate_request_body(
        triton_inputs("fraud", rows, binary=False),
        outputs=[triton.InferRequestedOutput("risk_score", binary_data=False)])
    assert length is None
    r = post(shared_client, tokens["scorer"], body, None)
    assert r.status_code == 200 and HEADER not in r.headers
    assert r.json()["outputs"][0]["data"] == pytest.approx(
        [e["risk_score"] for e in expected], abs=1e-12)


def test_float32_inputs_score_as_the_same_values_in_json(shared_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(4)]
    body, length = triton.InferenceServerClient.generate_request_body(
        triton_inputs("fraud", rows, float_type=np.float32))
    r = post(shared_client, tokens["scorer"], body, length)
    assert r.status_code == 200, r.text
    for row in rows:  # what float32 makes of each value is what the model sees
        for f in get_scenario("fraud").schema.features:
            if f.kind == "numeric":
                row[f.name] = float(np.float32(row[f.name]))
    expected = oracle(shared_client, tokens["scorer"], "fraud", rows)
    np.testing.assert_allclose(result_of(r).as_numpy("risk_score"),
                               [e["risk_score"] for e in expected], atol=1e-12)


def test_a_features_tensor_of_json_objects_as_binary(shared_client, tokens):
    rows = [example_row("shortfall", index=i) for i in range(2)]
    tensor = triton.InferInput("features", [2], "BYTES")
    tensor.set_data_from_numpy(np.array([json.dumps(r) for r in rows], dtype=np.object_))
    body, length = triton.InferenceServerClient.generate_request_body([tensor])
    r = post(shared_client, tokens["scorer"], body, length, model="shortfall")
    assert r.status_code == 200, r.text
    expected = oracle(shared_client, tokens["scorer"], "shortfall", rows)
    np.testing.assert_allclose(result_of(r).as_numpy("risk_score"),
                               [e["risk_score"] for e in expected], atol=1e-12)


def _binary_request(rows: list[dict]) -> tuple[dict, bytes]:
    body, length = triton.InferenceServerClient.generate_request_body(
        triton_inputs("fraud", rows))
    return json.loads(body[:length]), body[length:]


def _send(client, token, header: dict, data: bytes):
    raw = json.dumps(header).encode()
    return post(client, token, raw + data, len(raw))


def _error(r) -> tuple[str, str]:
    assert r.status_code == 422, r.text
    first = r.json()["detail"][0]
    return first["field"], first["reason"]


def test_a_size_that_is_not_shape_times_datatype_names_the_input(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    amount = next(t for t in header["inputs"] if t["name"] == "amount")
    amount["shape"] = [2, 1]  # 2 rows declared, 8 bytes sent
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field == "inputs.amount.parameters.binary_data_size"
    assert reason == "holds 8 bytes, but 2 FP64 elements take 16"


def test_sizes_that_do_not_add_up_to_the_body_are_refused(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data + b"\x00"))
    assert field == "body" and "1 bytes follow the JSON header" in reason
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data[:-3]))
    assert field.endswith(".parameters.binary_data_size") and "remain in the body" in reason


@pytest.mark.parametrize("size", [-1, "8", 1.5, True, None])
def test_a_malformed_binary_data_size_is_refused(shared_client, tokens, size):
    header, data = _binary_request([example_row("fraud")])
    header["inputs"][0]["parameters"]["binary_data_size"] = size
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field == f"inputs.{header['inputs'][0]['name']}.parameters.binary_data_size"
    assert "whole number of bytes" in reason


def test_data_and_binary_data_size_together_are_refused(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    header["inputs"][0]["data"] = [1.0]
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field.endswith(".data") and "not both" in reason


@pytest.mark.parametrize("declared", ["abc", "-5", "0", "9" * 13, "999999"])
def test_a_bad_header_length_is_refused(shared_client, tokens, declared):
    header, data = _binary_request([example_row("fraud")])
    raw = json.dumps(header).encode() + data
    r = shared_client.post("/v2/models/fraud/infer", content=raw, headers={
        **auth(tokens["scorer"]), HEADER: declared})
    field, _ = _error(r)
    assert field == "header.Inference-Header-Content-Length"


def test_a_header_that_is_not_json_is_refused(shared_client, tokens):
    r = post(shared_client, tokens["scorer"], b"{not json" + b"\x00" * 8, 9)
    field, reason = _error(r)
    assert field == "body" and "JSON inference header" in reason


def test_binary_values_are_checked_like_json_ones(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    names = [t["name"] for t in header["inputs"]]
    offsets, at = {}, 0
    for tensor in header["inputs"]:
        offsets[tensor["name"]] = at
        at += tensor["parameters"]["binary_data_size"]
    start = offsets["amount"]
    nan = data[:start] + np.array([np.nan]).tobytes() + data[start + 8:]
    field, reason = _error(_send(shared_client, tokens["scorer"], header, nan))
    assert field == "inputs.amount.data.0" and "NaN" in reason
    # A BYTES element that is not UTF-8, in a categorical column.
    cat = next(n for n, f in zip(names, get_scenario("fraud").schema.features, strict=True)
               if f.kind != "numeric")
    start = offsets[cat]
    size = next(t for t in header["inputs"] if t["name"] == cat)["parameters"][
        "binary_data_size"]
    bad = data[:start] + (size - 4).to_bytes(4, "little") + b"\xff" * (size - 4) \
        + data[start + size:]
    field, reason = _error(_send(shared_client, tokens["scorer"], header, bad))
    assert field == f"inputs.{cat}.parameters.binary_data_size"
    assert reason == "BYTES element 0 is not UTF-8 text"


def test_binary_output_flags_must_be_booleans(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    header["parameters"] = {"binary_data_output": "yes"}
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field == "parameters.binary_data_output" and reason == "must be true or false"


def test_an_oversized_binary_body_is_413_before_it_is_read(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    raw = json.dumps(header).encode()
    r = post(shared_client, tokens["scorer"], raw + data + b"\x00" * (2 * 1024 * 1024),
             len(raw))
    assert r.status_code == 413


def test_a_wrong_role_is_refused_before_the_body_is_decoded(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    r = _send(shared_client, tokens["reviewer"], header, data)
    assert r.status_code == 403 and "error" in r.json()


def test_bf16_has_no_binary_form_here(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    amount = next(t for t in header["inputs"] if t["name"] == "amount")
    amount["datatype"] = "BF16"
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field == "inputs.amount.parameters.binary_data_size"
    assert reason.startswith("datatype BF16 has no binary form here")


def test_a_shape_past_the_batch_limit_is_refused_before_decoding(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    header["inputs"][0]["shape"] = [10**9]
    r = _send(shared_client, tokens["scorer"], header, data)
    assert r.status_code == 413 and "batch of 1000000000 rows" in r.json()["error"]
    header["inputs"][0]["shape"] = [1, 3]
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert field == f"inputs.{header['inputs'][0]['name']}.shape"
    assert reason == "shape must be [N] or [N, 1]: one value per row"


def test_one_bad_size_is_the_only_error_named(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    header["inputs"][0]["parameters"]["binary_data_size"] = -1
    r = _send(shared_client, tokens["scorer"], header, data)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == [
        f"inputs.{header['inputs'][0]['name']}.parameters.binary_data_size"]


def test_a_repeated_output_is_refused(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    header["outputs"] = [{"name": "risk_score", "parameters": {"binary_data": True}},
                         {"name": "risk_score", "parameters": {"binary_data": False}}]
    field, reason = _error(_send(shared_client, tokens["scorer"], header, data))
    assert (field, reason) == ("outputs.1.name", "output asked for more than once")


def test_compressed_bodies_and_repeated_headers_are_refused_clearly(shared_client, tokens):
    header, data = _binary_request([example_row("fraud")])
    raw = json.dumps(header).encode()
    r = shared_client.post("/v2/models/fraud/infer", content=raw + data, headers={
        **auth(tokens["scorer"]), HEADER: str(len(raw)), "Content-Encoding": "gzip"})
    assert r.status_code == 415 and "send the body uncompressed" in r.json()["error"]
    r = shared_client.post("/v2/models/fraud/infer", content=raw + data, headers=[
        ("Authorization", f"Bearer {tokens['scorer']}"), (HEADER, str(len(raw))),
        (HEADER, "5")])
    field, reason = _error(r)
    assert field == "header.Inference-Header-Content-Length" and "more than once" in reason
    r = post(shared_client, tokens["scorer"], raw + data, 10**13)
    field, reason = _error(r)
    assert reason == "has more than 12 digits; no request body is that large"

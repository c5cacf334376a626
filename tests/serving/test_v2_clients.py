"""Triton's own clients, unchanged and at their defaults, against a real ``riskops serve``.

One ``riskops serve --workers 2 --grpc-port P`` per module. ``tritonclient.http``
sends binary tensors and asks for binary outputs by default; ``tritonclient.grpc``
speaks ``inference.GRPCInferenceService``. ``POST /risk/{scenario}`` on the same rows
is the oracle for every score; the inference log must hold every prediction the
clients were answered with.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from serving_helpers import example_row, served_template, tokens  # noqa: F401  (fixtures)
from serving_helpers_process import free_port, serve
from sqlalchemy import select
from tritonclient.utils import InferenceServerException

from riskops.config import open_workspace
from riskops.scenarios import get_scenario
from riskops.storage import db
from riskops.storage.tables import PredictionRow

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32",
                                                   reason="process groups are POSIX")]

SCENARIOS = ["fraud", "shortfall", "compliance", "incident", "deal"]


@pytest.fixture(scope="module")
def server(served_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    home = root / "served"
    shutil.copytree(served_template, home)
    ws = open_workspace(home)
    grpc_port = free_port()
    with serve(ws, root, workers=2, grpc_port=grpc_port) as running:
        running.grpc = f"127.0.0.1:{grpc_port}"
        running.ws = ws
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}  # gRPC metadata keys are lower case


@pytest.fixture(scope="module")
def http_client(server):
    client = triton_http.InferenceServerClient(server.url.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def grpc_client(server):
    client = triton_grpc.InferenceServerClient(server.grpc)
    yield client
    client.close()


def columns(module, scenario: str, rows: list[dict]) -> list:
    """One InferInput per feature, set from numpy with the client's default (binary)."""
    inputs = []
    for f in get_scenario(scenario).schema.features:
        values = [row[f.name] for row in rows]
        if f.kind == "numeric":
            array, datatype = np.array(values, dtype=np.float64).reshape(-1, 1), "FP64"
        else:
            array, datatype = np.array(values, dtype=np.object_).reshape(-1, 1), "BYTES"
        tensor = module.InferInput(f.name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


def oracle(server, token: str, scenario: str, rows: list[dict]) -> list[dict]:
    r = httpx.post(f"{server.url}/risk/{scenario}", json=rows, headers=bearer(token),
                   timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def grpc_parameters(result) -> dict:
    params = result.get_response().parameters
    return {key: getattr(value, value.WhichOneof("parameter_choice"))
            for key, value in params.items()}


def logged(server, ids: list[str]) -> set[str]:
    with db.read_session(server.ws.database_url) as session:
        found = session.scalars(select(PredictionRow.id).where(PredictionRow.id.in_(ids)))
        return set(found)


def test_health_and_metadata_over_http_and_grpc(server, http_client, grpc_client, tokens):
    headers = bearer(tokens["scorer"])
    for client in (http_client, grpc_client):
        assert client.is_server_live(headers=headers)
        assert client.is_server_ready(headers=headers)
        assert client.is_model_ready("fraud", headers=headers)
        assert client.is_model_ready("fraud", "1", headers=headers)
    meta = http_client.get_server_metadata(headers=headers)
    assert meta["name"] == "riskops" and "binary_tensor_data" in meta["extensions"]
    meta = grpc_client.get_server_metadata(headers=headers)
    assert meta.name == "riskops" and "binary_tensor_data" in meta.extensions
    http_meta = http_client.get_model_metadata("fraud", headers=headers)
    grpc_meta = grpc_client.get_model_metadata("fraud", headers=headers, as_json=True)
    assert [i["name"] for i in grpc_meta["inputs"]] == [i["name"] for i in http_meta["inputs"]]
    assert grpc_meta["versions"] == http_meta["versions"] == ["1"]
    assert [o["name"] for o in grpc_meta["outputs"]] == [o["name"] for o in
                                                         http_meta["outputs"]]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("rows_count", [1, 5])
def test_every_scenario_scores_as_the_json_route(server, http_client, grpc_client, tokens,
                                                 scenario, rows_count):
    rows = [example_row(scenario, index=i) for i in range(rows_count)]
    expected = oracle(server, tokens["scorer"], scenario, rows)
    want = np.array([e["risk_score"] for e in expected])
    headers = bearer(tokens["scorer"])

    # tritonclient.http adds its own header to the dict it is given: pass a copy.
    over_http = http_client.infer(scenario, columns(triton_http, scenario, rows),
                                  headers=dict(headers))
    np.testing.assert_allclose(over_http.as_numpy("risk_score"), want, atol=1e-12)
    http_params = over_http.get_response()["parameters"]
    assert http_params["risk_score_method"] == expected[0]["risk_score_method"]
    assert http_params["manifest_version"] == expected[0]["manifest_version"]
    assert http_params["tenant_id"] == "default"

    over_grpc = grpc_client.infer(scenario, columns(triton_grpc, scenario, rows),
                                  headers={**headers, "x-tenant-id": "acme"})
    np.testing.assert_allclose(over_grpc.as_numpy("risk_score"), want, atol=1e-12)
    assert [v.decode() for v in over_grpc.as_numpy("risk_label")] == \
        [e["risk_label"] for e in expected]
    assert [json.loads(v) for v in over_grpc.as_numpy("reasons")] == \
        [e["reasons"] for e in expected]
    grpc_params = grpc_parameters(over_grpc)
    assert grpc_params["risk_score_method"] == expected[0]["risk_score_method"]
    assert grpc_params["model_id"] == (expected[0]["model_id"] or "")
    assert grpc_params["manifest_version"] == expected[0]["manifest_version"]
    assert grpc_params["tenant_id"] == "acme"
    if expected[0]["risk_model_version"] is not None:
        assert over_grpc.get_response().model_version == str(expected[0]["risk_model_version"])

    ids = [v.decode() for v in over_http.as_numpy("prediction_id")]
    ids += [v.decode() for v in over_grpc.as_numpy("prediction_id")]
    assert json.loads(grpc_params["prediction_ids"]) == ids[rows_count:]
    assert logged(server, ids) == set(ids)  # every answered prediction is in the log


def test_grpc_typed_contents_score_like_raw_ones(server, grpc_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(3)]
    expected = oracle(server, tokens["scorer"], "fraud", rows)
    from riskops.serving.oip import grpc_predict_v2_pb2 as pb
    from riskops.serving.oip import grpc_predict_v2_pb2_grpc as pb_grpc

    request = pb.ModelInferRequest(model_name="fraud", id="typed-1")
    for f in get_scenario("fraud").schema.features:
        tensor = request.inputs.add(name=f.name, shape=[3],
                                    datatype="FP64" if f.kind == "numeric" else "BYTES")
        if f.kind == "numeric":
            tensor.contents.fp64_contents.extend(row[f.name] for row in rows)
        else:
            tensor.contents.bytes_contents.extend(row[f.name].encode() for row in rows)
    with grpc.insecure_channel(server.grpc) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        answer = stub.ModelInfer(request, metadata=[
            ("authorization", f"Bearer {tokens['scorer']}")])
    assert answer.id == "typed-1"
    scores = np.frombuffer(answer.raw_output_contents[0], dtype="<f8")
    np.testing.assert_allclose(scores, [e["risk_score"] for e in expected], atol=1e-12)


def test_a_wrong_role_is_refused_on_both(server, http_client, grpc_client, tokens):
    rows = [example_row("fraud")]
    headers = bearer(tokens["reviewer"])
    with pytest.raises(InferenceServerException) as http_error:
        http_client.infer("fraud", columns(triton_http, "fraud", rows), headers=dict(headers))
    assert http_error.value.status() == "403"
    assert "needs one of" in http_error.value.message()
    with pytest.raises(InferenceServerException) as grpc_error:
        grpc_client.infer("fraud", columns(triton_grpc, "fraud", rows), headers=headers)
    assert grpc_error.value.status() == "StatusCode.PERMISSION_DENIED"
    assert "needs one of" in grpc_error.value.message()
    with pytest.raises(InferenceServerException) as missing:
        grpc_client.infer("fraud", columns(triton_grpc, "fraud", rows))
    assert missing.value.status() == "StatusCode.UNAUTHENTICATED"


def test_a_malformed_tensor_is_named_on_both(server, http_client, grpc_client, tokens):
    rows = [example_row("fraud", index=i) for i in range(2)]
    for module, client, status in ((triton_http, http_client, "422"),
                                   (triton_grpc, grpc_client, "StatusCode.INVALID_ARGUMENT")):
        inputs = columns(module, "fraud", rows)
        amount = next(t for t in inputs if t.name() == "amount")
        amount.set_shape([3, 1])  # 3 rows declared, 2 sent
        with pytest.raises(InferenceServerException) as caught:
            client.infer("fraud", inputs, headers=bearer(tokens["scorer"]))
        assert caught.value.status() == status
        assert "inputs.amount" in caught.value.message()
        assert "but 3 FP64 elements take 24" in caught.value.message()


def test_unknown_models_and_versions(server, http_client, grpc_client, tokens):
    headers = bearer(tokens["scorer"])
    rows = [example_row("fraud")]
    with pytest.raises(InferenceServerException) as caught:
        grpc_client.infer("nope", columns(triton_grpc, "fraud", rows), headers=headers)
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    assert "models served here" in caught.value.message()
    with pytest.raises(InferenceServerException) as caught:
        grpc_client.infer("fraud", columns(triton_grpc, "fraud", rows), model_version="2",
                          headers=headers)
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException) as caught:
        grpc_client.get_model_metadata("nope", headers=headers)
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    answer = grpc_client.infer("fraud", columns(triton_grpc, "fraud", rows), model_version="1",
                               headers=headers)
    assert answer.get_response().model_version == "1"


def test_an_oversized_grpc_message_is_refused_before_it_is_read(server, grpc_client, tokens):
    rows = [example_row("fraud")]
    inputs = columns(triton_grpc, "fraud", rows)
    big = triton_grpc.InferInput("padding", [2 * 1024 * 1024], "UINT8")
    big.set_data_from_numpy(np.zeros(2 * 1024 * 1024, dtype=np.uint8))
    with pytest.raises(InferenceServerException) as caught:
        grpc_client.infer("fraud", [*inputs, big], headers=bearer(tokens["scorer"]))
    assert caught.value.status() == "StatusCode.RESOURCE_EXHAUSTED"


def test_sigterm_lets_grpc_calls_in_flight_answer(served_template, tmp_path, tokens):
    """A rolling restart: calls already sent answer (or say UNAVAILABLE, which clients
    retry), none is CANCELLED, and every answered prediction is in the log."""
    import concurrent.futures
    import os
    import signal

    from riskops.serving.oip import grpc_predict_v2_pb2 as pb
    from riskops.serving.oip import grpc_predict_v2_pb2_grpc as pb_grpc
    from riskops.serving.tensor_bytes import encode_tensor

    home = tmp_path / "served"
    shutil.copytree(served_template, home)
    ws = open_workspace(home)
    grpc_port = free_port()
    rows = [example_row("fraud", index=i % 5) for i in range(1000)]
    request = pb.ModelInferRequest(model_name="fraud")
    for f in get_scenario("fraud").schema.features:
        datatype = "FP64" if f.kind == "numeric" else "BYTES"
        request.inputs.add(name=f.name, shape=[len(rows)], datatype=datatype)
        request.raw_input_contents.append(encode_tensor([r[f.name] for r in rows], datatype))
    metadata = [("authorization", f"Bearer {tokens['scorer']}")]
    with serve(ws, tmp_path, workers=1, grpc_port=grpc_port) as running, \
            grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        stub.ModelInfer(request, metadata=metadata, timeout=30)  # warm

        def call(_: int):
            try:
                return stub.ModelInfer(request, metadata=metadata, timeout=30)
            except grpc.RpcError as exc:
                return exc.code()

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(call, i) for i in range(20)]
            time.sleep(0.02)
            os.killpg(running.process.pid, signal.SIGTERM)
            answers = [f.result() for f in futures]
        running.process.wait(timeout=60)
    codes = [a for a in answers if isinstance(a, grpc.StatusCode)]
    assert grpc.StatusCode.CANCELLED not in codes, codes
    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}, codes
    answered = [a for a in answers if not isinstance(a, grpc.StatusCode)]
    assert answered, "no call in flight was answered"
    ids = [pid for a in answered for pid in json.loads(a.parameters["prediction_ids"]
                                                            .string_param)]
    running.ws = ws
    assert logged(running, ids) == set(ids)


def test_a_grpc_port_taken_after_the_check_fails_the_command(served_template, tmp_path):
    """The port is free when the command checks it and taken before the workers bind it:
    the command must fail (exit 1), not stop quietly with 0."""
    import os
    import socket
    import subprocess

    from serving_helpers_process import RISKOPS

    home = tmp_path / "served"
    shutil.copytree(served_template, home)
    port, grpc_port = free_port(), free_port()
    process = subprocess.Popen(
        [str(RISKOPS), "serve", "--home", str(home), "--port", str(port), "--grpc-port",
         str(grpc_port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env={**os.environ, "RISKOPS_HOME": str(home)})
    try:
        assert "gRPC (Open Inference Protocol)" in process.stdout.readline()
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", grpc_port))
            squatter.listen()
            _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
    assert process.returncode == 1
    assert err.strip().splitlines()[-1] == (
        f"error: the scoring API did not start on http://127.0.0.1:{port}; see the messages "
        "above.")

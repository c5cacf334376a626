"""The gRPC endpoint in-process: malformed, hostile and refused requests get a gRPC code
and the HTTP route's message, never an internal error; scores equal ``/risk``'s.

The app's lifespan starts the gRPC server on a free port (``grpc_address`` in
its settings, what ``riskops serve --grpc-port`` sets); the tests call it with
the generated stub over a real channel.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving_helpers import auth, example_row, served_template, tokens  # noqa: F401
from serving_helpers_process import free_port

from riskops.config import open_workspace
from riskops.scenarios import get_scenario
from riskops.serving.oip import grpc_predict_v2_pb2 as pb
from riskops.serving.oip import grpc_predict_v2_pb2_grpc as pb_grpc
from riskops.serving.settings import serving_settings
from riskops.serving.tensor_bytes import encode_tensor

FRAUD = get_scenario("fraud").schema


class Endpoint:
    def __init__(self, http: TestClient, stub: pb_grpc.GRPCInferenceServiceStub) -> None:
        self.http = http
        self.stub = stub


@pytest.fixture(scope="module")
def endpoint(served_template, tmp_path_factory) -> Iterator[Endpoint]:
    from dataclasses import replace

    from riskops.serving.app import create_app

    home = tmp_path_factory.mktemp("grpc") / "served"
    shutil.copytree(served_template, home)
    ws = open_workspace(home)
    settings = replace(serving_settings(ws, {}), grpc_address=f"127.0.0.1:{free_port()}",
                       max_body_bytes=256 * 1024)
    with TestClient(create_app(ws, settings=settings)) as http, \
            grpc.insecure_channel(settings.grpc_address) as channel:
        yield Endpoint(http, pb_grpc.GRPCInferenceServiceStub(channel))


def meta(token: str, **extra: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}"), *extra.items()]


def request(rows: list[dict], *, raw: bool = True, **fields) -> pb.ModelInferRequest:
    message = pb.ModelInferRequest(model_name="fraud", **fields)
    for f in FRAUD.features:
        datatype = "FP64" if f.kind == "numeric" else "BYTES"
        tensor = message.inputs.add(name=f.name, shape=[len(rows)], datatype=datatype)
        values = [row[f.name] for row in rows]
        if raw:
            message.raw_input_contents.append(encode_tensor(values, datatype))
        elif datatype == "FP64":
            tensor.contents.fp64_contents.extend(values)
        else:
            tensor.contents.bytes_contents.extend(v.encode() for v in values)
    return message


def refused(endpoint: Endpoint, message: pb.ModelInferRequest, token: str,
            **extra: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        endpoint.stub.ModelInfer(message, metadata=meta(token, **extra))
    return caught.value


def test_scores_equal_the_json_route(endpoint, tokens):
    rows = [example_row("fraud", index=i) for i in range(4)]
    expected = endpoint.http.post("/risk/fraud", json=rows,
                                  headers=auth(tokens["scorer"])).json()["items"]
    for raw in (True, False):
        answer = endpoint.stub.ModelInfer(request(rows, raw=raw),
                                          metadata=meta(tokens["scorer"]))
        names = [o.name for o in answer.outputs]
        scores = np.frombuffer(answer.raw_output_contents[names.index("risk_score")], "<f8")
        np.testing.assert_allclose(scores, [e["risk_score"] for e in expected], atol=1e-12)
        assert answer.parameters["risk_score_method"].string_param == "ml"
        assert answer.parameters["risk_model_version"].int64_param == 1
        assert answer.parameters["tenant_id"].string_param == "default"


def test_outputs_asked_for_are_the_ones_sent(endpoint, tokens):
    message = request([example_row("fraud")])
    message.outputs.add(name="prediction_id")
    answer = endpoint.stub.ModelInfer(message, metadata=meta(tokens["scorer"]))
    assert [o.name for o in answer.outputs] == ["prediction_id"]
    message.outputs.add(name="nope")
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "outputs.1.name: not an output of fraud" in error.details()


def test_values_in_the_wrong_contents_field_are_named(endpoint, tokens):
    message = request([example_row("fraud")], raw=False)
    amount = next(t for t in message.inputs if t.name == "amount")
    amount.contents.ClearField("fp64_contents")
    amount.contents.fp32_contents.append(1.0)
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "inputs.amount.contents.fp32_contents: FP64 values go in contents.fp64_contents" \
        in error.details()


def test_fp16_has_no_typed_contents(endpoint, tokens):
    message = request([example_row("fraud")], raw=False)
    amount = next(t for t in message.inputs if t.name == "amount")
    amount.datatype = "FP16"
    error = refused(endpoint, message, tokens["scorer"])
    assert "FP16 has no typed contents; send raw_input_contents" in error.details()


def test_raw_contents_must_match_the_inputs(endpoint, tokens):
    message = request([example_row("fraud")])
    del message.raw_input_contents[-1]
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"raw_input_contents: holds {len(FRAUD.features) - 1} entries for " \
           f"{len(FRAUD.features)} inputs" in error.details()


def test_raw_bytes_that_are_not_the_shape_are_named(endpoint, tokens):
    message = request([example_row("fraud")])
    message.raw_input_contents[0] = message.raw_input_contents[0][:-1]
    error = refused(endpoint, message, tokens["scorer"])
    first = message.inputs[0]
    assert f"inputs.{first.name}.raw_input_contents" in error.details()


def test_hostile_contents_never_reach_the_model(endpoint, tokens):
    rows = [example_row("fraud")]
    cases = []
    message = request(rows, raw=False)  # a BYTES element that is not UTF-8
    cat = next(t for t in message.inputs if t.datatype == "BYTES")
    cat.contents.bytes_contents[0] = b"\xff\xfe"
    cases.append((message, "an element is not UTF-8 text"))
    message = request(rows)  # a NaN, raw
    amount = [t.name for t in message.inputs].index("amount")
    message.raw_input_contents[amount] = np.array([np.nan]).tobytes()
    cases.append((message, "NaN"))
    message = request(rows)  # a negative dimension
    message.inputs[0].shape[0] = -1
    cases.append((message, "greater than or equal to 0"))
    message = request(rows)  # 2 rows claimed with 8 bytes
    message.inputs[0].shape[0] = 2
    cases.append((message, "holds 8 bytes, but 2 FP64 elements take 16"))
    message = request(rows, id="x" * 300)  # an id over 256 characters
    cases.append((message, "id"))
    message = request(rows)  # an unknown datatype
    message.inputs[0].datatype = "BF16"
    cases.append((message, "BF16 has no binary form here"))
    for message, reason in cases:
        error = refused(endpoint, message, tokens["scorer"])
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (reason, error.details())
        assert reason in error.details()
        assert "\xff" not in error.details()


def test_auth_tenant_and_routing_refusals(endpoint, tokens):
    message = request([example_row("fraud")])
    with pytest.raises(grpc.RpcError) as caught:
        endpoint.stub.ModelInfer(message)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "Authorization" in caught.value.details()
    error = refused(endpoint, message, "rko_not-a-real-token")
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    error = refused(endpoint, message, tokens["reviewer"])
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = refused(endpoint, message, tokens["scorer"], **{"x-tenant-id": "../etc"})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata.x-tenant-id" in error.details()
    message.model_version = "2"  # registered, not routed
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.NOT_FOUND and "live versions: 1" in error.details()


def test_too_many_rows_is_resource_exhausted(endpoint, tokens):
    rows = [example_row("fraud")] * 1001
    error = refused(endpoint, request(rows), tokens["scorer"])
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "over the limit of 1000" in error.details()
    # A shape of 10**18 rows is refused before its bytes are decoded.
    message = request([example_row("fraud")])
    message.inputs[0].shape[0] = 10**18
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"batch of {10**18} rows is over the limit" in error.details()


def test_a_message_over_the_body_limit_is_refused_by_grpc(endpoint, tokens):
    message = request([example_row("fraud")])
    message.raw_input_contents[0] = b"\x00" * (300 * 1024)
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_health_is_open_and_metadata_needs_a_token(endpoint, tokens):
    assert endpoint.stub.ServerLive(pb.ServerLiveRequest()).live
    assert endpoint.stub.ServerReady(pb.ServerReadyRequest()).ready
    assert endpoint.stub.ModelReady(pb.ModelReadyRequest(name="fraud")).ready
    with pytest.raises(grpc.RpcError) as caught:
        endpoint.stub.ModelReady(pb.ModelReadyRequest(name="fraud", version="x"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        endpoint.stub.ServerMetadata(pb.ServerMetadataRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    answer = endpoint.stub.ModelMetadata(pb.ModelMetadataRequest(name="fraud"),
                                         metadata=meta(tokens["reviewer"]))
    assert [i.name for i in answer.inputs] == FRAUD.feature_names
    assert list(answer.versions) == ["1"]


def test_raw_and_typed_contents_together_are_refused(endpoint, tokens):
    message = request([example_row("fraud")])
    message.inputs[0].contents.fp64_contents.append(999_999.0)
    error = refused(endpoint, message, tokens["scorer"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"inputs.{message.inputs[0].name}.contents: send either raw_input_contents or " \
           "typed contents, not both" in error.details()


def test_fp16_without_raw_contents_says_so(endpoint, tokens):
    message = request([example_row("fraud")], raw=False)
    amount = next(t for t in message.inputs if t.name == "amount")
    amount.datatype = "FP16"
    amount.contents.ClearField("fp64_contents")
    error = refused(endpoint, message, tokens["scorer"])
    assert "FP16 has no typed contents; send raw_input_contents" in error.details()


def test_metadata_riskops_reads_must_come_once(endpoint, tokens):
    message = request([example_row("fraud")])
    good = f"Bearer {tokens['scorer']}"
    for pairs in ([("authorization", "Bearer bad"), ("authorization", good)],
                  [("authorization", good), ("authorization", "Bearer bad")]):
        with pytest.raises(grpc.RpcError) as caught:
            endpoint.stub.ModelInfer(message, metadata=pairs)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "more than once" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        endpoint.stub.ModelInfer(message, metadata=[
            ("authorization", good), ("x-tenant-id", "a"), ("x-tenant-id", "b")])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata.x-tenant-id: sent more than once" in caught.value.details()

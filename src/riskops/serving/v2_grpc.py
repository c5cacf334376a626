"""The Open Inference Protocol over gRPC: ``inference.GRPCInferenceService``.

    riskops serve --grpc-port 8081

runs this service beside the HTTP API, in every worker process (the port is
shared with ``SO_REUSEPORT``), on the same ``ServingState``: the same models,
routing, heuristic fallback, inference log, metrics and audit fields. The
messages are the protocol's (``oip/grpc_predict_v2.proto``).

- ``ModelInfer`` turns the request into the HTTP route's ``InferenceRequest``
  (typed ``contents``, or ``raw_input_contents`` decoded by ``tensor_bytes``) and
  calls ``v2.run_inference``. The answer carries every output as
  ``raw_output_contents`` (what Triton's clients read) and the audit fields as
  response ``parameters``; a list or null value is sent as its JSON text.
- Auth: ``authorization: Bearer <token>`` metadata, the roles of the HTTP routes;
  ``x-tenant-id`` and ``x-request-key`` metadata as the HTTP headers.
- Errors: the HTTP status becomes a gRPC code (``STATUS_CODES``) with the same
  message, never a submitted value. Messages over ``[serving] max_body_bytes``
  are refused by gRPC itself (``RESOURCE_EXHAUSTED``) before they are buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from fastapi import HTTPException
from google.protobuf.message import Message
from pydantic import ValidationError

from riskops.errors import PredictionsNotRecorded, V2Error
from riskops.serving import v2, v2_binary
from riskops.serving.auth import READER_ROLES, SCORER_ROLES, TokenCache, authenticate_header
from riskops.serving.oip import grpc_predict_v2_pb2 as pb
from riskops.serving.oip import grpc_predict_v2_pb2_grpc as pb_grpc
from riskops.serving.request_inputs import REQUEST_KEY_MAX, field_error, tenant_of
from riskops.serving.state import ServingState
from riskops.serving.tensor_bytes import (
    FIXED_DTYPES,
    encode_tensor,
)

log = logging.getLogger("riskops.serving")

#: The gRPC code of each HTTP status the V2 routes answer with.
STATUS_CODES: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}
#: The typed ``InferTensorContents`` field of each datatype (FP16 travels raw only).
CONTENTS_FIELDS = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
    "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
    "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}
_ALL_CONTENTS = tuple(dict.fromkeys(CONTENTS_FIELDS.values()))



def _parameter_value(parameter: pb.InferParameter) -> Any:
    choice = parameter.WhichOneof("parameter_choice")
    return None if choice is None else getattr(parameter, choice)


def _parameters(parameters: Any) -> dict[str, Any] | None:
    return {key: _parameter_value(value) for key, value in parameters.items()} or None


def _parameter(value: Any) -> pb.InferParameter:
    """An audit value as an ``InferParameter``; lists and null as their JSON text."""
    if isinstance(value, bool):
        return pb.InferParameter(bool_param=value)
    if isinstance(value, int):
        return pb.InferParameter(int64_param=value)
    if isinstance(value, float):
        return pb.InferParameter(double_param=value)
    if isinstance(value, str):
        return pb.InferParameter(string_param=value)
    return pb.InferParameter(string_param=json.dumps(value))


def _given_contents(tensor: pb.ModelInferRequest.InferInputTensor) -> list[str]:
    return [name for name in _ALL_CONTENTS if len(getattr(tensor.contents, name))]


def _typed_contents(tensor: pb.ModelInferRequest.InferInputTensor,
                    field: str) -> list[Any] | dict[str, str]:
    """The values of ``tensor.contents``, or the error that says where they belong."""
    wanted = CONTENTS_FIELDS.get(tensor.datatype)
    given = _given_contents(tensor)
    if wanted is None and tensor.datatype in FIXED_DTYPES:
        return field_error(f"{field}.contents", "datatype",
                           f"{tensor.datatype} has no typed contents; send raw_input_contents")
    stray = [name for name in given if name != wanted]
    if stray:
        return field_error(f"{field}.contents.{stray[0]}", "datatype",
                           f"{tensor.datatype} values go in contents.{wanted}")
    if wanted is None:
        return []
    values = list(getattr(tensor.contents, wanted))
    if tensor.datatype != "BYTES":
        return values
    try:
        return [value.decode("utf-8") for value in values]
    except UnicodeDecodeError:
        return field_error(f"{field}.contents.bytes_contents", "binary_data",
                           "an element is not UTF-8 text")


def inference_request(message: pb.ModelInferRequest,
                      max_batch: int = 1000) -> v2.InferenceRequest:
    """The HTTP route's ``InferenceRequest`` for a gRPC ``ModelInferRequest``; raw inputs
    are decoded only for shapes within the batch rules (``max_batch`` rows).

    Raises ``V2Error`` 422 naming the input for contents in the wrong field, a
    ``raw_input_contents`` list that does not match the inputs, or raw bytes that
    are not shape times datatype size.
    """
    raw = message.raw_input_contents
    errors: list[dict[str, Any]] = []
    if raw and len(raw) != len(message.inputs):
        errors.append(field_error(
            "raw_input_contents", "shape",
            f"holds {len(raw)} entries for {len(message.inputs)} inputs; send one per input, "
            "in order, or typed contents"))
    inputs = []
    for tensor in message.inputs:
        field = f"inputs.{tensor.name}"
        entry: dict[str, Any] = {"name": tensor.name, "shape": list(tensor.shape),
                                 "datatype": tensor.datatype,
                                 "parameters": _parameters(tensor.parameters)}
        if not raw:
            values = _typed_contents(tensor, field)
            if isinstance(values, dict):
                errors.append(values)
            entry["data"] = values if isinstance(values, list) else []
        elif _given_contents(tensor):
            errors.append(field_error(f"{field}.contents", "extra_forbidden",
                                      "send either raw_input_contents or typed contents, not both"))
        inputs.append(entry)
    if errors:
        raise v2.unprocessable(errors)
    body = {"id": message.id or None, "parameters": _parameters(message.parameters),
            "inputs": inputs,
            "outputs": [{"name": o.name, "parameters": _parameters(o.parameters)}
                        for o in message.outputs] or None}
    try:
        request = v2.InferenceRequest.model_validate(body)
    except ValidationError as exc:
        raise v2.unprocessable(v2.envelope_errors(exc, body)) from None
    if raw:
        v2.check_raw_shapes(request, max_batch)
    for tensor, data in zip(request.inputs, raw, strict=False):
        problem = v2_binary.decode_input(tensor, data, f"inputs.{tensor.name}.raw_input_contents")
        if problem is not None:
            errors.append(problem)
    if errors:
        raise v2.unprocessable(errors)
    return request


def inference_response(payload: dict[str, Any]) -> pb.ModelInferResponse:
    """The gRPC answer for a V2 response ``payload``: every output as raw contents."""
    response = pb.ModelInferResponse(model_name=payload["model_name"],
                                     model_version=payload["model_version"],
                                     id=payload["id"])
    for key, value in payload["parameters"].items():
        response.parameters[key].CopyFrom(_parameter(value))
    for output in payload["outputs"]:
        response.outputs.add(name=output["name"], datatype=output["datatype"],
                             shape=output["shape"])
        response.raw_output_contents.append(encode_tensor(output["data"], output["datatype"]))
    return response


#: Metadata riskops reads; each may be sent once (a proxy checking one copy while riskops
#: read another would be a way around it).
READ_METADATA = ("authorization", "x-tenant-id", "x-request-key")


def request_metadata(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """The text metadata of a call; ``HTTPException`` (401 for ``authorization``, else 422)
    when one riskops reads is sent more than once."""
    metadata: dict[str, str] = {}
    for key, value in pairs:
        if key in READ_METADATA and key in metadata:
            if key == "authorization":
                raise HTTPException(401, "authorization metadata sent more than once; send "
                                         "one 'authorization: Bearer <token>'.")
            raise v2.unprocessable([field_error(f"metadata.{key}", "duplicate",
                                                "sent more than once; send it once")])
        if isinstance(value, str):
            metadata[key] = value
    return metadata


def model_metadata(metadata: dict[str, Any]) -> pb.ModelMetadataResponse:
    def tensors(items: Iterable[dict[str, Any]]) -> list[Any]:
        return [pb.ModelMetadataResponse.TensorMetadata(
            name=t["name"], datatype=t["datatype"], shape=t["shape"]) for t in items]

    return pb.ModelMetadataResponse(
        name=metadata["name"], versions=metadata["versions"], platform=metadata["platform"],
        inputs=tensors(metadata["inputs"]), outputs=tensors(metadata["outputs"]))


class InferenceService(pb_grpc.GRPCInferenceServiceServicer):
    """``GRPCInferenceService`` on a serving process's state and token cache."""

    def __init__(self, state: ServingState, tokens: TokenCache) -> None:
        self.state = state
        self.tokens = tokens
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds until no inference call is running (calls already
        received start and finish meanwhile): ``grpc.aio.Server.stop`` alone cancelled
        such calls within milliseconds of a SIGTERM instead of letting them answer."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()

    async def _auth(self, context: grpc.aio.ServicerContext, roles: Iterable[str], *,
                    health: bool = False) -> dict[str, str]:
        metadata = request_metadata(context.invocation_metadata() or ())
        if not (health and self.state.settings.open_health):
            await authenticate_header(self.tokens, metadata.get("authorization"), roles)
        return metadata

    async def ServerLive(self, request: pb.ServerLiveRequest,
                         context: grpc.aio.ServicerContext) -> pb.ServerLiveResponse:
        async def live() -> Message:
            await self._auth(context, READER_ROLES, health=True)
            return pb.ServerLiveResponse(live=True)
        return await _answer(context, live)

    async def ServerReady(self, request: pb.ServerReadyRequest,
                          context: grpc.aio.ServicerContext) -> pb.ServerReadyResponse:
        async def ready() -> Message:
            await self._auth(context, READER_ROLES, health=True)
            return pb.ServerReadyResponse(ready=self.state.pool.snapshot.ready)
        return await _answer(context, ready)

    async def ModelReady(self, request: pb.ModelReadyRequest,
                         context: grpc.aio.ServicerContext) -> pb.ModelReadyResponse:
        async def ready() -> Message:
            await self._auth(context, READER_ROLES, health=True)
            v2.check_model(self.state, request.name, request.version or None)
            return pb.ModelReadyResponse(ready=self.state.pool.snapshot.ready)
        return await _answer(context, ready)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest,
                             context: grpc.aio.ServicerContext) -> pb.ServerMetadataResponse:
        async def metadata() -> Message:
            await self._auth(context, READER_ROLES)
            return pb.ServerMetadataResponse(**v2.server_metadata())
        return await _answer(context, metadata)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest,
                            context: grpc.aio.ServicerContext) -> pb.ModelMetadataResponse:
        async def metadata() -> Message:
            await self._auth(context, READER_ROLES)
            return model_metadata(v2.metadata_of(self.state, request.name,
                                                 request.version or None))
        return await _answer(context, metadata)

    async def ModelInfer(self, request: pb.ModelInferRequest,
                         context: grpc.aio.ServicerContext) -> pb.ModelInferResponse:
        batcher = self.state.batcher
        batcher.arrive()
        arrived = True
        self._in_flight += 1
        self._idle.clear()

        def queued() -> None:
            nonlocal arrived
            if arrived:
                arrived = False
                batcher.settle()

        async def infer() -> Message:
            metadata = await self._auth(context, SCORER_ROLES)
            tenant = tenant_of(metadata.get("x-tenant-id"), invalid=v2.unprocessable,
                               field="metadata.x-tenant-id")
            body = inference_request(request, self.state.settings.max_batch)
            payload = await v2.run_inference(
                self.state, request.model_name, request.model_version or None, body,
                tenant=tenant, key=metadata.get("x-request-key", "")[:REQUEST_KEY_MAX],
                queued=queued)
            return inference_response(payload)

        try:
            return await _answer(context, infer)
        finally:
            queued()
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()


async def _answer(context: grpc.aio.ServicerContext,
                  call: Callable[[], Awaitable[Message]]) -> Any:
    """Run ``call``; a refusal ends the call with its gRPC code and the HTTP message."""
    try:
        return await call()
    except V2Error as exc:
        status, message = exc.status, str(exc)
    except HTTPException as exc:
        status, message = exc.status_code, str(exc.detail)
    except PredictionsNotRecorded as exc:
        status, message = 503, str(exc)
    except Exception:
        log.exception("gRPC call failed")
        await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")
    await context.abort(STATUS_CODES.get(status, grpc.StatusCode.UNKNOWN), message)


class Endpoint:
    """A started gRPC server and its service, stopped gracefully: inference calls in
    flight answer (up to the grace period) before the server stops."""

    def __init__(self, server: grpc.aio.Server, service: InferenceService) -> None:
        self.server = server
        self.service = service

    async def stop(self, grace: float) -> None:
        await self.service.drain(grace)
        await self.server.stop(grace)


async def start_server(state: ServingState, tokens: TokenCache, address: str) -> Endpoint:
    """Start the gRPC endpoint at ``address`` (``host:port``) on this process's loop.

    Every worker of ``riskops serve --workers N`` binds the same port
    (``SO_REUSEPORT``); Linux shares such a port only between sockets of the same user.
    """
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", state.settings.max_body_bytes),
        ("grpc.so_reuseport", 1),
    ])
    service = InferenceService(state, tokens)
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(service, server)
    host, _, port = address.rpartition(":")
    target = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else address
    try:
        bound = server.add_insecure_port(target)
    except RuntimeError as exc:
        raise OSError(f"gRPC could not listen on {target}: {exc}") from None
    if bound == 0:
        raise OSError(f"gRPC could not listen on {target}")
    await server.start()
    return Endpoint(server, service)

"""The Open Inference Protocol (KServe / Seldon "V2" REST) over the riskops scoring path.

    GET  /v2/health/live                          200 while the process answers
    GET  /v2/health/ready                         200 when /ready is, else 503
    GET  /v2                                      server metadata
    GET  /v2/models/{name}[/versions/{v}]         model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready   200 or 503
    POST /v2/models/{name}[/versions/{v}]/infer   score rows

A model is a scenario. An infer request carries either one tensor per feature
(``{"name": "amount", "shape": [N], "datatype": "FP64", "data": [...]}``;
``[N, 1]`` too) or one BYTES tensor ``features`` holding N JSON objects. The
rows are validated by the scenario's request model and scored by the same
function as ``POST /risk/{scenario}`` (``service.score_and_record``): routing,
heuristic fallback, the durable prediction log, metrics and audit fields are
identical; the output tensors are shaped here from its prediction records. A
version in the URL is an assertion, not a choice: it must be the version
routing picks for this request, else 409; governance decides which version
answers.

Errors are V2 error objects, ``{"error": message}``, that also carry the
``detail`` of every other riskops endpoint: the message, or for a 422 the same
``{field, reason, type}`` list as ``/risk``, never a submitted value.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskops.errors import PredictionsNotRecorded, V2Error
from riskops.scenarios.base import Feature, Scenario
from riskops.serving import schemas, v2_binary
from riskops.serving.auth import (
    READER_ROLES,
    SCORER_ROLES,
    authenticate_async,
    authenticate_unless_open,
)
from riskops.serving.batcher import settle_arrival
from riskops.serving.records import PredictionRecord
from riskops.serving.request_inputs import (
    body_bytes,
    field_error,
    json_body,
    json_error_reason,
    request_key,
    request_tenant,
)
from riskops.serving.routing import choose_route
from riskops.serving.service import score_and_record
from riskops.serving.state import ServingState, serving_state
from riskops.serving.tensor_datatypes import NUMERIC_DATATYPES, value_problem

FEATURES_INPUT = "features"
#: The protocol extensions spoken, as server metadata lists them.
EXTENSIONS = ("binary_tensor_data",)
PLATFORM = "sklearn"
DATATYPES = (*NUMERIC_DATATYPES, "BOOL", "BYTES")
_MAX_ERRORS = 50


class RequestInput(BaseModel):
    """One input tensor: a feature column, or ``features`` (JSON objects)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    shape: list[Annotated[int, Field(strict=True, ge=0)]] = Field(min_length=1, max_length=2)
    datatype: str = Field(min_length=1, max_length=16)
    #: None when the values follow as binary data (``parameters.binary_data_size``).
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class RequestOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    """Open Inference Protocol request body."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=256)
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1, max_length=1024)
    outputs: list[RequestOutput] | None = Field(default=None, max_length=16)


class MetadataTensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    parameters: dict[str, Any] | None = None


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]
    parameters: dict[str, Any] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferenceResponse(BaseModel):
    """Open Inference Protocol response; ``parameters`` carries the audit fields."""

    model_name: str
    model_version: str
    id: str
    parameters: dict[str, Any]
    outputs: list[ResponseOutput]


class ErrorBody(BaseModel):
    """V2 error object; ``detail`` is the message, or for 422 the ``{field, reason, type}``
    list."""

    error: str
    detail: str | list[dict[str, Any]]


def error_response(exc: V2Error) -> JSONResponse:
    """A refused V2 request's answer: ``error`` for V2 clients, and ``detail`` as every
    other riskops endpoint answers."""
    body = {"error": str(exc), "detail": str(exc) if exc.detail is None else exc.detail}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def unprocessable(errors: list[dict[str, Any]]) -> V2Error:
    errors = errors[:_MAX_ERRORS]
    first = f"{errors[0]['field']}: {errors[0]['reason']}" if errors else "invalid request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return V2Error(422, f"invalid inference request: {first}{more}", detail=errors)



def _datatype(feature: Feature) -> str:
    return "FP64" if feature.kind == "numeric" else "BYTES"


def _outputs(scenario: Scenario) -> list[dict[str, Any]]:
    out = [
        {"name": "risk_score", "datatype": "FP64", "shape": [-1]},
        {"name": "risk_label", "datatype": "BYTES", "shape": [-1]},
        {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        {"name": "reasons", "datatype": "BYTES", "shape": [-1],
         "parameters": {"content_type": "json"}},
    ]
    if hasattr(scenario, "plan"):
        out.append({"name": "plan", "datatype": "BYTES", "shape": [-1],
                    "parameters": {"content_type": "json"}})
    return out


def model_metadata(scenario: Scenario, versions: list[int]) -> dict[str, Any]:
    """V2 model metadata of ``scenario``: one input tensor per feature."""
    inputs = []
    for f in scenario.schema.features:
        parameters: dict[str, Any] = {"kind": f.kind, "description": f.description}
        if f.categories:
            parameters["categories"] = json.dumps(list(f.categories))
        inputs.append({"name": f.name, "datatype": _datatype(f), "shape": [-1],
                       "parameters": parameters})
    return {
        "name": scenario.name, "versions": [str(v) for v in versions], "platform": PLATFORM,
        "inputs": inputs, "outputs": _outputs(scenario),
        "parameters": {
            "description": scenario.description,
            "labels": json.dumps(list(scenario.schema.labels)),
            "alternative_input": f"one BYTES tensor {FEATURES_INPUT!r} of shape [-1] whose "
                                 "elements are JSON objects of all features",
        },
    }


# -- request tensors -> rows -------------------------------------------------------------

def _rows_of(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _batch_size(tensor: RequestInput, field: str, max_batch: int) -> int:
    shape = tensor.shape
    if len(shape) == 2 and shape[1] != 1:
        raise unprocessable([field_error(f"{field}.shape", "shape",
                                         "shape must be [N] or [N, 1]: one value per row")])
    n = shape[0]
    if n == 0:
        raise unprocessable([field_error(f"{field}.shape", "too_short",
                                         "batch is empty; send at least one row")])
    if n > max_batch:
        raise V2Error(413, f"batch of {n} rows is over the limit of {max_batch}; split it.")
    return n


def check_raw_shapes(request: InferenceRequest, max_batch: int) -> None:
    """The batch rules (``[N]`` or ``[N, 1]``, 1 <= N <= ``max_batch``) for the inputs whose
    values come as raw bytes, before those are decoded: no decoding past the batch limit."""
    for tensor in request.inputs:
        if tensor.data is None:
            _batch_size(tensor, f"inputs.{tensor.name}", max_batch)


def _flat(tensor: RequestInput, field: str, n: int) -> list[Any]:
    data = tensor.data or []
    if len(tensor.shape) == 2 and data and all(isinstance(v, list) for v in data):
        if any(len(v) != 1 for v in data):
            raise unprocessable([field_error(f"{field}.data", "shape",
                                             "nested data must hold one value per row for shape "
                                             "[N, 1]")])
        data = [v[0] for v in data]
    if len(data) != n:
        raise unprocessable([field_error(f"{field}.data", "shape",
                                         f"data holds {len(data)} values but shape says "
                                         f"{_rows_of(n)}")])
    return data


def _misfit(value: Any, datatype: str) -> str | None:
    """Why ``value`` does not fit the tensor's ``datatype`` (numeric or BYTES), or None."""
    if datatype != "BYTES":
        return value_problem(value, datatype)
    return None if isinstance(value, str) else "value is not a string; BYTES takes strings"


def _column(tensor: RequestInput, feature: Feature, field: str, n: int) -> list[Any]:
    wanted = _datatype(feature)
    ok = tensor.datatype in NUMERIC_DATATYPES if wanted == "FP64" else tensor.datatype == wanted
    if not ok:
        given = tensor.datatype if tensor.datatype in DATATYPES else "an unknown datatype"
        takes = "FP64 (or another FP or INT datatype)" if wanted == "FP64" else "BYTES"
        raise unprocessable([field_error(f"{field}.datatype", "datatype",
                                         f"{feature.kind} feature {feature.name!r} takes {takes}, "
                                         f"not {given}")])
    values = _flat(tensor, field, n)
    for i, value in enumerate(values):
        problem = _misfit(value, tensor.datatype)
        if problem is not None:
            raise unprocessable([field_error(f"{field}.data.{i}", "datatype", problem)])
    return values


def _raw_rows(scenario: Scenario, request: InferenceRequest,
              max_batch: int) -> tuple[list[dict[str, Any]], str]:
    """Rows as submitted, and how errors name a row's field (``{i}``, ``{loc}``)."""
    names = scenario.schema.feature_names
    inputs = request.inputs
    missing = [field_error(f"inputs.{t.name}.data", "missing",
                           "no data; send data, or binary_data_size with the binary extension")
               for t in inputs if t.data is None]
    if missing:
        raise unprocessable(missing)
    if FEATURES_INPUT not in names and any(t.name == FEATURES_INPUT for t in inputs):
        return _object_rows(inputs, max_batch), f"inputs.{FEATURES_INPUT}.data.{{i}}.{{loc}}"
    features = {f.name: f for f in scenario.schema.features}
    errors, columns, sizes = [], {}, {}
    for tensor in inputs:
        field = f"inputs.{tensor.name}"
        if tensor.name in columns:
            errors.append(field_error(field, "duplicate", "input given more than once"))
        elif tensor.name not in features:
            errors.append(field_error(
                field, "unknown_input",
                f"not an input of {scenario.name}; send one tensor per feature "
                f"({', '.join(names)}) or one BYTES tensor {FEATURES_INPUT!r}"))
        else:
            sizes[tensor.name] = _batch_size(tensor, field, max_batch)
            columns[tensor.name] = _column(tensor, features[tensor.name], field,
                                           sizes[tensor.name])
    errors += [field_error(f"inputs.{name}", "missing", "no input tensor for this feature")
               for name in names if name not in columns]
    if len(set(sizes.values())) > 1:
        usual = Counter(sizes.values()).most_common(1)[0][0]
        errors += [field_error(f"inputs.{name}.shape", "shape",
                               f"{_rows_of(n)}, but the other inputs have {_rows_of(usual)}")
                   for name, n in sizes.items() if n != usual]
    if errors:
        raise unprocessable(errors)
    n = next(iter(sizes.values()))
    rows = [{name: columns[name][i] for name in names} for i in range(n)]
    return rows, "inputs.{loc}.data.{i}"


def _object_rows(inputs: list[RequestInput], max_batch: int) -> list[dict[str, Any]]:
    field = f"inputs.{FEATURES_INPUT}"
    if len(inputs) > 1:
        raise unprocessable([field_error("inputs", "too_long",
                                         f"with {FEATURES_INPUT!r}, send no other input tensor")])
    tensor = inputs[0]
    if tensor.datatype != "BYTES":
        raise unprocessable([field_error(f"{field}.datatype", "datatype",
                                         f"{FEATURES_INPUT!r} takes BYTES: JSON objects or JSON "
                                         "strings of objects")])
    rows = []
    for i, item in enumerate(_flat(tensor, field, _batch_size(tensor, field, max_batch))):
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except (ValueError, RecursionError) as exc:
                reason = json_error_reason(exc, invalid="not a JSON object")
                raise unprocessable([field_error(f"{field}.data.{i}", "json_invalid",
                                                 reason)]) from None
        if not isinstance(item, dict):
            raise unprocessable([field_error(f"{field}.data.{i}", "dict_type",
                                             "must be a JSON object of the features")])
        rows.append(item)
    return rows


def _validated(state: ServingState, name: str, raw: list[dict[str, Any]],
               where: str) -> list[dict[str, Any]]:
    model = state.request_models[name]
    rows, errors = [], []
    for i, item in enumerate(raw):
        try:
            rows.append(schemas.validated_row(model, item))
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False,
                                  include_context=False):
                loc = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(field_error(where.format(i=i, loc=loc), err["type"], err["msg"]))
    if errors:
        raise unprocessable(errors)
    return rows


# -- routes ------------------------------------------------------------------------------

def _scenario(state: ServingState, name: str) -> Scenario:
    scenario = state.scenarios.get(name)
    if scenario is None:
        raise V2Error(404, f"unknown model {name[:64]!r}; models served here: "
                           f"{', '.join(state.scenarios)}.")
    return scenario


def _live_versions(state: ServingState, name: str) -> list[int]:
    slot = state.pool.snapshot.slots.get(name)
    return sorted(v.version for v in slot.versions()) if slot is not None else []


def _live_version(state: ServingState, name: str, version: str) -> int:
    live = _live_versions(state, name)
    number = int(version) if version.isascii() and version.isdigit() \
        and len(version) < 10 else None
    if number not in live:
        shown = f"{name} v{number} is" if number is not None \
            else f"versions of {name} are whole numbers; the one asked for is"
        raise V2Error(404, f"{shown} not served here; live versions: "
                           f"{', '.join(map(str, live)) or 'none (heuristic only)'}.")
    return number  # type: ignore[return-value]


def _check_routed(state: ServingState, name: str, version: int, *, tenant: str,
                  key: str) -> None:
    """409 unless routing sends this request to ``version`` (governance picks, not the URL)."""
    slot = state.pool.snapshot.slots.get(name)
    if slot is not None and slot.canary is not None and 0 < slot.canary_percent < 100 \
            and not key and tenant not in slot.pins:
        raise V2Error(409, f"{name} is split between versions by X-Request-Key (canary at "
                           f"{slot.canary_percent}%); send X-Request-Key to address a version, "
                           f"or call /v2/models/{name}/infer.")
    route = choose_route(slot, tenant=tenant, key=key, ml_enabled=state.settings.ml_enabled)
    if route.served is None or route.served.version != version:
        routed = f"v{route.served.version}" if route.served else "the heuristic"
        raise V2Error(409, f"this request is routed to {routed} ({route.name}), not v{version}; "
                           f"only the routed version may answer. Call /v2/models/{name}/infer.")


def envelope_errors(exc: ValidationError, body: Any) -> list[dict[str, Any]]:
    """Errors in the request envelope; an input with a usable name is named by it."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    errors = []
    for err in schemas.field_errors(exc):
        parts = err["field"].split(".")
        if isinstance(inputs, list) and len(parts) > 1 and parts[0] == "inputs" \
                and parts[1].isdigit() and int(parts[1]) < len(inputs):
            tensor = inputs[int(parts[1])]
            name = tensor.get("name") if isinstance(tensor, dict) else None
            if isinstance(name, str) and 0 < len(name) <= 128 and parts[2:] != ["name"]:
                err = {**err, "field": ".".join(["inputs", name, *parts[2:]])}
        errors.append(err)
    return errors


def _requested_outputs(scenario: Scenario, request: InferenceRequest) -> list[str]:
    available = [o["name"] for o in _outputs(scenario)]
    if not request.outputs:
        return available
    errors = [field_error(f"outputs.{i}.name", "unknown_output",
                          f"not an output of {scenario.name}; outputs are {', '.join(available)}")
              for i, o in enumerate(request.outputs) if o.name not in available]
    names = [o.name for o in request.outputs]
    errors += [field_error(f"outputs.{i}.name", "duplicate", "output asked for more than once")
               for i, name in enumerate(names) if name in names[:i]]
    if errors:
        raise unprocessable(errors)
    return [o.name for o in request.outputs]


def _same_or_each(values: list[Any]) -> Any:
    return values[0] if all(v == values[0] for v in values) else values


def _plan(scenario: Scenario, record: PredictionRecord) -> str:
    return json.dumps(scenario.plan(record.score, record.inputs))  # type: ignore[attr-defined]


#: Each output tensor: its datatype and its element for one prediction.
_OUTPUT_COLUMNS: dict[str, tuple[str, Callable[[Scenario, PredictionRecord], Any]]] = {
    "risk_score": ("FP64", lambda _, r: r.score),
    "risk_label": ("BYTES", lambda _, r: r.label),
    "prediction_id": ("BYTES", lambda _, r: r.id),
    "reasons": ("BYTES", lambda _, r: json.dumps(list(r.reasons))),
    "plan": ("BYTES", _plan),
}


def inference_response(scenario: Scenario, request_id: str,
                       records: Sequence[PredictionRecord], outputs: list[str]) -> dict[str, Any]:
    """The V2 response for the predictions ``records`` (one per row, in order): the
    ``outputs`` asked for as tensors, the audit fields in ``parameters``."""
    audit = {
        "risk_score_method": [r.method for r in records],
        "risk_model_version": [r.model_version for r in records],
        "risk_threshold": [r.threshold for r in records],
        "model_id": [r.model_name for r in records],
        "manifest_version": [r.manifest_version for r in records],
        "tenant_id": [r.tenant_id for r in records],
    }
    parameters = {key: _same_or_each(values) for key, values in audit.items()}
    parameters["prediction_ids"] = [r.id for r in records]
    version = parameters["risk_model_version"]
    tensors = []
    for name in outputs:
        datatype, element = _OUTPUT_COLUMNS[name]
        tensors.append({"name": name, "datatype": datatype, "shape": [len(records)],
                        "data": [element(scenario, r) for r in records]})
    return {
        "model_name": scenario.name,
        "model_version": str(version) if isinstance(version, int) else "heuristic",
        "id": request_id,
        "parameters": parameters,
        "outputs": tensors,
    }


async def run_inference(state: ServingState, name: str, version: str | None,
                        body: InferenceRequest, *, tenant: str, key: str,
                        queued: Callable[[], None]) -> dict[str, Any]:
    """Score the rows of the inference request ``body`` for model ``name`` and answer with
    the V2 response (``inference_response``); the one inference path of HTTP (JSON and
    binary) and gRPC. The caller has authenticated the request and checked ``tenant``;
    ``queued`` is called once the rows are valid and wait for the model.

    Raises ``V2Error`` (404 unknown model or version, 409 a version the request is not
    routed to, 413, 422) and ``PredictionsNotRecorded``.
    """
    scenario = _scenario(state, name)
    if version is not None:
        _check_routed(state, name, _live_version(state, name, version), tenant=tenant, key=key)
    outputs = _requested_outputs(scenario, body)
    raw, where = _raw_rows(scenario, body, state.settings.max_batch)
    rows = _validated(state, name, raw, where)
    queued()
    records = await score_and_record(state, name, rows, tenant=tenant, request_key=key)
    request_id = body.id if body.id is not None else str(uuid.uuid4())
    return inference_response(scenario, request_id, records, outputs)


async def _request_body(request: Request, max_batch: int) -> InferenceRequest:
    """The inference request of an HTTP body: JSON, or JSON and binary tensor data."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise V2Error(415, f"Content-Encoding {encoding[:32]!r} is not supported; send the "
                           "body uncompressed.")
    declared_all = request.headers.getlist(v2_binary.HEADER)
    if len(declared_all) > 1:
        raise unprocessable([field_error("header.Inference-Header-Content-Length", "duplicate",
                                         "given more than once; send it once")])
    declared = declared_all[0] if declared_all else None
    if declared is None:
        raw_body = await json_body(request, invalid=unprocessable)
        buffer = None
    else:
        parts = v2_binary.split_body(await body_bytes(request), declared)
        if isinstance(parts, list):
            raise unprocessable(parts)
        header, buffer = parts
        try:
            raw_body = json.loads(header)
        except (ValueError, RecursionError) as exc:
            raise unprocessable([field_error("body", "json_invalid", json_error_reason(
                exc, invalid="the JSON inference header is not valid UTF-8 JSON"))]) from None
    try:
        body = InferenceRequest.model_validate(raw_body)
    except ValidationError as exc:
        raise unprocessable(envelope_errors(exc, raw_body)) from None
    if buffer is not None:
        check_raw_shapes(body, max_batch)
    errors = v2_binary.attach_binary_data(body, buffer)
    if errors:
        raise unprocessable(errors)
    return body


async def _infer(request: Request, name: str, version: str | None) -> Response:
    state = serving_state(request)
    await authenticate_async(request, SCORER_ROLES)
    _scenario(state, name)
    tenant = request_tenant(request, invalid=unprocessable)
    body = await _request_body(request, state.settings.max_batch)
    binary, errors = v2_binary.binary_outputs(body)
    if errors:
        raise unprocessable(errors)
    payload = await run_inference(
        state, name, version, body, tenant=tenant, key=request_key(request),
        queued=lambda: settle_arrival(request.scope, state.batcher))
    encoded = v2_binary.binary_response(payload, binary)
    if encoded is None:
        return JSONResponse(payload)
    content, header_length = encoded
    return Response(content, media_type="application/octet-stream",
                    headers={"Inference-Header-Content-Length": str(header_length)})


async def _live(request: Request) -> Response:
    state = serving_state(request)
    authenticate_unless_open(request, READER_ROLES, is_open=state.settings.open_health)
    return JSONResponse({"live": True})


async def _ready(request: Request) -> Response:
    state = serving_state(request)
    authenticate_unless_open(request, READER_ROLES, is_open=state.settings.open_health)
    ready = state.pool.snapshot.ready
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


def server_metadata() -> dict[str, Any]:
    """V2 server metadata: name, version and the protocol extensions spoken."""
    from riskops import __version__

    return {"name": "riskops", "version": __version__, "extensions": list(EXTENSIONS)}


async def _server_metadata(request: Request) -> Response:
    await authenticate_async(request, READER_ROLES)
    return JSONResponse(server_metadata())


def check_model(state: ServingState, name: str, version: str | None) -> None:
    """404 unless ``name`` is served here (and ``version``, when given, is live)."""
    _scenario(state, name)
    if version is not None:
        _live_version(state, name, version)


def metadata_of(state: ServingState, name: str, version: str | None) -> dict[str, Any]:
    """V2 model metadata of ``name``: all live versions, or the one asked for."""
    scenario = _scenario(state, name)
    versions = _live_versions(state, name) if version is None \
        else [_live_version(state, name, version)]
    return model_metadata(scenario, versions)


async def _metadata(request: Request, name: str, version: str | None) -> Response:
    state = serving_state(request)
    await authenticate_async(request, READER_ROLES)
    return JSONResponse(metadata_of(state, name, version))


async def _model_ready(request: Request, name: str, version: str | None) -> Response:
    state = serving_state(request)
    authenticate_unless_open(request, READER_ROLES, is_open=state.settings.open_health)
    check_model(state, name, version)
    ready = state.pool.snapshot.ready
    return JSONResponse({"name": name, "ready": ready}, status_code=200 if ready else 503)


async def _v2(call: Callable[..., Awaitable[Response]], *args: Any) -> Response:
    """Run ``call``; refusals (auth, 404, 409, 413, 422, 503) become V2 error objects."""
    try:
        return await call(*args)
    except V2Error as exc:
        return error_response(exc)
    except HTTPException as exc:
        return error_response(V2Error(exc.status_code, str(exc.detail), headers=exc.headers))
    except PredictionsNotRecorded as exc:
        return error_response(V2Error(503, str(exc),
                                      headers={"Retry-After": str(exc.retry_after)}))


def add_v2_routes(app: FastAPI) -> None:
    """Add the Open Inference Protocol endpoints to the riskops app ``app``."""
    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody} for status in (401, 403, 404, 409, 413, 422, 503)}
    infer_body = {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/InferenceRequest"}}}}}
    route = app.api_route

    @route("/v2/health/live", methods=["GET"], tags=["v2"], responses=errors)
    async def v2_live(request: Request) -> Response:
        """V2 liveness: the process is up and answering."""
        return await _v2(_live, request)

    @route("/v2/health/ready", methods=["GET"], tags=["v2"], responses=errors)
    async def v2_ready(request: Request) -> Response:
        """V2 readiness: 200 when the manifest verified and every routed model loaded,
        else 503 (``/ready`` says why)."""
        return await _v2(_ready, request)

    @route("/v2", methods=["GET"], tags=["v2"], responses=errors)
    async def v2_server_metadata(request: Request) -> Response:
        """V2 server metadata."""
        return await _v2(_server_metadata, request)

    meta = {**errors, 200: {"model": ModelMetadata}}

    @route("/v2/models/{name}", methods=["GET"], tags=["v2"], responses=meta)
    async def v2_model_metadata(request: Request, name: str) -> Response:
        """V2 model metadata: one input tensor per feature, and the outputs."""
        return await _v2(_metadata, request, name, None)

    @route("/v2/models/{name}/versions/{version}", methods=["GET"], tags=["v2"],
           responses=meta)
    async def v2_version_metadata(request: Request, name: str, version: str) -> Response:
        """V2 model metadata of a live version; 404 for a version not served."""
        return await _v2(_metadata, request, name, version)

    @route("/v2/models/{name}/ready", methods=["GET"], tags=["v2"], responses=errors)
    async def v2_model_ready(request: Request, name: str) -> Response:
        """V2 model readiness: the server's readiness; 404 for an unknown model."""
        return await _v2(_model_ready, request, name, None)

    @route("/v2/models/{name}/versions/{version}/ready", methods=["GET"], tags=["v2"],
           responses=errors)
    async def v2_version_ready(request: Request, name: str, version: str) -> Response:
        """V2 model readiness of a live version; 404 for a version not served."""
        return await _v2(_model_ready, request, name, version)

    scored = {**errors, 200: {"model": InferenceResponse}}

    @route("/v2/models/{name}/infer", methods=["POST"], tags=["v2"], responses=scored,
           openapi_extra=infer_body)
    async def v2_infer(request: Request, name: str) -> Response:
        """Score rows sent as V2 tensors: one per feature, or one BYTES tensor ``features``
        of JSON objects. Same routing, logging and audit fields as ``POST /risk/{name}``."""
        return await _v2(_infer, request, name, None)

    @route("/v2/models/{name}/versions/{version}/infer", methods=["POST"], tags=["v2"],
           responses=scored, openapi_extra=infer_body)
    async def v2_version_infer(request: Request, name: str, version: str) -> Response:
        """As ``/v2/models/{name}/infer``, asserting the version: 409 unless routing sends
        this request to it (governance picks the version, not the URL)."""
        return await _v2(_infer, request, name, version)

    _add_components(app)


def _add_components(app: FastAPI) -> None:
    """Put the V2 request schema in the OpenAPI components; list the model names."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        spec = original()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        if "InferenceRequest" not in components:
            schema = InferenceRequest.model_json_schema(
                ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components["InferenceRequest"] = schema
            models = list(app.state.serving.scenarios)
            for path, operations in spec.get("paths", {}).items():
                if not path.startswith("/v2/models/"):
                    continue
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") == "name":
                            parameter["schema"] = {"type": "string", "enum": models,
                                                   "title": "Model (scenario)"}
                        elif parameter.get("name") == "version":
                            parameter["schema"] = {"type": "string", "pattern": "^[0-9]+$",
                                                   "title": "Version"}
        return spec

    app.openapi = openapi  # type: ignore[method-assign]

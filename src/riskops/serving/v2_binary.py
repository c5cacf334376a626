"""The binary tensor data extension of the Open Inference Protocol over HTTP.

As Triton and KServe define it: the header ``Inference-Header-Content-Length: L``
says the body is an L-byte JSON inference request followed by raw tensor data.
Each input whose ``parameters`` carry ``binary_data_size: n`` has no ``data``;
its n bytes follow, in the order of the inputs (``tensor_bytes.py`` decodes
them). The answer is binary for each output asked so (``parameters.binary_data``
on the output, else ``binary_data_output`` on the request): such an output has
``binary_data_size`` instead of ``data``, its bytes follow the JSON answer, and
the response carries ``Inference-Header-Content-Length`` likewise.

Every mismatch (a header length past the body, sizes that do not add up to the
bytes sent, bytes that are not shape times datatype size) is a list of
``{field, reason, type}`` errors for the caller's 422, naming the input; the
request body limit applies before anything is buffered, as for JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskops.serving.request_inputs import field_error
from riskops.serving.tensor_bytes import (
    TensorBytesError,
    decode_tensor,
    element_count,
    encode_tensor,
)

if TYPE_CHECKING:
    from riskops.serving.v2 import InferenceRequest, RequestInput

HEADER = "inference-header-content-length"
SIZE = "binary_data_size"
Errors = list[dict[str, Any]]



def split_body(raw: bytes, declared: str) -> tuple[bytes, bytes] | Errors:
    """The JSON part and the binary part of a body whose header says ``declared``."""
    field = "header.Inference-Header-Content-Length"
    if not (declared.isascii() and declared.isdigit()):
        return [field_error(field, "int_parsing", "must be the byte length of the JSON "
                                                  "inference header: a whole number")]
    if len(declared) > 12:
        return [field_error(field, "too_long", "has more than 12 digits; no request body "
                                               "is that large")]
    length = int(declared)
    if length == 0 or length > len(raw):
        return [field_error(field, "too_long" if length else "too_short",
                            f"says the JSON header is {length} bytes, but the body holds "
                            f"{len(raw)}; it must be between 1 and the body's length")]
    return raw[:length], raw[length:]


def _size(parameters: dict[str, Any] | None, field: str, errors: Errors) -> int | None:
    if not parameters or SIZE not in parameters:
        return None
    size = parameters[SIZE]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        errors.append(field_error(f"{field}.parameters.{SIZE}", "int_type",
                                  "must be a whole number of bytes, 0 or more"))
        return None
    return size


def attach_binary_data(request: InferenceRequest, buffer: bytes | None) -> Errors:
    """Fill the ``data`` of each input sent as binary from ``buffer`` (``None``: the body
    had no binary part); the errors found, empty when all fit."""
    errors: Errors = []
    offset = 0
    view = memoryview(buffer or b"")
    for tensor in request.inputs:
        field = f"inputs.{tensor.name}"
        before = len(errors)
        size = _size(tensor.parameters, field, errors)
        if len(errors) > before:
            return errors  # where the next input's bytes start is unknown now
        if size is None:
            continue
        if buffer is None:
            errors.append(field_error(f"{field}.parameters.{SIZE}", "missing_header",
                                      "binary data needs the Inference-Header-Content-Length "
                                      "header; send it, or send the data as JSON"))
            continue
        chunk = view[offset:offset + size]
        offset += size
        if len(chunk) < size:
            errors.append(field_error(
                f"{field}.parameters.{SIZE}", "too_long",
                f"says {size} bytes, but only {len(chunk)} remain in the body"))
            return errors
        if tensor.data is not None:
            errors.append(field_error(f"{field}.data", "extra_forbidden",
                                      f"send either data or {SIZE}, not both"))
            continue
        problem = decode_input(tensor, chunk, f"{field}.parameters.{SIZE}")
        if problem is not None:
            errors.append(problem)
    if not errors and offset != len(view):
        errors.append(field_error("body", "binary_data",
                                  f"{len(view) - offset} bytes follow the JSON header that no "
                                  f"input's {SIZE} accounts for"))
    return errors


def decode_input(tensor: RequestInput, raw: bytes | memoryview,
                 field: str) -> dict[str, str] | None:
    """Set ``tensor.data`` from its raw bytes (HTTP binary data or gRPC raw contents); the
    error, named ``field``, when they are not its shape and datatype."""
    try:
        tensor.data = decode_tensor(raw, tensor.datatype, element_count(tensor.shape))
    except TensorBytesError as exc:
        return field_error(field, "binary_data", str(exc))
    return None


def _flag(parameters: dict[str, Any] | None, key: str, field: str,
          errors: Errors) -> bool | None:
    if not parameters or key not in parameters:
        return None
    value = parameters[key]
    if not isinstance(value, bool):
        where = f"{field}.parameters.{key}" if field else f"parameters.{key}"
        errors.append(field_error(where, "bool_type", "must be true or false"))
        return None
    return value


def binary_outputs(request: InferenceRequest) -> tuple[Callable[[str], bool], Errors]:
    """Whether the request wants an output (by name) as binary data; the errors in its
    ``binary_data_output`` and ``binary_data`` flags."""
    errors: Errors = []
    default = bool(_flag(request.parameters, "binary_data_output", "", errors))
    flags = {o.name: _flag(o.parameters, "binary_data", f"outputs.{o.name}", errors)
             for o in request.outputs or ()}

    def wanted(name: str) -> bool:
        flag = flags.get(name)
        return default if flag is None else flag

    return wanted, errors


def binary_response(payload: dict[str, Any],
                    binary: Callable[[str], bool]) -> tuple[bytes, int] | None:
    """``payload`` (a V2 inference response) with the outputs ``binary`` wants moved after
    the JSON: the body and the JSON part's length; None when none is binary."""
    if not any(binary(output["name"]) for output in payload["outputs"]):
        return None
    chunks = []
    for output in payload["outputs"]:
        if binary(output["name"]):
            data = encode_tensor(output.pop("data"), output["datatype"])
            output["parameters"] = {**output.get("parameters", {}), SIZE: len(data)}
            chunks.append(data)
    header = json.dumps(payload).encode()
    return header + b"".join(chunks), len(header)

"""Settings of the scoring server: ``[serving]`` in riskops.toml plus environment.

Every key is optional::

    [serving]
    open_health = true          # /health, /ready and /v2/health/* without a token
    open_metrics = true         # /metrics without a token
    max_body_bytes = 1048576    # larger request bodies get 413
    max_batch = 1000            # rows in one batch request
    max_text_chars = 20000      # characters in one text feature
    request_timeout_seconds = 10  # a model call; past it the heuristic answers
    header_timeout_seconds = 10   # a request head not complete by then: connection closed
    body_timeout_seconds = 10     # a request body not all in by then: 408
    manifest_poll_seconds = 0.5 # how often replicas look for a new manifest (4 stat calls)
    dispatch_events = true      # deliver outbox events from the server process
    model_threads = 1           # native (OpenMP/BLAS) threads per model call
    fast_path = true            # compiled scorer for gradient boosting, checked at load

``RISK_ML_ENABLED=false`` forces every scenario onto its heuristic scorer.
``RISKOPS_GRPC_ADDRESS=host:port`` (set by ``riskops serve --grpc-port``) also
serves the Open Inference Protocol over gRPC there, from every worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError

ENV_ML_ENABLED = "RISK_ML_ENABLED"
ENV_GRPC_ADDRESS = "RISKOPS_GRPC_ADDRESS"
_FALSE = {"0", "false", "no", "off"}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ServingSettings:
    open_health: bool = True
    open_metrics: bool = True
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    max_text_chars: int = 20_000
    request_timeout_seconds: float = 10.0
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 10.0
    manifest_poll_seconds: float = 0.5
    dispatch_events: bool = True
    model_threads: int = 1
    fast_path: bool = True
    ml_enabled: bool = True
    #: ``host:port`` of the gRPC endpoint; None: no gRPC.
    grpc_address: str | None = None


_LIMITS: dict[str, tuple[type, float, float]] = {
    "max_body_bytes": (int, 1024, 1024**3),
    "max_batch": (int, 1, 100_000),
    "max_text_chars": (int, 1, 10_000_000),
    "request_timeout_seconds": (float, 0.1, 3600),
    "header_timeout_seconds": (float, 0.1, 3600),
    "body_timeout_seconds": (float, 0.1, 3600),
    "manifest_poll_seconds": (float, 0.05, 3600),
    "model_threads": (int, 1, 256),
}
_BOOLS = ("open_health", "open_metrics", "dispatch_events", "fast_path")


def serving_settings(ws: Workspace, environ: dict[str, str] | None = None) -> ServingSettings:
    """Validate ``[serving]`` and read ``RISK_ML_ENABLED``; ``InputError`` names the key."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = ws.settings.section("serving")
    where = f"{ws.config_path} [serving]"
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _BOOLS:
            if not isinstance(value, bool):
                raise InputError(f"{where}: {key} must be true or false.")
            values[key] = value
        elif key in _LIMITS:
            kind, low, high = _LIMITS[key]
            ok_type = isinstance(value, int | float) if kind is float else isinstance(value, int)
            if isinstance(value, bool) or not ok_type or not low <= value <= high:
                noun = "an integer" if kind is int else "a number"
                raise InputError(f"{where}: {key} must be {noun} between {low:g} and {high:g}.")
            values[key] = kind(value)
        else:
            known = ", ".join(sorted([*_BOOLS, *_LIMITS]))
            raise InputError(f"{where}: unknown key {key!r}; known keys are {known}.")
    flag = env.get(ENV_ML_ENABLED)
    if flag is not None:
        if flag.strip().lower() in _FALSE:
            values["ml_enabled"] = False
        elif flag.strip().lower() not in _TRUE:
            raise InputError(f"{ENV_ML_ENABLED}={flag!r} is not a boolean; use true or false.")
    address = env.get(ENV_GRPC_ADDRESS)
    if address:
        values["grpc_address"] = _grpc_address(address)
    return ServingSettings(**values)


def _grpc_address(address: str) -> str:
    host, _, port = address.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise InputError(f"{ENV_GRPC_ADDRESS}={address[:64]!r} is not host:port with a port "
                         "1-65535; use riskops serve --grpc-port PORT.")
    return address

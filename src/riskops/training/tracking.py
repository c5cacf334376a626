"""Logging a training run to MLflow and registering its version there.

Used only when ``MLFLOW_TRACKING_URI`` is set; ``mlflow`` is imported inside
``log_to_mlflow``, so riskops runs without it.

    run_id = log_to_mlflow(summary, artifacts_dir, model="fraud", version=3,
                           manifest_sha256="ab12...")

One run per training in experiment ``riskops-<model>``: params (nested keys
flattened with dots, non-scalars as JSON, values cut to MLflow's length
limit), finite metrics, every file of the artifacts folder, and ``riskops.*``
tags. The run's artifact folder is then registered as a version of the MLflow
registered model ``<model>`` with the same tags. Nothing is pickled: the model
travels as the skops file riskops signed; MLflow only stores bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import riskops
from riskops.errors import InputError

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
NOT_INSTALLED = (
    "MLFLOW_TRACKING_URI is set but mlflow is not installed; pip install 'riskops[mlflow]'"
)
#: MLflow's limits (mlflow.utils.validation); read from mlflow when it has them.
PARAM_VALUE_LIMIT = 6000
KEY_LIMIT = 250
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 1000
_MAX_DEPTH = 8
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")


#: Applied only where the environment does not set them already.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def log_to_mlflow(
    summary: dict[str, Any], artifacts_dir: Path, *, model: str, version: int,
    manifest_sha256: str,
) -> str:
    """Log one training run to MLflow, register it as a model version; return the run id.

    Parameters
    ----------
    summary : dict
        The trainer's summary: ``metrics`` (name -> float or None), ``params``
        (possibly nested), ``scenario``, ``seed`` and ``data_sha256``.
    artifacts_dir : Path
        Folder whose files (reports, ``model.skops``, ...) are logged as the
        run's artifacts and become the registered version's source.
    model, version, manifest_sha256 :
        riskops' model name, version number and manifest digest, set as tags.

    Raises
    ------
    InputError
        If mlflow is not installed, the artifacts folder is missing, or the
        tracking or registry store fails (one line naming the URI).
    """
    # MLflow's HTTP client retries with back-off for minutes by default; training
    # is already registered, so fail fast unless the user chose otherwise.
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise InputError(NOT_INSTALLED) from None
    from sqlalchemy.exc import SQLAlchemyError

    artifacts_dir = Path(artifacts_dir)
    if not artifacts_dir.is_dir():
        raise InputError(f"{artifacts_dir}: artifacts folder not found; nothing to log to MLflow.")
    uri = os.environ.get(ENV_TRACKING_URI) or _default_uri()
    tags = riskops_tags(model=model, version=version, manifest_sha256=manifest_sha256)
    run_tags = {
        **tags,
        "riskops.scenario": str(summary.get("scenario", "")),
        "riskops.seed": str(summary.get("seed", "")),
        "riskops.data_sha256": str(summary.get("data_sha256", "")),
    }
    params = run_params(summary)
    metrics = run_metrics(summary.get("metrics") or {})
    step = "connecting"
    try:
        client = MlflowClient(tracking_uri=uri)
        step = f"opening experiment riskops-{model}"
        experiment_id = _experiment_id(client, f"riskops-{model}", MlflowException)
        step = "starting a run"
        run = client.create_run(experiment_id, tags=_with_context(run_tags),
                                run_name=f"{model}-v{version}")
        run_id = run.info.run_id
        try:
            step = "logging params and metrics"
            _log(client, run_id, params, metrics)
            step = f"logging the artifacts of {artifacts_dir}"
            client.log_artifacts(run_id, str(artifacts_dir))
        except BaseException:
            _mark_failed(client, run_id)
            raise
        client.set_terminated(run_id, "FINISHED")
        step = f"registering {model} in the model registry"
        _ensure_registered_model(client, model, MlflowException)
        client.create_model_version(
            name=model, source=run.info.artifact_uri, run_id=run_id, tags=tags,
            description=_description(summary, model, version, manifest_sha256),
        )
    except (MlflowException, OSError, SQLAlchemyError) as exc:
        raise InputError(
            f"MLflow at {redact_uri(uri)}: {step} failed: {_one_line(exc, uri)} "
            f"(check {ENV_TRACKING_URI}, or unset it to train without MLflow)"
        ) from exc
    return run_id


def riskops_tags(*, model: str, version: int, manifest_sha256: str) -> dict[str, str]:
    """The ``riskops.*`` tags set on the run and on the registered version."""
    return {
        "riskops.version": riskops.__version__,
        "riskops.model": model,
        "riskops.model_version": str(version),
        "riskops.manifest_sha256": manifest_sha256,
    }


def run_params(summary: Mapping[str, Any]) -> dict[str, str]:
    """``summary["params"]`` flattened (``a.b``), plus scenario, seed and data digest.

    Keys keep only characters MLflow accepts (others become ``_``) and at most
    250 characters; values are text of at most MLflow's limit (6000).
    """
    flat = dict(_flatten(summary.get("params") or {}))
    for key in ("scenario", "seed", "data_sha256"):
        if key in summary:
            flat.setdefault(key, summary[key])
    limit = _limit("MAX_PARAM_VAL_LENGTH", PARAM_VALUE_LIMIT)
    return {_key(k): _param_value(v, limit) for k, v in flat.items()}


def run_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Finite numeric metrics, nested names flattened; None, NaN, infinity and text skipped."""
    out: dict[str, float] = {}
    for name, value in _flatten(metrics):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[_key(name)] = float(value)
    return out


def redact_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***``."""
    if not _password(uri):
        return uri
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _password(uri: str) -> str | None:
    try:
        return urlsplit(uri).password
    except ValueError:
        return None


def _default_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


def _experiment_id(client: Any, name: str, mlflow_error: type[Exception]) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name)
        except mlflow_error as exc:  # created meanwhile by another trainer
            if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    if experiment.lifecycle_stage == "deleted":
        raise InputError(
            f"MLflow experiment {name} is deleted; restore it (mlflow experiments restore "
            f"--experiment-id {experiment.experiment_id}) or delete it permanently."
        )
    return experiment.experiment_id


def _ensure_registered_model(client: Any, name: str, mlflow_error: type[Exception]) -> None:
    try:
        client.get_registered_model(name)
        return
    except mlflow_error as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        client.create_registered_model(
            name, description=f"riskops model {name}; versions carry riskops.* tags."
        )
    except mlflow_error as exc:  # registered meanwhile by another trainer
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise


def _log(client: Any, run_id: str, params: dict[str, str], metrics: dict[str, float]) -> None:
    from mlflow.entities import Metric, Param

    param_items = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(param_items), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=param_items[start:start + PARAMS_PER_BATCH])
    stamp = _now_ms()
    metric_items = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
    for start in range(0, len(metric_items), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metric_items[start:start + METRICS_PER_BATCH])


def _mark_failed(client: Any, run_id: str) -> None:
    # The store is already failing; the original error is the one to report.
    with contextlib.suppress(Exception):
        client.set_terminated(run_id, "FAILED")


def _with_context(tags: dict[str, str]) -> dict[str, str]:
    """MLflow's usual run context tags (user, source) under ours, as ``start_run`` adds."""
    try:
        from mlflow.tracking.context.registry import resolve_tags
    except ImportError:
        return tags
    return {str(k): str(v) for k, v in resolve_tags(tags).items()}


def _description(summary: Mapping[str, Any], model: str, version: int, manifest: str) -> str:
    return (
        f"riskops {model} v{version}: scenario {summary.get('scenario')}, seed "
        f"{summary.get('seed')}, data sha256 {summary.get('data_sha256')}, manifest sha256 "
        f"{manifest}. Load the skops file through riskops, which verifies its signature."
    )


def _flatten(mapping: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[
    tuple[str, Any]
]:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth < _MAX_DEPTH:
            yield from _flatten(value, f"{name}.", depth + 1)
        else:
            yield name, value


def _key(name: str) -> str:
    """A name MLflow accepts: allowed characters, no leading '/' or '.', at most 250 long."""
    key = _BAD_KEY_CHARS.sub("_", str(name)).strip()
    if posixpath.normpath(key) != key or key.startswith(("/", "..")) or key in ("", "."):
        key = key.replace("/", "_").lstrip(".") or "_"
    limit = _limit("MAX_ENTITY_KEY_LENGTH", KEY_LIMIT)
    if len(key) > limit:
        digest = hashlib.sha256(str(name).encode()).hexdigest()[:8]
        key = f"{key[:limit - 9]}~{digest}"
    return key


def _param_value(value: Any, limit: int) -> str:
    if value is None or isinstance(value, str | bool | int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _limit(name: str, default: int) -> int:
    try:
        from mlflow.utils import validation
    except ImportError:
        return default
    return int(getattr(validation, name, default))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def _one_line(exc: BaseException, uri: str) -> str:
    """The error on one line, at most 300 characters, without the URI's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    password = _password(uri)
    if password:
        text = text.replace(password, "***")
    return text if len(text) <= 300 else f"{text[:297]}..."

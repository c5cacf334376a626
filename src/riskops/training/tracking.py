"""Logging a training run to MLflow and registering its version there.

Used only when ``MLFLOW_TRACKING_URI`` is set; ``mlflow`` is imported inside
``log_to_mlflow`` (through ``riskops.tracking``, the store both training and
monitoring log to), so riskops runs without it.

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

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import riskops
from riskops.errors import InputError
from riskops.tracking import flatten, metric_key, mlflow_limit, run_metrics, tracking_store

#: MLflow's limit on a param value (mlflow.utils.validation); read from mlflow when it has it.
PARAM_VALUE_LIMIT = 6000


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
    tags = riskops_tags(model=model, version=version, manifest_sha256=manifest_sha256)
    run_tags = {
        **tags,
        "riskops.scenario": str(summary.get("scenario", "")),
        "riskops.seed": str(summary.get("seed", "")),
        "riskops.data_sha256": str(summary.get("data_sha256", "")),
    }
    with tracking_store(without="train") as store:
        artifacts_dir = Path(artifacts_dir)
        if not artifacts_dir.is_dir():
            raise InputError(
                f"{artifacts_dir}: artifacts folder not found; nothing to log to MLflow.")
        store.step = f"opening experiment riskops-{model}"
        experiment_id = store.experiment_id(f"riskops-{model}")
        store.step = "starting a run"
        with store.run(experiment_id, tags=run_tags, run_name=f"{model}-v{version}") as run:
            run_id = run.info.run_id
            store.step = "logging params and metrics"
            store.log(run_id, run_params(summary), run_metrics(summary.get("metrics") or {}))
            store.step = f"logging the artifacts of {artifacts_dir}"
            store.client.log_artifacts(run_id, str(artifacts_dir))
        store.step = f"registering {model} in the model registry"
        _ensure_registered_model(store.client, model)
        store.client.create_model_version(
            name=model, source=run.info.artifact_uri, run_id=run_id, tags=tags,
            description=_description(summary, model, version, manifest_sha256),
        )
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
    flat = dict(flatten(summary.get("params") or {}))
    for key in ("scenario", "seed", "data_sha256"):
        if key in summary:
            flat.setdefault(key, summary[key])
    limit = mlflow_limit("MAX_PARAM_VAL_LENGTH", PARAM_VALUE_LIMIT)
    return {metric_key(k): _param_value(v, limit) for k, v in flat.items()}


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return
    except MlflowException as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        client.create_registered_model(
            name, description=f"riskops model {name}; versions carry riskops.* tags."
        )
    except MlflowException as exc:  # registered meanwhile by another trainer
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise


def _description(summary: Mapping[str, Any], model: str, version: int, manifest: str) -> str:
    return (
        f"riskops {model} v{version}: scenario {summary.get('scenario')}, seed "
        f"{summary.get('seed')}, data sha256 {summary.get('data_sha256')}, manifest sha256 "
        f"{manifest}. Load the skops file through riskops, which verifies its signature."
    )


def _param_value(value: Any, limit: int) -> str:
    if value is None or isinstance(value, str | bool | int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."

"""The MLflow tracking store that training and monitoring runs are logged to.

Used only when ``MLFLOW_TRACKING_URI`` is set; ``mlflow`` is imported inside
``tracking_store``, so riskops runs without it.

    with tracking_store(without="train") as store:       # InputError if mlflow is missing
        store.step = "opening experiment riskops-fraud"  # named if the store fails now
        experiment_id = store.experiment_id("riskops-fraud")
        with store.run(experiment_id, tags={...}, run_name="fraud-v3") as run:
            store.log(run.info.run_id, params, metrics)

A store failure (``MlflowException``, ``OSError``, SQLAlchemy's errors) leaves
the block as one ``InputError`` line naming the URI (password redacted), the
step and the way out. Metric and param names are made acceptable to MLflow
on every platform (``metric_key``); values are batched within its limits.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from riskops.errors import InputError

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
NOT_INSTALLED = (
    "MLFLOW_TRACKING_URI is set but mlflow is not installed; pip install 'riskops[mlflow]'"
)
#: MLflow's limits (mlflow.utils.validation); read from mlflow when it has them.
KEY_LIMIT = 250
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 1000
_MAX_DEPTH = 8
#: What MLflow accepts in a name on every platform (colons only off Windows).
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")

#: Applied only where the environment does not set them already.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@dataclass
class TrackingStore:
    """An open MLflow client and the step it is at, for the error message."""

    uri: str
    client: Any  # mlflow.MlflowClient
    step: str = "connecting"

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created when absent.

        Raises ``InputError`` when it is deleted (MLflow keeps deleted names taken).
        """
        from mlflow.exceptions import MlflowException

        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return self.client.create_experiment(name)
            except MlflowException as exc:  # created meanwhile by another process
                if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment = self.client.get_experiment_by_name(name)
        if experiment.lifecycle_stage == "deleted":
            raise InputError(
                f"MLflow experiment {name} is deleted; restore it (mlflow experiments restore "
                f"--experiment-id {experiment.experiment_id}) or delete it permanently."
            )
        return experiment.experiment_id

    @contextlib.contextmanager
    def run(self, experiment_id: str, *, tags: Mapping[str, str], run_name: str) -> Iterator[Any]:
        """A new run with ``tags`` over MLflow's context tags; FINISHED when the block
        ends, FAILED when it raises."""
        run = self.client.create_run(experiment_id, tags=_with_context(dict(tags)),
                                     run_name=run_name)
        try:
            yield run
        except BaseException:
            # The store is most likely failing already; the original error is the one to report.
            with contextlib.suppress(Exception):
                self.client.set_terminated(run.info.run_id, "FAILED")
            raise
        self.client.set_terminated(run.info.run_id, "FINISHED")

    def log(self, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float], *,
            timestamp_ms: int | None = None) -> None:
        """Params and metrics (step 0, stamped ``timestamp_ms`` or now) in MLflow-sized batches."""
        from mlflow.entities import Metric, Param

        param_items = [Param(k, v) for k, v in params.items()]
        for start in range(0, len(param_items), PARAMS_PER_BATCH):
            self.client.log_batch(run_id, params=param_items[start:start + PARAMS_PER_BATCH])
        stamp = _now_ms() if timestamp_ms is None else timestamp_ms
        metric_items = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
        for start in range(0, len(metric_items), METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=metric_items[start:start + METRICS_PER_BATCH])


@contextlib.contextmanager
def tracking_store(*, without: str) -> Iterator[TrackingStore]:
    """The store at ``$MLFLOW_TRACKING_URI`` (else MLflow's default), for one block.

    ``without`` completes the way out of a failure: "unset it to ``without``
    without MLflow" (``"train"``, ``"monitor"``).

    Raises
    ------
    InputError
        If mlflow is not installed (``NOT_INSTALLED``), or the store fails
        inside the block: ``MLflow at URI: STEP failed: ERROR (check ...)``.
    """
    # MLflow's HTTP client retries with back-off for minutes by default; riskops has
    # already recorded what it logs, so fail fast unless the user chose otherwise.
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise InputError(NOT_INSTALLED) from None
    from sqlalchemy.exc import SQLAlchemyError

    uri = tracking_uri()
    store = TrackingStore(uri, None)
    try:
        store.client = MlflowClient(tracking_uri=uri)
        yield store
    except (MlflowException, OSError, SQLAlchemyError) as exc:
        raise InputError(
            f"MLflow at {redact_uri(uri)}: {store.step} failed: {one_line(exc, uri)} "
            f"(check {ENV_TRACKING_URI}, or unset it to {without} without MLflow)"
        ) from exc


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, or MLflow's default when it is unset."""
    uri = os.environ.get(ENV_TRACKING_URI)
    if uri:
        return uri
    import mlflow

    return mlflow.get_tracking_uri()


def run_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Finite numeric metrics, nested names flattened; None, NaN, infinity and text skipped."""
    return metric_dict(flatten(metrics))


def metric_dict(items: Iterable[tuple[str, Any]]) -> dict[str, float]:
    """Finite numbers by ``metric_key`` of their name; the rest skipped.

    Two names that clean to the same key keep apart: the later one gets a
    digest of its name appended (``a=1`` and ``a_1`` -> ``a_1``, ``a_1-5d3c...``).
    """
    out: dict[str, float] = {}
    names: dict[str, str] = {}
    for name, value in items:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            continue
        key = metric_key(name)
        if names.get(key, name) != name:
            key = metric_key(name, force_digest=True)
        names[key] = name
        out[key] = float(value)
    return out


def flatten(mapping: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[
    tuple[str, Any]
]:
    """``(a.b, value)`` for every leaf of nested mappings (at most 8 deep)."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth < _MAX_DEPTH:
            yield from flatten(value, f"{name}.", depth + 1)
        else:
            yield name, value


def metric_key(name: str, *, force_digest: bool = False) -> str:
    """A name MLflow accepts: allowed characters, no leading '/' or '.', at most 250 long.

    A name cut to fit (or ``force_digest``) ends in ``-`` and 8 hex digits of
    its SHA-256, so cut names stay apart.

    >>> metric_key("psi.text:oov_rate")
    'psi.text_oov_rate'
    """
    key = _BAD_KEY_CHARS.sub("_", str(name)).strip()
    if posixpath.normpath(key) != key or key.startswith(("/", "..")) or key in ("", "."):
        key = key.replace("/", "_").lstrip(".") or "_"
    limit = mlflow_limit("MAX_ENTITY_KEY_LENGTH", KEY_LIMIT)
    if len(key) > limit or force_digest:
        digest = hashlib.sha256(str(name).encode()).hexdigest()[:8]
        key = f"{key[:limit - 9]}-{digest}"
    return key


def mlflow_limit(name: str, default: int) -> int:
    """MLflow's own value of limit ``name`` when it is installed, else ``default``."""
    try:
        from mlflow.utils import validation
    except ImportError:
        return default
    return int(getattr(validation, name, default))


def redact_uri(uri: str) -> str:
    """``uri`` with any password and every query value replaced by ``***``
    (``?token=...``, ``?password=...`` carry secrets as often as the user part does).

    >>> redact_uri("http://u:pw@mlflow:5000/?token=abc&x=1")
    'http://u:***@mlflow:5000/?token=***&x=***'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    # Edit the text in place: urlunsplit would also rewrite "sqlite:////abs" as "sqlite://abs".
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        uri = uri.replace(parts.netloc, f"{parts.username}:***@{host}", 1)
    if parts.query:
        hidden = "&".join(f"{item.partition('=')[0]}=***" for item in parts.query.split("&")
                          if item)
        uri = uri.replace(f"?{parts.query}", f"?{hidden}", 1)
    return uri


def one_line(exc: BaseException, uri: str) -> str:
    """The error on one line, at most 300 characters, without the URI's secrets."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in _secrets(uri):
        text = text.replace(secret, "***")
    return text if len(text) <= 300 else f"{text[:297]}..."


def _secrets(uri: str) -> list[str]:
    """The URI's password and query values of 4 or more characters (shorter ones, ``x=1``,
    would blank out unrelated text), longest first."""
    try:
        parts = urlsplit(uri)
        found = [parts.password or ""]
    except ValueError:
        return []
    found += [item.partition("=")[2] for item in parts.query.split("&")]
    return sorted({f for f in found if len(f) >= 4}, key=len, reverse=True)


def _with_context(tags: dict[str, str]) -> dict[str, str]:
    """MLflow's usual run context tags (user, source) under ours, as ``start_run`` adds."""
    try:
        from mlflow.tracking.context.registry import resolve_tags
    except ImportError:
        return tags
    return {str(k): str(v) for k, v in resolve_tags(tags).items()}


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)

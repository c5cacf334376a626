"""`riskops train`: read, split, fit, evaluate, compare, report, register.

    summary = train_scenario(ws, "fraud", Path("fraud.parquet"), seed=0, actor="local:ana")
    summary["version"], summary["metrics"]["validation"]["roc_auc"]

The candidate is registered as the next version of the model named after the
scenario, with six artifacts: ``model.skops``, ``evaluation-report.json``,
``reproducibility-report.json``, ``golden-predictions.parquet``,
``holdout-rows.parquet`` (the held-out rows and their scores) and
``reference-profile.json`` (what the model was trained on, for
training-serving skew; ``riskops.profiles.profile``); a custom scenario's
version also holds ``scenario.json``, its definition, which is what a server
serves it from (``riskops.scenarios.definition``). It is not live until
promoted. The evaluation report also holds a plain logistic-regression
baseline's metrics on the same split (``training.baseline``), and the summary
a one-line warning when the model trails it.

The split is by time, or the scenario's ``split_rule``; a custom scenario
whose data has no timestamp column is split by row order, with a notice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.profiles import profile as reference_profile
from riskops.scenarios.base import Scenario, Schema, SplitRule
from riskops.training import reports
from riskops.training.baseline import baseline_block, baseline_warning
from riskops.training.compare import compare_with_production
from riskops.training.data import InvalidTrainingData, TrainingData, load_training_data
from riskops.training.metrics import METRICS, classification_metrics, segment_metrics
from riskops.training.progress import Progress, stepper
from riskops.training.split import (
    DEFAULT_FRACTIONS,
    SLICES,
    Split,
    ids_sha256,
    ordered_split,
    random_split,
    time_split,
)
from riskops.training.threshold import ThresholdChoice, choose_threshold

TRAIN_STEPS = ("reading data", "fitting", "evaluating", "comparing with production",
               "writing reports", "registering")
#: Native threads while fitting; the count is recorded and reused by --reproduce.
DEFAULT_THREADS = 1
#: Each label present in the training slice needs this many rows (calibration folds).
MIN_CLASS_ROWS = 10
logger = logging.getLogger("riskops.training")
#: The reference scenarios' split, and a custom one's when its data has timestamps.
BY_TIME = SplitRule("time")


@dataclass(frozen=True)
class FitResult:
    """A fitted model, the split it was fitted on, and its scores on the held-out slices."""

    model: Any
    split: Split
    validation_scores: np.ndarray
    golden_scores: np.ndarray
    seconds: float
    rule: SplitRule = BY_TIME
    notice: str | None = None  # why the split is not by time, when the data decided it


#: The notice when a custom scenario's data has no timestamp column and no [split] says how.
NO_TIMESTAMP_NOTICE = ("notice: no timestamp column {column!r} in the data; split by row "
                       "order (the first rows train, the last are golden); set [split] kind "
                       "in the config to choose.")


def split_rule(scenario: Scenario, frame: pd.DataFrame) -> tuple[SplitRule, str | None]:
    """The scenario's split rule, else by time when ``frame`` has the timestamp column,
    else by row order with a one-line notice naming the column as the data would."""
    if scenario.split_rule is not None:
        return scenario.split_rule, None
    if scenario.schema.timestamp in frame.columns:
        return BY_TIME, None
    column = getattr(scenario, "timestamp_column", scenario.schema.timestamp)
    return SplitRule("ordered"), NO_TIMESTAMP_NOTICE.format(column=column)


def split_frame(frame: pd.DataFrame, rule: SplitRule, schema: Schema, *,
                fractions: Sequence[float]) -> Split:
    """``frame`` cut by ``rule`` (``ValueError`` when the cut leaves a slice empty)."""
    if rule.kind == "time":
        return time_split(frame, timestamp=schema.timestamp, id=schema.id, fractions=fractions)
    if rule.kind == "random":
        return random_split(frame, seed=int(rule.seed or 0), fractions=fractions)
    return ordered_split(frame, fractions=fractions)


def fit_and_score(
    scenario: Scenario, data: TrainingData, *, seed: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS, threads: int = DEFAULT_THREADS,
) -> FitResult:
    """Split ``data`` (by time unless the scenario says otherwise, ``split_rule``), fit the
    scenario's model on the train slice, score the rest.

    Native thread pools (OpenMP, BLAS) are limited to ``threads`` while
    fitting and scoring: parallel sums split their work by thread count, so
    the same count gives the same floating-point results on any machine.
    Deterministic for the same data, seed, fractions, threads and library
    versions.
    """
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}.")
    schema = scenario.schema
    rule, notice = split_rule(scenario, data.frame)
    try:
        split = split_frame(data.frame, rule, schema, fractions=fractions)
    except ValueError as exc:
        raise InvalidTrainingData(f"--data {data.path}: {exc}") from None
    _check_training_labels(split.train, scenario, data.path, rule.kind)
    started = time.perf_counter()
    model = scenario.build_model(seed=seed)
    with threadpool_limits(limits=threads):
        try:
            model.fit(scenario.model_input(split.train), split.train[schema.label].astype(str))
        except ValueError as exc:  # sklearn's verdict on the data (e.g. an unusable column)
            raise InvalidTrainingData(
                f"--data {data.path}: the model cannot be fitted on the training slice: {exc}"
            ) from None
        seconds = time.perf_counter() - started
        validation = scenario.risk_scores(model, split.validation)
        golden = scenario.risk_scores(model, split.golden)
    return FitResult(model, split, validation, golden, seconds, rule, notice)


@dataclass(frozen=True)
class Evaluation:
    """The chosen threshold, metrics per held-out slice, and the same per segment."""

    threshold: ThresholdChoice
    metrics: dict[str, dict[str, Any]]
    segments: dict[str, Any]


def evaluate(scenario: Scenario, fit: FitResult) -> Evaluation:
    """Choose the threshold on validation; score validation and golden, also per segment
    (the tenant column and the scenario's segment columns)."""
    schema = scenario.schema
    scores = {"validation": fit.validation_scores, "golden": fit.golden_scores}
    frames = {"validation": fit.split.validation, "golden": fit.split.golden}
    y = {name: scenario.binary_target(frame[schema.label]) for name, frame in frames.items()}
    choice = choose_threshold(y["validation"], scores["validation"],
                              fallback=scenario.default_threshold)
    columns = [schema.tenant, *schema.segments]
    metrics = {name: classification_metrics(y[name], scores[name], choice.threshold)
               for name in frames}
    segments: dict[str, Any] = {"columns": columns}
    for name, frame in frames.items():
        segments[name] = segment_metrics(frame, columns, y_true=y[name], scores=scores[name],
                                         threshold=choice.threshold)
    return Evaluation(choice, metrics, segments)


def _check_training_labels(train: pd.DataFrame, scenario: Scenario, path: Path,
                           kind: str = "time") -> None:
    labels = scenario.schema.labels
    counts = train[scenario.schema.label].value_counts()
    first = "oldest" if kind == "time" else ("first" if kind == "ordered" else "random")
    where = f"--data {path}: the training slice ({first} {len(train)} rows)"
    if scenario.binary_target(train[scenario.schema.label]).sum() == 0:
        raise InvalidTrainingData(
            f"{where} has no row labelled {labels[-1]!r}, the risky outcome; the model "
            "cannot learn it. Add older examples of it or use a longer period."
        )
    if len(counts) < 2:
        raise InvalidTrainingData(f"{where} holds a single label ({counts.index[0]!r}).")
    for name in scenario.schema.columns("numeric"):
        if name in train.columns and train[name].isna().all():
            raise InvalidTrainingData(
                f"{where} has no value in numeric feature {name!r} (every cell is empty); "
                "fill it or drop the feature from the scenario."
            )
    rare = {label: int(n) for label, n in counts.items() if n < MIN_CLASS_ROWS}
    if rare:
        label, n = next(iter(rare.items()))
        raise InvalidTrainingData(
            f"{where} has only {n} rows labelled {label!r}; each label present needs at "
            f"least {MIN_CLASS_ROWS} for the calibration folds."
        )


def train_scenario(
    ws: Workspace, scenario_name: str, data_path: Path, *, seed: int = 0, actor: str,
    config: Path | None = None, progress: Progress | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS, threads: int = DEFAULT_THREADS,
) -> dict[str, Any]:
    """Train, evaluate and register a candidate version of ``scenario_name`` (not live).

    Returns a summary: ``model``, ``version``, ``manifest_version``, headline
    ``metrics``, ``threshold``, ``comparison`` with production, ``artifacts``.

    Raises
    ------
    InvalidTrainingData
        Unreadable data, or data that breaks the scenario's schema.
    UnknownScenario, InputError
        Unknown scenario or unusable config.
    """
    from riskops.registry.service import Registry, check_model_name
    from riskops.scenarios import get_scenario

    step = stepper(progress, TRAIN_STEPS)
    started = time.perf_counter()
    created_at = datetime.now(UTC).isoformat()
    run_id = uuid.uuid4().hex
    if threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}.")
    check_model_name(scenario_name)
    scenario = get_scenario(scenario_name, config=config)

    step("reading data")
    data = load_training_data(data_path, scenario)
    schema = scenario.schema  # a custom scenario learns its labels from the data
    read_seconds = time.perf_counter() - started

    step("fitting")
    fit = fit_and_score(scenario, data, seed=seed, fractions=fractions, threads=threads)

    step("evaluating")
    evaluated = time.perf_counter()
    split = fit.split
    evaluation = evaluate(scenario, fit)
    threshold = evaluation.threshold.threshold
    metrics = evaluation.metrics
    baseline = fit_baseline(scenario, fit, seed=seed, threads=threads, metrics=metrics)
    evaluate_seconds = time.perf_counter() - evaluated

    step("comparing with production")
    comparison = compare_with_production(
        ws, scenario, validation=split.validation, golden=split.golden,
        candidate_validation=metrics["validation"], candidate_golden_scores=fit.golden_scores,
        candidate_threshold=threshold,
    )

    step("writing reports")
    params = {"seed": seed, "threads": threads, "threshold": threshold,
              **reports.model_params_summary(fit.model)}
    headline = {name: metrics["validation"][name] for name in METRICS}
    headline["threshold"] = threshold
    split_info = _split_info(scenario, fit)
    with tempfile.TemporaryDirectory(prefix="riskops-train-") as tmp:
        folder = Path(tmp)
        golden_digest = _write_model_and_predictions(folder, fit, scenario)
        write_profile(folder, fit, scenario)
        write_definition(folder, scenario)
        wall = {"read": read_seconds, "fit": fit.seconds, "evaluate": evaluate_seconds,
                "total": time.perf_counter() - started}
        evaluation_report = reports.evaluation_report(
            model=scenario.name, training_run_id=run_id, created_at=created_at,
            split=split_info, threshold=evaluation.threshold.as_dict(), metrics=metrics,
            segments=evaluation.segments, comparison=comparison, model_params=params,
            binary_target=f"{schema.label} == {schema.labels[-1]!r}", baseline=baseline,
        )
        reproducibility = reports.reproducibility_report(
            model=scenario.name, training_run_id=run_id, created_at=created_at,
            scenario=scenario_identity(scenario, config), data=data_identity(data),
            schema=schema, seed=seed, threads=threads, split=_split_record(fit, schema),
            threshold=threshold, wall_time=wall, golden_predictions_sha256=golden_digest,
        )
        (folder / reports.EVALUATION_FILE).write_text(reports.dumps(evaluation_report),
                                                     encoding="utf-8")
        (folder / reports.REPRODUCIBILITY_FILE).write_text(reports.dumps(reproducibility),
                                                          encoding="utf-8")

        step("registering")
        registered = Registry(ws).register(scenario.name, folder, actor=actor, metrics=headline,
                                           params=params, training_run_id=run_id)
        summary = {
            "model": scenario.name,
            "version": registered["version"],
            "manifest_version": registered["manifest_version"],
            "live": False,
            "training_run_id": run_id,
            "seed": seed,
            "threads": threads,
            "data": data_identity(data),
            "split": {"rows": split_info["rows"], "kind": fit.rule.kind, "seed": fit.rule.seed,
                      "notice": fit.notice},
            "threshold": evaluation.threshold.as_dict(),
            "metrics": {k: {m: v[m] for m in METRICS} for k, v in metrics.items()},
            "comparison": comparison,
            "baseline": baseline,
            "baseline_warning": baseline_warning(baseline, metrics["validation"]["roc_auc"]),
            "params": params,
            "artifacts": registered["artifacts"],
            "wall_time_seconds": time.perf_counter() - started,
        }
        summary["tracking"] = _track(ws, summary, folder)
    step("done")
    return summary


def write_definition(folder: Path, scenario: Scenario) -> Path | None:
    """Write a custom scenario's ``scenario.json`` (its definition, signed with the version
    so that a server can serve it); reference scenarios are code and have none."""
    from riskops.scenarios.custom import CustomScenario
    from riskops.scenarios.definition import DEFINITION_FILE, definition_bytes

    if not isinstance(scenario, CustomScenario):
        return None
    path = folder / DEFINITION_FILE
    path.write_bytes(definition_bytes(scenario))
    return path


def scenario_identity(scenario: Scenario, config: Path | None) -> dict[str, Any]:
    """Name of the scenario and, for a custom one, the config file and its digest."""
    if config is None:
        return {"name": scenario.name, "config": None}
    raw = config.read_bytes()
    return {"name": scenario.name,
            "config": {"path": str(config.resolve()), "sha256": hashlib.sha256(raw).hexdigest()}}


def data_identity(data: TrainingData) -> dict[str, Any]:
    return {"path": str(data.path), "sha256": data.sha256, "rows": data.rows,
            "bytes": data.size, "format": data.format}


def fit_baseline(scenario: Scenario, fit: FitResult, *, seed: int, threads: int,
                 metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The plain logistic-regression baseline on the same split (``training.baseline``),
    fitted with native threads held to ``threads`` like the model."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return baseline_block(scenario, fit.split, seed=seed, model_metrics=metrics)


#: Split kind -> the method and order the reports name.
_METHODS = {"time": "time-ordered", "ordered": "row-ordered", "random": "random"}


def _split_record(fit: FitResult, schema: Schema) -> dict[str, Any]:
    """What reproduction needs: the rule (kind, seed), the fractions and a fingerprint of the
    golden ids."""
    split, rule = fit.split, fit.rule
    order_by = {"time": [schema.timestamp, schema.id], "ordered": ["row order"],
                "random": [f"permutation of the row order (seed {rule.seed})"]}[rule.kind]
    return {
        "method": _METHODS[rule.kind],
        "kind": rule.kind,
        "seed": rule.seed,
        "order_by": order_by,
        "fractions": dict(zip(SLICES, split.fractions, strict=True)),
        "rows": {name: len(frame) for name, frame in split.slices().items()},
        "golden_ids_sha256": ids_sha256(split.golden[schema.id]),
    }


def _split_info(scenario: Scenario, fit: FitResult) -> dict[str, Any]:
    schema = scenario.schema
    slices = fit.split.slices()
    timed = schema.timestamp in fit.split.train.columns
    return {
        **_split_record(fit, schema),
        "notice": fit.notice,
        "time_ranges": {
            name: {"from": frame[schema.timestamp].min().isoformat(),
                   "to": frame[schema.timestamp].max().isoformat()}
            for name, frame in slices.items()
        } if timed else None,
        "positive_rate": {name: float(scenario.binary_target(frame[schema.label]).mean())
                          for name, frame in slices.items()},
        "labels": {name: {str(k): int(v) for k, v in
                          frame[schema.label].value_counts().sort_index().items()}
                   for name, frame in slices.items()},
    }


def _write_model_and_predictions(folder: Path, fit: FitResult, scenario: Scenario) -> str:
    import skops.io as sio

    sio.dump(fit.model, folder / reports.MODEL_FILE)
    golden = pd.DataFrame({
        "id": fit.split.golden[scenario.schema.id].astype(str).to_numpy(),
        "score": np.asarray(fit.golden_scores, dtype=np.float64),
    })
    path = folder / reports.GOLDEN_FILE
    golden.to_parquet(path, index=False)
    write_holdout(folder, fit)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_holdout(folder: Path, fit: FitResult) -> Path:
    """Write ``holdout-rows.parquet``: the validation and golden rows as given, each with the
    slice it came from and the candidate's score (``reports.HOLDOUT_FILE``)."""
    parts = []
    for name, frame, scores in (("validation", fit.split.validation, fit.validation_scores),
                                ("golden", fit.split.golden, fit.golden_scores)):
        part = frame.reset_index(drop=True).copy()
        part["_slice"] = name
        part["_score"] = np.asarray(scores, dtype=np.float64)
        parts.append(part)
    path = folder / reports.HOLDOUT_FILE
    pd.concat(parts, ignore_index=True).to_parquet(path, index=False)
    return path


def write_profile(folder: Path, fit: FitResult, scenario: Scenario) -> Path:
    """Write ``reference-profile.json``: features as in the train slice, scores on the
    held-out slices (validation, then golden).

    Features come from the rows the model learned from; scores from the rows
    it did not see, since in-sample scores of a fitted model are sharper
    than anything serving will produce. Deterministic bytes for the same fit.
    """
    split = fit.split
    scores = np.concatenate([np.asarray(fit.validation_scores, dtype=np.float64),
                             np.asarray(fit.golden_scores, dtype=np.float64)])
    built = reference_profile.build_profile(
        split.train, scores, scenario.schema, name=scenario.name, model=fit.model,
        features_from={"slice": "train", "rows": len(split.train)},
        scores_from={"slices": ["validation", "golden"], "rows": int(scores.size)},
    )
    path = folder / reference_profile.FILE
    path.write_bytes(reference_profile.dumps(built))
    return path


def _track(ws: Workspace, summary: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Log the run to MLflow when ``MLFLOW_TRACKING_URI`` is set; never fails the training.

    Headline metrics are the validation slice's; the golden slice's go under
    ``golden``. mlflow is imported only when the variable is set.
    """
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return {"mlflow": False, "reason": "MLFLOW_TRACKING_URI is not set"}
    model, version = summary["model"], summary["version"]
    try:
        from riskops.training.tracking import log_to_mlflow

        manifest_sha256 = hashlib.sha256(ws.manifest_path.read_bytes()).hexdigest()
        run = {
            "scenario": model, "seed": summary["seed"], "threads": summary["threads"],
            "data_sha256": summary["data"]["sha256"], "data_rows": summary["data"]["rows"],
            "training_run_id": summary["training_run_id"],
            "metrics": {**summary["metrics"]["validation"],
                        "golden": summary["metrics"]["golden"]},
            "params": summary["params"],
        }
        result = log_to_mlflow(run, folder, model=model, version=version,
                               manifest_sha256=manifest_sha256)
    except Exception as exc:  # the version is registered; tracking is best effort
        reason = f"{type(exc).__name__}: {exc}"
        logger.warning("%s v%s is registered, but logging it to MLflow failed: %s",
                       model, version, reason)
        return {"mlflow": False, "reason": reason}
    return {"mlflow": True, "run": result if isinstance(result, str | dict) else None}

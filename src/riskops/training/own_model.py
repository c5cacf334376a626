"""A model trained elsewhere, brought in with its scenario definition.

    riskops models register claims --from ./claims-model
    # ./claims-model/model.skops     a scikit-learn estimator with predict_proba (skops)
    # ./claims-model/scenario.toml   the scenario's definition (docs/ml.md, "Custom scenarios")

Before anything is stored, ``prepare_own_model`` copies the folder to a
private temporary one (what is checked is what gets registered: the source
may change under us), loads the estimator there through skops with the
workspace's trusted types, and checks it against the definition: two classes
that include the positive label, and ``predict_proba`` on rows made from the
definition (``scenarios.samples``) finite and within [0, 1]. The copy
then gets ``scenario.json`` (the definition with its labels, which is what a
server serves the model from) and, unless the folder brings its own, the
scored sample rows as ``holdout-rows.parquet`` / ``golden-predictions.parquet``
so that the promotion smoke gate can check the served scores against the
ones seen here. A folder without ``scenario.toml`` is registered as it is, an
artifact-only version that cannot be promoted to a served stage.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.errors import InputError, exception_line
from riskops.scenarios.custom import CustomScenario, load_custom_scenario
from riskops.scenarios.definition import DEFINITION_FILE, OWN_MODEL_CONFIG, definition_bytes
from riskops.scenarios.samples import sample_rows

#: Rows made from the definition and scored before registering.
CHECK_ROWS = 64


def has_definition(source: Path) -> bool:
    """True when ``source`` brings a ``scenario.toml`` (a regular file, not a link).

    Raises
    ------
    InputError
        When ``scenario.toml`` is there but is a folder or another kind of file.
    """
    path = source / OWN_MODEL_CONFIG
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(f"--from {source}: {OWN_MODEL_CONFIG} is not a regular file; put "
                         "the scenario's definition there as a plain TOML file.")
    return path.is_file()


def refuse_stray_definition(source: Path) -> None:
    """A folder without ``scenario.toml`` may not bring a ``scenario.json``: that file is
    only ever written by riskops from a checked definition."""
    if (source / DEFINITION_FILE).exists() or (source / DEFINITION_FILE).is_symlink():
        raise InputError(f"--from {source}: {DEFINITION_FILE} is written by riskops; bring "
                         f"the definition as {OWN_MODEL_CONFIG} instead (docs/ml.md).")


def prepare_own_model(source: Path, model: str, *, entrypoint: str | None,
                      trusted_types: tuple[str, ...], max_bytes: int,
                      into: Path) -> dict[str, Any]:
    """Copy ``source`` into the empty folder ``into``, check its model against its
    ``scenario.toml`` and add the files a served version needs (see the module docstring).

    Returns what was checked: ``{"entrypoint", "labels", "rows", "scores": {min, max}}``.

    Raises
    ------
    InputError
        One line naming ``--from`` and the fault: a bad folder or definition, a
        reference scenario's name, an untrusted or unreadable model, classes that
        do not match the labels, a model that cannot score the definition's rows or
        answers outside [0, 1].
    """
    from riskops.registry import store
    from riskops.scenarios import REFERENCE

    where = f"--from {source}"
    if model in REFERENCE:
        raise InputError(f"{where}: {model!r} is a reference scenario; a model brought with a "
                         f"{OWN_MODEL_CONFIG} needs a name of its own.")
    files = store.scan_source(source, max_bytes=max_bytes)
    for path in files:
        target = into / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target, follow_symlinks=False)
    names = [p.relative_to(source).as_posix() for p in files]
    if DEFINITION_FILE in names:
        raise InputError(f"{where}: {DEFINITION_FILE} is written by riskops from "
                         f"{OWN_MODEL_CONFIG}; remove it from the folder.")
    scenario = load_custom_scenario(into / OWN_MODEL_CONFIG, name=model,
                                    shown_as=source / OWN_MODEL_CONFIG)
    chosen = _entrypoint(names, entrypoint, source)
    estimator = _load((into / chosen).read_bytes(), trusted_types, where=f"{where}: {chosen}")
    scenario = _with_model_labels(scenario, estimator, where=f"{where}: {chosen}")
    rows = sample_rows(scenario.schema, CHECK_ROWS)
    scores = _scores(scenario, estimator, rows, where=f"{where}: {chosen}")
    (into / DEFINITION_FILE).write_bytes(definition_bytes(scenario))
    _write_gating_rows(into, rows, scores, names)
    return {"entrypoint": chosen, "labels": list(scenario.schema.labels), "rows": len(rows),
            "scores": {"min": float(scores.min()), "max": float(scores.max())}}


def _entrypoint(names: list[str], requested: str | None, source: Path) -> str:
    from riskops.registry.service import choose_entrypoint

    chosen = choose_entrypoint(names, requested, source)
    if chosen is None:
        raise InputError(f"--from {source}: no .skops model beside {OWN_MODEL_CONFIG}; save "
                         "the estimator with skops.io.dump(model, 'model.skops').")
    return chosen


def _load(data: bytes, trusted_types: tuple[str, ...], *, where: str) -> Any:
    from riskops.registry.loader import load_unregistered

    estimator = load_unregistered(data, trusted_types=trusted_types, subject=where)
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise InputError(f"{where}: {type(estimator).__name__} is not a fitted classifier "
                         "with predict_proba and classes_.")
    return estimator


def _with_model_labels(scenario: CustomScenario, estimator: Any, *,
                       where: str) -> CustomScenario:
    """``scenario`` with labels (negative, positive) taken from the model's two classes."""
    classes = [str(c) for c in estimator.classes_]
    cfg = scenario.config
    if len(classes) != 2 or cfg.positive_label not in classes:
        raise InputError(
            f"{where}: the model's classes are {classes}; {OWN_MODEL_CONFIG} says the risky "
            f"label is {cfg.positive_label!r} (columns.positive_label), so the model must "
            "have two classes, that one among them.")
    negative = next(c for c in classes if c != cfg.positive_label)
    if cfg.negative_label is not None and cfg.negative_label != negative:
        raise InputError(f"{where}: columns.negative_label is {cfg.negative_label!r} but the "
                         f"model's other class is {negative!r}.")
    scenario.schema = replace(scenario.schema, labels=(negative, cfg.positive_label))
    return scenario


def _scores(scenario: CustomScenario, estimator: Any, rows: pd.DataFrame, *,
            where: str) -> np.ndarray:
    try:
        scores = np.asarray(scenario.risk_scores(estimator, rows), dtype=float)
    except Exception as exc:  # the user's model: any failure is theirs to see
        raise InputError(
            f"{where}: cannot score rows made from {OWN_MODEL_CONFIG} ({exception_line(exc)}); "
            "check that its features match the ones the model was "
            "fitted on, and declare [categories] for categorical features.") from None
    if scores.shape != (len(rows),) or not all(math.isfinite(s) and 0.0 <= s <= 1.0
                                               for s in scores.tolist()):
        raise InputError(f"{where}: predict_proba must give one probability in [0, 1] per "
                         "row; it gave values outside that range or NaN.")
    return scores


def _write_gating_rows(into: Path, rows: pd.DataFrame, scores: np.ndarray,
                       names: list[str]) -> None:
    """The checked rows and their scores, for the smoke gate (unless the folder has its own)."""
    from riskops.training.reports import GOLDEN_FILE, HOLDOUT_FILE

    if GOLDEN_FILE in names or HOLDOUT_FILE in names:
        return
    frame = rows.copy()
    frame.insert(0, "id", [f"check-{i:04d}" for i in range(len(rows))])
    frame["_slice"] = "golden"
    frame["_score"] = scores
    frame.to_parquet(into / HOLDOUT_FILE, index=False)
    pd.DataFrame({"id": frame["id"], "score": scores}).to_parquet(into / GOLDEN_FILE,
                                                                  index=False)


def prepared_copy() -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder for ``prepare_own_model(into=...)``."""
    return tempfile.TemporaryDirectory(prefix="riskops-own-model-")

"""The plain baseline of every evaluation: a logistic regression on the same features and split.

    block = baseline_block(scenario, split, seed=0, model_metrics=evaluation.metrics)
    block["metrics"]["validation"]["roc_auc"], block["worse_than_baseline"]

The baseline (``riskops.scenarios.linear.logistic_baseline``: TF-IDF text,
one-hot categoricals, imputed and standardised numbers, ``C=1``, uncalibrated)
is fitted on the train slice against the binary target and scored on
validation and golden. Only its metrics are kept; it is never stored as a model.
A model whose validation ROC AUC is more than ``TOLERANCE`` below the baseline's
is flagged ``worse_than_baseline``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from riskops.scenarios.base import Scenario
from riskops.scenarios.linear import logistic_baseline
from riskops.training.metrics import classification_metrics
from riskops.training.split import Split

#: ROC AUC the model may trail the baseline by on validation before training warns.
TOLERANCE = 0.005
BASELINE_METRICS = ("roc_auc", "pr_auc", "brier")
DESCRIPTION = ("logistic regression (C=1, uncalibrated) on word 1-2-gram TF-IDF text, one-hot "
               "categoricals and median-imputed, standardised numbers")


def baseline_scores(scenario: Scenario, split: Split, *, seed: int) -> dict[str, np.ndarray]:
    """The baseline's probability of the positive (risky) class on validation and golden.

    Raises
    ------
    ValueError
        When scikit-learn cannot fit it on the train slice (e.g. no term left in a
        text column).
    """
    label = scenario.schema.label
    model = logistic_baseline(scenario.schema, seed=seed)
    model.fit(scenario.model_input(split.train), scenario.binary_target(split.train[label]))
    positive = list(model.classes_).index(1)
    return {name: model.predict_proba(scenario.model_input(frame))[:, positive]
            for name, frame in (("validation", split.validation), ("golden", split.golden))}


def baseline_block(
    scenario: Scenario, split: Split, *, seed: int, model_metrics: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The evaluation report's ``baseline``: what it is, its ROC AUC, PR AUC and Brier per
    held-out slice, the model's lead over it, and ``worse_than_baseline``.

    A baseline that cannot be fitted gives ``status: unavailable`` and the reason;
    training goes on.
    """
    started = time.perf_counter()
    block: dict[str, Any] = {"estimator": DESCRIPTION, "tolerance": TOLERANCE}
    try:
        scores = baseline_scores(scenario, split, seed=seed)
    except ValueError as exc:
        return {**block, "status": "unavailable", "reason": str(exc),
                "worse_than_baseline": False}
    label = scenario.schema.label
    frames = {"validation": split.validation, "golden": split.golden}
    metrics = {}
    for name, frame in frames.items():
        full = classification_metrics(scenario.binary_target(frame[label]), scores[name], 0.5)
        metrics[name] = {m: full[m] for m in BASELINE_METRICS}
        undefined = {m: why for m, why in full["undefined"].items() if m in BASELINE_METRICS}
        if undefined:
            metrics[name]["undefined"] = undefined
    lead = {name: _difference(model_metrics[name]["roc_auc"], metrics[name]["roc_auc"])
            for name in frames}
    worse = lead["validation"] is not None and lead["validation"] < -TOLERANCE
    return {**block, "status": "fitted", "metrics": metrics, "model_minus_baseline_roc_auc": lead,
            "worse_than_baseline": worse, "seconds": time.perf_counter() - started}


def baseline_warning(block: dict[str, Any], model_roc_auc: float | None) -> str | None:
    """One line when the model trails the baseline on validation ROC AUC, else ``None``."""
    if not block.get("worse_than_baseline"):
        return None
    base = block["metrics"]["validation"]["roc_auc"]
    return (f"warning: the model's validation ROC AUC {model_roc_auc:.4f} is "
            f"{base - model_roc_auc:.4f} below the plain logistic-regression baseline's "
            f"{base:.4f} (tolerance {TOLERANCE}); consider a simpler model ([model] estimator "
            "of a custom scenario).")


def _difference(model: float | None, baseline: float | None) -> float | None:
    return None if model is None or baseline is None else model - baseline

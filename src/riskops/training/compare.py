"""Comparing a candidate with the version in production, on the same rows.

The production model is loaded only through the verified loader (signed
manifest, every artifact's digest). Both models score the validation slice
(metric deltas, candidate minus production) and the golden slice (how far
scores move and how many decisions flip). No production version is not an
error: the comparison says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskops.config import Workspace
from riskops.errors import RiskopsError
from riskops.scenarios.base import Scenario
from riskops.training.metrics import check_scores, classification_metrics, metric_deltas


def score_delta_regression(
    candidate: Any, production: Any, *, candidate_labels: Any, production_labels: Any,
) -> dict[str, Any]:
    """How the candidate's scores and labels differ from production's on the same rows.

    ``*_labels`` are the labels each model gives each row at its own
    threshold (``Scenario.label_for``); a row flips when they differ.

    Returns
    -------
    dict
        ``rows``, ``mean_abs_score_delta``, ``max_abs_score_delta``,
        ``labels_flipped`` (count), ``share_labels_flipped`` and ``flips``:
        "production label -> candidate label" -> count.

    Examples
    --------
    >>> r = score_delta_regression([0.2, 0.9], [0.1, 0.4], candidate_labels=["0", "1"],
    ...                            production_labels=["0", "0"])
    >>> round(r["max_abs_score_delta"], 3), r["share_labels_flipped"], r["flips"]
    (0.5, 0.5, {'0 -> 1': 1})
    """
    c = check_scores(candidate, name="candidate scores")
    p = check_scores(production, name="production scores")
    c_labels = np.asarray(candidate_labels, dtype=object).astype(str)
    p_labels = np.asarray(production_labels, dtype=object).astype(str)
    if not len(c) == len(p) == len(c_labels) == len(p_labels):
        raise ValueError(
            f"candidate and production scores and labels must have one length, got "
            f"{len(c)}, {len(p)}, {len(c_labels)} and {len(p_labels)}."
        )
    delta = np.abs(c - p)
    flipped = c_labels != p_labels
    flips: dict[str, int] = {}
    for before, after in zip(p_labels[flipped], c_labels[flipped], strict=True):
        key = f"{before} -> {after}"
        flips[key] = flips.get(key, 0) + 1
    return {
        "rows": len(c),
        "mean_abs_score_delta": float(delta.mean()),
        "max_abs_score_delta": float(delta.max()),
        "labels_flipped": int(flipped.sum()),
        "share_labels_flipped": float(flipped.mean()),
        "flips": dict(sorted(flips.items())),
    }


def compare_with_production(
    ws: Workspace, scenario: Scenario, *, validation: pd.DataFrame, golden: pd.DataFrame,
    candidate_validation: dict[str, Any], candidate_golden_scores: np.ndarray,
    candidate_threshold: float,
) -> dict[str, Any]:
    """Score ``validation`` and ``golden`` with the production version of the scenario's model.

    ``candidate_validation`` are the candidate's ``classification_metrics`` on
    ``validation``. Returns ``status`` "compared", "no production version" or
    "unavailable" (the production version could not be loaded or could not
    score these rows; ``reason`` says why).
    """
    from riskops.registry.loader import load_model
    from riskops.registry.trust import read_workspace_manifest

    verified = read_workspace_manifest(ws)
    entry = verified.manifest.models.get(scenario.name)
    production = entry.stages.production if entry is not None else None
    base = {"model": scenario.name, "manifest_version": verified.manifest.manifest_version,
            "production_version": production}
    if production is None:
        return {**base, "status": "no production version",
                "reason": f"{scenario.name} has no version in production; nothing to compare."}
    version_entry = verified.manifest.version(scenario.name, production)
    threshold = version_entry.metrics.get("threshold")
    threshold_source = "registered metrics"
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        threshold, threshold_source = scenario.default_threshold, "scenario default"
    base["production_threshold"] = float(threshold)
    base["production_threshold_source"] = threshold_source
    try:
        loaded = load_model(verified, scenario.name, production,
                            trusted_types=ws.settings.trusted_types)
    except RiskopsError as exc:
        return {**base, "status": "unavailable", "reason": f"cannot load v{production}: {exc}"}
    try:
        production_validation = scenario.risk_scores(loaded.estimator, validation)
        production_golden = scenario.risk_scores(loaded.estimator, golden)
        y_validation = scenario.binary_target(validation[scenario.schema.label])
        production_metrics = classification_metrics(y_validation, production_validation,
                                                    float(threshold))
        y_golden = scenario.binary_target(golden[scenario.schema.label])
        candidate_golden = classification_metrics(y_golden, candidate_golden_scores,
                                                  candidate_threshold)
        production_golden_metrics = classification_metrics(y_golden, production_golden,
                                                           float(threshold))
        regression = score_delta_regression(
            candidate_golden_scores, production_golden,
            candidate_labels=_labels(scenario, candidate_golden_scores, candidate_threshold),
            production_labels=_labels(scenario, production_golden, float(threshold)),
        )
    except Exception as exc:  # a foreign model may fail on these rows in any way
        return {**base, "status": "unavailable",
                "reason": f"v{production} could not score the validation rows "
                          f"({type(exc).__name__}: {exc})"}
    return {
        **base, "status": "compared", "production_sha256": loaded.sha256,
        "validation": {
            "candidate": _headline(candidate_validation),
            "production": _headline(production_metrics),
            "delta": metric_deltas(candidate_validation, production_metrics),
        },
        # The candidate's threshold was tuned on validation, which tilts the
        # validation deltas of threshold metrics (F1, precision, recall) its way;
        # on the golden slice neither model has seen, the comparison is fair.
        "golden_metrics": {
            "candidate": _headline(candidate_golden),
            "production": _headline(production_golden_metrics),
            "delta": metric_deltas(candidate_golden, production_golden_metrics),
        },
        "golden": regression,
    }


def _labels(scenario: Scenario, scores: np.ndarray, threshold: float) -> list[str]:
    return [scenario.label_for(float(s), threshold) for s in scores]


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "undefined"}

"""Scoring rows with a served model, or with the scenario's heuristic.

The heuristic runs for every row: it is the answer when no model is routed,
the floor when the model fails, and its fired rules are the ``reasons`` given
with an ML score too, followed by ``outside training range: <feature>`` for each
input the served version's training data did not cover (``ranges``). A model
exception, or a score outside [0, 1], answers the whole request from the heuristic
and says why in ``reasons``.

A version with a checked fast path (``ServedVersion.fast``, ``serving.fast_path``)
is scored by it; a row it does not know how to read, or any fault in it, goes to
the version's estimator instead, which stays the authority on every input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskops.errors import FastPathUnsupported
from riskops.scenarios.base import Scenario
from riskops.serving.ranges import reasons
from riskops.serving.routing import Route

if TYPE_CHECKING:
    from riskops.serving.pool import ServedVersion

log = logging.getLogger("riskops.serving")


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    label: str
    method: str  # ml | heuristic
    reasons: tuple[str, ...]
    model_error: str | None = None
    #: Features outside the training range of the version that scored the row.
    out_of_range: tuple[str, ...] = ()


def score_rows(scenario: Scenario, route: Route, rows: Sequence[dict[str, Any]]) -> list[Scored]:
    """Score ``rows`` (validated feature dicts) on ``route``; never raises for a model fault."""
    heuristics = [scenario.heuristic(row) for row in rows]
    served = route.served
    if served is not None:
        try:
            scores, frame = _model_scores(scenario, served, rows)
        except Exception as exc:
            error = f"{type(exc).__name__}"
            log.warning("%s v%s failed to score (%s); answered by the heuristic",
                        served.model, served.version, error)
        else:
            labels = _labels(scenario, served.loaded.estimator, rows, frame, scores,
                             served.threshold)
            ranges = served.ranges
            outside = [ranges.outside(row) for row in rows] if ranges else [()] * len(rows)
            return [
                Scored(float(s), lab, "ml", (*h.reasons, *reasons(o)), out_of_range=o)
                for s, lab, h, o in zip(scores, labels, heuristics, outside, strict=True)
            ]
        return [
            Scored(h.score, h.label, "heuristic",
                   (*h.reasons, f"model {served.model} v{served.version} failed ({error}); "
                    "heuristic answered"), model_error=error)
            for h in heuristics
        ]
    return [Scored(h.score, h.label, "heuristic", h.reasons) for h in heuristics]


def _model_scores(scenario: Scenario, served: ServedVersion,
                  rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, pd.DataFrame | None]:
    """The scores of ``rows`` and the frame the estimator read (None: the fast path
    scored them)."""
    scores, frame = None, None
    if served.fast is not None:
        try:
            scores = served.fast.scores(rows)
        except FastPathUnsupported:
            pass  # a value the fast path does not read: the estimator says what it means
        except Exception as exc:
            log.warning("%s v%s: fast path failed (%s); the estimator scores these rows",
                        served.model, served.version, type(exc).__name__)
    if scores is None:
        frame = _frame(scenario, rows)
        scores = np.asarray(scenario.risk_scores(served.loaded.estimator, frame), dtype=float)
    # NaN fails both comparisons, so it is refused too.
    if scores.shape != (len(rows),) or not np.all((scores >= 0.0) & (scores <= 1.0)):
        raise ValueError("model returned scores outside [0, 1]")
    return scores, frame


def _frame(scenario: Scenario, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=scenario.schema.feature_names)


def _labels(scenario: Scenario, estimator: Any, rows: Sequence[dict[str, Any]],
            frame: pd.DataFrame | None, scores: np.ndarray, threshold: float) -> list[str]:
    if len(scenario.schema.labels) <= 2:
        return [scenario.label_for(float(s), threshold) for s in scores]
    # Multi-class (incident: low/medium/high): the most likely class, except that a
    # score at or over the threshold is always the riskiest label.
    if frame is None:
        frame = _frame(scenario, rows)
    proba = estimator.predict_proba(scenario.model_input(frame))
    classes = [str(c) for c in estimator.classes_]
    top = [classes[i] for i in np.argmax(proba, axis=1)]
    riskiest = scenario.schema.labels[-1]
    return [riskiest if s >= threshold else t for s, t in zip(scores, top, strict=True)]

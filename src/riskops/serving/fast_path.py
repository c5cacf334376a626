"""The fast path: a served version's own fitted parameters scored without pandas and with
all trees walked at once, checked against the signed estimator before it is used.

    fast = compile_fast_path(scenario, estimator)       # FastPathUnsupported if unknown
    fast.scores(rows)                                   # == scenario.risk_scores(...)
    check = compare_with_estimator(scenario, estimator, fast, golden_rows(scenario, fast, s))
    check.identical                                     # the verdict: served only if True

It knows one model shape, the one ``scenarios.tabular.calibrated_gradient_boosting``
builds for the tabular scenarios (fraud, shortfall, compliance, deal, and custom
scenarios with ``gradient_boosting`` and no text feature): a ``Pipeline`` of a
``ColumnTransformer`` (numeric passthrough, one-hot categoricals;
``serving.row_encoding``) and a binary ``CalibratedClassifierCV`` over
``HistGradientBoostingClassifier`` boosters (``serving.compiled_trees``), with
isotonic or sigmoid calibration, scored by the base ``Scenario.risk_scores``.
Anything else (incident's TF-IDF model, a text feature, a user's own estimator, a
scenario that overrides ``model_input`` or ``risk_scores``) has no fast path and
is scored by its estimator as before.

The calibrators are the estimator's own objects, called as
``CalibratedClassifierCV.predict_proba`` calls them, and the averaging is its
code in its order, so the scores are equal to the estimator's to the last bit;
``compare_with_estimator`` counts any difference at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskops.errors import FastPathUnsupported
from riskops.scenarios.base import Scenario
from riskops.serving.compiled_trees import CompiledTrees, compile_trees
from riskops.serving.row_encoding import RowEncoding, compile_encoding

#: Thresholds per numeric feature probed by ``golden_rows`` (each also 1 ulp below/above).
PROBED_THRESHOLDS = 12
#: Magnitudes probed for every numeric feature (the request schema's bound is 1e15).
EXTREMES = (-1e15, -1.0, 0.0, 1e15, 1e300, -1e300)


@dataclass(frozen=True, eq=False)
class FastPath:
    """A compiled binary ``calibrated_gradient_boosting`` model."""

    encoding: RowEncoding
    trees: CompiledTrees
    #: Per booster, its fitted calibrator's ``predict`` (``calibration``).
    calibrators: tuple[Callable[[np.ndarray], np.ndarray], ...]
    #: The column of ``predict_proba`` holding the scenario's positive label.
    positive_column: int

    def predict_proba(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The pipeline's ``predict_proba`` of feature dicts ``rows``, shape (n, 2)."""
        raw = self.trees.decision_functions(self.encoding.encode(rows))
        if not np.all(np.isfinite(raw)):  # the calibrators' input check refuses these
            raise FastPathUnsupported("a decision function is not finite")
        n = len(rows)
        # CalibratedClassifierCV.predict_proba and _CalibratedClassifier.predict_proba
        # (scikit-learn 1.9, binary, sigmoid or isotonic), step by step.
        mean = np.zeros((n, 2))
        for b, calibrator in enumerate(self.calibrators):
            proba = np.zeros((n, 2))
            proba[:, 1] = calibrator(np.ascontiguousarray(raw[:, b]))
            proba[:, 0] = 1.0 - proba[:, 1]
            proba[np.isnan(proba)] = 1.0 / 2
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            mean += proba
        mean /= len(self.calibrators)
        return mean

    def scores(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``Scenario.risk_scores`` of ``rows``: the probability of the positive label."""
        return self.predict_proba(rows)[:, self.positive_column]


def compile_fast_path(scenario: Scenario, estimator: Any) -> FastPath:
    """The ``FastPath`` of ``estimator``, a fitted model of ``scenario``.

    Raises
    ------
    FastPathUnsupported
        Naming the first part of the scenario or the estimator it does not know.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

    kind = type(scenario)
    if kind.model_input is not Scenario.model_input or kind.risk_scores is not Scenario.risk_scores:
        raise FastPathUnsupported(f"scenario {scenario.name!r} scores its own way")
    labels = scenario.schema.labels
    if len(labels) != 2:
        raise FastPathUnsupported(f"scenario {scenario.name!r} has {len(labels)} labels")
    if type(estimator) is not Pipeline or len(estimator.steps) != 2:
        raise FastPathUnsupported(f"the model is a {type(estimator).__name__}, not a "
                                  "two-step Pipeline")
    (_, transformer), (_, calibrated) = estimator.steps
    if type(calibrated) is not CalibratedClassifierCV:
        raise FastPathUnsupported(f"the last step is a {type(calibrated).__name__}, not a "
                                  "CalibratedClassifierCV")
    classes = [str(c) for c in calibrated.classes_]
    if len(classes) != 2 or labels[-1] not in classes:
        raise FastPathUnsupported(f"the model's classes {classes} are not binary with "
                                  f"{labels[-1]!r}")
    members = list(calibrated.calibrated_classifiers_)
    calibrators: list[Any] = []
    for member in members:
        if member.method not in ("isotonic", "sigmoid") or len(member.calibrators) != 1:
            raise FastPathUnsupported(f"calibration {member.method!r} with "
                                      f"{len(member.calibrators)} calibrators")
        if [str(c) for c in member.classes] != classes \
                or [str(c) for c in member.estimator.classes_] != classes:
            raise FastPathUnsupported("a calibrated booster's classes differ from the model's")
        calibrators.append(calibration(member.calibrators[0]))
    encoding = compile_encoding(transformer, numeric=scenario.schema.columns("numeric"),
                                categorical=scenario.schema.columns("categorical"))
    used = {name for name, _ in encoding.categories} | set(encoding.numbers)
    if not used <= set(scenario.schema.feature_names):
        raise FastPathUnsupported("the transformer reads columns that are not features")
    trees = compile_trees([member.estimator for member in members])
    if trees.n_features != encoding.width:
        raise FastPathUnsupported(f"the boosters read {trees.n_features} columns, the "
                                  f"transformer makes {encoding.width}")
    return FastPath(encoding, trees, tuple(calibrators), classes.index(labels[-1]))


def calibration(calibrator: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``calibrator.predict`` for finite float64 decision functions, without its input checks
    (which cost more than the interpolation on a few rows).

    ``IsotonicRegression(out_of_bounds="clip")``: clip to the fitted range, then its own
    interpolation function ``f_`` (``IsotonicRegression._transform``).
    ``_SigmoidCalibration``: ``expit(-(a * T + b))`` (its ``predict``).

    Raises
    ------
    FastPathUnsupported
        For any other calibrator.
    """
    from scipy.special import expit
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    if type(calibrator) is IsotonicRegression and calibrator.out_of_bounds == "clip" \
            and calibrator.X_thresholds_.dtype == np.float64:
        low, high, interpolate = calibrator.X_min_, calibrator.X_max_, calibrator.f_
        return lambda raw: np.asarray(interpolate(np.clip(raw, low, high)), dtype=np.float64)
    if type(calibrator) is _SigmoidCalibration:
        a, b = calibrator.a_, calibrator.b_
        return lambda raw: expit(-(a * raw + b))
    raise FastPathUnsupported(f"a {type(calibrator).__name__} calibrator")


def estimator_scores(scenario: Scenario, estimator: Any,
                     rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``scenario.risk_scores`` of ``rows`` through the estimator, from the frame serving
    builds (``serving.scoring``)."""
    frame = pd.DataFrame.from_records(list(rows), columns=scenario.schema.feature_names)
    return np.asarray(scenario.risk_scores(estimator, frame), dtype=float)


def golden_rows(scenario: Scenario, fast: FastPath, sample: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows to check a fast path on: ``sample`` (the scenario's sample rows) and, from its
    first row, each numeric feature missing, at ``EXTREMES`` and at up to
    ``PROBED_THRESHOLDS`` of the trees' split thresholds on it (and 1 ulp either side),
    each categorical feature at every known category, missing and unseen."""
    names = scenario.schema.feature_names
    base = [_plain(row) for row in sample[names].to_dict(orient="records")]
    if not base:
        return []
    first = base[0]
    rows = list(base)
    trees = fast.trees
    for name, column in zip(fast.encoding.numbers, fast.encoding.number_columns, strict=True):
        used = np.unique(trees.threshold[trees.internal & (trees.feature == column)])
        picked = used[np.linspace(0, len(used) - 1, min(len(used), PROBED_THRESHOLDS),
                                  dtype=int)] if len(used) else used
        values: list[Any] = [None, float("nan"), *EXTREMES]
        for t in picked.tolist():
            values += [t, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))]
        rows += [{**first, name: v} for v in values]
    for name, columns in fast.encoding.categories:
        for value in [*columns, None, float("nan"), "\x00unseen category"]:
            rows.append({**first, name: value})
    return rows


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


@dataclass(frozen=True)
class FastPathCheck:
    """How a fast path's scores compare with the estimator's on the same rows."""

    rows: int
    #: Rows whose two scores are not the same float64 (NaN on both sides counts as equal).
    differing: int
    max_abs_difference: float

    @property
    def identical(self) -> bool:
        """The verdict: the fast path may serve only when every score is identical."""
        return self.rows > 0 and self.differing == 0


def compare_with_estimator(scenario: Scenario, estimator: Any, fast: FastPath,
                           rows: Sequence[Mapping[str, Any]]) -> FastPathCheck:
    """Score ``rows`` both ways and count the differences (raises what either path raises)."""
    expected = estimator_scores(scenario, estimator, rows)
    got = fast.scores(rows)
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    gap = np.abs(expected - got)
    worst = float(np.nanmax(gap)) if gap.size and not np.all(np.isnan(gap)) else 0.0
    return FastPathCheck(len(rows), int(np.count_nonzero(~same)), worst)

"""Every check of one monitoring run, over two inference-log frames; no I/O.

For each (tenant, scenario, model) seen in either window:

- ``prediction_drift`` on the risk score, overall and per value of each
  segment column the scenario declares and the logged inputs carry (a
  segment value needs ``segment_min_samples`` rows in each window);
- ``data_drift`` per feature of the scenario schema (numeric, categorical,
  or text by length), or of the logged inputs when the scenario is unknown;
  for a text feature also ``<name>:oov_rate`` and ``<name>:top_terms`` when
  the serving version's reference profile holds the model's vocabulary;
- ``training_skew`` per feature and for the score: the current window
  against the reference profile of each version that served it
  (``skew.py``), whatever the reference window holds;
- ``performance``: with at least ``min_samples`` outcome labels in the
  current window, measured; otherwise estimated from the scores (CBPE),
  calibrated on reference outcomes when there are enough; plus proxies
  (override rate, predicted-label mix) either way.

A model is its registered name for ML predictions and for imported ones
attributed to a model (``riskops monitor import --model``), ``<scenario>-imported``
for imported scores of no registered model, and ``<scenario>-heuristic`` for
the rule-based fallback, whose scores are not comparable with a model's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from riskops.monitoring import drift, performance, skew, text_drift
from riskops.monitoring.verdicts import is_degraded
from riskops.monitoring.windows import MonitoringConfig
from riskops.scenarios.base import Feature, Scenario

#: Categories beyond this many distinct values in an inferred column: treated as text.
MAX_INFERRED_CATEGORIES = 50


def model_id(scenario: str, method: str, model_name: str | None) -> str:
    """The name a prediction's model is monitored under."""
    if method in ("ml", "imported") and model_name:
        return model_name
    return f"{scenario}-imported" if method == "imported" else f"{scenario}-heuristic"


def monitor_frames(reference: pd.DataFrame, current: pd.DataFrame,
                   config: MonitoringConfig,
                   profiles: skew.Profiles | None = None) -> list[dict[str, Any]]:
    """All checks of the run, one JSON-ready dict each, skipped ones with their reason.

    ``profiles`` maps (model, version) to its reference profile or why there
    is none (``signed_profiles.load_profiles``); without it no training_skew.
    """
    profiles = profiles or {}
    reference, current = _with_model(reference), _with_model(current)
    keys = sorted(set(_keys(reference)) | set(_keys(current)))
    results: list[dict[str, Any]] = []
    for tenant, scenario_name, model in keys:
        ref = _select(reference, tenant, scenario_name, model)
        cur = _select(current, tenant, scenario_name, model)
        base = {"tenantId": tenant, "scenario": scenario_name, "modelId": model}
        scenario = _scenario(scenario_name)
        results.extend(_drift_checks(ref, cur, base, scenario, config,
                                     skew.serving_profile(cur, profiles)))
        results.extend(skew.skew_checks(cur, base, profiles, config, values=_feature_values))
        results.append(_guard(lambda r=ref, c=cur, s=scenario: _performance(r, c, s, config),
                              {"check": "performance", **base}))
    return results


def _with_model(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["model_id"] = [model_id(s, m, n) for s, m, n in
                         zip(frame["scenario"], frame["method"], frame["model_name"], strict=True)]
    return frame


def _keys(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return list(frame[["tenant_id", "scenario", "model_id"]].itertuples(index=False, name=None))


def _select(frame: pd.DataFrame, tenant: str, scenario: str, model: str) -> pd.DataFrame:
    mask = ((frame["tenant_id"] == tenant) & (frame["scenario"] == scenario)
            & (frame["model_id"] == model))
    return frame[mask]


def _scenario(name: str) -> Scenario | None:
    from riskops.scenarios import REFERENCE, get_scenario

    return get_scenario(name) if name in REFERENCE else None


def _guard(check: Callable[[], dict[str, Any]], base: dict[str, Any]) -> dict[str, Any]:
    """Run one check; data a statistic rejects skips that check, not the run."""
    try:
        return {**base, **check()}
    except ValueError as exc:
        return {**base, "status": "skipped", "reason": f"invalid data: {exc}"}


# --- drift ---------------------------------------------------------------------------


def _drift_checks(ref: pd.DataFrame, cur: pd.DataFrame, base: dict[str, Any],
                  scenario: Scenario | None, config: MonitoringConfig,
                  profile: skew.Profile | None = None) -> list[dict[str, Any]]:
    floor = config.min_samples
    for window, frame in (("reference", ref), ("current", cur)):
        if len(frame) < floor:
            return [{"check": "drift", **base, "status": "skipped",
                     "reference_rows": len(ref), "current_rows": len(cur),
                     "reason": f"{window} window has {len(frame)} predictions, fewer than "
                               f"the {floor} a drift check needs"}]
    options = {"min_samples": floor, "psi_threshold": config.psi_threshold}
    numeric = {**options, "bins": config.bins}
    results = [_guard(lambda: drift.check_numeric(ref["score"], cur["score"], **numeric),
                      {"check": "prediction_drift", **base, "feature": "score"})]
    ref_inputs, cur_inputs = list(ref["inputs"]), list(cur["inputs"])
    segments = scenario.schema.segments if scenario is not None else ()
    for column in segments:
        ref_values = [_get(d, column) for d in ref_inputs]
        cur_values = [_get(d, column) for d in cur_inputs]
        if all(v is None for v in ref_values + cur_values):
            continue  # the logged inputs do not carry this segment
        for value in sorted({str(v) for v in ref_values + cur_values if v is not None}):
            ref_mask = np.array([v is not None and str(v) == value for v in ref_values])
            cur_mask = np.array([v is not None and str(v) == value for v in cur_values])
            ref_scores = ref["score"].to_numpy()[ref_mask]
            cur_scores = cur["score"].to_numpy()[cur_mask]
            opts = {**numeric, "min_samples": max(floor, config.segment_min_samples)}
            results.append(_guard(
                lambda r=ref_scores, c=cur_scores, o=opts: drift.check_numeric(r, c, **o),
                {"check": "prediction_drift", **base, "feature": "score",
                 "segment": f"{column}={value}"}))
    for feature in _features(scenario, ref_inputs):
        ref_values = [_get(d, feature.name) for d in ref_inputs]
        cur_values = [_get(d, feature.name) for d in cur_inputs]
        entry = {"check": "data_drift", **base, "feature": feature.name}
        if feature.kind == "numeric":
            results.append(_guard(lambda r=ref_values, c=cur_values: drift.check_numeric(
                _numbers(r), _numbers(c), **numeric), entry))
        elif feature.kind == "categorical":
            results.append(_guard(lambda r=ref_values, c=cur_values: drift.check_categorical(
                r, c, **options), entry))
        else:
            results.append(_guard(lambda r=ref_values, c=cur_values: drift.check_text(
                r, c, **numeric), entry))
            results.extend(_text_terms(ref_values, cur_values, feature.name, profile, numeric,
                                       {"check": "data_drift", **base}))
    return results


def _text_terms(ref_values: list[Any], cur_values: list[Any], name: str,
                profile: skew.Profile | None, options: dict[str, Any],
                head: dict[str, Any]) -> list[dict[str, Any]]:
    """OOV rate and top-term drift of a text feature, when the profile has its vocabulary."""
    entry = profile.features.get(name) if profile is not None else None
    terms = getattr(entry, "terms", None)
    if terms is None:
        return []
    try:
        pairs = text_drift.window_text_checks(ref_values, cur_values, terms, name=name,
                                              **options)
    except ValueError as exc:
        return [{**head, "feature": f"{name}:oov_rate", "status": "skipped",
                 "reason": f"invalid data: {exc}"}]
    return [{**head, "feature": feature, **result} for feature, result in pairs]


def _feature_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """One feature's logged values, ``None`` where a request did not carry it."""
    return [_get(d, name) for d in frame["inputs"]]


def _get(inputs: Any, name: str) -> Any:
    return inputs.get(name) if isinstance(inputs, dict) else None


def _numbers(values: list[Any]) -> list[float]:
    """Numbers as floats; missing, text and other values as NaN (counted as missing)."""
    return [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan
            for v in values]


def _features(scenario: Scenario | None, inputs: list[Any]) -> list[Feature]:
    """The scenario's features, or ones inferred from the logged inputs."""
    if scenario is not None:
        return list(scenario.schema.features)
    names = sorted({k for d in inputs if isinstance(d, dict) for k in d})
    features = []
    for name in names:
        values = [v for v in (_get(d, name) for d in inputs) if v is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool)
                          for v in values):
            kind = "numeric"
        elif len({str(v) for v in values}) > MAX_INFERRED_CATEGORIES:
            kind = "text"
        else:
            kind = "categorical"
        features.append(Feature(name, kind, "inferred from the logged inputs"))  # type: ignore[arg-type]
    return features


# --- performance ---------------------------------------------------------------------


def _threshold(frame: pd.DataFrame, scenario: Scenario | None) -> float:
    values = frame["threshold"].dropna()
    if len(values):
        return float(values.mode().iloc[0])
    return scenario.default_threshold if scenario is not None else 0.5


def _binary(outcomes: pd.Series, scenario: Scenario | None) -> np.ndarray:
    positive = scenario.schema.labels[-1] if scenario is not None else "1"
    return np.asarray(outcomes.astype(str) == positive, dtype=int)


def _performance(ref: pd.DataFrame, cur: pd.DataFrame, scenario: Scenario | None,
                 config: MonitoringConfig) -> dict[str, Any]:
    floor = config.min_samples
    if len(cur) < floor:
        return {"status": "skipped", "current_rows": len(cur),
                "reason": f"current window has {len(cur)} predictions, fewer than the "
                          f"{floor} a performance check needs"}
    threshold = _threshold(cur, scenario)
    labelled = cur[cur["outcome"].notna()]
    result: dict[str, Any] = {
        "status": "checked", "current_rows": len(cur), "labelled_rows": len(labelled),
        "threshold": threshold,
        "proxies": {
            "override_rate": performance.override_rate(cur["override"]),
            "reference_override_rate": (performance.override_rate(ref["override"])
                                        if len(ref) else None),
            "label_mix": performance.label_mix(cur["label"]),
            "reference_label_mix": performance.label_mix(ref["label"]) if len(ref) else None,
        },
    }
    if len(labelled) >= floor:
        metrics = performance.labelled_performance(
            _binary(labelled["outcome"], scenario), labelled["score"], threshold=threshold)
        result.update({"mode": "labelled", "metrics": metrics})
        trusted = True
    else:
        scores = cur["score"].to_numpy(dtype=float)
        probabilities = None
        ref_labelled = ref[ref["outcome"].notna()]
        ref_y = _binary(ref_labelled["outcome"], scenario)
        if len(ref_labelled) >= floor and 0 < ref_y.sum() < len(ref_y):
            probabilities = performance.calibrate(ref_labelled["score"], ref_y, scores)
            calibration = f"isotonic, fitted on {len(ref_labelled)} reference outcomes"
        else:
            calibration = "none: scores taken as calibrated probabilities"
        # Model scores are calibrated at training; heuristic points are not probabilities.
        trusted = calibration.startswith("isotonic") or not cur["model_id"].iloc[0].endswith(
            "-heuristic")
        result.update({
            "mode": "estimated", "calibration": calibration,
            "reason": f"current window has {len(labelled)} outcome labels, fewer than "
                      f"{floor}: performance estimated from the scores (CBPE)",
            "metrics": performance.estimated_performance(scores, threshold=threshold,
                                                         probabilities=probabilities),
        })
    estimated = result["mode"] == "estimated"
    result["degraded"] = [
        {"metric": f"estimated_{name}" if estimated else name,
         "value": result["metrics"][name], "threshold": limit}
        for name, limit in config.degradation.items()
        if trusted and is_degraded(name, result["metrics"].get(name), config.degradation)
    ]
    if estimated and not trusted:
        result["note"] = ("heuristic scores without reference outcomes to calibrate them: "
                          "estimates are reported, never alerted on")
    return result

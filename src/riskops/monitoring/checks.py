"""Every check of one monitoring run, over the two windows of the inference log.

The windows (``inference_log.LogWindow``, or ``spark_log.SparkLogWindow`` with the
same methods) hand out one column of one (tenant, scenario, model) at a time as
an array, category counts, or the ``drift.NumericSummary`` of a numeric column in
both windows, so no check holds a window's rows as Python objects.

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
  (override rate, predicted-label mix) either way. Measured, it also holds
  ``segment_calibration``: Brier, ECE and the reliability table of each value
  of each segment column, from the labelled rows of that value (at least
  ``segment_min_samples`` of them), each value's ``degraded`` metrics over
  ``config.segment_calibration``.

A model is its registered name for ML predictions and for imported ones
attributed to a model (``riskops monitor import --model``), ``<scenario>-imported``
for imported scores of no registered model, and ``<scenario>-heuristic`` for
the rule-based fallback, whose scores are not comparable with a model's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from riskops.monitoring import drift, performance, skew, text_drift
from riskops.monitoring.calibration import CALIBRATION_BINS, group_calibration
from riskops.monitoring.inference_log import NUMBER_TYPES
from riskops.monitoring.verdicts import is_degraded, segment_verdicts
from riskops.monitoring.windows import MonitoringConfig
from riskops.profiles.profile import NumericProfile, Profile
from riskops.scenarios.base import Feature, Scenario

if TYPE_CHECKING:
    from riskops.monitoring.inference_log import LogGroup, LogWindow

#: Categories beyond this many distinct values in an inferred column: treated as text.
MAX_INFERRED_CATEGORIES = 50


def model_id(scenario: str, method: str, model_name: str | None) -> str:
    """The name a prediction's model is monitored under."""
    if method in ("ml", "imported") and model_name:
        return model_name
    return f"{scenario}-imported" if method == "imported" else f"{scenario}-heuristic"


def monitor_frames(reference: LogWindow, current: LogWindow, config: MonitoringConfig,
                   profiles: skew.Profiles | None = None,
                   custom: Mapping[str, Scenario] | None = None) -> list[dict[str, Any]]:
    """All checks of the run, one JSON-ready dict each, skipped ones with their reason.

    ``profiles`` maps (model, version) to its reference profile or why there
    is none (``signed_profiles.load_profiles``); without it no training_skew.
    ``custom`` holds the custom scenarios served (``registry.definitions``): their
    features, segments, labels and threshold, as for a reference scenario.
    """
    profiles = profiles or {}
    custom = custom or {}
    keys = sorted(set(reference.keys()) | set(current.keys()))
    results: list[dict[str, Any]] = []
    plans: dict[str, dict[tuple[str, str], list[Feature]]] = {}
    for tenant, scenario_name, model in keys:
        scenario = _scenario(scenario_name) or custom.get(scenario_name)
        if scenario_name not in plans:
            plans[scenario_name] = _prepare(reference, current, scenario_name, scenario,
                                            _profile_inputs(profiles, scenario_name, keys))
        ref = reference.select(tenant, scenario_name, model)
        cur = current.select(tenant, scenario_name, model)
        features = plans[scenario_name].get((tenant, model), [])
        base = {"tenantId": tenant, "scenario": scenario_name, "modelId": model}
        results.extend(_drift_checks(ref, cur, base, scenario, features, config,
                                     skew.serving_profile(cur, profiles)))
        results.extend(skew.skew_checks(cur, base, profiles, config))
        results.append(drift.guard(lambda r=ref, c=cur, s=scenario, m=model:
                              _performance(r, c, s, m, config),
                              {"check": "performance", **base}))
    return results


def _profile_inputs(profiles: skew.Profiles, scenario: str, keys: list[tuple[str, str, str]],
                    ) -> dict[str, str]:
    """The features the reference profiles of ``scenario``'s models hold, by kind, so
    ``training_skew`` reads them from the window even when the drift checks do not."""
    models = {m for _, s, m in keys if s == scenario}
    inputs: dict[str, str] = {}
    for profile in profiles.values():
        if isinstance(profile, Profile) and profile.model in models:
            for name, entry in profile.features.items():
                inputs.setdefault(name, "numeric" if isinstance(entry, NumericProfile)
                                  else "categorical")
    return inputs


def _prepare(reference: LogWindow, current: LogWindow, name: str, scenario: Scenario | None,
             extra: dict[str, str]) -> dict[tuple[str, str], list[Feature]]:
    """Extract the inputs ``name``'s checks read, in one pass per window; the features
    of each (tenant, model): the scenario's, or ones inferred from its reference inputs.
    ``extra`` (name -> kind) are extracted too when the checks do not already read them."""
    if scenario is not None:
        features = list(scenario.schema.features)
        inputs = {f.name: f.kind for f in features}
        inputs.update({s: "categorical" for s in scenario.schema.segments if s not in inputs})
        inputs.update({k: v for k, v in extra.items() if k not in inputs})
        reference.prepare(name, inputs)
        current.prepare(name, inputs)
        return {(t, m): features for t, s, m in reference.keys() + current.keys() if s == name}
    types = reference.input_types(name)
    numeric = {k for by_key in types.values() for k, t in by_key.items() if t in NUMBER_TYPES}
    mixed = {k for by_key in types.values() for k, t in by_key.items()
             if t not in NUMBER_TYPES and t != "NULL"}
    inputs = {k: "numeric" if k in numeric - mixed else "categorical"
              for by_key in types.values() for k in by_key}
    inputs.update({k: v for k, v in extra.items() if k not in inputs})
    reference.prepare(name, inputs)
    current.prepare(name, inputs)
    plans: dict[tuple[str, str], list[Feature]] = {}
    for (tenant, model), by_key in types.items():
        group = reference.select(tenant, name, model)
        plans[(tenant, model)] = [_inferred(group, key, by_key[key]) for key in sorted(by_key)]
    return plans


def _inferred(group: LogGroup, name: str, json_type: str) -> Feature:
    """Numeric when every value is a number; text beyond MAX_INFERRED_CATEGORIES values."""
    if json_type in NUMBER_TYPES:
        kind = "numeric"
    elif json_type != "NULL" and group.distinct(name) > MAX_INFERRED_CATEGORIES:
        kind = "text"
    else:
        kind = "categorical"
    return Feature(name, kind, "inferred from the logged inputs")  # type: ignore[arg-type]


def _scenario(name: str) -> Scenario | None:
    from riskops.scenarios import REFERENCE, get_scenario

    return get_scenario(name) if name in REFERENCE else None


# --- drift ---------------------------------------------------------------------------


def _drift_checks(ref: LogGroup, cur: LogGroup, base: dict[str, Any],
                  scenario: Scenario | None, features: list[Feature],
                  config: MonitoringConfig,
                  profile: Profile | None = None) -> list[dict[str, Any]]:
    floor = config.min_samples
    for window, group in (("reference", ref), ("current", cur)):
        if len(group) < floor:
            return [{"check": "drift", **base, "status": "skipped",
                     "reference_rows": len(ref), "current_rows": len(cur),
                     "reason": f"{window} window has {len(group)} predictions, fewer than "
                               f"the {floor} a drift check needs"}]
    options = {"min_samples": floor, "psi_threshold": config.psi_threshold}
    numeric = {**options, "bins": config.bins}
    bins = config.bins
    results = [drift.guard(lambda: drift.check_numeric_summary(
        ref.compare_numbers(cur, "score", bins=bins), **options),
        {"check": "prediction_drift", **base, "feature": "score"})]
    segments = scenario.schema.segments if scenario is not None else ()
    for column in segments:
        values = {v for v in (*ref.counts(column), *cur.counts(column)) if v is not None}
        if not values:
            continue  # the logged inputs do not carry this segment
        for value in sorted(values):
            opts = {**options, "min_samples": max(floor, config.segment_min_samples)}
            results.append(drift.guard(
                lambda c=column, v=value, o=opts: drift.check_numeric_summary(
                    ref.compare_numbers(cur, "score", bins=bins, where=(c, v)), **o),
                {"check": "prediction_drift", **base, "feature": "score",
                 "segment": f"{column}={value}"}))
    for feature in features:
        name = feature.name
        entry = {"check": "data_drift", **base, "feature": name}
        if feature.kind == "numeric":
            results.append(drift.guard(lambda n=name: drift.check_numeric_summary(
                ref.compare_numbers(cur, n, bins=bins), **options), entry))
        elif feature.kind == "categorical":
            results.append(drift.guard(lambda n=name: drift.check_category_counts(
                ref.counts(n), cur.counts(n), **options), entry))
        else:
            ref_values, cur_values = ref.values(name), cur.values(name)
            results.append(drift.guard(lambda r=ref_values, c=cur_values: drift.check_text(
                r, c, **numeric), entry))
            results.extend(_text_terms(ref_values, cur_values, name, profile, numeric,
                                       {"check": "data_drift", **base}))
    return results


def _text_terms(ref_values: Sequence[Any], cur_values: Sequence[Any], name: str,
                profile: Profile | None, options: dict[str, Any],
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


# --- performance ---------------------------------------------------------------------


def _threshold(group: LogGroup, scenario: Scenario | None) -> float:
    value = group.mode("threshold")
    if value is not None:
        return float(value)
    return scenario.default_threshold if scenario is not None else 0.5


def _binary(outcomes: Any, scenario: Scenario | None) -> np.ndarray:
    positive = scenario.schema.labels[-1] if scenario is not None else "1"
    return np.asarray(np.asarray(outcomes, dtype=object).astype(str) == positive, dtype=int)


def _label_mix(group: LogGroup) -> dict[str, float]:
    """``performance.label_mix`` of the predicted labels, counted in the window."""
    counts: dict[str, int] = {}
    for label, n in group.counts("label").items():
        counts[str(label)] = counts.get(str(label), 0) + n
    total = sum(counts.values())
    if not total:
        raise ValueError("labels is empty; the label mix needs at least one prediction.")
    return {label: counts[label] / total for label in sorted(counts)}


def _performance(ref: LogGroup, cur: LogGroup, scenario: Scenario | None, model: str,
                 config: MonitoringConfig) -> dict[str, Any]:
    floor = config.min_samples
    if len(cur) < floor:
        return {"status": "skipped", "current_rows": len(cur),
                "reason": f"current window has {len(cur)} predictions, fewer than the "
                          f"{floor} a performance check needs"}
    threshold = _threshold(cur, scenario)
    labelled_scores, outcomes = cur.labelled()
    result: dict[str, Any] = {
        "status": "checked", "current_rows": len(cur), "labelled_rows": len(outcomes),
        "threshold": threshold,
        "proxies": {
            "override_rate": performance.override_rate(cur.flags("override")),
            "reference_override_rate": (performance.override_rate(ref.flags("override"))
                                        if len(ref) else None),
            "label_mix": _label_mix(cur),
            "reference_label_mix": _label_mix(ref) if len(ref) else None,
        },
    }
    if len(outcomes) >= floor:
        metrics = performance.labelled_performance(
            _binary(outcomes, scenario), labelled_scores, threshold=threshold)
        result.update({"mode": "labelled", "metrics": metrics})
        if scenario is not None and scenario.schema.segments:
            result["segment_calibration"] = _segment_calibration(cur, scenario, config)
        trusted = True
    else:
        scores = cur.numbers("score")
        probabilities = None
        ref_scores, ref_outcomes = ref.labelled()
        ref_y = _binary(ref_outcomes, scenario)
        if len(ref_outcomes) >= floor and 0 < ref_y.sum() < len(ref_y):
            probabilities = performance.calibrate(ref_scores, ref_y, scores)
            calibration = f"isotonic, fitted on {len(ref_outcomes)} reference outcomes"
        else:
            calibration = "none: scores taken as calibrated probabilities"
        # Model scores are calibrated at training; heuristic points are not probabilities.
        trusted = calibration.startswith("isotonic") or not model.endswith("-heuristic")
        result.update({
            "mode": "estimated", "calibration": calibration,
            "reason": f"current window has {len(outcomes)} outcome labels, fewer than "
                      f"{floor}: performance estimated from the scores (CBPE)",
            "metrics": performance.estimated_performance(scores, threshold=threshold,
                                                         probabilities=probabilities),
        })
    estimated = result["mode"] == "estimated"
    limits = config.degradation_for(scenario)
    result["thresholds"] = limits
    result["degraded"] = [
        {"metric": f"estimated_{name}" if estimated else name,
         "value": result["metrics"][name], "threshold": limit}
        for name, limit in limits.items()
        if trusted and is_degraded(name, result["metrics"].get(name), limits)
    ]
    if estimated and not trusted:
        result["note"] = ("heuristic scores without reference outcomes to calibrate them: "
                          "estimates are reported, never alerted on")
    return result



def _segment_calibration(cur: LogGroup, scenario: Scenario,
                         config: MonitoringConfig) -> dict[str, Any]:
    """Calibration of each value of each of ``scenario``'s segment columns, labelled rows
    only; a column the logged inputs do not carry is left out, as are missing values."""
    floor = max(config.min_samples, config.segment_min_samples)
    segments = []
    for column in scenario.schema.segments:
        scores, outcomes, values = cur.labelled_by(column)
        present = np.array([v is not None for v in values], dtype=bool)
        if not present.any():
            continue
        by_value = group_calibration(_binary(outcomes[present], scenario), scores[present],
                                     values[present], n_bins=CALIBRATION_BINS, min_rows=floor)
        segments += segment_verdicts(column, by_value, config.segment_calibration)
    return {"thresholds": dict(config.segment_calibration), "min_rows": floor,
            "n_bins": CALIBRATION_BINS, "strategy": "uniform", "segments": segments}

"""Generating reference data: the drift and label mechanics the tabular scenarios
share, and writing any scenario's rows to CSV or Parquet (``riskops data generate``).

    generate_to_file("fraud", rows=20_000, start=date(2024, 1, 1), days=90,
                     out=Path("fraud.parquet"))
    generate_to_file("fraud", rows=20_000, start=date(2024, 1, 1), days=90,
                     out=Path("fraud.csv"), drift_from=date(2024, 3, 1),
                     drift_kind="covariate", drift_features=("amount",))
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from riskops.errors import InputError
from riskops.files import atomic_path
from riskops.scenarios import get_scenario
from riskops.scenarios.base import DRIFT_KINDS, Drift, DriftKind, Schema
from riskops.scenarios.tabular import TENANT_NAMES, sigmoid

MAX_ROWS = 10_000_000
MAX_DAYS = 3650
MAX_MAGNITUDE = 10.0
SUFFIXES = (".csv", ".parquet")
#: Expected positive rate after prior drift of magnitude m: 2**m times the rate
#: without it, capped here.
PRIOR_CAP = 0.95


# -- drift and labels (used by the scenario generators) ----------------------------------


def check_drift(schema: Schema, drift: Drift | None) -> None:
    """Raise ``InputError`` unless ``drift`` fits ``schema`` (kind, features, magnitude)."""
    if drift is None:
        return
    if drift.kind not in DRIFT_KINDS:
        raise InputError(
            f"drift kind {drift.kind!r} is not supported; use one of {', '.join(DRIFT_KINDS)}."
        )
    unknown = [name for name in drift.features if name not in schema.feature_names]
    if unknown:
        raise InputError(
            f"unknown drift feature(s) {', '.join(unknown)}; this scenario's features are "
            f"{', '.join(schema.feature_names)}."
        )
    if drift.features and drift.kind != "covariate":
        raise InputError(
            f"drift features only apply to covariate drift, not {drift.kind}; "
            "drop them or use the covariate kind."
        )
    if drift.segment is not None and drift.segment[0] not in schema.segments:
        raise InputError(
            f"--drift-segment {drift.segment[0]}={drift.segment[1]}: {drift.segment[0]!r} is "
            f"not a segment column; this scenario's segments are "
            f"{', '.join(schema.segments) or '(none)'}."
        )
    if not (math.isfinite(drift.magnitude) and 0 <= drift.magnitude <= MAX_MAGNITUDE):
        raise InputError(
            f"drift magnitude {drift.magnitude} is out of range; use a number from 0 to "
            f"{MAX_MAGNITUDE:g} (1.0 is clearly visible)."
        )


def offset_for_rate(logits: np.ndarray, rate: float) -> float:
    """The constant ``c`` with ``mean(sigmoid(logits + c)) == rate`` (bisection).

    Returns 0.0 for an empty ``logits``.

    Examples
    --------
    >>> c = offset_for_rate(np.zeros(4), 0.5)
    >>> abs(c) < 1e-9
    True
    """
    if logits.size == 0:
        return 0.0
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(np.mean(sigmoid(logits + mid))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def linear_score(terms: Mapping[str, np.ndarray], coefficients: Mapping[str, float]) -> np.ndarray:
    """``sum(coefficients[t] * terms[t])`` over the coefficients' terms."""
    size = len(next(iter(terms.values())))
    score = np.zeros(size)
    for name, weight in coefficients.items():
        if weight:
            score += weight * terms[name]
    return score


def draw_labels(
    rng: np.random.Generator, terms: Mapping[str, np.ndarray], *, intercept: float,
    coefficients: Mapping[str, float], noise: float, drift: Drift | None,
    after: np.ndarray, concept: Mapping[str, float],
) -> np.ndarray:
    """0/1 labels, Bernoulli(sigmoid(intercept + score(terms) + N(0, noise**2))).

    On the rows in ``after``:

    concept: the coefficients move from ``coefficients`` towards ``concept``
        (``magnitude`` 1 reaches it), and the intercept is re-solved so the
        expected positive rate stays what it was: only the rule changes.
    prior: the intercept rises until the expected positive rate is
        ``2**magnitude`` times what it was (at most ``PRIOR_CAP``).

    The same random draws are used with or without drift, so rows before the
    drift start are identical to a drift-free run with the same seed.
    """
    size = len(after)
    eps = rng.normal(0.0, noise, size)
    uniform = rng.random(size)
    logit = intercept + linear_score(terms, coefficients) + eps
    if drift is not None and after.any():
        before_rate = float(np.mean(sigmoid(logit[after])))
        m = drift.magnitude
        if drift.kind == "concept":
            blended = {name: (1 - m) * coefficients.get(name, 0.0) + m * concept.get(name, 0.0)
                       for name in dict.fromkeys([*coefficients, *concept])}
            moved = {name: values[after] for name, values in terms.items()}
            changed = linear_score(moved, blended) + eps[after]
            logit[after] = changed + offset_for_rate(changed, before_rate)
        elif drift.kind == "prior":
            target = min(PRIOR_CAP, before_rate * 2.0**m)
            logit[after] += offset_for_rate(logit[after], target)
    return (uniform < sigmoid(logit)).astype(np.int64)


def shift_covariates(
    columns: dict[str, np.ndarray], after: np.ndarray, drift: Drift | None, schema: Schema, *,
    seed: int, default: tuple[str, ...], downward: tuple[str, ...] = (),
    log_scale: tuple[str, ...] = (),
) -> None:
    """Apply covariate drift to ``columns`` in place on the rows in ``after``.

    Shifts ``drift.features`` (or ``default`` when none are named) by
    ``magnitude`` standard deviations of the feature over all rows:

    numeric: up (down for names in ``downward``); in log space for names in
        ``log_scale``; integer columns round stochastically; clipped to the
        feature's range.
    categorical: a share ``min(1, magnitude / 2)`` of the rows switches to the
        feature's last category.

    Draws come from their own stream (``seed``), never from the main one.
    """
    if drift is None or drift.kind != "covariate" or not after.any():
        return
    rng = np.random.default_rng([seed, 7])
    m = drift.magnitude
    for name in drift.features or default:
        feature = schema.feature(name)
        values = columns[name]
        if feature.kind == "categorical" and feature.categories:
            switch = after & (rng.random(len(values)) < min(1.0, m / 2))
            shifted = values.astype(object)
            shifted[switch] = feature.categories[-1]
            columns[name] = shifted
            continue
        sign = -1.0 if name in downward else 1.0
        moved = values[after].astype(float)
        if name in log_scale:
            delta = sign * m * float(np.std(np.log1p(values)))
            moved = np.expm1(np.log1p(moved) + delta)
        else:
            moved = moved + sign * m * float(np.std(values))
        if np.issubdtype(values.dtype, np.integer):
            moved = np.floor(moved + rng.random(moved.size))
        lo = -np.inf if feature.minimum is None else feature.minimum
        hi = np.inf if feature.maximum is None else feature.maximum
        result = values.copy()
        result[after] = np.clip(moved, lo, hi).astype(values.dtype)
        columns[name] = result


def by_category(values: np.ndarray, mapping: Mapping[str, float], default: float = 0.0,
                ) -> np.ndarray:
    """``mapping[value]`` per element of ``values`` (``default`` for other values)."""
    keys = list(mapping)
    return np.select([values == key for key in keys], [mapping[k] for k in keys], default)


def assemble(
    frame: pd.DataFrame, schema: Schema, columns: Mapping[str, np.ndarray], labels: np.ndarray,
) -> pd.DataFrame:
    """``frame`` (id, timestamp, tenant) plus segment, sensitive, feature and label
    columns, in the layout of ``riskops.scenarios.base``."""
    ordered = [*schema.segments, *([schema.sensitive] if schema.sensitive else []),
               *schema.feature_names]
    result = frame.copy()
    for name in ordered:
        result[name] = columns[name]
    result[schema.label] = np.asarray(schema.labels, dtype=object)[labels]
    result[schema.label] = result[schema.label].astype(str)
    return result


# -- reading one row's features (heuristics and plans) -----------------------------------


def number(features: Mapping[str, Any], name: str) -> float | None:
    """``features[name]`` as a finite float, or None if missing, None or not a number."""
    value = features.get(name)
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def category(features: Mapping[str, Any], name: str) -> str | None:
    """``features[name]`` as a stripped lower-case string, or None if missing or None."""
    value = features.get(name)
    return None if value is None else str(value).strip().lower()


# -- writing files -----------------------------------------------------------------------


def generate_to_file(
    scenario_name: str, *, rows: int, start: date, days: int, out: Path, seed: int = 0,
    tenants: int = 3, drift_from: date | None = None, drift_kind: str | None = None,
    drift_features: tuple[str, ...] = (), magnitude: float = 1.0,
    drift_segment: str | None = None,
) -> dict[str, Any]:
    """Generate ``rows`` of ``scenario_name`` and write them to ``out`` (.csv or .parquet).

    Parameters
    ----------
    scenario_name : str
        A reference scenario (``fraud``, ``shortfall``, ``compliance``, ``incident``).
    rows, days, seed, tenants
        Passed to the scenario's ``generate``; timestamps span ``[start, start + days)``.
    out : Path
        The file to write; its folder must exist. Replaced atomically if present.
    drift_from, drift_kind, drift_features, magnitude
        Drift from ``drift_from`` on; ``drift_from`` and ``drift_kind`` go together.
    drift_segment : str, optional
        ``COLUMN=VALUE``: drift only the rows of that segment value.

    Returns
    -------
    summary : dict
        scenario, rows, columns, path, format, sha256, label_share (per label),
        date_range (first and last timestamp dates), seed, tenants, drift.

    Raises
    ------
    InputError
        For an unknown scenario, an out-of-range number, inconsistent drift
        options or an unusable output path; the message names the input.
    """
    scenario = get_scenario(scenario_name)
    _check_range("rows", rows, 1, MAX_ROWS)
    _check_range("days", days, 1, MAX_DAYS)
    _check_range("tenants", tenants, 1, len(TENANT_NAMES))
    drift = _drift(scenario.schema, start=start, days=days, drift_from=drift_from,
                   drift_kind=drift_kind, drift_features=drift_features, magnitude=magnitude,
                   segment=_segment(drift_segment))
    out = _check_out(out)

    frame = scenario.generate(rows, start=start, days=days, seed=seed, drift=drift,
                              tenants=tenants)
    try:
        with atomic_path(out) as temporary:
            if out.suffix.lower() == ".csv":
                frame.to_csv(temporary, index=False, lineterminator="\n")
            else:
                frame.to_parquet(temporary, index=False)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}.") from None

    labels = frame[scenario.schema.label].astype(str)
    shares = labels.value_counts(normalize=True)
    stamps = frame[scenario.schema.timestamp]
    return {
        "scenario": scenario_name,
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "path": str(out),
        "format": out.suffix.lower().lstrip("."),
        "sha256": _sha256(out),
        "label_share": {label: round(float(shares.get(label, 0.0)), 6)
                        for label in scenario.schema.labels},
        "date_range": {"first": stamps.min().date().isoformat(),
                       "last": stamps.max().date().isoformat()},
        "seed": seed,
        "tenants": tenants,
        "drift": None if drift is None else {
            "kind": drift.kind, "from": drift.start.isoformat(),
            "features": list(drift.features), "magnitude": drift.magnitude,
            "segment": None if drift.segment is None else "=".join(drift.segment),
        },
    }


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise InputError(f"--{name} {value} is out of range; use {lo} to {hi:,}.")


def _drift(
    schema: Schema, *, start: date, days: int, drift_from: date | None, drift_kind: str | None,
    drift_features: tuple[str, ...], magnitude: float, segment: tuple[str, str] | None = None,
) -> Drift | None:
    if drift_kind is not None and drift_kind not in DRIFT_KINDS:
        raise InputError(
            f"--drift {drift_kind!r} is not supported; use one of {', '.join(DRIFT_KINDS)}."
        )
    if (drift_from is None) != (drift_kind is None):
        given, missing = ("--drift-from", "--drift") if drift_kind is None else (
            "--drift", "--drift-from")
        raise InputError(f"{given} is set but {missing} is not; drift needs both a start "
                         "date and a kind (--drift-from DATE --drift KIND).")
    if drift_from is None or drift_kind is None:
        if drift_features:
            raise InputError("--drift-features is set but no drift is; add "
                             "--drift-from DATE --drift covariate.")
        if segment is not None:
            raise InputError("--drift-segment is set but no drift is; add "
                             "--drift-from DATE --drift KIND.")
        return None
    end = start + timedelta(days=days)
    if not start <= drift_from < end:
        raise InputError(
            f"--drift-from {drift_from.isoformat()} is outside the generated dates "
            f"{start.isoformat()} to {(end - timedelta(days=1)).isoformat()}; pick a day "
            "inside them."
        )
    drift = Drift(kind=cast(DriftKind, drift_kind), start=drift_from,
                  features=tuple(drift_features), magnitude=magnitude, segment=segment)
    check_drift(schema, drift)
    return drift


def _segment(text: str | None) -> tuple[str, str] | None:
    """``COLUMN=VALUE`` (``--drift-segment``) as a pair."""
    if text is None:
        return None
    column, sep, value = text.partition("=")
    if not sep or not column.strip() or not value.strip() or not text.isprintable():
        raise InputError(f"--drift-segment {text[:80]!r} must be COLUMN=VALUE, e.g. "
                         "region=emea.")
    return column.strip(), value.strip()


def _check_out(out: Path) -> Path:
    if out.is_dir():
        raise InputError(f"output {out} is a directory; give a file path such as "
                         f"{out / 'data.parquet'}.")
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(
            f"output {out} has an unsupported suffix {out.suffix or '(none)'!r}; "
            f"use one of {', '.join(SUFFIXES)}."
        )
    if not out.parent.is_dir():
        raise InputError(f"output folder {out.parent} does not exist; create it first "
                         f"(mkdir -p {out.parent}).")
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

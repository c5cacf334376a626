"""Hand-built `monitor compare` documents (schema_version 1) for the report tests.

``compare_document()`` draws a reference file and monthly chunks with numpy,
shifts two columns from the seventh month on, and fills every field of the
shared schema with riskops' own statistics, as `monitor compare` would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskops.monitoring import performance, stats
from riskops.monitoring.verdicts import psi_verdict

THRESHOLD = 0.2
DRIFT_FROM = 6  # index of the first drifted chunk: the seventh month
SHIFTED = ("income", "region")


def _safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _numeric(rng: np.random.Generator, name: str, n: int, shifted: bool) -> np.ndarray:
    if name == "income":
        return rng.lognormal(10.5 + (0.6 if shifted else 0.0), 0.4, n)
    if name == "age":
        return rng.integers(18, 80, n).astype(float)
    if name == "flag":  # three distinct values: "values" bins
        return rng.integers(0, 3, n).astype(float)
    return rng.normal(shifted * 0.8, 1.0, n)


def _categorical(rng: np.random.Generator, name: str, n: int, shifted: bool) -> np.ndarray:
    if name == "region":
        shares = [0.1, 0.2, 0.3, 0.4] if shifted else [0.4, 0.3, 0.2, 0.1]
        return rng.choice(["north", "south", "east", "west"], n, p=shares)
    if name == "merchant":  # many categories: the chart sums the tail
        return rng.choice([f"m{i:02d}" for i in range(30)], n)
    return rng.choice([f"{name}-{i}" for i in range(5)], n)


def _frame(rng: np.random.Generator, numeric: list[str], categorical: list[str], n: int,
           shifted_names: set[str]) -> dict[str, np.ndarray]:
    frame = {c: _numeric(rng, c, n, c in shifted_names) for c in numeric}
    frame |= {c: _categorical(rng, c, n, c in shifted_names) for c in categorical}
    first = numeric[0]
    z = (np.log(frame[first]) - 10.5) / 0.4 if first == "income" else frame[first]
    frame["score"] = 1.0 / (1.0 + np.exp(-(z - 1.5)))
    frame["label"] = (rng.random(n) < frame["score"]).astype(int)
    return frame


def _numeric_entry(name: str, kind: str, bins: stats.Bins, ref_shares: np.ndarray,
                   ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    shares = stats.shares_in(bins, cur)
    value = stats.psi_of_shares(ref_shares, shares)
    ks = stats.ks_statistic(ref, cur)
    return {"column": name, "kind": kind, "method": "psi", "value": value,
            "threshold": THRESHOLD, "drifted": value > THRESHOLD, "band": psi_verdict(value),
            "statistics": {"psi": value, "ks": ks.statistic, "ks_pvalue": ks.pvalue,
                           "jensen_shannon": stats.jensen_shannon(ref, cur),
                           "wasserstein_scaled": stats.wasserstein_scaled(ref, cur)},
            "missing_share": 0.0, "shares": shares.tolist(), "skipped": None}


def _categorical_entry(name: str, ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    categories, ref_shares, cur_shares = stats.category_shares(ref, cur)
    value = stats.categorical_psi(ref, cur)
    chi = stats.chi_square(ref, cur)
    return {"column": name, "kind": "categorical", "method": "psi", "value": value,
            "threshold": THRESHOLD, "drifted": value > THRESHOLD, "band": psi_verdict(value),
            "statistics": {"psi": value, "chi_square": chi.statistic,
                           "chi_square_pvalue": chi.pvalue, "dof": chi.dof},
            "missing_share": 0.0, "shares": cur_shares.tolist(), "categories": categories,
            "reference_shares": ref_shares.tolist(), "skipped": None}


def _performance(frame: dict[str, np.ndarray], labelled: bool) -> dict[str, Any]:
    estimated = performance.estimated_performance(frame["score"], threshold=0.5)
    if not labelled:
        return {"realised": None, "estimated": estimated, "difference": None}
    realised = performance.labelled_performance(frame["label"], frame["score"], threshold=0.5)
    both = [k for k in estimated if k in realised and isinstance(estimated[k], float)
            and isinstance(realised[k], float) and k != "threshold"]
    return {"realised": realised, "estimated": estimated,
            "difference": {k: estimated[k] - realised[k] for k in both}}


def compare_document(
    *, numeric: tuple[str, ...] = ("income", "age", "utilisation"),
    categorical: tuple[str, ...] = ("region", "channel"), chunks: int = 12,
    rows: int = 400, reference_rows: int = 2000, seed: int = 0, labelled: bool = True,
    score: bool = True,
) -> dict[str, Any]:
    """A complete compare document: monthly chunks from 2019-01, ``SHIFTED`` from month 7."""
    rng = np.random.default_rng(seed)
    numeric_l, categorical_l = list(numeric), list(categorical)
    reference = _frame(rng, numeric_l, categorical_l, reference_rows, set())
    profiles, bins_of = [], {}
    for name in numeric_l + (["score"] if score else []):
        bins = stats.reference_bins(reference[name])
        bins_of[name] = (bins, stats.shares_in(bins, reference[name]))
        profiles.append({"name": name, "kind": "numeric", "missing_share": 0.0,
                         "bins": {"kind": bins.kind, "points": list(bins.points)},
                         "categories": None, "shares": bins_of[name][1].tolist()})
    for name in categorical_l:
        categories, shares, _ = stats.category_shares(reference[name], reference[name])
        profiles.append({"name": name, "kind": "categorical", "missing_share": 0.0,
                         "bins": None, "categories": categories, "shares": shares.tolist()})
    score_profile = profiles.pop(len(numeric_l)) if score else None
    out_chunks = []
    for i in range(chunks):
        year, month = 2019 + i // 12, i % 12 + 1
        shifted = set(SHIFTED) if i >= DRIFT_FROM else set()
        frame = _frame(rng, numeric_l, categorical_l, rows, shifted)
        drift = [_numeric_entry(c, "numeric", *bins_of[c], reference[c], frame[c])
                 for c in numeric_l]
        drift += [_categorical_entry(c, reference[c], frame[c]) for c in categorical_l]
        if score:
            drift.append(_numeric_entry("score", "score", *bins_of["score"],
                                        reference["score"], frame["score"]))
        end_year, end_month = (year, month + 1) if month < 12 else (year + 1, 1)
        out_chunks.append({
            "key": f"{year}-{month:02d}", "start": f"{year}-{month:02d}-01T00:00:00",
            "end": f"{end_year}-{end_month:02d}-01T00:00:00", "rows": rows, "drift": drift,
            "performance": _performance(frame, labelled) if score else None})
    names = [e["column"] for e in out_chunks[0]["drift"]]
    columns = {}
    for name in names:
        entries = [next(e for e in c["drift"] if e["column"] == name) for c in out_chunks]
        drifted = [c["key"] for c, e in zip(out_chunks, entries, strict=True) if e["drifted"]]
        columns[name] = {"drifted_chunks": len(drifted),
                         "max_value": max(e["value"] for e in entries),
                         "first_drifted": drifted[0] if drifted else None}
    drifted_chunks = sum(any(e["drifted"] for e in c["drift"]) for c in out_chunks)
    document = {
        "kind": "riskops.monitor.compare", "schema_version": 1,
        "generated_at": "2026-12-03T08:00:00+00:00",
        "options": {"threshold": THRESHOLD, "bins": 10, "chunk_period": "month",
                    "chunk_size": None, "timestamp_col": "applied_at",
                    "score_col": "score" if score else None,
                    "label_col": "label" if labelled else None,
                    "columns": numeric_l + categorical_l, "categorical": [],
                    "decision_threshold": 0.5},
        "reference": {"source": "validation.parquet", "rows": reference_rows,
                      "start": "2018-01-01T00:00:00", "end": "2018-12-31T23:00:00",
                      "labelled": True, "columns": profiles, "score": score_profile,
                      "performance": (performance.labelled_performance(
                          reference["label"], reference["score"], threshold=0.5)
                          if score else None)},
        "current": {"source": "loans-2019.csv", "rows": rows * chunks,
                    "start": "2019-01-01T00:00:00", "end": out_chunks[-1]["end"],
                    "labelled": labelled},
        "chunks": out_chunks,
        "summary": {"chunks": chunks, "drifted_chunks": drifted_chunks,
                    "drift": drifted_chunks > 0, "columns": columns},
    }
    return _safe(document)

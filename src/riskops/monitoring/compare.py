"""``monitor compare``: drift and (estimated) performance of a current file against a reference.

No workspace, no service: two CSV or Parquet files in, one JSON-ready
document out (the schema is in docs/drift.md). The files are read column by
column (``riskops.user_columns``); each reference column is prepared once
(``baselines``) and every chunk of the current file (``chunks``) measured
against it.

    document = compare_files(Path("validation.parquet"), Path("scored-2019.parquet"),
                             timestamp_col="ts", chunk_period="month",
                             score_col="score", label_col="default")
    document["summary"]["drift"]    # any chunk with a column over the threshold

With ``segment_col`` (one column or several) each chunk is also measured
within each segment value: drift against the reference's rows of the same
value, and, with scores and labels, calibration (Brier, ECE, reliability
table) per value in each chunk and over the whole current file
(``document["calibration"]``), a value over the thresholds named in
``summary.calibration``.

Columns compared by default: every column of the reference except the
timestamp, score and label columns, a column named ``id`` (any case), columns
holding dates or times, and categorical columns whose reference values are
all distinct (identifiers, not categories). A column is numeric when its
reference type is a number (Parquet) or every non-empty reference cell parses
as a number (CSV), else categorical; ``categorical`` overrides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from riskops.arrays import json_safe
from riskops.errors import InputError
from riskops.monitoring.baselines import CategoricalBaseline, NumericBaseline, label_counts
from riskops.monitoring.calibration import (
    CALIBRATION_BINS,
    calibration_of,
    fold_small_groups,
)
from riskops.monitoring.chunks import (
    PERIODS,
    Chunk,
    chunk_by_period,
    chunk_by_size,
    iso_instant,
    whole,
)
from riskops.monitoring.performance import calibrate
from riskops.monitoring.rank_metrics import estimated_metrics, labelled_metrics
from riskops.monitoring.segments import (
    SEGMENT_MIN_SAMPLES,
    Segments,
    join_segments,
    split_segments,
)
from riskops.monitoring.verdicts import (
    DEFAULT_SEGMENT_CALIBRATION,
    MIN_SAMPLES,
    calibration_breaches,
    is_drift,
    psi_verdict,
    segment_verdicts,
)
from riskops.user_columns import ColumnFile

__all__ = ["KIND", "SCHEMA_VERSION", "compare_files"]

KIND = "riskops.monitor.compare"
SCHEMA_VERSION = 1
#: Metrics whose estimated and realised values are both reported, with their difference.
COMPARED_METRICS = ("roc_auc", "brier", "mae", "precision", "recall", "f1")
MAX_BINS = 1000
#: An inferred categorical column with more distinct reference values than this, or
#: distinct in more than half of its rows, is free text or an identifier: left out.
MAX_INFERRED_CATEGORIES = 1000


def compare_files(
    reference: Path, current: Path, *, timestamp_col: str | None = None,
    chunk_period: str | None = None, chunk_size: int | None = None,
    score_col: str | None = None, label_col: str | None = None,
    columns: Sequence[str] | None = None, categorical: Sequence[str] = (),
    threshold: float = 0.2, bins: int = 10, decision_threshold: float = 0.5,
    segment_col: str | Sequence[str] | None = None,
    segment_brier_threshold: float = DEFAULT_SEGMENT_CALIBRATION["brier"],
    segment_ece_threshold: float = DEFAULT_SEGMENT_CALIBRATION["ece"],
) -> dict[str, Any]:
    """Compare ``current`` with ``reference``: drift per chunk and column, and performance.

    Parameters
    ----------
    reference, current : Path
        CSV or Parquet files (by suffix).
    timestamp_col : str, optional
        Each row's time; needed by ``chunk_period``.
    chunk_period : {"day", "week", "month", "quarter", "year"}, optional
        One chunk per calendar period of ``timestamp_col``.
    chunk_size : int, optional
        Chunks of this many rows in file order. Neither: one chunk, ``"all"``.
    score_col, label_col : str, optional
        Risk score in [0, 1] (prediction drift, performance) and 0/1 outcome.
    columns : sequence of str, optional
        Columns to compare (default: see the module docstring).
    categorical : sequence of str
        Columns compared as categories whatever their type.
    threshold : float, default=0.2
        PSI above which a column has drifted.
    bins : int, default=10
        Quantile bins of the reference for numeric PSI.
    decision_threshold : float, default=0.5
        Score at or above which a row is predicted risky (precision, recall, F1).
    segment_col : str or sequence of str, optional
        Also measure drift within each value of each of these columns
        (``chunks[].segments``); with ``score_col`` and ``label_col``, also
        calibration per value (``chunks[].segments[].calibration``,
        ``calibration``, ``summary.calibration``).
    segment_brier_threshold, segment_ece_threshold : float, default=0.2, 0.1
        A segment value whose Brier or ECE is over these is named in
        ``summary.calibration``.

    Returns
    -------
    dict
        The ``riskops.monitor.compare`` document; NaN and infinity are ``None``.

    Raises
    ------
    InputError
        For a bad option, or a file or column that cannot be used; the message
        names the option or the file and the column.
    """
    segment_cols = [segment_col] if isinstance(segment_col, str) else list(segment_col or ())
    _check_options(timestamp_col, chunk_period, chunk_size, threshold, bins,
                   decision_threshold, columns, categorical)
    limits = _calibration_limits(segment_brier_threshold, segment_ece_threshold)
    ref = ColumnFile(Path(reference), source=f"--reference {reference}")
    cur = ColumnFile(Path(current), source=f"--current {current}")
    roles = _check_roles(ref, cur, timestamp_col, score_col, label_col, segment_cols)
    for name in categorical:
        ref.require(name, option="--categorical")
    chosen = _chosen_columns(ref, columns, roles, categorical)

    times = cur.timestamps(timestamp_col) if timestamp_col else None
    ref_times = (ref.timestamps(timestamp_col)
                 if timestamp_col and ref.has(timestamp_col) else None)
    chunks = _chunks(cur.rows, times, chunk_period, chunk_size)
    drift: list[list[dict[str, Any]]] = [[] for _ in chunks]
    segments = None
    if segment_cols:
        parts = []
        for name in segment_cols:
            parts.append(split_segments(name, ref.categorical(name), cur.categorical(name),
                                        chunks))
            ref.release(name)
            cur.release(name)
        segments = join_segments(parts)
    segment_drift = [[[] for _ in segments.values] for _ in chunks] if segments else []
    described: list[dict[str, Any]] = []
    excluded: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for name, explicit in chosen:
        if not explicit and name.lower() == "id":
            excluded[name] = "named id"
            continue
        kind = "categorical" if name in categorical else ref.kind(name)
        if kind == "timestamp":
            if explicit:
                raise InputError(f"{ref.source}: column {name!r} holds dates or times; drift "
                                 "is measured on numbers and categories, so leave it out of "
                                 "--columns.")
            excluded[name] = "dates or times"
            continue
        cur.require(name, option="--columns" if explicit else "the reference's columns")
        entry = _compare_column(ref, cur, name, kind, chunks, drift, threshold=threshold,
                                bins=bins, explicit=explicit, segments=segments,
                                segment_drift=segment_drift)
        ref.release(name)
        cur.release(name)
        if isinstance(entry, str):
            excluded[name] = entry
            continue
        described.append(entry)
        kinds[name] = kind

    ref_labels = _labels(ref, label_col) if label_col and ref.has(label_col) else None
    labels = _labels(cur, label_col) if label_col and cur.has(label_col) else None
    score_entry, performance, ref_performance = None, [None] * len(chunks), None
    if score_col is not None:
        ref_scores, scores = _scores(ref, score_col), _scores(cur, score_col)
        score_entry = _compare_column(ref, cur, score_col, "score", chunks, drift,
                                      threshold=threshold, bins=bins, explicit=True,
                                      values=(ref_scores, scores), segments=segments,
                                      segment_drift=segment_drift)
        performance, ref_performance = _performance(ref_scores, ref_labels, scores, labels,
                                                    chunks, decision_threshold)
    calibration = None
    if segments is not None and score_col is not None and labels is not None:
        calibration = _segment_calibration(segments, scores, labels, limits)

    ref_labelled = ref_labels is not None and bool((~np.isnan(ref_labels)).any())
    cur_labelled = labels is not None and bool((~np.isnan(labels)).any())
    document = {
        "kind": KIND, "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {
            "threshold": threshold, "bins": bins, "chunk_period": chunk_period,
            "chunk_size": chunk_size, "timestamp_col": timestamp_col, "score_col": score_col,
            "label_col": label_col, "columns": list(kinds),
            "categorical": [n for n, k in kinds.items() if k == "categorical"],
            "decision_threshold": decision_threshold,
            "segment_col": segment_cols[0] if segment_cols else None,
            "segment_cols": segment_cols,
            "segment_brier_threshold": limits["brier"], "segment_ece_threshold": limits["ece"],
        },
        "reference": {
            "source": str(reference), "rows": ref.rows, **_span(ref_times),
            "labelled": ref_labelled, "columns": described, "excluded": excluded,
            "score": score_entry, "performance": ref_performance,
        },
        "current": {"source": str(current), "rows": cur.rows, **_span(times),
                    "labelled": cur_labelled},
        "chunks": [
            {"key": chunk.key, "start": chunk.start, "end": chunk.end,
             "rows": chunk.size(cur.rows), "drift": drift[i], "performance": performance[i]}
            for i, chunk in enumerate(chunks)
        ],
    }
    if segments is not None:
        for i, chunk_document in enumerate(document["chunks"]):
            chunk_document["segments"] = [
                {"column": segments.columns[j], "value": value,
                 "rows": int(segments.chunk_rows[j][i].size), "drift": segment_drift[i][j],
                 **({"calibration": calibration["chunks"][i][j]} if calibration else {})}
                for j, value in enumerate(segments.values) if segments.chunk_rows[j][i].size]
    if segments is not None:  # null without scores and labels to measure it on
        document["calibration"] = None if calibration is None else {
            "n_bins": CALIBRATION_BINS, "strategy": "uniform",
            "min_rows": SEGMENT_MIN_SAMPLES, "thresholds": limits,
            "segments": calibration["whole"]}
    document["summary"] = _summary(document["chunks"], multiple=len(segment_cols) > 1)
    if calibration is not None:
        document["summary"]["calibration"] = _calibration_summary(document)
    return json_safe(document)


# -- options and columns ---------------------------------------------------------------------


def _check_options(timestamp_col: str | None, chunk_period: str | None,
                   chunk_size: int | None, threshold: float, bins: int,
                   decision_threshold: float, columns: Sequence[str] | None,
                   categorical: Sequence[str]) -> None:
    if chunk_period is not None and chunk_size is not None:
        raise InputError("--chunk-period and --chunk-size are alternatives; give one of them.")
    if chunk_period is not None:
        if chunk_period not in PERIODS:
            raise InputError(f"--chunk-period {chunk_period!r} is not a period; use one of "
                             f"{', '.join(PERIODS)}.")
        if timestamp_col is None:
            raise InputError("--chunk-period needs --timestamp-col to know when each row "
                             "happened; add --timestamp-col COLUMN.")
    if chunk_size is not None and (isinstance(chunk_size, bool) or chunk_size < 1):
        raise InputError(f"--chunk-size must be a whole number of rows of at least 1, "
                         f"got {chunk_size}.")
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise InputError(f"--threshold must be a PSI above 0 (0.2 by default), got "
                         f"{threshold}.")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= MAX_BINS:
        raise InputError(f"--bins must be a whole number from 2 to {MAX_BINS}, got {bins}.")
    if not (isinstance(decision_threshold, int | float) and 0 <= decision_threshold <= 1):
        raise InputError(f"--decision-threshold must be a score from 0 to 1, got "
                         f"{decision_threshold}.")
    for option, names in (("--columns", columns or ()), ("--categorical", categorical)):
        for name in names:
            if not name:
                raise InputError(f"{option} has an empty column name; list names separated "
                                 "by commas, e.g. amount,channel.")


def _calibration_limits(brier: float, ece: float) -> dict[str, float]:
    for option, value in (("--segment-brier-threshold", brier),
                          ("--segment-ece-threshold", ece)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise InputError(f"{option} must be a number above 0 and at most 1, got {value}; "
                             "a segment whose Brier or ECE is over it is named.")
    return {"brier": float(brier), "ece": float(ece)}


def _check_roles(ref: ColumnFile, cur: ColumnFile, timestamp_col: str | None,
                 score_col: str | None, label_col: str | None,
                 segment_cols: Sequence[str]) -> set[str]:
    if timestamp_col is not None:
        cur.require(timestamp_col, option="--timestamp-col")
    if score_col is not None:
        ref.require(score_col, option="--score-col")
        cur.require(score_col, option="--score-col")
    if label_col is not None and not ref.has(label_col) and not cur.has(label_col):
        cur.require(label_col, option="--label-col")
    for name in segment_cols:
        if not name:
            raise InputError("--segment-col needs a column name, e.g. --segment-col region.")
        if segment_cols.count(name) > 1:
            raise InputError(f"--segment-col {name!r} is given twice; give each segment "
                             "column once.")
        ref.require(name, option="--segment-col")
        cur.require(name, option="--segment-col")
    named = [timestamp_col, score_col, label_col, *segment_cols]
    given = [n for n in named if n is not None]
    if len(set(given)) != len(given):
        raise InputError("--timestamp-col, --score-col, --label-col and --segment-col must "
                         "name different columns.")
    return set(given)


def _chosen_columns(ref: ColumnFile, columns: Sequence[str] | None, roles: set[str],
                    categorical: Sequence[str]) -> list[tuple[str, bool]]:
    """Columns to compare and whether the user named them (explicit)."""
    if columns is not None:
        for name in columns:
            ref.require(name, option="--columns")
            if name in roles:
                raise InputError(f"--columns lists {name!r}, which is the timestamp, score, "
                                 "label or segment column; it is handled by its own option.")
        for name in categorical:
            if name not in columns:
                raise InputError(f"--categorical lists {name!r}, which --columns leaves out; "
                                 "add it to --columns or drop it from --categorical.")
        return [(name, True) for name in dict.fromkeys(columns)]
    forced = set(categorical)
    return [(name, name in forced) for name in ref.names if name not in roles]


def _chunks(rows: int, times: np.ndarray | None, period: str | None,
            size: int | None) -> list[Chunk]:
    if period is not None and times is not None:
        return chunk_by_period(times, period)
    if size is not None:
        return chunk_by_size(rows, size, times)
    return whole(rows, times)


def _span(times: np.ndarray | None) -> dict[str, str | None]:
    if times is None or times.size == 0:
        return {"start": None, "end": None}
    return {"start": iso_instant(times.min()), "end": iso_instant(times.max())}


# -- one column ------------------------------------------------------------------------------


def _compare_column(ref: ColumnFile, cur: ColumnFile, name: str, kind: str,
                    chunks: list[Chunk], drift: list[list[dict[str, Any]]], *,
                    threshold: float, bins: int, explicit: bool,
                    values: tuple[np.ndarray, np.ndarray] | None = None,
                    segments: Segments | None = None,
                    segment_drift: list[list[list[dict[str, Any]]]] | None = None,
                    ) -> dict[str, Any] | str:
    """Measure every chunk of one column; its reference description, or why it was left out.

    ``values``: the reference and current numbers when already read (the score).
    With ``segments``, each segment of each chunk is measured against the
    same segment of the reference too, into ``segment_drift[chunk][segment]``.
    """
    prepare: Callable[[Any], CategoricalBaseline | NumericBaseline]
    sample: Callable[[Any], Any]
    if kind == "categorical":
        if not explicit:  # counted in Arrow: no labels built
            if ref.all_distinct(name):
                return "every reference value is distinct (an identifier)"
            distinct = ref.distinct_count(name)
            if distinct > MAX_INFERRED_CATEGORIES or distinct > ref.rows / 2:
                return (f"{distinct} distinct values in {ref.rows} rows: free text or an "
                        "identifier rather than categories (list it under --categorical to "
                        "compare it anyway)")
        ref_codes = ref.categorical(name)
        encoded = cur.categorical(name)

        def prepare(rows: Any) -> CategoricalBaseline:
            return CategoricalBaseline(label_counts(ref_codes, rows))

        def sample(rows: Any) -> dict[str, int]:
            return label_counts(encoded, rows)
    else:
        ref_values, cur_values = values or (ref.numeric(name), cur.numeric(name))

        def prepare(rows: Any) -> NumericBaseline:
            return NumericBaseline(ref_values[rows], bins=bins)

        def sample(rows: Any) -> np.ndarray:
            return cur_values[rows]

    base = prepare(slice(None))
    for i, chunk in enumerate(chunks):
        drift[i].append(_drift_entry(name, kind, base.measure(sample(chunk.rows)), threshold))
    if segments is not None and segment_drift is not None:
        for j, reference_rows in enumerate(segments.reference_rows):
            part = prepare(reference_rows)
            for i, rows in enumerate(segments.chunk_rows[j]):
                if rows.size:
                    result = part.measure(sample(rows), min_samples=SEGMENT_MIN_SAMPLES)
                    segment_drift[i][j].append(_drift_entry(name, kind, result, threshold))
    return {"name": name, "kind": kind, **base.describe()}


def _drift_entry(name: str, kind: str, result: dict[str, Any],
                 threshold: float) -> dict[str, Any]:
    value = result["value"]
    entry = {
        "column": name, "kind": kind, "method": "psi", "value": value,
        "threshold": threshold,
        "drifted": bool(value is not None and is_drift(value, threshold)),
        "band": None if value is None else psi_verdict(value),
        "statistics": result["statistics"], "missing_share": result["missing_share"],
        "shares": result["shares"],
    }
    if kind == "categorical":
        entry["categories"] = result["categories"]
        entry["reference_shares"] = result["reference_shares"]
    entry["skipped"] = result["skipped"]
    return entry


def _scores(table: ColumnFile, name: str) -> np.ndarray:
    values = table.numeric(name, role="score column",
                           fix="every score must be a number from 0 to 1")
    known = ~np.isnan(values)
    outside = known & ((values < 0) | (values > 1))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise InputError(f"{table.source}: score column {name!r} must hold scores from 0 to 1; "
                         f"data row {row + 1} has {values[row]!r}. Rescale the scores or "
                         "pick another column with --score-col.")
    return values


def _labels(table: ColumnFile, name: str) -> np.ndarray:
    values = table.numeric(name, role="label column", fix="labels must be 0, 1 or empty")
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{table.source}: label column {name!r} must hold 0 or 1 (or be "
                         f"empty where unknown); data row {row + 1} has {values[row]!r}.")
    return values


# -- performance -----------------------------------------------------------------------------


def _performance(ref_scores: np.ndarray, ref_labels: np.ndarray | None, scores: np.ndarray,
                 labels: np.ndarray | None, chunks: list[Chunk], threshold: float) -> tuple[
                     list[dict[str, Any] | None], dict[str, Any] | None]:
    """Per chunk: realised (where labelled), estimated (CBPE) and their difference."""
    known = ~np.isnan(scores)
    probabilities = scores
    calibration = "none: the scores are read as probabilities"
    ref_performance = None
    if ref_labels is not None:
        both = ~np.isnan(ref_scores) & ~np.isnan(ref_labels)
        if both.any():
            ref_performance = labelled_metrics(ref_labels[both], ref_scores[both],
                                               threshold=threshold)
        if both.any() and 0 < ref_labels[both].sum() < both.sum() and known.any():
            probabilities = np.full(scores.shape, np.nan)
            probabilities[known] = calibrate(ref_scores[both], ref_labels[both], scores[known])
            calibration = "isotonic, fitted on the reference's scores and labels"
    results: list[dict[str, Any] | None] = []
    for chunk in chunks:
        s, p = scores[chunk.rows], probabilities[chunk.rows]
        ok = ~np.isnan(s)
        n = int(ok.sum())
        if n < MIN_SAMPLES:
            results.append({"realised": None, "estimated": None, "difference": None,
                            "skipped": f"chunk has {n} scored rows, fewer than the "
                                       f"{MIN_SAMPLES} performance needs"})
            continue
        estimated = estimated_metrics(s[ok], threshold=threshold, probabilities=p[ok])
        estimated["calibration"] = calibration
        realised, reason = None, None
        if labels is not None:
            y = labels[chunk.rows]
            labelled = ok & ~np.isnan(y)
            if labelled.sum() >= MIN_SAMPLES:
                realised = labelled_metrics(y[labelled], s[labelled], threshold=threshold)
            else:
                reason = (f"chunk has {int(labelled.sum())} labelled rows, fewer than the "
                          f"{MIN_SAMPLES} realised performance needs")
        results.append({"realised": realised, "estimated": estimated,
                        "difference": _difference(estimated, realised), "skipped": reason})
    return results, ref_performance


def _difference(estimated: dict[str, Any],
                realised: dict[str, Any] | None) -> dict[str, float] | None:
    if realised is None:
        return None
    return {m: estimated[m] - realised[m] for m in COMPARED_METRICS
            if estimated.get(m) is not None and realised.get(m) is not None}


def _segment_calibration(segments: Segments, scores: np.ndarray, labels: np.ndarray,
                         limits: dict[str, float]) -> dict[str, Any]:
    """Calibration of each segment value: ``chunks[i][j]`` in chunk ``i``, ``whole[j]``
    over every chunk; each entry with its ``degraded`` metrics."""
    def calibration(rows: np.ndarray) -> dict[str, Any]:
        s, y = scores[rows], labels[rows]
        known = ~np.isnan(s) & ~np.isnan(y)
        return calibration_of(y[known].astype(int), s[known], n_bins=CALIBRATION_BINS,
                              min_rows=SEGMENT_MIN_SAMPLES)

    def measure(rows: np.ndarray) -> dict[str, Any]:
        entry = calibration(rows)
        return {**entry, "degraded": calibration_breaches(entry, limits)}

    per_chunk: list[list[dict[str, Any] | None]] = []
    for i in range(len(segments.chunk_rows[0]) if segments.values else 0):
        per_chunk.append([measure(segments.chunk_rows[j][i]) if segments.chunk_rows[j][i].size
                          else None for j in range(len(segments.values))])
    by_column: dict[str, dict[str, dict[str, Any]]] = {}
    for j, value in enumerate(segments.values):
        rows = np.concatenate(segments.chunk_rows[j]) if segments.chunk_rows[j] else \
            np.empty(0, dtype=np.int64)
        by_column.setdefault(segments.columns[j], {})[value] = calibration(rows)
    whole = [entry for column, by_value in by_column.items()
             for entry in segment_verdicts(column, fold_small_groups(by_value,
                                                                     SEGMENT_MIN_SAMPLES),
                                           limits)]
    return {"chunks": per_chunk, "whole": whole}


# -- summary and JSON ----------------------------------------------------------------------


def _summary(chunks: list[dict[str, Any]], *, multiple: bool = False) -> dict[str, Any]:
    columns: dict[str, dict[str, Any]] = {}
    drifted_chunks = 0
    for chunk in chunks:
        any_drift = False
        for entry in chunk["drift"]:
            stat = columns.setdefault(entry["column"], {"drifted_chunks": 0, "max_value": None,
                                                        "first_drifted": None})
            value = entry["value"]
            if value is not None and math.isfinite(value) and (
                    stat["max_value"] is None or value > stat["max_value"]):
                stat["max_value"] = value
            if entry["drifted"]:
                any_drift = True
                stat["drifted_chunks"] += 1
                if stat["first_drifted"] is None:
                    stat["first_drifted"] = chunk["key"]
        drifted_chunks += any_drift
    summary = {"chunks": len(chunks), "drifted_chunks": drifted_chunks,
               "drift": drifted_chunks > 0, "columns": columns}
    if any("segments" in chunk for chunk in chunks):
        summary["segments"] = _segment_summary(chunks, multiple=multiple)
    return summary


def _segment_summary(chunks: list[dict[str, Any]], *,
                     multiple: bool) -> dict[str, dict[str, Any]]:
    """Per segment value (``column=value`` with several segment columns): chunks with a
    drifted column, and which columns drifted."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks:
        for segment in chunk.get("segments", []):
            key = f"{segment['column']}={segment['value']}" if multiple else segment["value"]
            stat = found.setdefault(key, {"column": segment["column"],
                                          "value": segment["value"], "drifted_chunks": 0,
                                          "columns": []})
            drifted = [e["column"] for e in segment["drift"] if e["drifted"]]
            stat["drifted_chunks"] += bool(drifted)
            stat["columns"] = sorted(set(stat["columns"]) | set(drifted))
    return dict(sorted(found.items()))


def _calibration_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The segment values over a calibration threshold, over the whole file or in a chunk."""
    found: dict[str, dict[str, Any]] = {}
    for entry in document["calibration"]["segments"]:
        found[entry["segment"]] = {"segment": entry["segment"], "column": entry["column"],
                                   "value": entry["value"],
                                   "metrics": [d["metric"] for d in entry["degraded"]],
                                   "chunks": []}
    for chunk in document["chunks"]:
        for segment in chunk.get("segments", []):
            if (segment.get("calibration") or {}).get("degraded"):
                found[f"{segment['column']}={segment['value']}"]["chunks"].append(chunk["key"])
    entries = document["calibration"]["segments"]
    return {"checked": sum(1 for e in entries if e["status"] == "checked"),
            "degraded": [f for f in found.values() if f["metrics"] or f["chunks"]]}

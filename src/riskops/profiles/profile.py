"""The reference profile a trained version stores: ``reference-profile.json``.

What the model was trained on, summarised so a later window can be compared
with it without the training data: per feature the bins and shares PSI
needs, and the same for the model's scores. Built at training, signed with
the version, read back by ``monitor run`` for the ``training_skew`` check.

    profile = build_profile(train_frame, held_out_scores, schema, model=fitted, name="fraud")
    data = dumps(profile)                          # canonical bytes: sorted keys, repr floats
    parsed = read_profile(data, source="models/fraud/3/reference-profile.json")
    parsed.features["amount"].shares               # training shares on parsed.features[...].bins

Per kind (field by field in docs/drift.md, "Training-serving skew"):

- numeric: ``count`` (rows), ``missing_share`` (NaN, infinity, None), ``mean``,
  ``std`` (sample, ddof=1), ``min``, ``max`` of the finite values, ``bins``
  (``riskops.binning.reference_bins``: kind and points) and ``shares`` on them;
- categorical: ``count``, ``missing_share`` and ``shares`` per category, a
  missing value counting as the category ``"(missing)"``;
- text: ``count``, ``missing_share`` (not a string), ``length`` (a numeric
  summary of character lengths) and ``terms``: the vectorizer's analyzer
  settings, its vocabulary, a numeric summary of the per-text OOV rate, the
  top terms with their document shares and the term-bucket ``shares``
  (``riskops.profiles.text``); ``terms`` is null with ``terms_reason`` when the
  model has no usable vectorizer for the column.

The bytes are deterministic: the same data, model and settings give the same
file (keys sorted, floats written by ``repr``, which round-trips exactly, no
timestamps), so ``train --reproduce`` can compare them.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from riskops.binning import Bins, reference_bins, shares_in
from riskops.errors import InputError
from riskops.profiles import text
from riskops.scenarios.base import Schema

__all__ = [
    "FILE",
    "FORMAT",
    "CategoricalProfile",
    "NumericProfile",
    "Profile",
    "TermsProfile",
    "TextProfile",
    "build_profile",
    "categories",
    "dumps",
    "numeric_values",
    "read_profile",
]

FILE = "reference-profile.json"
FORMAT = "riskops.reference-profile/v1"
MISSING = "(missing)"
DEFAULT_BINS = 10
DEFAULT_TOP_TERMS = 20
#: Stored shares must sum to 1 within this (they are count / n).
SUM_TOLERANCE = 1e-6


# --- parsed form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericProfile:
    """A numeric variable at training; ``bins``/``shares`` are None when all values were missing."""

    count: int
    missing_share: float
    mean: float | None
    std: float | None
    minimum: float | None
    maximum: float | None
    bins: Bins | None
    shares: tuple[float, ...] | None


@dataclass(frozen=True)
class CategoricalProfile:
    """Category shares at training, ``"(missing)"`` included."""

    count: int
    missing_share: float
    shares: Mapping[str, float]


@dataclass(frozen=True)
class TermsProfile:
    """A text feature against the model's vocabulary at training."""

    analyzer: Mapping[str, Any]
    vocabulary: frozenset[str]
    oov_rate: NumericProfile
    top_terms: tuple[str, ...]
    document_shares: tuple[float, ...]
    shares: tuple[float, ...]
    texts: int

    @cached_property
    def _analyzer(self) -> text.Analyzer:
        return text.build_analyzer(dict(self.analyzer))

    def analyze(self) -> text.Analyzer:
        """The vectorizer's tokenisation, rebuilt from the stored settings (built once)."""
        return self._analyzer


@dataclass(frozen=True)
class TextProfile:
    """A text feature at training: length, and its terms when the model has a vocabulary."""

    count: int
    missing_share: float
    length: NumericProfile
    terms: TermsProfile | None
    terms_reason: str | None


FeatureProfile = NumericProfile | CategoricalProfile | TextProfile


@dataclass(frozen=True)
class Profile:
    """A parsed, validated ``reference-profile.json``."""

    model: str
    source: str
    bins: int
    features: Mapping[str, FeatureProfile]
    score: NumericProfile
    features_from: Mapping[str, Any]
    scores_from: Mapping[str, Any]


# --- building ------------------------------------------------------------------------------


def numeric_values(values: Any) -> tuple[np.ndarray, int]:
    """The finite floats of ``values`` (None, NaN, infinity and non-numbers dropped) and the
    number of values given."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # a window's column
        return values[np.isfinite(values)].astype(float), int(values.size)
    raw = list(values)
    numbers = np.array([float(v) if isinstance(v, int | float | np.number)
                        and not isinstance(v, bool) else math.nan for v in raw], dtype=float)
    return numbers[np.isfinite(numbers)], len(raw)


def categories(values: Any) -> list[str]:
    """Values as category labels: None and NaN as ``"(missing)"``, others as strings."""
    out = []
    for v in values:
        missing = v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
        out.append(MISSING if missing else str(v))
    return out


def _numeric_summary(finite: np.ndarray, count: int, *, bins: int) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "count": count,
        "missing_share": (count - finite.size) / count if count else 0.0,
        "mean": None, "std": None, "min": None, "max": None, "bins": None, "shares": None,
    }
    if finite.size:
        drawn = reference_bins(finite, bins=bins)
        summary.update({
            "mean": float(np.mean(finite)),
            "std": float(np.std(finite, ddof=1)) if finite.size > 1 else None,
            "min": float(np.min(finite)), "max": float(np.max(finite)),
            "bins": {"kind": drawn.kind, "points": list(drawn.points)},
            "shares": [float(s) for s in shares_in(drawn, finite)],
        })
    return summary


def numeric_summary(values: Any, *, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """The profile entry of a numeric variable (see the module docstring)."""
    finite, count = numeric_values(values)
    return {"kind": "numeric", **_numeric_summary(finite, count, bins=bins)}


def categorical_summary(values: Any) -> dict[str, Any]:
    """The profile entry of a categorical variable."""
    labels = categories(values)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    n = len(labels)
    return {"kind": "categorical", "count": n,
            "missing_share": counts.get(MISSING, 0) / n if n else 0.0,
            "shares": {label: c / n for label, c in sorted(counts.items())}}


def text_summary(values: Any, vectorizer: Any | None, *, bins: int = DEFAULT_BINS,
                 top: int = DEFAULT_TOP_TERMS) -> dict[str, Any]:
    """The profile entry of a text variable; ``vectorizer`` is the model's fitted one or None."""
    raw = list(values)
    lengths = np.array([float(len(v)) for v in raw if isinstance(v, str)])
    entry: dict[str, Any] = {
        "kind": "text", "count": len(raw),
        "missing_share": (len(raw) - lengths.size) / len(raw) if raw else 0.0,
        "length": _numeric_summary(lengths, len(raw), bins=bins),
        "terms": None, "terms_reason": None,
    }
    if vectorizer is None:
        entry["terms_reason"] = "the model has no fitted text vectorizer for this column"
        return entry
    params, reason = text.analyzer_params(vectorizer)
    if params is None:
        entry["terms_reason"] = f"{reason}; its terms cannot be rebuilt from settings"
        return entry
    terms = text.text_terms(raw, text.build_analyzer(params))
    if not any(terms):
        entry["terms_reason"] = "no training text has a term"
        return entry
    vocabulary = sorted(str(t) for t in vectorizer.vocabulary_)
    rates = text.oov_rates(terms, frozenset(vocabulary))
    finite = rates[np.isfinite(rates)]
    chosen, document = text.top_terms(terms, k=top)
    entry["terms"] = {
        "analyzer": params,
        "vocabulary": vocabulary,
        "oov_rate": _numeric_summary(finite, len(raw), bins=bins),
        "top_terms": chosen,
        "document_shares": [float(s) for s in document],
        "shares": [float(s) for s in text.term_shares(terms, chosen)],
        "texts": sum(1 for t in terms if t),
    }
    return entry


def build_profile(
    frame: pd.DataFrame, scores: Any, schema: Schema, *, name: str, model: Any = None,
    bins: int = DEFAULT_BINS, top_terms: int = DEFAULT_TOP_TERMS,
    features_from: Mapping[str, Any] | None = None, scores_from: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The reference profile of ``schema``'s features in ``frame`` and of ``scores``.

    Parameters
    ----------
    frame : DataFrame
        Rows holding every feature column (raw values, as requests carry them).
    scores : array-like of shape (n_scores,)
        The model's risk scores on the rows serving should resemble.
    schema : Schema
        Which columns are features and of which kind.
    name : str
        The model name, recorded in the profile.
    model : fitted estimator, optional
        Searched for each text feature's vectorizer (vocabulary and analyzer).
    bins, top_terms : int
        Quantile bins per numeric variable; top terms per text feature.
    features_from, scores_from : mapping, optional
        Where the rows came from (e.g. ``{"slice": "train", "rows": 600}``), recorded.

    Raises
    ------
    ValueError
        If a feature column is missing from ``frame``, ``scores`` is empty, or
        ``bins`` < 2.
    """
    missing = [f.name for f in schema.features if f.name not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks feature columns {', '.join(missing)}.")
    features: dict[str, Any] = {}
    for feature in schema.features:
        values = frame[feature.name].tolist()
        if feature.kind == "numeric":
            features[feature.name] = numeric_summary(values, bins=bins)
        elif feature.kind == "categorical":
            features[feature.name] = categorical_summary(values)
        else:
            vectorizer = text.find_vectorizer(model, feature.name) if model is not None else None
            features[feature.name] = text_summary(values, vectorizer, bins=bins, top=top_terms)
    score_values = np.asarray(scores, dtype=float).ravel()
    if score_values.size == 0:
        raise ValueError("scores is empty; the profile needs the model's scores.")
    return {
        "format": FORMAT, "model": name, "bins": bins, "top_terms": top_terms,
        "features_from": dict(features_from or {"rows": len(frame)}),
        "scores_from": dict(scores_from or {"rows": int(score_values.size)}),
        "features": features,
        "score": numeric_summary(score_values.tolist(), bins=bins),
    }


def dumps(profile: Mapping[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, 1-space indent, no NaN, UTF-8, final newline."""
    return (json.dumps(profile, indent=1, sort_keys=True, allow_nan=False, ensure_ascii=False)
            + "\n").encode("utf-8")


# --- reading -------------------------------------------------------------------------------


class _Bad(Exception):
    """A field breaks the format: where and how."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where} {problem}")


def read_profile(data: bytes, *, source: str) -> Profile:
    """Parse and validate a reference profile.

    Raises
    ------
    InputError
        Naming ``source``, the field and the rule, when the bytes are not
        UTF-8 JSON or any field breaks the format.
    """
    fix = "retrain the version to write a valid one."
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{source}: not a reference profile: not UTF-8 JSON "
                         f"({type(exc).__name__}: {exc}); {fix}") from None
    try:
        return _profile(document, source)
    except _Bad as exc:
        raise InputError(f"{source}: not a valid reference profile: field {exc}; {fix}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _profile(doc: Any, source: str) -> Profile:
    _object(doc, "(top level)", ("format", "model", "bins", "top_terms", "features_from",
                                 "scores_from", "features", "score"))
    if doc["format"] != FORMAT:
        raise _Bad("format", f"is {doc['format']!r}, expected {FORMAT!r}")
    model = _string(doc["model"], "model")
    bins = _integer(doc["bins"], "bins", minimum=2)
    _integer(doc["top_terms"], "top_terms", minimum=1)
    for key in ("features_from", "scores_from"):
        if not isinstance(doc[key], dict):
            raise _Bad(key, "must be an object")
    if not isinstance(doc["features"], dict):
        raise _Bad("features", "must be an object of feature name to entry")
    features: dict[str, FeatureProfile] = {}
    for name, entry in doc["features"].items():
        where = f"features.{name}"
        if not isinstance(entry, dict) or entry.get("kind") not in ("numeric", "categorical",
                                                                    "text"):
            raise _Bad(f"{where}.kind", "must be numeric, categorical or text")
        kind = entry["kind"]
        if kind == "numeric":
            _object(entry, where, ("kind", *_NUMERIC_KEYS))
            features[name] = _numeric(entry, where)
        elif kind == "categorical":
            features[name] = _categorical(entry, where)
        else:
            features[name] = _text(entry, where)
    _object(doc["score"], "score", ("kind", *_NUMERIC_KEYS))
    score = _numeric(doc["score"], "score")
    return Profile(model, source, bins, features, score, doc["features_from"],
                   doc["scores_from"])


_NUMERIC_KEYS = ("count", "missing_share", "mean", "std", "min", "max", "bins", "shares")


def _object(value: Any, where: str, keys: Sequence[str]) -> None:
    if not isinstance(value, dict):
        raise _Bad(where, "must be an object")
    missing = [k for k in keys if k not in value]
    if missing:
        prefix = "" if where == "(top level)" else f"{where}."
        raise _Bad(f"{prefix}{missing[0]}", "is missing")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad(where, "must be a non-empty string")
    return value


def _integer(value: Any, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(where, f"must be an integer of at least {minimum}, got {value!r}")
    return value


def _number(value: Any, where: str, *, nullable: bool = False, low: float | None = None,
            high: float | None = None) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(where, f"must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Bad(where, f"must be in [{low}, {high}], got {value!r}")
    return float(value)


def _shares(value: Any, where: str, *, length: int | None = None) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad(where, "must be a non-empty list of shares")
    shares = tuple(_number(v, f"{where}[{i}]", low=0.0, high=1.0) or 0.0
                   for i, v in enumerate(value))
    if length is not None and len(shares) != length:
        raise _Bad(where, f"has {len(shares)} shares, but its bins make {length}")
    if abs(math.fsum(shares) - 1.0) > SUM_TOLERANCE:
        raise _Bad(where, f"sums to {math.fsum(shares)!r}, not 1")
    return shares


def _numeric(entry: dict[str, Any], where: str) -> NumericProfile:
    count = _integer(entry["count"], f"{where}.count")
    missing = _number(entry["missing_share"], f"{where}.missing_share", low=0.0, high=1.0)
    stats = {k: _number(entry[k], f"{where}.{k}", nullable=True)
             for k in ("mean", "std", "min", "max")}
    if entry["bins"] is None:
        if entry["shares"] is not None:
            raise _Bad(f"{where}.shares", "must be null when bins is null")
        return NumericProfile(count, missing or 0.0, stats["mean"], stats["std"], stats["min"],
                              stats["max"], None, None)
    bins_entry = entry["bins"]
    _object(bins_entry, f"{where}.bins", ("kind", "points"))
    kind = bins_entry["kind"]
    if kind not in ("values", "quantiles"):
        raise _Bad(f"{where}.bins.kind", f"must be values or quantiles, got {kind!r}")
    points = bins_entry["points"]
    if not isinstance(points, list):
        raise _Bad(f"{where}.bins.points", "must be a list of numbers")
    floats = tuple(_number(p, f"{where}.bins.points[{i}]") or 0.0 for i, p in enumerate(points))
    if any(b <= a for a, b in itertools.pairwise(floats)):
        raise _Bad(f"{where}.bins.points", "must be strictly increasing")
    if kind == "values" and not floats:
        raise _Bad(f"{where}.bins.points", "must hold at least one value")
    bins = Bins(kind, floats)
    shares = _shares(entry["shares"], f"{where}.shares", length=bins.count)
    return NumericProfile(count, missing or 0.0, stats["mean"], stats["std"], stats["min"],
                          stats["max"], bins, shares)


def _categorical(entry: dict[str, Any], where: str) -> CategoricalProfile:
    _object(entry, where, ("kind", "count", "missing_share", "shares"))
    count = _integer(entry["count"], f"{where}.count")
    missing = _number(entry["missing_share"], f"{where}.missing_share", low=0.0, high=1.0)
    shares = entry["shares"]
    if not isinstance(shares, dict) or not shares:
        raise _Bad(f"{where}.shares", "must be a non-empty object of category to share")
    values = {str(k): _number(v, f"{where}.shares.{k}", low=0.0, high=1.0) or 0.0
              for k, v in shares.items()}
    _shares(list(values.values()), f"{where}.shares")
    return CategoricalProfile(count, missing or 0.0, values)


def _text(entry: dict[str, Any], where: str) -> TextProfile:
    _object(entry, where, ("kind", "count", "missing_share", "length", "terms", "terms_reason"))
    count = _integer(entry["count"], f"{where}.count")
    missing = _number(entry["missing_share"], f"{where}.missing_share", low=0.0, high=1.0)
    _object(entry["length"], f"{where}.length", _NUMERIC_KEYS)
    length = _numeric(entry["length"], f"{where}.length")
    terms = entry["terms"]
    reason = entry["terms_reason"]
    if terms is None:
        return TextProfile(count, missing or 0.0, length, None,
                           _string(reason, f"{where}.terms_reason"))
    at = f"{where}.terms"
    _object(terms, at, ("analyzer", "vocabulary", "oov_rate", "top_terms", "document_shares",
                        "shares", "texts"))
    try:
        text.build_analyzer(terms["analyzer"])
    except ValueError as exc:
        raise _Bad(f"{at}.analyzer", str(exc)) from None
    vocabulary = terms["vocabulary"]
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise _Bad(f"{at}.vocabulary", "must be a list of terms")
    top = terms["top_terms"]
    if (not isinstance(top, list) or not top or not all(isinstance(t, str) for t in top)
            or len(set(top)) != len(top) or text.OTHER in top):
        raise _Bad(f"{at}.top_terms", "must be a non-empty list of distinct terms")
    document = terms["document_shares"]
    if not isinstance(document, list) or len(document) != len(top):
        raise _Bad(f"{at}.document_shares", "must hold one share per top term")
    document_shares = tuple(_number(v, f"{at}.document_shares[{i}]", low=0.0, high=1.0) or 0.0
                            for i, v in enumerate(document))
    shares = _shares(terms["shares"], f"{at}.shares", length=len(top) + 1)
    _object(terms["oov_rate"], f"{at}.oov_rate", _NUMERIC_KEYS)
    oov = _numeric(terms["oov_rate"], f"{at}.oov_rate")
    texts = _integer(terms["texts"], f"{at}.texts", minimum=1)
    profile = TermsProfile(dict(terms["analyzer"]), frozenset(vocabulary), oov, tuple(top),
                           document_shares, shares, texts)
    return TextProfile(count, missing or 0.0, length, profile, None)

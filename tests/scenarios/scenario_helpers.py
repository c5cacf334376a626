"""Checks shared by the tabular reference scenario tests (fraud, shortfall, compliance).

Imported as a plain module (``from scenario_helpers import ...``); every
scenario test file runs the same contract with its own numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from riskops.scenarios.base import Drift, Scenario, Schema
from riskops.scenarios.tabular import TENANT_NAMES

START = date(2024, 1, 1)
DAYS = 120
#: Day 84 of 120: about 70% of the rows come before it.
DRIFT_START = date(2024, 3, 25)


def generate(scenario: Scenario, rows: int, *, seed: int = 0, drift: Drift | None = None,
             tenants: int = 3) -> pd.DataFrame:
    return scenario.generate(rows, start=START, days=DAYS, seed=seed, drift=drift,
                             tenants=tenants)


def after(frame: pd.DataFrame, day: date = DRIFT_START) -> np.ndarray:
    return (frame["timestamp"] >= pd.Timestamp(day, tz="UTC")).to_numpy()


def positive_rate(scenario: Scenario, frame: pd.DataFrame) -> float:
    return float(scenario.binary_target(frame["label"]).mean())


def psi(reference: np.ndarray, current: np.ndarray, *, n_bins: int = 10,
        eps: float = 1e-4) -> float:
    """Population stability index with quantile bins of ``reference``."""
    reference, current = np.asarray(reference, float), np.asarray(current, float)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)))[1:-1]

    def shares(values: np.ndarray) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, values, side="right"),
                             minlength=len(edges) + 1)
        return np.maximum(counts / counts.sum(), eps)

    ref, cur = shares(reference), shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def category_psi(reference: pd.Series, current: pd.Series, *, eps: float = 1e-4) -> float:
    """Population stability index over the categories seen in either sample."""
    ref = reference.value_counts(normalize=True)
    cur = current.value_counts(normalize=True)
    index = ref.index.union(cur.index)
    r = np.maximum(ref.reindex(index, fill_value=0).to_numpy(), eps)
    c = np.maximum(cur.reindex(index, fill_value=0).to_numpy(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def feature_dicts(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """Feature dicts of in-range values; any key may be missing or None."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for feature in schema.features:
        if feature.kind == "categorical":
            assert feature.categories is not None
            value: st.SearchStrategy[Any] = st.sampled_from(feature.categories)
        else:
            lo, hi = feature.minimum, feature.maximum
            value = st.one_of(st.floats(lo, hi, allow_nan=False),
                              st.integers(int(np.ceil(lo or 0)), int(hi or 1000)))
        optional[feature.name] = st.one_of(st.none(), value)
    return st.fixed_dictionaries({}, optional=optional)


def fit(scenario: Scenario, frame: pd.DataFrame, *, seed: int = 0) -> Any:
    """The scenario's model fitted on ``frame``.

    One OpenMP thread: on a busy two-core machine, gradient boosting with
    more threads than free cores can run tens of times slower.
    """
    model = scenario.build_model(seed=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.fit(frame[scenario.schema.feature_names], frame["label"])


def model_auc(scenario: Scenario, model: Any, frame: pd.DataFrame) -> float:
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = scenario.risk_scores(model, frame)
    return float(roc_auc_score(scenario.binary_target(frame["label"]), scores))


def heuristic_auc(scenario: Scenario, frame: pd.DataFrame) -> float:
    rows = frame[scenario.schema.feature_names].to_dict("records")
    scores = [scenario.heuristic(row).score for row in rows]
    return float(roc_auc_score(scenario.binary_target(frame["label"]), scores))


@dataclass
class Trained:
    """A model fitted on the rows before ``DRIFT_START`` of a drift-free frame."""

    plain: pd.DataFrame  # 20k rows, no drift
    concept: pd.DataFrame  # same seed, concept drift from DRIFT_START
    model: Any


def train_before_drift(scenario: Scenario, rows: int = 20_000) -> Trained:
    plain = generate(scenario, rows)
    concept = generate(scenario, rows, drift=Drift("concept", DRIFT_START))
    return Trained(plain, concept, fit(scenario, plain[~after(plain)]))


# -- the contract every tabular reference scenario meets ---------------------------------


def check_deterministic(scenario: Scenario) -> None:
    first = generate(scenario, 2_000, seed=11)
    pd.testing.assert_frame_equal(first, generate(scenario, 2_000, seed=11))
    other = generate(scenario, 2_000, seed=12)
    for name in scenario.schema.feature_names:
        assert not first[name].equals(other[name]), name


def check_layout(scenario: Scenario, *, rows: int = 5_000, tenants: int = 4,
                 segments: tuple[str, ...] = ("industry", "region", "size_band")) -> None:
    schema = scenario.schema
    frame = generate(scenario, rows, tenants=tenants)
    assert list(frame.columns) == [
        "id", "timestamp", "tenant_id", *segments, schema.sensitive,
        *schema.feature_names, "label",
    ]
    assert schema.segments == segments
    assert schema.sensitive not in schema.feature_names
    assert len(frame) == rows
    assert frame["id"].is_unique
    stamps = frame["timestamp"]
    assert str(stamps.dtype).startswith("datetime64") and str(stamps.dt.tz) == "UTC"
    assert stamps.is_monotonic_increasing
    assert stamps.min() >= pd.Timestamp(START, tz="UTC")
    assert stamps.max() < pd.Timestamp(START + timedelta(days=DAYS), tz="UTC")
    assert sorted(frame["tenant_id"].unique()) == sorted(TENANT_NAMES[:tenants])
    assert set(frame["label"].unique()) == {"0", "1"}
    assert pd.api.types.is_string_dtype(frame["label"])
    assert not frame.isna().any().any()
    for feature in schema.features:
        values = frame[feature.name]
        if feature.kind == "categorical":
            assert feature.categories is not None
            assert set(values.unique()) <= set(feature.categories), feature.name
        else:
            assert pd.api.types.is_numeric_dtype(values), feature.name
            assert values.min() >= feature.minimum, feature.name
            assert values.max() <= feature.maximum, feature.name
            assert values.nunique() > 1, feature.name


def check_fast(scenario: Scenario, *, rows: int = 200_000, seconds: float = 5.0) -> None:
    began = time.perf_counter()
    frame = generate(scenario, rows, drift=Drift("covariate", DRIFT_START))
    assert len(frame) == rows
    assert time.perf_counter() - began < seconds


def check_covariate(scenario: Scenario, features: tuple[str, ...]) -> None:
    """``features`` shift (PSI > 0.25 before vs after); without drift they do not."""
    named = () if features == default_covariates(scenario) else features
    drifted = generate(scenario, 20_000, drift=Drift("covariate", DRIFT_START, named))
    plain = generate(scenario, 20_000)
    late = after(drifted)
    for name in features:
        categorical = scenario.schema.feature(name).kind == "categorical"
        measure: Any = category_psi if categorical else psi
        shifted = measure(drifted[name][~late], drifted[name][late])
        steady = measure(plain[name][~late], plain[name][late])
        assert shifted > 0.25, (name, shifted)
        assert steady < 0.05, (name, steady)
    pd.testing.assert_frame_equal(drifted[~late], plain[~late])


def default_covariates(scenario: Scenario) -> tuple[str, ...]:
    import importlib

    module = importlib.import_module(type(scenario).__module__)
    return tuple(module.COVARIATE_DEFAULT)


def check_prior(scenario: Scenario) -> tuple[float, float]:
    """The positive rate after the drift start roughly doubles; returns (before, after)."""
    drifted = generate(scenario, 50_000, drift=Drift("prior", DRIFT_START))
    plain = generate(scenario, 50_000)
    late = after(plain)
    base = positive_rate(scenario, plain[late])
    raised = positive_rate(scenario, drifted[late])
    assert 1.6 < raised / base < 2.5, (base, raised)
    pd.testing.assert_frame_equal(drifted[~late], plain[~late])
    half = generate(scenario, 50_000, drift=Drift("prior", DRIFT_START, magnitude=0.5))
    assert base < positive_rate(scenario, half[late]) < raised
    return base, raised


def check_concept(scenario: Scenario, trained: Trained, *, min_loss: float) -> None:
    """A model trained before the drift loses AUC after it; the base rate holds."""
    late = after(trained.plain)
    pd.testing.assert_frame_equal(trained.concept[~late], trained.plain[~late])
    features = scenario.schema.feature_names
    pd.testing.assert_frame_equal(trained.concept[late][features],
                                  trained.plain[late][features])
    steady = model_auc(scenario, trained.model, trained.plain[late])
    drifted = model_auc(scenario, trained.model, trained.concept[late])
    assert drifted < steady - min_loss, (steady, drifted)
    base = positive_rate(scenario, trained.plain[late])
    assert abs(positive_rate(scenario, trained.concept[late]) - base) < 0.25 * base


def check_model_beats_heuristic(scenario: Scenario, trained: Trained, *, min_auc: float,
                                margin: float) -> tuple[float, float]:
    """On the later time slice: model AUC > ``min_auc``, > heuristic + margin > constant."""
    late = trained.plain[after(trained.plain)]
    y = scenario.binary_target(late["label"])
    model = model_auc(scenario, trained.model, late)
    rules = heuristic_auc(scenario, late)
    constant = float(roc_auc_score(y, np.zeros(len(y))))
    assert model > min_auc, model
    assert model > rules + margin, (model, rules)
    assert rules > constant, (rules, constant)
    return model, rules


def check_heuristic_bounds(scenario: Scenario, features: dict[str, Any]) -> None:
    result = scenario.heuristic(features)
    assert 0.0 <= result.score <= 1.0
    assert result.label == ("1" if result.score >= scenario.default_threshold else "0")
    assert all(isinstance(r, str) and r for r in result.reasons)
    assert scenario.heuristic(dict(features)) == result

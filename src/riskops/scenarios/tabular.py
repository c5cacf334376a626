"""Building blocks shared by the tabular scenarios: row skeletons, drift masks,
and the calibrated gradient-boosting model family."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from riskops.errors import InputError
from riskops.scenarios.base import Drift, Schema

TENANT_NAMES = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")


def skeleton(
    rng: np.random.Generator, rows: int, *, prefix: str, start: date, days: int, tenants: int,
    seed: int, day_weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """``id``, ``timestamp`` (UTC, sorted, spread over ``days``) and ``tenant_id`` columns.

    Tenants get unequal shares (the first is the largest), as in real books.
    Timestamps are uniform over the days, or drawn per day in proportion to
    ``day_weights`` (one non-negative weight per day) when given.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 1 <= tenants <= len(TENANT_NAMES):
        raise ValueError(f"tenants must be between 1 and {len(TENANT_NAMES)}, got {tenants}")
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    if day_weights is None:
        seconds = np.sort(rng.uniform(0, days * 86_400, rows))
    else:
        p = np.asarray(day_weights, dtype=float)
        day = rng.choice(days, size=rows, p=p / p.sum())
        seconds = np.sort(day * 86_400 + rng.uniform(0, 86_400, rows))
    weights = np.arange(tenants, 0, -1, dtype=float)
    tenant = rng.choice(np.array(TENANT_NAMES[:tenants]), size=rows, p=weights / weights.sum())
    return pd.DataFrame({
        "id": [f"{prefix}-{seed}-{i:08d}" for i in range(rows)],
        "timestamp": pd.to_datetime(origin) + pd.to_timedelta(seconds, unit="s"),
        "tenant_id": tenant,
    })


def drift_mask(frame: pd.DataFrame, drift: Drift | None,
               columns: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """True for rows at or after the drift start (all False without drift), and of the
    drift's segment value when it names one (``columns`` holds the segment columns).

    Raises
    ------
    InputError
        When no generated row has the drift's segment value (naming the values there are).
    """
    if drift is None:
        return np.zeros(len(frame), dtype=bool)
    cutoff = pd.Timestamp(datetime(drift.start.year, drift.start.month, drift.start.day,
                                   tzinfo=UTC))
    mask = (frame["timestamp"] >= cutoff).to_numpy()
    if drift.segment is None:
        return mask
    column, value = drift.segment
    if columns is None or column not in columns:
        raise InputError(f"--drift-segment {column}={value}: this scenario cannot limit drift "
                         "to a segment; drop --drift-segment.")
    values = np.asarray(columns[column])
    inside = values == value
    if not inside.any():
        raise InputError(f"--drift-segment {column}={value}: no generated row has {column} "
                         f"{value!r}; its values are {', '.join(sorted(set(values.tolist())))}.")
    return mask & inside


def pick(rng: np.random.Generator, values: tuple[str, ...], weights: tuple[float, ...],
         size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(np.array(values), size=size, p=p / p.sum())


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrated_gradient_boosting(
    schema: Schema, *, seed: int, max_iter: int = 150, learning_rate: float = 0.08,
) -> Any:
    """Pipeline: one-hot categoricals + raw numerics -> histogram gradient boosting
    (``max_iter`` trees, ``learning_rate``), calibrated with isotonic regression over
    3 time-agnostic folds.

    Deterministic for a given ``seed`` and data (folds are not shuffled).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    transformers: list[tuple[str, Any, list[str]]] = []
    if schema.columns("numeric"):
        transformers.append(("numeric", "passthrough", schema.columns("numeric")))
    if schema.columns("categorical"):
        transformers.append((
            "categorical",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
            schema.columns("categorical"),
        ))
    booster = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=31, l2_regularization=1.0,
        early_stopping=False, random_state=seed,
    )
    return Pipeline([
        ("features", ColumnTransformer(transformers, remainder="drop")),
        ("classifier", CalibratedClassifierCV(booster, method="isotonic", cv=3)),
    ])


def days_between(start: date, end: date) -> int:
    return (end - start) // timedelta(days=1)

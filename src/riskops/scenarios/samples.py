"""Rows made from a scenario's schema alone, for scenarios that have no generator.

A custom scenario is a definition, not code: it cannot generate data. Its
model is still warmed up before it takes traffic, and a model brought from
elsewhere is checked before it is registered; both score these rows.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import pandas as pd

from riskops.scenarios.base import Feature, Schema

#: Words the sample rows of a text feature are made of.
_SAMPLE_WORDS = ("account", "payment", "review", "late", "urgent", "customer", "error",
                 "service", "request", "approved", "failed", "report")


def sample_rows(schema: Schema, rows: int, *, seed: int = 7) -> pd.DataFrame:
    """``rows`` rows of ``schema``'s features made from the definition alone.

    Used to warm up a custom model and to check a model brought from elsewhere
    before it is registered. Numbers lie within the feature's declared bounds
    (0 to 100 where none are declared; whole numbers for integer features),
    categories are the declared ones (``a``, ``b``, ``c`` where none are), text
    is a few plain words. Segment columns get one value.
    """
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for feature in schema.features:
        if feature.kind == "numeric":
            low, high = _sample_range(feature)
            values = rng.uniform(low, high, rows)
            columns[feature.name] = np.round(values) if feature.integer \
                else np.round(values, 3)
        elif feature.kind == "categorical":
            choices = feature.categories or tuple(string.ascii_lowercase[:3])
            columns[feature.name] = [choices[i % len(choices)] for i in range(rows)]
        else:
            columns[feature.name] = [" ".join(rng.choice(_SAMPLE_WORDS, size=6))
                                     for _ in range(rows)]
    frame = pd.DataFrame(columns)
    for name in schema.segments:
        if name not in frame:
            frame[name] = "sample"
    return frame


def _sample_range(feature: Feature) -> tuple[float, float]:
    """Where a numeric feature's sample values lie: its bounds, else its plausible range,
    else 0 to 100 (an open side is 100 wide)."""
    low = next((v for v in (feature.lower_bound, feature.minimum)
                if v is not None), None)
    high = next((v for v in (feature.upper_bound, feature.maximum)
                 if v is not None), None)
    if low is None and high is None:
        return 0.0, 100.0
    if low is None:
        return float(high) - 100.0, float(high)
    if high is None:
        return float(low), float(low) + 100.0
    return float(low), float(high)

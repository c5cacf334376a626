"""Files for ``monitor compare`` tests: a reference year and a monthly current year.

The score is a known logistic model of the covariates and each label is drawn
from it, so the scores are calibrated and CBPE should track the realised
performance; from ``shift_from`` (a month number) on, ``income``, ``debt`` and
``region`` shift while ``age``, ``tenure`` and ``channel`` stay put.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SHIFTED = ("income", "debt", "region")
STABLE = ("age", "tenure", "channel")
REGIONS = np.array(["north", "south", "east", "west"])


def credit_frame(rows_per_month: int, *, start: str, months: int = 12,
                 shift_from: int | None = None, seed: int = 0) -> pd.DataFrame:
    """``rows_per_month`` rows in each of ``months`` months from ``start``."""
    rng = np.random.default_rng(seed)
    month = np.repeat(np.arange(months), rows_per_month)
    rows = month.size
    first = pd.Timestamp(start)
    month_starts = np.array([first + pd.DateOffset(months=int(m)) for m in range(months + 1)],
                            dtype="datetime64[s]")
    spans = (month_starts[1:] - month_starts[:-1]).astype(np.int64)
    seconds = (rng.uniform(0, 1, rows) * spans[month]).astype(np.int64)
    ts = month_starts[month] + seconds.astype("timedelta64[s]")
    shifted = month >= shift_from if shift_from is not None else np.zeros(rows, dtype=bool)
    income = rng.lognormal(10, 0.5, rows) * np.where(shifted, 1.6, 1.0)
    age = rng.normal(40, 10, rows).round()
    debt = rng.gamma(2.0, 0.2, rows) + np.where(shifted, 0.3, 0.0)
    tenure = rng.integers(0, 20, rows).astype(float)
    region = np.where(shifted, rng.choice(REGIONS, rows, p=[.6, .2, .1, .1]),
                      rng.choice(REGIONS, rows))
    channel = rng.choice(np.array(["web", "branch", "phone"]), rows, p=[.5, .3, .2])
    z = (-1.0 + 1.5 * (debt - 0.4) / 0.3 - 0.8 * (np.log(income) - 10) / 0.5
         - 0.03 * (age - 40) + 0.4 * (channel == "web"))
    score = 1 / (1 + np.exp(-z))
    label = (rng.uniform(size=rows) < score).astype(int)
    return pd.DataFrame({
        "id": [f"row-{seed}-{i}" for i in range(rows)], "ts": ts, "income": income,
        "age": age, "debt": debt, "tenure": tenure, "region": region, "channel": channel,
        "score": score, "default": label,
    })


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV (times in ISO 8601 with ``Z``) or Parquet, by suffix."""
    if path.suffix == ".csv":
        frame = frame.copy()
        for name in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[name]):
                frame[name] = frame[name].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path

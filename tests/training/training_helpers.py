"""A small tabular scenario for the training tests, independent of the reference ones.

``toy``: risk rises with ``amount`` and ``velocity`` and on the ``web``
channel; about 20% positives. Segment ``region``, sensitive ``age_band``.
Registered under the name "toy" for ``get_scenario`` by ``use_toy_scenario``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskops.scenarios.base import Drift, Feature, HeuristicResult, Scenario, Schema
from riskops.scenarios.tabular import calibrated_gradient_boosting, sigmoid, skeleton

SCHEMA = Schema(
    features=(
        Feature("amount", "numeric", "Amount.", 0.0, 10_000.0),
        Feature("velocity", "numeric", "Events in the last day.", 0, 50),
        Feature("channel", "categorical", "Channel.", categories=("web", "pos", "app")),
    ),
    labels=("0", "1"),
    segments=("region",),
    sensitive="age_band",
)


class ToyScenario(Scenario):
    name = "toy"
    description = "A small test scenario."
    schema = SCHEMA

    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 2,
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        frame = skeleton(rng, rows, prefix="toy", start=start, days=days, tenants=tenants,
                         seed=seed)
        n = len(frame)
        frame["region"] = rng.choice(np.array(["north", "south"]), size=n, p=[0.7, 0.3])
        frame["age_band"] = rng.choice(np.array(["young", "old"]), size=n)
        frame["amount"] = np.round(rng.lognormal(4.0, 1.0, n), 2)
        frame["velocity"] = rng.poisson(2.0, n).astype(np.int64)
        frame["channel"] = rng.choice(np.array(["web", "pos", "app"]), size=n)
        logit = (-3.2 + 0.9 * (np.log(frame["amount"]) - 4.0) + 0.45 * frame["velocity"]
                 + 1.0 * (frame["channel"] == "web"))
        frame["label"] = np.where(rng.random(n) < sigmoid(logit.to_numpy()), "1", "0")
        return frame

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        score = 0.6 if float(features.get("amount") or 0) > 500 else 0.1
        return HeuristicResult(score, self.label_for(score, 0.5), ())

    def build_model(self, *, seed: int) -> Any:
        return calibrated_gradient_boosting(self.schema, seed=seed)


def toy_frame(rows: int = 1500, *, seed: int = 0, days: int = 60) -> pd.DataFrame:
    return ToyScenario().generate(rows, start=date(2024, 1, 1), days=days, seed=seed)


def write_toy(path: Path, rows: int = 1500, *, seed: int = 0) -> Path:
    """Toy data written as CSV or Parquet, by suffix."""
    frame = toy_frame(rows, seed=seed)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def use_toy_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``get_scenario("toy")`` return ``ToyScenario``."""
    import riskops.scenarios as scenarios

    monkeypatch.setitem(scenarios.REFERENCE, "toy", "training_helpers:ToyScenario")

"""Canary and production side by side, from the inference log: for ``/risk/insights``.

For each scenario with a live canary: per route and version, the requests of
the window, the distribution of the latest scores, the override rate of the
reviewed ones and, where outcomes arrived, the realised ROC AUC and Brier
score. Enough to decide whether the canary may become production (which is a
normal gated promotion).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from riskops.scenarios.base import Scenario
from riskops.serving.pool import Snapshot
from riskops.storage.feedback import StageSample, stage_samples

SCORE_SAMPLE = 10_000


def stages_side_by_side(database_url: str, snapshot: Snapshot, scenarios: dict[str, Scenario],
                        *, now: datetime, window_days: int = 7) -> list[dict[str, Any]]:
    """One entry per scenario with a live canary: ``production`` and ``canary`` lists (one
    item per version that answered on that route in the window)."""
    since = now - timedelta(days=window_days)
    entries = []
    for name, slot in sorted(snapshot.slots.items()):
        if slot.canary is None or name not in scenarios:
            continue
        samples = stage_samples(database_url, scenario=name, since=since, until=now,
                                limit=SCORE_SAMPLE)
        entry: dict[str, Any] = {
            "scenario": name, "window_days": window_days, "canary_percent": slot.canary_percent,
            "live": {"production": slot.production.version if slot.production else None,
                     "canary": slot.canary.version},
            "production": [], "canary": []}
        for sample in samples:
            entry[sample.route].append(stage_summary(sample, scenarios[name]))
        entries.append(entry)
    return entries


def stage_summary(sample: StageSample, scenario: Scenario) -> dict[str, Any]:
    """Requests, score quantiles, override rate and realised performance of one sample."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    scores = np.asarray(sample.scores, dtype=np.float64)
    distribution = None
    if scores.size:
        p10, p50, p90 = np.quantile(scores, [0.1, 0.5, 0.9])
        distribution = {"n": int(scores.size), "mean": float(scores.mean()), "p10": float(p10),
                        "p50": float(p50), "p90": float(p90)}
    performance: dict[str, Any] = {"outcomes": len(sample.outcomes), "roc_auc": None,
                                   "brier": None}
    if sample.outcomes:
        observed = np.array([s for s, _ in sample.outcomes], dtype=np.float64)
        truth = scenario.binary_target([label for _, label in sample.outcomes])
        performance["brier"] = float(brier_score_loss(truth, observed))
        if len(set(truth.tolist())) == 2:
            performance["roc_auc"] = float(roc_auc_score(truth, observed))
    return {"version": sample.version, "requests": sample.requests, "scores": distribution,
            "feedback": sample.feedback, "overrides": sample.overrides,
            "override_rate": sample.overrides / sample.feedback if sample.feedback else None,
            **performance}

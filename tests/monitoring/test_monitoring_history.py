"""Every monitoring run leaves its charted numbers in ``monitoring_points``: the same
values as the run's own results, one series point per run, in window order."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from monitoring_helpers import NOW, generated, insert_outcomes, insert_predictions, prediction_rows

from riskops.config import Workspace
from riskops.monitoring.history import history_points
from riskops.monitoring.job import run_model_monitoring
from riskops.storage.monitoring_points import monitored_models, read_series


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest) -> Workspace:
    return request.getfixturevalue("workspace" if request.param == "sqlite" else "pg_workspace")


def test_each_run_appends_the_numbers_it_found(ws: Workspace) -> None:
    frame = generated(rows=4000, seed=7, drift_features=("amount",))
    rows = prediction_rows(frame)
    insert_predictions(ws, rows)
    y = (frame["label"].astype(str) == "1").to_numpy()
    insert_outcomes(ws, {r["id"]: str(int(label)) for r, label in zip(rows, y, strict=True)})
    earlier, later = NOW - timedelta(days=3), NOW
    first = run_model_monitoring(ws, {"now": earlier.isoformat()})
    second = run_model_monitoring(ws, {"now": later.isoformat()})

    assert monitored_models(ws.database_url) == ["fraud"]
    series = read_series(ws.database_url, "fraud")
    assert [p["window_end"] for p in series] == sorted(p["window_end"] for p in series)
    for summary, end in ((first, earlier), (second, later)):
        expected = {(r["feature"], "psi"): (r["psi"], r["drift"])
                    for r in summary["results"] if r["check"] == "data_drift"
                    and r["status"] == "checked" and not r.get("segment")}
        stored = {(p["feature"], p["metric"]): (p["value"], p["breach"]) for p in series
                  if p["window_end"] == end.isoformat() and p["check"] == "data_drift"
                  and p["metric"] == "psi"}
        assert stored.keys() == expected.keys() and expected
        for key, (value, breach) in expected.items():
            assert stored[key][0] == pytest.approx(value, rel=1e-12) and stored[key][1] == breach
    amount = [p for p in series if p["feature"] == "amount" and p["metric"] == "psi"]
    assert len(amount) == 2 and amount[-1]["breach"]  # the drifted feature, breaching now
    brier = [p for p in series if p["metric"] == "brier"]
    assert len(brier) == 2
    labelled = next(r for r in second["results"] if r["check"] == "performance")
    assert brier[-1]["value"] == pytest.approx(labelled["metrics"]["brier"], rel=1e-12)


def test_skipped_segment_and_non_finite_results_are_handled() -> None:
    results = [
        {"check": "data_drift", "status": "skipped", "tenantId": "t", "modelId": "m",
         "feature": "a"},
        {"check": "prediction_drift", "status": "checked", "segment": "region=emea",
         "tenantId": "t", "modelId": "m", "feature": "score", "psi": 0.3, "drift": True},
        {"check": "data_drift", "status": "checked", "tenantId": "t", "modelId": "m",
         "feature": "c", "psi": 0.05, "drift": False, "z_score": math.inf,
         "z_score_alert": True},
        {"check": "performance", "status": "checked", "tenantId": "t", "modelId": "m",
         "mode": "estimated", "metrics": {"roc_auc": np.float64(0.7), "brier": float("nan")},
         "degraded": [{"metric": "estimated_roc_auc"}]},
        {"check": "training_skew", "status": "checked", "tenantId": "t", "modelId": "m",
         "feature": "score", "psi": 0.9, "drift": True},
    ]
    points = history_points(results)
    assert [(p["feature"], p["metric"], p["value"], p["breach"]) for p in points] == [
        ("c", "psi", 0.05, False), ("c", "z_score", None, True),
        ("", "estimated_brier", None, False), ("", "estimated_roc_auc", 0.7, True)]
    assert history_points([]) == []

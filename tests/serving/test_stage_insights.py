"""/risk/insights puts canary and production side by side, computed from the inference log."""

from __future__ import annotations

import numpy as np
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    client,
    example_row,
    served_template,
    served_ws,
    tokens,
)
from sklearn.metrics import brier_score_loss, roc_auc_score
from sqlalchemy import select

from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import PredictionRow


def test_canary_and_production_side_by_side(client, tokens, served_ws):
    no_canary = client.get("/risk/insights", headers=auth(tokens["reviewer"])).json()
    assert no_canary["canary"] == []
    Registry(served_ws).promote("fraud", 2, stage="canary", percent=50, actor="local:t")
    assert client.app.state.serving.pool.refresh()
    ids = []
    for i in range(120):
        body = client.post("/risk/fraud", json=example_row("fraud", seed=i),
                           headers=auth(tokens["scorer"], **{"X-Request-Key": f"k{i}"})).json()
        ids.append(body["prediction_id"])
    # Reviewers override two answers; outcomes arrive for every prediction.
    for pid in ids[:2]:
        assert client.post("/feedback", json={"prediction_id": pid, "label": "1",
                                              "override": True},
                           headers=auth(tokens["reviewer"])).status_code == 200
    outcomes = [{"prediction_id": pid, "label": "1" if i % 3 == 0 else "0"}
                for i, pid in enumerate(ids)]
    assert client.post("/outcomes", json={"outcomes": outcomes},
                       headers=auth(tokens["reviewer"])).status_code == 200

    insights = client.get("/risk/insights", headers=auth(tokens["reviewer"])).json()
    (entry,) = insights["canary"]
    assert entry["scenario"] == "fraud" and entry["canary_percent"] == 50
    assert entry["live"] == {"production": 1, "canary": 2}
    with db.read_session(served_ws.database_url) as session:
        logged = session.execute(select(PredictionRow.id, PredictionRow.route,
                                        PredictionRow.score)
                                 .where(PredictionRow.id.in_(ids))).all()
    labels = {o["prediction_id"]: int(o["label"]) for o in outcomes}
    overridden = set(ids[:2])
    for route, version in (("production", 1), ("canary", 2)):
        (summary,) = entry[route]
        mine = [(pid, score) for pid, r, score in logged if r == route]
        scores = np.array([s for _, s in mine])
        truth = np.array([labels[pid] for pid, _ in mine])
        assert summary["version"] == version and summary["requests"] == len(mine) > 10
        assert summary["scores"]["n"] == len(mine)
        assert np.isclose(summary["scores"]["mean"], scores.mean())
        assert np.isclose(summary["scores"]["p50"], np.quantile(scores, 0.5))
        assert summary["outcomes"] == len(mine)
        assert np.isclose(summary["brier"], brier_score_loss(truth, scores))
        assert np.isclose(summary["roc_auc"], roc_auc_score(truth, scores))
        reviewed = sum(pid in overridden for pid, _ in mine)
        assert summary["feedback"] == summary["overrides"] == reviewed
        assert summary["override_rate"] == (1.0 if reviewed else None)

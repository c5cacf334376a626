"""The error-budget gauge and insights read the shared inference log, not a process's counts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    example_row,
    served_template,
    served_ws,
    tokens,
)

from riskops.serving.app import create_app


def _break(client: TestClient) -> None:
    served = client.app.state.serving.pool.snapshot.slots["fraud"].production

    class Broken:
        classes_ = served.loaded.estimator.classes_

        def predict_proba(self, frame):
            raise RuntimeError("boom")

        def scores(self, rows):
            raise RuntimeError("boom")

    object.__setattr__(served.loaded, "estimator", Broken())
    object.__setattr__(served, "fast", Broken())  # the fast path fails too


def test_two_servers_export_the_budget_of_every_request_either_served(served_ws, tokens):
    with TestClient(create_app(served_ws)) as a, TestClient(create_app(served_ws)) as b:
        _break(a)
        failed = a.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
        assert failed.json()["risk_score_method"] == "heuristic"
        rows = [example_row("fraud", index=i) for i in range(199)]
        ok = b.post("/risk/fraud", json=rows, headers=auth(tokens["scorer"]))
        assert ok.status_code == 200, ok.text
        assert {r["risk_score_method"] for r in ok.json()["items"]} == {"ml"}
        # 1 failure in 200 model-routed predictions of a 99% objective: half the budget,
        # whichever server is asked (b never saw the failure itself).
        for client in (b, a):
            text = client.get("/metrics").text
            assert 'ml_inference_error_budget_remaining{scenario="fraud"} 0.5' in text
        insights = b.get("/risk/insights", headers=auth(tokens["risk_lead"])).json()
        assert insights["error_budget_remaining"]["fraud"] == pytest.approx(0.5)
        [fraud] = [s for s in insights["slo"] if s["scenario"] == "fraud"]
        assert fraud["objectives"]["availability"]["requests"] == 200
        assert fraud["objectives"]["availability"]["bad"] == 1

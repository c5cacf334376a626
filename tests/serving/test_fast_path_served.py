"""The served answers with the fast path are the estimator's, and /ready says which path
scores each live version."""

from __future__ import annotations

import pandas as pd
from fastapi.testclient import TestClient
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    client,
    example_row,
    served_template,
    served_ws,
    tokens,
)

from riskops.config import Workspace, open_workspace
from riskops.registry.loader import load_model
from riskops.registry.manifest import read_verified_manifest
from riskops.scenarios import get_scenario


def _scores(client: TestClient, token: str, scenario: str, rows: list[dict]) -> list[float]:
    r = client.post(f"/risk/{scenario}", json=rows, headers=auth(token))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert all(i["risk_score_method"] == "ml" for i in items)
    return [i["risk_score"] for i in items]


def test_ready_names_the_scoring_path_of_each_live_version(client, tokens):
    models = client.get("/ready").json()["models"]
    for name in ("fraud", "shortfall", "compliance", "deal"):
        assert models[name]["scoring"] == {"1": {"path": "fast"}}
    assert models["incident"]["scoring"] == {"1": {
        "path": "estimator", "why": "no fast path: scenario 'incident' scores its own way"}}
    assert 'ml_model_fast_path{model="fraud",version="1"} 1.0' in client.get("/metrics").text


def test_served_scores_are_the_signed_estimators_to_the_last_bit(client, tokens, served_ws):
    verified = read_verified_manifest(served_ws.manifest_path, served_ws.signature_path,
                                      served_ws.public_key_path)
    for name in ("fraud", "deal"):
        rows = [example_row(name, index=i) for i in range(12)]
        model = load_model(verified, name, 1).estimator
        frame = pd.DataFrame.from_records(rows, columns=get_scenario(name).schema.feature_names)
        expected = get_scenario(name).risk_scores(model, frame).tolist()
        assert _scores(client, tokens["scorer"], name, rows) == expected
        assert [_scores(client, tokens["scorer"], name, [row])[0] for row in rows[:3]] \
            == expected[:3]


def test_fast_path_off_serves_the_estimator_with_the_same_scores(client, tokens,
                                                                 served_ws: Workspace):
    from riskops.serving.app import create_app

    rows = [example_row("fraud", index=i) for i in range(8)]
    fast = _scores(client, tokens["scorer"], "fraud", rows)
    served_ws.config_path.write_text(served_ws.config_path.read_text()
                                     + "\n[serving]\nfast_path = false\n")
    with TestClient(create_app(open_workspace(served_ws.home)),
                    raise_server_exceptions=False) as off:
        assert off.get("/ready").json()["models"]["fraud"]["scoring"] == {"1": {
            "path": "estimator", "why": "fast path turned off ([serving] fast_path)"}}
        assert _scores(off, tokens["scorer"], "fraud", rows) == fast

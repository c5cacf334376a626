"""Retirement: a retired model is served by no version, keeps its evidence, and returns only
through a production promotion with every gate and sign-offs given after it was retired."""

from __future__ import annotations

import json
from datetime import date

from fastapi.testclient import TestClient
from gov_helpers import gov_template, gov_ws, people, record_bias  # noqa: F401  (fixtures)
from test_inventory import _events, _go_live, _inventory, _sign

from riskops.config import Workspace
from riskops.storage import db, repository


def _score(ws: Workspace, token: str) -> dict:
    from riskops.scenarios import get_scenario
    from riskops.serving.app import create_app

    scenario = get_scenario("fraud")
    frame = scenario.generate(1, start=date(2026, 3, 1), days=1, seed=5)
    row = frame.iloc[0][scenario.schema.feature_names].to_dict()
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        response = client.post("/risk/fraud", json=json.loads(json.dumps(row, default=str)),
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_retire_then_score_answers_from_the_heuristic(cli, gov_ws: Workspace,
                                                      people: dict[str, str]) -> None:
    _go_live(cli, gov_ws, people)
    assert cli("models", "pin", "fraud", "--tenant", "acme", "--version", "1",
               token=people["cat"]).code == 0
    assert _score(gov_ws, people["r-scorer"])["risk_score_method"] == "ml"
    retired = cli("models", "retire", "fraud", "--reason", "replaced by claims-2",
                  "--json", token=people["ana"])
    assert retired.code == 0, retired.err
    assert retired.json()["pins_removed"] == ["acme"]
    answer = _score(gov_ws, people["r-scorer"])
    assert answer["risk_score_method"] == "heuristic" and answer["risk_model_version"] is None
    manifest = json.loads(gov_ws.manifest_path.read_bytes())["models"]["fraud"]
    assert manifest["stages"] == {"production": None, "staging": None, "canary": None}
    assert manifest["pins"] == {} and manifest["history"] == []  # nothing to roll back to
    assert "1" in manifest["versions"]  # the evidence stays
    entry = _inventory(cli)[0]
    assert entry["state"] == "retired" and entry["retired"]["reason"] == "replaced by claims-2"
    assert entry["next_revalidation_due"] is None and not entry["overdue"]
    assert cli("models", "card", "fraud", "1", "--json").json()["model_card_status"] == \
        "Archived"
    event = _events(gov_ws, "ml.model.retired")
    assert event == [{"modelId": "fraud", "reason": "replaced by claims-2", "fromVersion": 1,
                      "actor": "ana", "manifestVersion": retired.json()["manifest_version"]}]
    assert cli("audit-log", "verify").code == 0


def test_a_retired_model_comes_back_only_through_every_gate(cli, gov_ws: Workspace,
                                                           people: dict[str, str]) -> None:
    _go_live(cli, gov_ws, people)
    assert cli("models", "retire", "fraud", "--reason", "bad drift", token=people["cat"]).code \
        == 0
    again = cli("models", "retire", "fraud", "--reason", "x", token=people["cat"])
    assert again.code == 2 and "already retired" in again.err
    for argv, token in (
            (("rollback", "fraud", "--to", "1"), "cat"),
            (("promote", "fraud", "1", "--stage", "canary", "--percent", "5"), "ben"),
            (("promote", "fraud", "1", "--break-glass", "urgent"), "admin")):
        refused = cli(*argv, token=people[token])
        assert refused.code == 1 and "is retired" in refused.err, (argv, refused.err)
    pin = cli("models", "pin", "fraud", "--tenant", "acme", "--version", "1",
              token=people["cat"])
    assert pin.code == 2 and "not in the production history []" in pin.err
    # the sign-offs given before the retirement do not count any more
    stale = cli("gates", "fraud", "1", "--json")
    assert stale.code == 1 and stale.json()["failing"] == ["approvals"]
    assert "before the model was retired" in json.dumps(stale.json())
    _sign(cli, people, ("cat", "risk_lead"), ("r-platform_owner", "platform_owner"))
    back = cli("promote", "fraud", "1", token=people["ben"])
    assert back.code == 0, back.err
    assert _inventory(cli)[0]["state"] == "production"
    assert _score(gov_ws, people["r-scorer"])["risk_model_version"] == 1
    with db.read_session(gov_ws.database_url) as session:
        assert repository.get_model(session, "fraud").retired_at is None


def test_coming_back_does_not_revive_what_the_retirement_ended(
        cli, gov_ws: Workspace, people: dict[str, str], tmp_path) -> None:
    """v1 served before the retirement; v2 was signed off before it too. The model returns
    with fresh sign-offs on v1 only: v2's old sign-offs stay void, and the production
    history starts again, so nothing reaches a version through a rollback."""
    from test_inventory import _artifact_folder

    _go_live(cli, gov_ws, people)
    assert cli("models", "register", "fraud", "--from", _artifact_folder(tmp_path, None),
               token=people["cat"]).code == 0
    record_bias(gov_ws, "fraud", 2)
    _sign(cli, people, ("ana", "risk_lead"), ("ben", "platform_owner"), version="2")
    assert cli("models", "retire", "fraud", "--reason", "drift", token=people["cat"]).code == 0
    _sign(cli, people, ("cat", "risk_lead"), ("r-platform_owner", "platform_owner"))
    assert cli("promote", "fraud", "1", token=people["ben"]).code == 0
    assert json.loads(gov_ws.manifest_path.read_bytes())["models"]["fraud"]["history"] == [1]
    stale = cli("gates", "fraud", "2", "--json").json()
    assert "approvals" in stale["failing"] and "before the model was retired" in json.dumps(
        stale)
    rollback = cli("rollback", "fraud", token=people["cat"])
    assert rollback.code == 2 and "no earlier production version" in rollback.err


def test_retire_needs_a_lead_or_owner_and_a_reason(cli, gov_ws: Workspace,
                                                   people: dict[str, str]) -> None:
    assert cli("models", "retire", "fraud", "--reason", "x",
               token=people["r-validator"]).code == 1
    assert cli("models", "retire", "fraud", "--reason", "x").code == 1      # no token
    blank = cli("models", "retire", "fraud", "--reason", "  ", token=people["ana"])
    assert blank.code == 2 and "the retirement reason is empty" in blank.err
    hostile = cli("models", "retire", "fraud", "--reason", "ok\x1b[2J", token=people["ana"])
    assert hostile.code == 2 and "control character" in hostile.err
    long = cli("models", "retire", "fraud", "--reason", "x" * 501, token=people["ana"])
    assert long.code == 2
    assert cli("models", "retire", "nosuch", "--reason", "x", token=people["ana"]).code == 2
    assert _inventory(cli)[0]["retired"] is None


def test_retire_over_http(gov_ws: Workspace, people: dict[str, str]) -> None:
    from riskops.serving.app import create_app

    with TestClient(create_app(gov_ws), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {people['cat']}"}
        assert client.post("/models/fraud/retire", json={}, headers=headers).status_code == 422
        assert client.post("/models/fraud/retire", json={"reason": "x", "now": 1},
                           headers=headers).status_code == 422
        done = client.post("/models/fraud/retire", json={"reason": "obsolete"}, headers=headers)
        assert done.status_code == 200 and done.json()["reason"] == "obsolete"
        twice = client.post("/models/fraud/retire", json={"reason": "x"}, headers=headers)
        assert twice.status_code in (409, 422) and "already retired" in twice.text

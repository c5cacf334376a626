"""Custom scenarios served from the definition signed with their version, without a restart."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from custom_helpers import (
    CLAIMS_CONFIG,
    claim_body,
    claims_frame,
    without_channel,
    write_claims,
)
from fastapi.testclient import TestClient
from serving_helpers import auth

from conftest import make_model_dir
from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.scenarios.definition import DEFINITION_FILE, scenario_from_definition
from riskops.serving.app import create_app
from riskops.serving.settings import serving_settings
from riskops.storage import db
from riskops.tokens import create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

POLL = 0.1


@pytest.fixture(scope="module")
def claims_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace where ``claims`` v1 is trained from a config file (not live yet)."""
    root = tmp_path_factory.mktemp("custom")
    ws = init_workspace(root / "ws").workspace
    data, toml = write_claims(root / "user")
    train_scenario(ws, "claims", data, config=toml, actor="local:trainer")
    tokens = {role: create_token(ws, name=f"t-{role}", role=role, actor="local:test")
              for role in ("scorer", "reviewer", "admin")}
    (root / "tokens.json").write_text(json.dumps(tokens))
    db.dispose_engines()
    return root


@pytest.fixture
def ws(claims_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    shutil.copytree(claims_template / "ws", tmp_path / "ws")
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / "ws"))
    return open_workspace(tmp_path / "ws")


@pytest.fixture
def tokens(claims_template: Path) -> dict[str, str]:
    return json.loads((claims_template / "tokens.json").read_text())


@pytest.fixture
def client(ws: Workspace) -> Iterator[TestClient]:
    settings = replace(serving_settings(ws), manifest_poll_seconds=POLL,
                       dispatch_events=False)
    with TestClient(create_app(ws, settings=settings), raise_server_exceptions=False) as c:
        yield c


def _until(check, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(POLL)


def _served(client: TestClient, token: str) -> dict | None:
    r = client.post("/risk/claims", json=claim_body(), headers=auth(token))
    return r.json() if r.status_code == 200 else None


def test_trained_version_carries_its_definition(ws: Workspace) -> None:
    raw = (ws.store_dir / "models/claims/1" / DEFINITION_FILE).read_bytes()
    scenario = scenario_from_definition(raw, model="claims", where="claims v1")
    assert scenario.schema.feature_names == ["amount", "days_to_report", "channel"]
    assert scenario.schema.labels == ("0", "1")  # learned from the data, signed with it
    assert scenario.schema.segments == ("region",)
    from riskops.registry.trust import read_workspace_manifest

    listed = read_workspace_manifest(ws).manifest.version("claims", 1).artifacts
    assert any(a.path.endswith(f"claims/1/{DEFINITION_FILE}") for a in listed)


def test_promoted_custom_scenario_is_served_without_restart(ws, client, tokens) -> None:
    scorer = tokens["scorer"]
    before = client.post("/risk/claims", json=claim_body(), headers=auth(scorer))
    assert before.status_code == 404
    assert "claims" not in before.json()["detail"].split("served here:")[1]

    Registry(ws).promote("claims", 1, actor="local:test", force=True)
    body = _until(lambda: _served(client, scorer))
    assert body is not None, "claims was not served within the poll interval"
    assert body["risk_score_method"] == "ml"
    assert body["model_id"] == "claims" and body["risk_model_version"] == 1
    assert body["scenario"] == "claims" and body["manifest_version"] >= 2
    assert 0.0 <= body["risk_score"] <= 1.0 and body["risk_label"] in ("0", "1")

    # The served score is the signed model's own score on the same row.
    from riskops.registry.loader import load_model
    from riskops.registry.trust import read_workspace_manifest

    loaded = load_model(read_workspace_manifest(ws), "claims", 1)
    expected = loaded.estimator.predict_proba(pd.DataFrame([claim_body()]))[:, 1][0]
    assert body["risk_score"] == pytest.approx(float(expected), abs=1e-12)

    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["models"]["claims"]["production"] == 1

    batch = client.post("/risk/claims", json=[claim_body(), claim_body(500.0, 1, "web")],
                        headers=auth(scorer))
    assert batch.status_code == 200 and len(batch.json()["items"]) == 2
    low, high = sorted(i["risk_score"] for i in batch.json()["items"])
    assert low < high

    # Segment values travel with the request; unknown fields are refused.
    with_region = client.post("/risk/claims", json={**claim_body(), "region": "north"},
                              headers=auth(scorer))
    assert with_region.status_code == 200
    typo = client.post("/risk/claims", json={**claim_body(), "amout": 1},
                       headers=auth(scorer))
    assert typo.status_code == 422 and typo.json()["detail"][0]["field"] == "body.amout"
    # The definition's bounds and categories are the served schema's: 422 naming the field.
    for field, value in (("amount", -5.0), ("days_to_report", 2.5), ("channel", "fax")):
        bad = client.post("/risk/claims", json={**claim_body(), field: value},
                          headers=auth(scorer))
        assert bad.status_code == 422, (field, bad.text)
        assert bad.json()["detail"][0]["field"] == f"body.{field}"
        assert str(value) not in bad.json()["detail"][0]["reason"]

    # Feedback on a custom prediction works like on a reference one.
    pid = body["prediction_id"]
    fb = client.post("/feedback", json={"prediction_id": pid, "label": "0", "override": True},
                     headers=auth(tokens["reviewer"]))
    assert fb.status_code == 200, fb.text
    shown = client.get(f"/feedback/{pid}", headers=auth(tokens["reviewer"])).json()
    assert shown["prediction"]["model_name"] == "claims" if "prediction" in shown else True


def test_custom_scenario_over_v2_and_in_openapi(ws, client, tokens) -> None:
    Registry(ws).promote("claims", 1, actor="local:test", force=True)
    assert _until(lambda: _served(client, tokens["scorer"])) is not None
    http = client.post("/risk/claims", json=claim_body(), headers=auth(tokens["scorer"])).json()
    v2 = client.post("/v2/models/claims/infer", headers=auth(tokens["scorer"]), json={
        "inputs": [{"name": "amount", "shape": [1], "datatype": "FP64", "data": [25_000.0]},
                   {"name": "days_to_report", "shape": [1], "datatype": "FP64", "data": [40]},
                   {"name": "channel", "shape": [1], "datatype": "BYTES", "data": ["phone"]}]})
    assert v2.status_code == 200, v2.text
    scores = next(o for o in v2.json()["outputs"] if o["name"] == "risk_score")["data"]
    assert scores[0] == pytest.approx(http["risk_score"], abs=1e-12)
    assert client.get("/v2/models/claims/ready", headers=auth(tokens["scorer"])).status_code \
        == 200

    spec = client.get("/openapi.json").json()
    assert "/risk/claims" in spec["paths"]
    ref = spec["paths"]["/risk/claims"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["oneOf"][0]["$ref"]
    component = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"amount", "days_to_report", "channel", "region"}
    assert component["properties"]["region"].get("x-riskops-segment") is True


def test_tampered_definition_is_refused_and_named(ws, tokens) -> None:
    """A replica that starts on a store whose definition was edited serves nothing of it
    (one already serving keeps the copy it verified, as for a model file)."""
    Registry(ws).promote("claims", 1, actor="local:test", force=True)
    path = ws.store_dir / "models/claims/1" / DEFINITION_FILE
    doc = json.loads(path.read_text())
    doc["config"]["heuristic"]["threshold"] = 0.01  # a quiet, "harmless" edit
    path.chmod(0o644)
    path.write_text(json.dumps(doc))
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert any(p.startswith("claims: scenario definition not loaded") and
                   DEFINITION_FILE in p for p in ready.json()["problems"]), ready.json()
        refused = client.post("/risk/claims", json=claim_body(),
                              headers=auth(tokens["scorer"]))
        assert refused.status_code == 404
        assert client.post("/risk/fraud", json={}, headers=auth(tokens["scorer"])) \
            .status_code == 422  # the reference scenarios are unaffected


def test_canary_with_another_definition_is_not_loaded(ws, client, tokens, tmp_path) -> None:
    Registry(ws).promote("claims", 1, actor="local:test", force=True)
    other = without_channel(CLAIMS_CONFIG)
    data, toml = write_claims(tmp_path / "v2", seed=3, config=other)
    train_scenario(ws, "claims", data, config=toml, actor="local:trainer")
    Registry(ws).promote("claims", 2, actor="local:test", stage="canary", percent=50,
                         force=True)

    def problem() -> list[str] | None:
        found = [p for p in client.get("/ready").json()["problems"] if "claims v2" in p]
        return found or None

    found = _until(problem)
    assert found and "differs from v1's" in found[0]
    # Production v1 still answers with its schema.
    assert _served(client, tokens["scorer"])["risk_model_version"] == 1
    # Promoted to production, v2's definition becomes the schema.
    Registry(ws).promote("claims", 2, actor="local:test", force=True)

    def v2_served() -> dict | None:
        r = client.post("/risk/claims", json={"amount": 20_000.0, "days_to_report": 3},
                        headers=auth(tokens["scorer"]))
        return r.json() if r.status_code == 200 else None

    body = _until(v2_served)
    assert body is not None and body["risk_model_version"] == 2


def test_rolled_back_to_heuristic_keeps_the_definition(ws, client, tokens) -> None:
    Registry(ws).promote("claims", 1, actor="local:test", force=True)
    assert _until(lambda: _served(client, tokens["scorer"])) is not None
    Registry(ws).rollback("claims", actor="local:test", fallback_heuristic=True)

    def heuristic() -> dict | None:
        body = _served(client, tokens["scorer"])
        return body if body and body["risk_score_method"] == "heuristic" else None

    body = _until(heuristic)
    assert body is not None
    # The signed rules of the definition: 0.4 (amount) + 0.3 (phone) + 0.2 (late) = 0.9.
    assert body["risk_score"] == pytest.approx(0.9)
    assert set(body["reasons"]) >= {"large claim", "phone claim", "late report"}


def test_reference_names_are_never_shadowed(ws, tmp_path) -> None:
    """A custom definition can not take over a reference scenario's name."""
    from riskops.errors import InputError

    config = CLAIMS_CONFIG.replace('name = "claims"', 'name = "fraud"')
    _, toml = write_claims(tmp_path / "f", config=config)
    with pytest.raises(InputError, match="reference scenario"):
        get_scenario("fraud", config=toml)


def test_model_brought_from_elsewhere_is_checked_and_served(ws, client, tokens, tmp_path,
                                                            cli) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = claims_frame(800, seed=5)
    x = frame[["amount", "days_to_report", "channel"]]
    model = Pipeline([
        ("features", ColumnTransformer([
            ("num", StandardScaler(), ["amount", "days_to_report"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["channel"])])),
        ("clf", LogisticRegression(max_iter=500)),
    ]).fit(x, frame["leak"].astype(str))
    folder = tmp_path / "own"
    folder.mkdir()
    sio.dump(model, folder / "model.skops")
    (folder / "scenario.toml").write_text(
        CLAIMS_CONFIG.replace('name = "claims"', 'name = "leakage"'))

    registered = cli("models", "register", "leakage", "--from", folder, "--json",
                     token=tokens["admin"])
    assert registered.code == 0, registered.err
    assert registered.json()["servable"] is True
    assert registered.json()["checked"]["labels"] == ["0", "1"]
    Registry(ws).promote("leakage", 1, actor="local:test", force=True)

    def served() -> dict | None:
        r = client.post("/risk/leakage", json=claim_body(), headers=auth(tokens["scorer"]))
        return r.json() if r.status_code == 200 else None

    body = _until(served)
    assert body is not None and body["risk_score_method"] == "ml"
    expected = model.predict_proba(pd.DataFrame([claim_body()]))[:, 1][0]
    assert body["risk_score"] == pytest.approx(float(expected), abs=1e-12)
    stored = ws.store_dir / "models/leakage/1"
    assert (stored / DEFINITION_FILE).is_file() and (stored / "scenario.toml").is_file()


def test_artifact_only_version_cannot_go_live(ws, tmp_path, cli, tokens) -> None:
    registered = cli("models", "register", "scratch", "--from",
                     make_model_dir(tmp_path / "plain"), token=tokens["admin"])
    assert registered.code == 0 and "artifact-only" in registered.out
    for args in (("promote", "scratch", "1", "--break-glass", "we know"),
                 ("promote", "scratch", "1", "--stage", "canary", "--percent", "5",
                  "--break-glass", "we know"),
                 ("models", "pin", "scratch", "--tenant", "acme", "--version", "1")):
        refused = cli(*args, token=tokens["admin"])
        assert refused.code == 2, (args, refused.out, refused.err)
        assert "artifact-only" in refused.err and len(refused.err.strip().splitlines()) == 1
    assert Registry(ws).show_model("scratch")["stages"]["production"] is None


def _own_model(folder: Path, *, labels: tuple[str, str] = ("0", "1")) -> Path:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = claims_frame(300, seed=9)
    target = np.where(frame["leak"] == 1, labels[1], labels[0])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        frame[["amount", "days_to_report"]], target)
    folder.mkdir(parents=True)
    sio.dump(model, folder / "model.skops")
    (folder / "scenario.toml").write_text(
        without_channel(CLAIMS_CONFIG.replace('name = "claims"', 'name = "own"')))
    return folder


@pytest.mark.parametrize(("fault", "expected"), [
    ("labels", "the model's classes are ['no', 'yes']"),
    ("features", "cannot score rows made from scenario.toml"),
    ("definition", "scenario.json is written by riskops"),
    ("two-models", "several .skops files"),
    ("bad-toml", "malformed TOML"),
    ("not-skops", "is not a readable skops file"),
    ("reference-name", "is a reference scenario"),
])
def test_model_from_elsewhere_faults_are_one_line(ws, tmp_path, cli, tokens, fault,
                                                  expected) -> None:
    name = "fraud" if fault == "reference-name" else "own"
    folder = _own_model(tmp_path / "own", labels=("no", "yes") if fault == "labels"
                        else ("0", "1"))
    toml = folder / "scenario.toml"
    if fault == "features":
        toml.write_text(toml.read_text().replace('numeric = ["amount", "days_to_report"]',
                                                 'numeric = ["amount", "days_to_report", "age"]'))
    elif fault == "definition":
        (folder / DEFINITION_FILE).write_text("{}")
    elif fault == "two-models":
        shutil.copyfile(folder / "model.skops", folder / "b.skops")
        (folder / "model.skops").rename(folder / "a.skops")
    elif fault == "bad-toml":
        toml.write_text("[scenario\nname=")
    elif fault == "not-skops":
        (folder / "model.skops").write_bytes(b"PK\x03\x04 not a zip")
    elif fault == "reference-name":
        toml.write_text(toml.read_text().replace('name = "own"', 'name = "fraud"'))
    result = cli("models", "register", name, "--from", folder, token=tokens["admin"])
    assert result.code == 2, (result.out, result.err)
    assert expected in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    assert name == "fraud" or name not in [m["model"] for m in Registry(ws).list_models()]


def test_monitoring_knows_a_served_custom_scenario(ws, tmp_path) -> None:
    """monitor run takes a custom model's features, segments and labels from its definition
    (a positive label other than "1" would otherwise be read as negative)."""
    from riskops.monitoring.job import _custom_scenarios

    config = CLAIMS_CONFIG.replace('positive_label = "1"', 'positive_label = "leaked"')
    folder = tmp_path / "yes"
    data, toml = write_claims(folder, config=config)
    frame = claims_frame(1200)
    frame["leak"] = np.where(frame["leak"] == 1, "leaked", "fine")
    frame.to_csv(data, index=False)
    train_scenario(ws, "claims", data, config=toml, actor="local:trainer")
    assert _custom_scenarios(ws) == {}  # nothing of it is live yet
    Registry(ws).promote("claims", 2, actor="local:test", force=True)
    scenario = _custom_scenarios(ws)["claims"]
    assert scenario.schema.labels == ("fine", "leaked")
    assert scenario.schema.segments == ("region",)
    assert list(scenario.binary_target(["leaked", "fine"])) == [1, 0]


TICKETS_CONFIG = """\
[scenario]
name = "tickets"
[columns]
label = "severity"
positive_label = "high"
segments = ["region"]
[features]
text = ["text"]
categorical = ["source", "service_tier"]
"""


def test_custom_text_scenario_is_served_over_http_and_v2(ws, client, tokens, tmp_path) -> None:
    """A text-only custom scenario (incident's columns, no timestamp column) trains with the
    incident model family, goes live and is scored over HTTP and V2 like a reference one."""
    frame = get_scenario("incident").generate(1500, start=date(2026, 1, 1), days=30, seed=4)
    frame = frame.assign(severity=np.where(frame["label"] == "high", "high", "routine"))
    data = tmp_path / "tickets.csv"
    frame.drop(columns=["label", "timestamp"]).to_csv(data, index=False)
    (tmp_path / "tickets.toml").write_text(TICKETS_CONFIG)
    summary = train_scenario(ws, "tickets", data, config=tmp_path / "tickets.toml",
                             actor="local:trainer")
    assert summary["metrics"]["golden"]["roc_auc"] > 0.75
    Registry(ws).promote("tickets", summary["version"], actor="local:test", force=True)

    body = {"text": "database outage, all customers down, payments failing",
            "source": frame["source"].iloc[0], "service_tier": frame["service_tier"].iloc[0]}

    def served() -> dict | None:
        r = client.post("/risk/tickets", json=body, headers=auth(tokens["scorer"]))
        return r.json() if r.status_code == 200 else None

    answer = _until(served)
    assert answer is not None and answer["risk_score_method"] == "ml"
    assert answer["risk_label"] in ("high", "routine")
    calm = client.post("/risk/tickets", json={**body, "text": "typo on the help page"},
                       headers=auth(tokens["scorer"])).json()
    assert calm["risk_score"] < answer["risk_score"]
    v2 = client.post("/v2/models/tickets/infer", headers=auth(tokens["scorer"]), json={
        "inputs": [{"name": "features", "shape": [1], "datatype": "BYTES",
                    "data": [json.dumps(body)]}]})
    assert v2.status_code == 200, v2.text
    scores = next(o for o in v2.json()["outputs"] if o["name"] == "risk_score")["data"]
    assert scores[0] == pytest.approx(answer["risk_score"], abs=1e-12)
    empty = client.post("/risk/tickets", json={**body, "text": ""},
                        headers=auth(tokens["scorer"]))
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "body.text"


@pytest.mark.parametrize("column", ["model_dump", "_secret", "model_config"])
def test_a_column_the_request_model_cannot_take_is_refused_by_name(tmp_path, column) -> None:
    from riskops.errors import InputError

    config = CLAIMS_CONFIG.replace('numeric = ["amount", "days_to_report"]',
                                   f'numeric = ["amount", "days_to_report", "{column}"]')
    _, toml = write_claims(tmp_path, config=config)
    with pytest.raises(InputError, match=f"column '{column}' cannot be a request field"):
        get_scenario("claims", config=toml)


def test_a_nested_scenario_json_is_not_a_definition(ws, tmp_path, cli, tokens) -> None:
    """Only ``models/M/V/scenario.json`` defines a version; a copy at ``M/V/scenario.json``
    inside an artifact-only folder must not make it servable."""
    folder = make_model_dir(tmp_path / "plain")
    nested = folder / "claims" / "2"
    nested.mkdir(parents=True)
    shutil.copyfile(ws.store_dir / "models/claims/1" / DEFINITION_FILE,
                    nested / DEFINITION_FILE)
    assert cli("models", "register", "claims", "--from", folder,
               token=tokens["admin"]).code == 0
    refused = cli("promote", "claims", "2", "--stage", "canary", "--percent", "50",
                  "--break-glass", "x", token=tokens["admin"])
    assert refused.code == 2 and "artifact-only" in refused.err


def test_openapi_names_are_unique_and_routes_are_kept(ws, tmp_path, tokens) -> None:
    """Custom names that title-case alike, or like a reference scenario, get components of
    their own; one named like a GET route (``insights``) keeps that route documented."""
    from riskops.serving.schemas import request_model

    names = ("fraud_", "a1_b", "a1b", "insights")
    for name in names:
        data, toml = write_claims(tmp_path / name, rows=400,
                                  config=CLAIMS_CONFIG.replace('"claims"', f'"{name}"'))
        train_scenario(ws, name, data, config=toml, actor="local:trainer")
        Registry(ws).promote(name, 1, actor="local:test", force=True)
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    refs = {name: spec["paths"][f"/risk/{name}"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["oneOf"][0]["$ref"].rsplit("/", 1)[1] for name in names}
    assert len(set(refs.values())) == len(names)
    assert set(components["FraudFeatures"]["properties"]) == set(
        request_model(get_scenario("fraud"), max_text_chars=10).model_fields)
    assert "get" in spec["paths"]["/risk/insights"] and "post" in spec["paths"]["/risk/insights"]


def test_a_long_category_list_is_counted_not_echoed(tmp_path) -> None:
    from pydantic import ValidationError

    from riskops.errors import InputError
    from riskops.serving.schemas import field_errors, request_model

    values = ", ".join(f'"v{i}"' for i in range(500))
    config = CLAIMS_CONFIG.replace('channel = ["web", "agent", "phone"]', f"channel = [{values}]")
    _, toml = write_claims(tmp_path, config=config)
    model = request_model(get_scenario("claims", config=toml), max_text_chars=100)
    assert model.model_validate(claim_body(channel="v499")).channel == "v499"
    with pytest.raises(ValidationError) as caught:
        model.model_validate(claim_body(channel="nope"))
    error = field_errors(caught.value)[0]
    assert error == {"field": "channel", "type": "literal_error",
                     "reason": "Input should be one of the 500 declared categories"}
    too_many = ", ".join(f'"v{i}"' for i in range(10_001))
    _, toml = write_claims(tmp_path / "many", config=CLAIMS_CONFIG.replace(
        'channel = ["web", "agent", "phone"]', f"channel = [{too_many}]"))
    with pytest.raises(InputError, match="more than 10000"):
        get_scenario("claims", config=toml)

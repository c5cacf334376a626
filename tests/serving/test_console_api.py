"""The console's page, assets and JSON reads: headers, roles, hostile input, and verdicts
that agree with ``governance.approvals.approval_state`` (what ``riskops gates`` judges by)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import console_template, console_tokens, console_ws  # noqa: F401
from fastapi.testclient import TestClient
from sqlalchemy import update

from riskops.config import Workspace
from riskops.governance.approvals import approval_state
from riskops.serving.app import create_app
from riskops.serving.console import CSP
from riskops.storage import db
from riskops.storage.tables import AuditEntryRow


@pytest.fixture
def client(console_ws: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(console_ws)) as running:
        yield running


def _as(tokens: dict[str, str], user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[user]}"}


def test_the_page_and_its_assets_carry_a_strict_policy(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP and "http" not in CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script src=\"/console/assets/console.js\"" in page.text
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # nothing inline
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        asset = client.get(f"/console/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert asset.headers["x-content-type-options"] == "nosniff"
    script = client.get("/console/assets/console.js").text
    assert "innerHTML" not in script and "localStorage.setItem" not in script
    assert "sessionStorage" in script and "document.cookie" not in script


@pytest.mark.parametrize("path", ["/console/assets/index.html", "/console/assets/..%2Fconsole.py",
                                  "/console/assets/%2e%2e%2fapp.py", "/console/assets/x.js"])
def test_nothing_else_is_served_from_the_package(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/console/api/me", "/console/api/models", "/console/api/pending",
                                  "/console/api/models/fraud", "/console/api/monitoring",
                                  "/console/api/audit"])
def test_every_read_needs_a_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer ro_forged"}).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer " + "x" * 5000}).status_code == 401


def test_me_says_what_each_role_may_do(client: TestClient,
                                       console_tokens: dict[str, str]) -> None:
    ana = client.get("/console/api/me", headers=_as(console_tokens, "ana")).json()
    assert ana["actor"] == "ana" and ana["signoff_roles"] == ["risk_lead"]
    assert ana["may"]["approve"] and not ana["may"]["promote"]
    ben = client.get("/console/api/me", headers=_as(console_tokens, "ben")).json()
    assert ben["may"]["promote"] and ben["signoff_roles"] == ["platform_owner"]
    rex = client.get("/console/api/me", headers=_as(console_tokens, "rex")).json()
    assert rex["signoff_roles"] == [] and not rex["may"]["approve"]


def test_the_board_agrees_with_the_approval_state(client: TestClient, console_ws: Workspace,
                                                  console_tokens: dict[str, str],
                                                  console_template: Path) -> None:
    from console_helpers import pass_bias

    from riskops.training.pipeline import train_scenario

    train_scenario(console_ws, "fraud", console_template.parent / "fraud.parquet",
                   actor="trainer")  # v2
    pass_bias(console_ws, "fraud", 2)
    approve = {"decision": "approve", "role": "risk_lead", "comment": ""}
    assert client.post("/models/fraud/versions/1/approvals", json=approve,
                       headers=_as(console_tokens, "ana")).status_code == 200
    reject = {"decision": "reject", "role": "platform_owner", "comment": "not yet"}
    assert client.post("/models/fraud/versions/2/approvals", json=reject,
                       headers=_as(console_tokens, "ben")).status_code == 200

    board = client.get("/console/api/models/fraud", headers=_as(console_tokens, "rex")).json()
    assert [v["version"] for v in board["versions"]] == [2, 1]
    for entry in board["versions"]:
        oracle = approval_state(console_ws, "fraud", entry["version"])
        for key in ("approved", "missing_roles", "rejected_by", "complete", "summary"):
            assert entry[key] == oracle[key], key
    pending = client.get("/console/api/pending", headers=_as(console_tokens, "rex")).json()
    assert [(p["model"], p["version"], p["missing_roles"]) for p in pending["pending"]] == [
        ("fraud", 1, ["platform_owner"])]  # v2 was rejected: it no longer waits
    models = client.get("/console/api/models", headers=_as(console_tokens, "rex")).json()
    assert models["models"] == [{"model": "fraud", "versions": 2, "latest": 2, "retired": False,
                                 "stages": {"production": None, "staging": None,
                                            "canary": None}}]


@pytest.mark.parametrize(("query", "status"), [
    ("?model=nope", 404), ("?model=" + "m" * 161, 422), ("?model=fraud&days=0", 422),
    ("?model=fraud&days=99999", 422), ("?model=fraud&days=abc", 422)])
def test_bad_monitoring_queries_name_the_field(client: TestClient, console_tokens: dict[str, str],
                                               query: str, status: int) -> None:
    answer = client.get(f"/console/api/monitoring{query}", headers=_as(console_tokens, "rex"))
    assert answer.status_code == status
    assert "riskops monitor run" in answer.text or "query" in answer.text


def test_unknown_model_is_404_and_a_hostile_name_is_refused(
        client: TestClient, console_tokens: dict[str, str]) -> None:
    assert client.get("/console/api/models/ghost",
                      headers=_as(console_tokens, "rex")).status_code == 404
    hostile = client.get("/console/api/models/%3Cscript%3E", headers=_as(console_tokens, "rex"))
    assert hostile.status_code == 422 and hostile.headers["content-type"] == "application/json"


def test_the_audit_view_reports_a_tampered_chain(client: TestClient, console_ws: Workspace,
                                                 console_tokens: dict[str, str]) -> None:
    good = client.get("/console/api/audit?limit=3", headers=_as(console_tokens, "rex")).json()
    assert good["verification"]["ok"] and len(good["entries"]) == 3
    assert [e["seq"] for e in good["entries"]] == sorted(
        (e["seq"] for e in good["entries"]), reverse=True)
    assert client.get("/console/api/audit?limit=0",
                      headers=_as(console_tokens, "rex")).status_code == 422
    with db.write_transaction(console_ws.database_url) as session:
        session.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2)
                        .values(actor="mallory"))
    bad = client.get("/console/api/audit", headers=_as(console_tokens, "rex")).json()
    assert not bad["verification"]["ok"] and bad["verification"]["problem"]["seq"] == 2


def test_monitoring_history_says_when_older_points_were_left_out(
        client: TestClient, console_ws: Workspace, console_tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from riskops.storage import monitoring_points

    now = datetime.now(UTC)
    for day in range(5):  # windows ending 9.5, 8.5, 7.5, 6.5 and 5.5 days ago
        end = now - timedelta(days=9.5 - day)
        monitoring_points.append_points(console_ws.database_url, [
            {"tenant_id": "default", "model_id": "fraud", "check_name": "data_drift",
             "feature": "amount", "metric": "psi", "value": day / 10, "breach": False}],
            ran_at=end, window_end=end)
    whole = client.get("/console/api/monitoring?model=fraud", headers=_as(console_tokens, "rex"))
    assert not whole.json()["truncated"]
    assert [p["value"] for p in whole.json()["points"]] == [0.0, 0.1, 0.2, 0.3, 0.4]
    monkeypatch.setattr(monitoring_points, "MAX_POINTS", 3)  # read at each call

    cut = client.get("/console/api/monitoring?model=fraud", headers=_as(console_tokens, "rex"))
    assert cut.json()["truncated"]
    assert [p["value"] for p in cut.json()["points"]] == [0.2, 0.3, 0.4]  # the newest three
    short = client.get("/console/api/monitoring?model=fraud&days=7",
                       headers=_as(console_tokens, "rex")).json()
    assert [p["value"] for p in short["points"]] == [0.3, 0.4]  # older than 7 days: out
    assert not short["truncated"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/console/assets/nope", 404), ("GET", "/console/api/me", 401),
    ("GET", "/console/api/audit?limit=0", 422), ("POST", "/console/api/me", 405),
    ("GET", "/console/api/monitoring?model=zzz", 404), ("HEAD", "/console", 200)])
def test_refusals_carry_the_security_headers_too(client: TestClient,
                                                 console_tokens: dict[str, str],
                                                 method: str, path: str, status: int) -> None:
    headers = {} if path.endswith("/me") else _as(console_tokens, "rex")
    answer = client.request(method, path, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert client.get("/health").headers.get("content-security-policy") is None  # console only


@pytest.mark.parametrize("version", ["9223372036854775808", "99999999999999999999999", "0", "-1"])
def test_an_impossible_version_number_is_422_not_a_database_error(
        client: TestClient, console_tokens: dict[str, str], version: str) -> None:
    approve = {"decision": "approve", "role": "platform_owner", "comment": ""}
    answer = client.post(f"/models/fraud/versions/{version}/approvals", json=approve,
                         headers=_as(console_tokens, "ben"))
    assert answer.status_code == 422 and "version" in answer.text
    gates = client.get(f"/models/fraud/versions/{version}/gates",
                       headers=_as(console_tokens, "ben"))
    assert gates.status_code == 422


def test_the_insights_tab_is_offered_to_the_roles_that_may_read_insights(
        client: TestClient, console_ws: Workspace, console_tokens: dict[str, str]) -> None:
    from riskops.tokens import add_user, create_token

    add_user(console_ws, name="app", roles=("scorer",), actor="admin")
    app_token = create_token(console_ws, name="app-token", user="app", actor="admin")
    for user, may in (("rex", True), ("ana", True), ("ben", True)):
        me = client.get("/console/api/me", headers=_as(console_tokens, user)).json()
        assert me["may"]["insights"] is may, user
    me = client.get("/console/api/me", headers={"Authorization": f"Bearer {app_token}"}).json()
    assert me["may"]["insights"] is False
    assert client.get("/risk/insights",
                      headers={"Authorization": f"Bearer {app_token}"}).status_code == 403

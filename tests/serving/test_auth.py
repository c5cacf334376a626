"""Every endpoint but the open ones: 401 without a token, 403 with the wrong role."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from serving_helpers import (  # noqa: F401  (fixtures)
    auth,
    client,
    example_row,
    served_template,
    served_ws,
    shared_client,
    tokens,
)

from riskops.serving.auth import TokenCache
from riskops.tokens import revoke_token

OPEN = {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect",
        "/redoc", "/v2/health/live", "/v2/health/ready", "/v2/models/{name}/ready",
        "/v2/models/{name}/versions/{version}/ready",
        # The console's static page and assets: no data in them (docs/console.md).
        "/console", "/console/assets/{name}"}
# A role that must be refused on each protected path (never admin).
WRONG_ROLE = {
    "/risk/{scenario}": "reviewer", "/plan/compliance": "reviewer", "/risk": "reviewer",
    "/feedback": "scorer", "/feedback/{prediction_id}": "scorer", "/outcomes": "scorer",
    "/risk/insights": "scorer", "/models": None, "/models/{name}": None,
    "/models/{name}/promote": "scorer", "/models/{name}/rollback": "scorer",
    "/api/v1/ml/model-monitoring/run": "scorer", "/v2": None,
    "/models/{name}/versions/{version}/gates": None,  # every role may read the gates
    "/models/{name}/versions/{version}/approvals": "scorer",
    "/models/{name}/pins": "scorer", "/models/{name}/pins/{tenant}": "reviewer",
    "/inventory": None,  # every reader role may read the inventory
    "/models/{name}/retire": "scorer",
    # The console's reads: every reader role (its actions use the governed endpoints above).
    **{path: None for path in ("/console/api/me", "/console/api/models",
                               "/console/api/models/{name}", "/console/api/pending",
                               "/console/api/monitoring", "/console/api/audit")},
}


def _protected(app) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in OPEN:
            out += [(m, route.path) for m in sorted(route.methods)]
    return out


def _concrete(path: str) -> str:
    return (path.replace("{scenario}", "nope").replace("{prediction_id}", "abc")
            .replace("{name}", "fraud").replace("{version}", "1").replace("{tenant}", "acme"))


def test_every_protected_endpoint_needs_a_token_and_the_right_role(shared_client, tokens):
    client = shared_client
    routes = _protected(client.app)
    assert len(routes) >= 15
    for method, path in routes:
        url = _concrete(path)
        r = client.request(method, url, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = client.request(method, url, json={}, headers={"Authorization": "Bearer rko_wrong"})
        assert r.status_code == 401, (method, path)
        # Per-scenario scoring routes (/risk/fraud, ...) and V2 inference refuse reviewers.
        metadata = path.startswith("/v2") and not path.endswith("/infer")
        role = WRONG_ROLE.get(path, None if metadata else "reviewer")
        if role is not None:
            r = client.request(method, url, json={}, headers=auth(tokens[role]))
            assert r.status_code == 403, (method, path, role, r.status_code)
            assert "needs one of" in r.json()["detail"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer ", "bearer " + "x" * 600,
                                    "Token abc"])
def test_malformed_authorization_headers_are_401(shared_client, header):
    client = shared_client
    r = client.post("/risk/fraud", json=example_row("fraud"), headers={"Authorization": header})
    assert r.status_code == 401


def test_admin_may_call_everything(shared_client, tokens):
    client = shared_client
    r = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["admin"]))
    assert r.status_code == 200


def test_revoked_token_stops_working_after_the_cache_ttl(client, tokens, served_ws):
    client.app.state.tokens = TokenCache(served_ws, ttl=0.0)
    assert client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).status_code == 200
    revoke_token(served_ws, name="t-scorer", actor="local:test")
    assert client.post("/risk/fraud", json=example_row("fraud"),
                       headers=auth(tokens["scorer"])).status_code == 401


def test_a_token_that_cannot_be_checked_is_503_not_500(client, tokens, served_ws, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def unreachable(session, digest):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    client.app.state.tokens = TokenCache(served_ws, ttl=0.0)
    monkeypatch.setattr("riskops.serving.auth.identity_of", unreachable)
    r = client.post("/risk/fraud", json=example_row("fraud"), headers=auth(tokens["scorer"]))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json() == {"detail": "the API token cannot be checked because the database "
                                  "does not answer; retry."}


def test_health_and_metrics_can_be_closed(served_ws, tokens):
    from fastapi.testclient import TestClient

    from riskops.serving.app import create_app
    from riskops.serving.settings import ServingSettings

    app = create_app(served_ws, settings=ServingSettings(open_health=False, open_metrics=False))
    with TestClient(app) as c:
        assert c.get("/health").status_code == 401
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=auth(tokens["scorer"])).status_code == 403
        assert c.get("/metrics", headers=auth(tokens["service"])).status_code == 200
        assert c.get("/ready", headers=auth(tokens["scorer"])).status_code == 200

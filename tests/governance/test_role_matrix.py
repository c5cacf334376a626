"""Every state-changing command and route, tried with every role: the one role table decides.

Each call targets something that does not exist (version 99, user ``nobody``),
so a caller who is allowed gets past the role check and stops at a usage
error (exit 2, HTTP 404/422) without changing anything, and a caller who is
not allowed is refused first (exit 1 with who may, HTTP 403). Both sides are
asserted for every role, so a command that forgot its check fails here.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from gov_helpers import gov_template, gov_ws, people  # noqa: F401  (fixtures)

from riskops.config import Workspace
from riskops.roles import LOCAL_ACTIONS, PERMISSIONS, ROLES, allowed

SIGN_OFF = ("risk_lead", "platform_owner", "validator")
CALLERS = (None, *ROLES)  # None: no token, the local user


def _sign_role(role: str | None) -> str:
    return role if role in SIGN_OFF else "risk_lead"


#: (name, action, argv builder); argv is built per caller role.
COMMANDS = [
    ("approve", "approve",
     lambda r: ["approve", "fraud", "99", "--role", _sign_role(r)]),
    ("reject", "approve",
     lambda r: ["reject", "fraud", "99", "--role", _sign_role(r)]),
    ("promote", "promote", lambda r: ["promote", "fraud", "99"]),
    ("promote canary", "promote",
     lambda r: ["promote", "fraud", "99", "--stage", "canary", "--percent", "5"]),
    ("promote --break-glass", "break_glass",
     lambda r: ["promote", "fraud", "99", "--break-glass", "drill"]),
    ("rollback", "rollback", lambda r: ["rollback", "fraud", "--to", "99"]),
    ("rollback --fallback", "rollback",
     lambda r: ["rollback", "nosuchmodel", "--fallback", "heuristic"]),
    ("models pin", "pin",
     lambda r: ["models", "pin", "fraud", "--tenant", "acme", "--version", "99"]),
    ("models unpin", "pin", lambda r: ["models", "unpin", "fraud", "--tenant", "acme"]),
    ("users add", "manage_users", lambda r: ["users", "add", "bad name", "--roles", "reviewer"]),
    ("users disable", "manage_users", lambda r: ["users", "disable", "nobody"]),
    ("token create", "manage_tokens",
     lambda r: ["token", "create", "--user", "nobody", "--name", "x"]),
    ("token revoke", "manage_tokens", lambda r: ["token", "revoke", "--name", "nobody"]),
    ("keys revoke", "manage_keys",
     lambda r: ["keys", "revoke", "sha256:" + "0" * 64, "--reason", "drill"]),
    ("keys reset-floor", "manage_keys",
     lambda r: ["keys", "reset-floor", "--reason", "drill", "--above", "-1"]),
    ("train", "train", lambda r: ["train", "fraud", "--data", "missing.parquet"]),
    ("models register", "register",
     lambda r: ["models", "register", "fraud", "--from", "missing-folder"]),
    ("monitor run", "operate",
     lambda r: ["monitor", "run", "--report", "no-such-folder/drift.html"]),
    ("jobs trigger", "operate", lambda r: ["jobs", "trigger", "no-such-job"]),
    ("models describe", "describe",
     lambda r: ["models", "describe", "nosuchmodel", "--purpose", "x"]),
    ("models retire", "retire", lambda r: ["models", "retire", "nosuchmodel", "--reason", "x"]),
    ("events retry", "operate", lambda r: ["events", "retry", "no-such-event"]),
]


def _expected(action: str, role: str | None) -> bool:
    if role is None:
        return action in LOCAL_ACTIONS
    if action == "approve":  # also: the role signed under must be held
        return role in SIGN_OFF
    return allowed(action, [role])


@pytest.mark.parametrize("caller", CALLERS, ids=lambda r: r or "no-token")
def test_every_command_checks_the_role_table(cli, gov_ws: Workspace, people: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch,
                                             caller: str | None) -> None:
    if caller is not None:
        monkeypatch.setenv("RISKOPS_TOKEN", people[f"r-{caller}"])
    wrong = []
    for name, action, argv in COMMANDS:
        result = cli(*argv(caller))
        refused = result.code == 1 and ("needs" in result.err or "does not hold" in result.err)
        if _expected(action, caller):
            if refused or result.code != 2:
                wrong.append(f"{name}: allowed for {caller} but got {result.code}: "
                             f"{result.err.strip()}")
        elif not refused:
            wrong.append(f"{name}: not allowed for {caller} but got {result.code}: "
                         f"{result.err.strip()}")
    assert not wrong, "\n".join(wrong)


ROUTES = [
    ("POST", "/models/fraud/versions/99/approvals", "approve",
     lambda r: {"role": _sign_role(r)}),
    ("POST", "/models/fraud/promote", "promote", lambda r: {"version": 99}),
    ("POST", "/models/fraud/promote", "break_glass",
     lambda r: {"version": 99, "break_glass": "drill"}),
    ("POST", "/models/fraud/rollback", "rollback", lambda r: {"to": 99}),
    ("POST", "/models/fraud/pins", "pin", lambda r: {"tenant": "acme", "version": 99}),
    ("DELETE", "/models/fraud/pins/acme", "pin", lambda r: None),
    ("GET", "/models/fraud/versions/99/gates", "read", lambda r: None),
    ("POST", "/models/nosuchmodel/retire", "retire", lambda r: {"reason": "x"}),
]


@pytest.fixture
def client(gov_ws: Workspace):  # type: ignore[no-untyped-def]
    from riskops.serving.app import create_app

    with TestClient(create_app(gov_ws), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("caller", ROLES)
def test_every_route_checks_the_same_table(client: TestClient, people: dict[str, str],
                                           caller: str) -> None:
    wrong = []
    for method, path, action, body in ROUTES:
        response = client.request(method, path, json=body(caller),
                                  headers={"Authorization": f"Bearer {people[f'r-{caller}']}"})
        if _expected(action, caller):
            if response.status_code not in (404, 409, 422):
                wrong.append(f"{method} {path}: allowed for {caller} but got "
                             f"{response.status_code} {response.text[:200]}")
        elif response.status_code != 403:
            wrong.append(f"{method} {path}: not allowed for {caller} but got "
                         f"{response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_routes_refuse_without_a_token(client: TestClient) -> None:
    for method, path, _action, body in ROUTES:
        assert client.request(method, path, json=body(None)).status_code == 401, path


def test_the_docs_draw_the_role_table() -> None:
    """docs/governance.md's table lists every action with exactly the roles of PERMISSIONS."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "governance.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == len(ROLES) + 3:
            rows[cells[0].strip("`")] = cells[1:]
    assert set(rows) == set(PERMISSIONS)
    for action, cells in rows.items():
        marks = dict(zip((*ROLES, "local"), cells[:-1], strict=False))
        for role in ROLES:
            assert (marks[role] == "yes") == allowed(action, [role]), (action, role)
        assert (marks["local"] == "yes") == (action in LOCAL_ACTIONS), action


@pytest.mark.parametrize(("path", "body"), [
    ("/models/fraud/promote", {"version": True}),
    ("/models/fraud/promote", {"version": "1"}),
    ("/models/fraud/promote", {"version": 1.0}),
    ("/models/fraud/pins", {"tenant": "acme", "version": "1"}),
    ("/models/fraud/rollback", {"to": True}),
    ("/models/fraud/versions/1/approvals", {"role": 7}),
])
def test_governance_bodies_take_no_coerced_types(client: TestClient, people: dict[str, str],
                                                 path: str, body: dict) -> None:
    response = client.post(path, json=body,
                           headers={"Authorization": f"Bearer {people['admin']}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"].startswith("body.")


def test_pinning_the_same_target_twice_changes_nothing(cli, gov_ws: Workspace,
                                                       people: dict[str, str]) -> None:
    first = cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic", "--json",
                token=people["cat"])
    assert first.code == 0 and first.json()["changed"]
    before = json.loads(gov_ws.manifest_path.read_bytes())["manifest_version"]
    again = cli("models", "pin", "fraud", "--tenant", "acme", "--heuristic",
                token=people["cat"])
    assert again.code == 0 and "already pinned" in again.out
    assert json.loads(gov_ws.manifest_path.read_bytes())["manifest_version"] == before


def test_a_refused_token_exits_the_same_locally_and_through_a_server(
        cli, gov_ws: Workspace, people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A disabled user's token: exit 2 locally and through ``--url`` (the server says 401)."""
    import threading

    import uvicorn

    from riskops.serving.app import create_app

    assert cli("users", "disable", "ana", token=people["admin"]).code == 0
    local = cli("approve", "fraud", "1", "--role", "risk_lead", token=people["ana"])
    assert local.code == 2 and "disabled" in local.err
    server = uvicorn.Server(uvicorn.Config(create_app(gov_ws), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        remote = cli("approve", "fraud", "1", "--role", "risk_lead", "--url",
                     f"http://127.0.0.1:{port}", token=people["ana"])
        assert remote.code == 2 and "401" in remote.err, remote.err
        scorer = cli("approve", "fraud", "1", "--role", "risk_lead", "--url",
                     f"http://127.0.0.1:{port}", token=people["r-scorer"])
        assert scorer.code == 1 and "403" in scorer.err
        ok = cli("approve", "fraud", "1", "--role", "platform_owner", "--url",
                 f"http://127.0.0.1:{port}", "--json", token=people["ben"])
        assert ok.code == 0, ok.err
        assert ok.json()["approvals"]["approved"] == {"platform_owner": "ben"}
    finally:
        server.should_exit = True
        thread.join(10)

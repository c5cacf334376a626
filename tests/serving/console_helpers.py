"""A workspace for the web console's tests: fraud v1 trained by ``trainer``, its bias
audit passed, not live; ``ana`` (risk_lead), ``ben`` (platform_owner) and ``rex``
(reviewer) with tokens. Built once per session, copied per test."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from riskops.config import Workspace, open_workspace
from riskops.governance.approvals import version_digest
from riskops.scenarios import get_scenario
from riskops.storage import db, repository
from riskops.storage.tables import BiasAuditRow
from riskops.tokens import add_user, create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

PEOPLE = {"ana": ("risk_lead",), "ben": ("platform_owner",), "rex": ("reviewer",),
          "trainer": ("risk_lead",)}


def pass_bias(ws: Workspace, model: str, version: int) -> None:
    """Store a passed bias audit of the version's bytes, as ``riskops audit bias`` would."""
    with db.write_transaction(ws.database_url) as session:
        digest = version_digest(session, model, version)
        repository.add_bias_audit(session, BiasAuditRow(
            model_name=model, version=version, status="pass",
            report=json.dumps({"status": "pass", "reasons": []}), artifacts_sha256=digest,
            actor="test", created_at=datetime.now(UTC)))


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("console")
    home = root / "template"
    result = init_workspace(home)
    ws = result.workspace
    tokens = {"admin": result.admin_token}
    for name, roles in PEOPLE.items():
        add_user(ws, name=name, roles=roles, actor="admin")
        tokens[name] = create_token(ws, name=f"{name}-token", user=name, actor="admin")
    frame = get_scenario("fraud").generate(4000, start=date(2026, 1, 1), days=60, seed=1)
    frame.to_parquet(root / "fraud.parquet")
    train_scenario(ws, "fraud", root / "fraud.parquet", actor="trainer")
    pass_bias(ws, "fraud", 1)
    (root / "tokens.json").write_text(json.dumps(tokens))
    db.dispose_engines()
    return home


@pytest.fixture(scope="session")
def console_tokens(console_template: Path) -> dict[str, str]:
    return json.loads((console_template.parent / "tokens.json").read_text())


@pytest.fixture
def console_ws(console_template: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Workspace:
    home = tmp_path / "ws"
    shutil.copytree(console_template, home)
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    db.dispose_engines()
    return open_workspace(home)

"""A trained workspace with people in it, built once per session and copied per test.

``fraud`` v1 is trained by ``trainer`` (a risk_lead, so the author rule has
someone to refuse); v1 is not live. Users: ``ana`` (risk_lead, reviewer),
``ben`` (platform_owner), ``cat`` (risk_lead, platform_owner), ``trainer``
(risk_lead) and one user per role named ``r-<role>``; ``tokens.json`` maps
each user to a token.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from riskops.config import Workspace, open_workspace
from riskops.governance.approvals import version_digest
from riskops.roles import ROLES
from riskops.scenarios import get_scenario
from riskops.storage import db, repository
from riskops.storage.tables import BiasAuditRow
from riskops.tokens import add_user, create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

PEOPLE = {"ana": ("reviewer", "risk_lead"), "ben": ("platform_owner",),
          "cat": ("platform_owner", "risk_lead"), "trainer": ("risk_lead",),
          **{f"r-{role}": (role,) for role in ROLES}}


def build_template(root: Path) -> Path:
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
    (root / "tokens.json").write_text(json.dumps(tokens))
    db.dispose_engines()
    return home


@pytest.fixture(scope="session")
def gov_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("governance"))


@pytest.fixture(scope="session")
def people(gov_template: Path) -> dict[str, str]:
    """User name -> token (``admin`` is the workspace's admin token)."""
    return json.loads((gov_template.parent / "tokens.json").read_text())


@pytest.fixture
def gov_ws(gov_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    home = tmp_path / "gov"
    shutil.copytree(gov_template, home)
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    return open_workspace(home)


def record_bias(ws: Workspace, model: str, version: int, status: str = "pass") -> None:
    """Store a bias audit of the version's current bytes (what ``audit bias`` stores)."""
    with db.write_transaction(ws.database_url) as session:
        digest = version_digest(session, model, version)
        repository.add_bias_audit(session, BiasAuditRow(
            model_name=model, version=version, status=status,
            report=json.dumps({"status": status, "reasons": [] if status == "pass" else
                               ["age_band: equalized odds difference 0.3 > 0.1"]}),
            artifacts_sha256=digest, actor="test", created_at=datetime.now(UTC)))

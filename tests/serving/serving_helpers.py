"""A trained, signed workspace for serving tests, built once per session and copied."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.scenarios import REFERENCE, get_scenario
from riskops.storage import db
from riskops.tokens import create_token
from riskops.training.pipeline import train_scenario
from riskops.workspace import init_workspace

ROWS = {"fraud": 4000, "shortfall": 3000, "compliance": 3000, "incident": 3000, "deal": 3000}
ROLES = ("admin", "service", "scorer", "reviewer", "risk_lead", "platform_owner")


def build_template(root: Path) -> Path:
    """Every reference scenario trained; fraud has v1 (production) and v2 (candidate)."""
    home = root / "template"
    ws = init_workspace(home).workspace
    for name in REFERENCE:
        scenario = get_scenario(name)
        frame = scenario.generate(ROWS[name], start=date(2026, 1, 1), days=60, seed=1)
        path = root / f"{name}.parquet"
        frame.to_parquet(path)
        train_scenario(ws, name, path, actor="local:trainer")
        Registry(ws).promote(name, 1, actor="local:trainer", force=True)
    frame = get_scenario("fraud").generate(ROWS["fraud"], start=date(2026, 1, 1), days=60, seed=2)
    frame.to_parquet(root / "fraud2.parquet")
    train_scenario(ws, "fraud", root / "fraud2.parquet", actor="local:trainer")
    tokens = {role: create_token(ws, name=f"t-{role}", role=role, actor="local:test")
              for role in ROLES}
    (root / "tokens.json").write_text(json.dumps(tokens))
    db.dispose_engines()
    return home


@pytest.fixture(scope="session")
def served_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("serving"))


@pytest.fixture
def served_ws(served_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    home = tmp_path / "served"
    shutil.copytree(served_template, home)
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    return open_workspace(home)


@pytest.fixture(scope="session")
def tokens(served_template: Path) -> dict[str, str]:
    """One bearer token per role (named ``t-<role>``), valid in every copy of the template."""
    return json.loads((served_template.parent / "tokens.json").read_text())


@pytest.fixture
def client(served_ws: Workspace) -> Iterator[TestClient]:
    """A client of a fresh server on a private copy of the template: tests may change it."""
    from riskops.serving.app import create_app

    with TestClient(create_app(served_ws), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_client(served_template: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[TestClient]:
    """One server per test module for tests that only read and score."""
    from riskops.serving.app import create_app

    home = tmp_path_factory.mktemp("shared") / "served"
    shutil.copytree(served_template, home)
    with TestClient(create_app(open_workspace(home)), raise_server_exceptions=False) as c:
        yield c


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def example_row(scenario: str, *, seed: int = 3, index: int = 0) -> dict[str, Any]:
    s = get_scenario(scenario)
    frame = s.generate(index + 1, start=date(2026, 3, 1), days=1, seed=seed)
    row = frame.iloc[index][s.schema.feature_names].to_dict()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}

"""Shared fixtures: workspaces on SQLite and PostgreSQL, a CLI runner, model folders."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from riskops.cli.main import main
from riskops.config import Workspace
from riskops.storage import db
from riskops.workspace import init_workspace

POSTGRES_URL = os.environ.get(
    "RISKOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AMQP_URL = os.environ.get("RISKOPS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``riskops ARGS`` in-process; returns exit code, stdout and stderr.

    ``token=`` runs that one command with ``$RISKOPS_TOKEN`` set to it.
    """

    def run(*args: str | Path, token: str | None = None) -> CliResult:
        capsys.readouterr()
        saved = os.environ.get("RISKOPS_TOKEN")
        if token is not None:
            os.environ["RISKOPS_TOKEN"] = token
        try:
            code = main([str(a) for a in args])
        finally:
            if token is not None and saved is None:
                os.environ.pop("RISKOPS_TOKEN", None)
            elif token is not None:
                os.environ["RISKOPS_TOKEN"] = saved or ""
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def admin_token(home: Path | str | None = None) -> str:
    """An admin API token of the workspace at ``home`` (default ``$RISKOPS_HOME``), for test
    set-ups that change what only an admin may: the one ``riskops init`` printed when the
    ``workspace`` fixture made it, else one made once per workspace."""
    from riskops.config import open_workspace
    from riskops.tokens import create_token

    ws = open_workspace(home)
    key = str(ws.home.resolve())
    if key not in _ADMIN_TOKENS:
        db.migrate(ws.database_url)
        _ADMIN_TOKENS[key] = create_token(ws, name=f"test-admin-{uuid.uuid4().hex[:8]}",
                                          role="admin", actor="test")
    return _ADMIN_TOKENS[key]


_ADMIN_TOKENS: dict[str, str] = {}


@pytest.fixture
def admin():  # type: ignore[no-untyped-def]
    """``admin(home=None)``: an admin token of that workspace (``admin_token``)."""
    return admin_token


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("RISKOPS_HOME", "RISKOPS_DATABASE_URL", "RISKOPS_TOKEN", "RISKOPS_DEBUG",
                 "RISKOPS_AMQP_URL", "RISK_ML_ENABLED", "PROMETHEUS_MULTIPROC_DIR",
                 "RISKOPS_TRUSTED_KEYS"):
        monkeypatch.delenv(name, raising=False)
    # This host's high-water marks (registry.floor) stay inside the test's folder.
    monkeypatch.setenv("RISKOPS_STATE_DIR", str(tmp_path / "host-state"))
    monkeypatch.chdir(tmp_path)
    yield
    db.dispose_engines()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """An initialised SQLite workspace, also exported as ``$RISKOPS_HOME``."""
    home = tmp_path / "ws"
    result = init_workspace(home)
    if result.admin_token:
        _ADMIN_TOKENS[str(home.resolve())] = result.admin_token
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    return result.workspace


def require_service(name: str, url: str, reason: str | None) -> None:
    """Skip with ``reason`` printed when the service does not answer; fail under CI,
    where this machine's services must be there."""
    if reason is None:
        return
    message = f"{name} at {url} is not reachable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    print(f"SKIP: {message}")
    pytest.skip(message)


def amqp_unavailable(url: str = AMQP_URL) -> str | None:
    """``None`` if the broker accepts a connection, else why not."""
    try:
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = 3
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture
def amqp_url() -> str:
    """The test RabbitMQ's URL (``RISKOPS_TEST_AMQP_URL``); skips or fails as above."""
    require_service("RabbitMQ", AMQP_URL, amqp_unavailable(AMQP_URL))
    return AMQP_URL


def postgres_available() -> str | None:
    """``None`` if the test server answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards.

    Skips with the reason when no server answers, except under CI, where the
    server must be there and its absence fails the test.
    """
    require_service("PostgreSQL", POSTGRES_URL, postgres_available())
    import psycopg

    name = f"riskops_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        db.dispose_engines()
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> Workspace:
    """An initialised workspace whose state lives in PostgreSQL."""
    monkeypatch.setenv("RISKOPS_DATABASE_URL", postgres_url)
    home = tmp_path / "pgws"
    result = init_workspace(home)
    if result.admin_token:
        _ADMIN_TOKENS[str(home.resolve())] = result.admin_token
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    return result.workspace


def make_model_dir(path: Path, *, seed: int = 0, extra: dict[str, bytes] | None = None) -> Path:
    """A bring-your-own-artifacts folder: a skops-saved sklearn pipeline and a report."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    path.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path / "model.skops")
    (path / "evaluation-report.json").write_text(json.dumps({"roc_auc": 0.9, "seed": seed}))
    for name, data in (extra or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "artifacts-in")

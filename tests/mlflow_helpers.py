"""A real local MLflow tracking store for tests: SQLite backend, file artifact root."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

needs_mlflow = pytest.mark.skipif(find_spec("mlflow") is None, reason="mlflow not installed")


@dataclass
class Tracking:
    uri: str
    client: Any  # mlflow.MlflowClient
    artifact_root: Path


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema in place (migrations take seconds; run once)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking(tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch) -> Tracking:
    """A fresh store per test, as ``$MLFLOW_TRACKING_URI``; experiment riskops-fraud
    keeps artifacts under tmp_path."""
    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copy(template_db, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    root = tmp_path / "mlartifacts"
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("riskops-fraud", artifact_location=root.as_uri())
    return Tracking(uri, client, root)

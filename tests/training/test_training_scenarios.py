"""Training the shipped scenarios end to end: every reference scenario, a custom one from a
config file, and a run logged to a real MLflow store."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.scenarios import get_scenario


def _generate(name: str, path: Path, rows: int, seed: int = 0) -> Path:
    frame = get_scenario(name).generate(rows, start=date(2024, 1, 1), days=60, seed=seed)
    frame.to_parquet(path, index=False)
    return path


def test_fraud_trains_compares_and_reproduces(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    first = _generate("fraud", tmp_path / "fraud-a.parquet", 4000)
    second = _generate("fraud", tmp_path / "fraud-b.parquet", 4000, seed=1)

    v1 = cli("train", "fraud", "--data", first, "--json")
    assert v1.code == 0, v1.err
    summary = v1.json()
    assert summary["version"] == 1 and summary["metrics"]["validation"]["roc_auc"] > 0.7
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0

    v2 = cli("train", "fraud", "--data", second, "--json")
    assert v2.code == 0, v2.err
    comparison = v2.json()["comparison"]
    assert comparison["status"] == "compared" and comparison["production_version"] == 1
    assert comparison["golden"]["rows"] == 600
    assert cli("verify", "fraud").code == 0

    reproduced = cli("train", "--reproduce", "fraud", "2")
    assert reproduced.code == 0, reproduced.err
    assert reproduced.out.startswith("match: fraud v2 ")


def test_incident_flips_are_counted_between_its_three_labels(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    data = _generate("incident", tmp_path / "incident.parquet", 2000)
    assert cli("train", "incident", "--data", data).code == 0
    assert cli("promote", "incident", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0

    result = cli("train", "incident", "--data", data, "--json")

    assert result.code == 0, result.err
    summary = result.json()
    assert summary["comparison"]["status"] == "compared"
    assert summary["comparison"]["golden"]["labels_flipped"] == 0  # same data, same model
    report = json.loads((workspace.store_dir / "models/incident/2/evaluation-report.json")
                        .read_text())
    assert report["binary_target"] == "label == 'high'"
    assert set(report["split"]["labels"]["train"]) == {"low", "medium", "high"}


def test_custom_scenario_from_a_config_file(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    config = tmp_path / "claims.toml"
    config.write_text(
        '[scenario]\nname = "claims"\n'
        '[columns]\nid = "claim_id"\ntimestamp = "submitted_at"\nlabel = "leak"\n'
        'positive_label = "yes"\nsegments = ["region"]\n'
        '[features]\nnumeric = ["amount"]\ncategorical = ["channel"]\n'
    )
    rng = np.random.default_rng(0)
    n = 800
    amount = rng.lognormal(5, 1, n)
    pd.DataFrame({
        "claim_id": [f"c{i}" for i in range(n)],
        "submitted_at": pd.date_range("2024-01-01", periods=n, freq="h").strftime(
            "%Y-%m-%d %H:%M"),
        "region": rng.choice(["east", "west"], n),
        "amount": amount,
        "channel": rng.choice(["web", "phone"], n),
        "leak": np.where(rng.random(n) < 1 / (1 + np.exp(-(np.log(amount) - 5.5))), "yes", "no"),
    }).to_csv(tmp_path / "claims.csv", index=False)

    trained = cli("train", "claims", "--data", tmp_path / "claims.csv", "--config", config,
                  "--json")

    assert trained.code == 0, trained.err
    record = json.loads((workspace.store_dir / "models/claims/1/reproducibility-report.json")
                        .read_text())
    assert record["scenario"]["config"]["path"] == str(config.resolve())
    assert record["feature_schema"]["labels"] == ["no", "yes"]
    reproduced = cli("train", "--reproduce", "claims", "1", "--json")
    assert reproduced.code == 0, reproduced.err
    assert reproduced.json()["match"] is True
    assert reproduced.json()["environment_differences"] == []

    moved = tmp_path / "moved.toml"
    moved.write_bytes(config.read_bytes())
    config.unlink()
    gone = cli("train", "--reproduce", "claims", "1")
    assert gone.code == 2 and "pass the same file with --config" in gone.err, gone.err
    again = cli("train", "--reproduce", "claims", "1", "--config", moved, "--json")
    assert again.code == 0 and again.json()["match"] is True, again.err
    moved.rename(config)

    config.write_text(config.read_text() + "# edited\n")
    edited = cli("train", "--reproduce", "claims", "1")
    assert edited.code == 2 and f"scenario config {config.resolve()} has sha256 " in edited.err


@pytest.mark.parametrize("name", ["shortfall", "compliance"])
def test_other_tabular_scenarios_train_and_reproduce(
    name: str, workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    data = _generate(name, tmp_path / f"{name}.parquet", 3000)
    trained = cli("train", name, "--data", data, "--json")
    assert trained.code == 0, trained.err
    summary = trained.json()
    assert summary["metrics"]["validation"]["roc_auc"] > 0.65
    assert summary["comparison"]["status"] == "no production version"
    assert cli("train", "--reproduce", name, "1").code == 0


def test_training_run_lands_in_a_real_mlflow_store(
    workspace: Workspace, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    pytest.importorskip("mlflow", reason="mlflow-skinny is the riskops[mlflow] extra")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", str(tmp_path / "mlartifacts"))
    data = _generate("fraud", tmp_path / "fraud.parquet", 3000)
    trained = cli("train", "fraud", "--data", data, "--json")
    assert trained.code == 0, trained.err
    summary = trained.json()
    assert summary["tracking"]["mlflow"] is True, summary["tracking"]

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    [version] = client.search_model_versions("name='fraud'")
    assert version.tags["riskops.model_version"] == "1"
    # Nothing was published after the training run, so the tag is the live manifest's digest.
    manifest_sha = hashlib.sha256(workspace.manifest_path.read_bytes()).hexdigest()
    assert version.tags["riskops.manifest_sha256"] == manifest_sha
    run = client.get_run(version.run_id)
    assert run.data.metrics["roc_auc"] == pytest.approx(
        summary["metrics"]["validation"]["roc_auc"])
    logged = {a.path for a in client.list_artifacts(version.run_id)}
    assert {"evaluation-report.json", "reproducibility-report.json", "model.skops"} <= logged

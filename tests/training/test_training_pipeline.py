"""`riskops train` end to end: a registered, verifiable candidate with its reports, the
comparison with production, and the MLflow hook."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from training_helpers import SCHEMA, ToyScenario, toy_frame, use_toy_scenario, write_toy

from conftest import admin_token
from riskops.cli.train import comparison_lines, summary_lines
from riskops.config import Workspace
from riskops.errors import InputError
from riskops.profiles.profile import read_profile
from riskops.registry.loader import load_model
from riskops.registry.manifest import read_verified_manifest
from riskops.training.pipeline import TRAIN_STEPS, train_scenario
from riskops.training.reports import schema_sha256
from riskops.training.split import ids_sha256

ARTIFACTS = {"model.skops", "evaluation-report.json", "reproducibility-report.json",
             "golden-predictions.parquet", "holdout-rows.parquet", "reference-profile.json"}


@pytest.fixture(autouse=True)
def _toy(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_scenario(monkeypatch)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "toy.csv", 1200)


def _artifact(ws: Workspace, version: int, name: str) -> bytes:
    return (ws.store_dir / f"models/toy/{version}/{name}").read_bytes()


def _train(cli, data: Path, *extra: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = cli("train", "toy", "--data", data, "--json", *extra)
    assert result.code == 0, result.err
    assert result.err == ""  # no progress bar, no warnings in --json mode off a terminal
    return result.json()


def test_train_registers_a_verifiable_candidate_with_six_artifacts(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    summary = _train(cli, data)

    assert (summary["model"], summary["version"], summary["live"]) == ("toy", 1, False)
    names = {a["path"].rsplit("/", 1)[1] for a in summary["artifacts"]}
    assert names == ARTIFACTS | {"model.sig"}
    assert cli("verify", "toy", "1").code == 0
    shown = cli("models", "show", "toy", "--json").json()
    assert shown["stages"]["production"] is None
    version = shown["versions"][0]
    assert version["training_run_id"] == summary["training_run_id"]
    assert version["metrics"]["threshold"] == summary["threshold"]["value"]
    assert version["metrics"]["roc_auc"] == summary["metrics"]["validation"]["roc_auc"]
    assert version["params"]["seed"] == 0
    assert version["params"]["classifier__estimator__max_iter"] == 150
    assert summary["comparison"]["status"] == "no production version"


def test_reports_record_the_data_split_and_environment(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    summary = _train(cli, data, "--seed", "7")
    record = json.loads(_artifact(workspace, 1, "reproducibility-report.json"))
    evaluation = json.loads(_artifact(workspace, 1, "evaluation-report.json"))
    golden = pd.read_parquet(io.BytesIO(_artifact(workspace, 1, "golden-predictions.parquet")))

    assert record["data"] == {
        "path": str(data.resolve()), "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "rows": 1200, "bytes": data.stat().st_size, "format": "csv"}
    assert record["feature_schema_sha256"] == schema_sha256(SCHEMA)
    assert (record["seed"], record["threads"]) == (7, 1)
    assert record["split"]["fractions"] == {"train": 0.7, "validation": 0.15, "golden": 0.15}
    assert record["split"]["rows"] == {"train": 840, "validation": 180, "golden": 180}
    assert record["split"]["golden_ids_sha256"] == ids_sha256(golden["id"])
    assert record["threshold"] == summary["threshold"]["value"]
    assert record["golden_predictions"]["sha256"] == hashlib.sha256(
        _artifact(workspace, 1, "golden-predictions.parquet")).hexdigest()
    commit = record["code"]["git_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
    assert record["code"]["riskops_version"] == __import__("riskops").__version__
    assert record["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["environment"]["installed"]["scikit-learn"] is not None
    assert "numpy" in record["dependencies"]["packages"]
    assert set(record["wall_time_seconds"]) == {"read", "fit", "evaluate", "total"}

    assert evaluation["threshold"]["rule"] == "maximise F1 on the validation slice"
    assert set(evaluation["metrics"]) == {"validation", "golden"}
    assert evaluation["segments"]["columns"] == ["tenant_id", "region"]
    assert "north" in evaluation["segments"]["validation"]["region"]["values"]
    train_range = evaluation["split"]["time_ranges"]["train"]
    assert train_range["to"] <= evaluation["split"]["time_ranges"]["golden"]["from"]


def test_golden_predictions_are_what_the_registered_model_scores(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    _train(cli, data)
    verified = read_verified_manifest(workspace.manifest_path, workspace.signature_path,
                                      workspace.public_key_path)
    model = load_model(verified, "toy", 1).estimator
    golden = pd.read_parquet(io.BytesIO(_artifact(workspace, 1, "golden-predictions.parquet")))
    frame = pd.read_csv(data, dtype={"label": str, "id": str}).set_index("id")
    rows = frame.loc[golden["id"]].reset_index()
    np.testing.assert_array_equal(ToyScenario().risk_scores(model, rows), golden["score"])


def test_second_training_is_compared_with_production(
    workspace: Workspace, tmp_path: Path, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    _train(cli, data)
    assert cli("promote", "toy", "1", "--break-glass", "test set-up", token=admin_token()).code == 0
    other = write_toy(tmp_path / "other.parquet", 1200, seed=5)

    result = cli("train", "toy", "--data", other)

    assert result.code == 0, result.err
    assert "vs production v1 (validation, candidate - production): ROC AUC " in result.out
    assert "golden set vs v1: mean |delta score| " in result.out
    assert "not live until it passes its gates: riskops gates toy 2" in result.out
    comparison = json.loads(_artifact(workspace, 2, "evaluation-report.json"))["comparison"]
    assert comparison["status"] == "compared" and comparison["production_version"] == 1
    assert comparison["production_threshold_source"] == "registered metrics"
    validation = comparison["validation"]
    for name, delta in validation["delta"].items():
        assert delta == pytest.approx(validation["candidate"][name]
                                      - validation["production"][name])
    golden = comparison["golden"]
    assert golden["rows"] == 180
    assert 0 < golden["mean_abs_score_delta"] <= golden["max_abs_score_delta"] <= 1
    assert golden["labels_flipped"] == sum(golden["flips"].values())
    assert golden["share_labels_flipped"] == pytest.approx(golden["labels_flipped"] / 180)


def test_training_twice_with_one_seed_gives_identical_golden_predictions(
    workspace: Workspace, data: Path
) -> None:
    first = train_scenario(workspace, "toy", data, seed=3, actor="test")
    second = train_scenario(workspace, "toy", data, seed=3, actor="test")

    assert (first["version"], second["version"]) == (1, 2)
    a = pd.read_parquet(io.BytesIO(_artifact(workspace, 1, "golden-predictions.parquet")))
    b = pd.read_parquet(io.BytesIO(_artifact(workspace, 2, "golden-predictions.parquet")))
    assert a["id"].tolist() == b["id"].tolist()
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert first["metrics"] == second["metrics"]
    profile = _artifact(workspace, 1, "reference-profile.json")
    assert profile == _artifact(workspace, 2, "reference-profile.json")  # byte for byte


def test_reference_profile_is_signed_and_describes_train_and_held_out_rows(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    summary = _train(cli, data)

    listed = {a["path"]: a["sha256"] for a in summary["artifacts"]}
    raw = _artifact(workspace, 1, "reference-profile.json")
    assert listed["models/toy/1/reference-profile.json"] == hashlib.sha256(raw).hexdigest()
    profile = read_profile(raw, source="reference-profile.json")
    rows = summary["split"]["rows"]
    assert profile.features_from == {"slice": "train", "rows": rows["train"]}
    assert profile.scores_from == {"slices": ["validation", "golden"],
                                   "rows": rows["validation"] + rows["golden"]}
    assert set(profile.features) == {"amount", "velocity", "channel"}
    assert profile.features["amount"].count == rows["train"]
    assert profile.score.count == rows["validation"] + rows["golden"]
    frame = pd.read_csv(data)
    train = frame.sort_values(["timestamp", "id"]).head(rows["train"])
    assert set(profile.features["channel"].shares) == set(train["channel"])


def test_verify_names_a_tampered_reference_profile(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    _train(cli, data)
    stored = workspace.store_dir / "models/toy/1/reference-profile.json"
    os.chmod(stored, 0o644)
    stored.write_bytes(stored.read_bytes().replace(b'"train"', b'"tram"'))

    result = cli("verify", "toy", "1")

    assert result.code == 1
    assert "models/toy/1/reference-profile.json" in result.out + result.err


def test_progress_is_reported_step_by_step(workspace: Workspace, data: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    train_scenario(workspace, "toy", data, actor="test",
                   progress=lambda *call: calls.append(call))
    total = len(TRAIN_STEPS)
    assert calls == [(step, i, total) for i, step in enumerate(TRAIN_STEPS)] + [
        ("done", total, total)]


def test_text_output_names_version_metrics_and_next_step(
    workspace: Workspace, data: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    result = cli("train", "toy", "--data", data)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("trained toy on toy.csv: 1,200 rows (train 840, validation "
                               "180, golden 180), seed 0, ")
    assert lines[1].startswith("threshold ") and "maximise F1 on the validation slice" in lines[1]
    assert lines[2].split() == ["ROC", "AUC", "PR", "AUC", "F1", "precision", "recall",
                                "Brier", "log", "loss", "ECE"]
    assert lines[3].startswith("validation ") and lines[4].startswith("golden ")
    assert "vs production: no version in production; nothing to compare." in lines
    assert lines[-1] == "not live until it passes its gates: riskops gates toy 1"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("train", "toy"), "--data is required: riskops train toy --data FILE"),
        (("train", "toy", "3", "--data", "x.csv"), "unexpected VERSION 3: it is only used with "
                                                   "--reproduce"),
        (("train", "--reproduce", "toy"), "--reproduce needs a model and a version"),
        (("train", "--reproduce", "toy", "1", "--seed", "2"),
         "--seed is recorded in the version's reproducibility report"),
        (("train", "toy", "--data", "x.csv", "--threads", "0"), "--threads must be at least 1"),
        (("train", "nosuch", "--data", "x.csv"), "unknown scenario 'nosuch'"),
        (("train", "Bad Name", "--data", "x.csv"), "model name 'Bad Name' is invalid"),
    ],
)
def test_usage_errors_exit_2(
    args: tuple[str, ...], needle: str, workspace: Workspace, cli  # type: ignore[no-untyped-def]
) -> None:
    result = cli(*args)
    assert result.code == 2 and needle in result.err, result.err
    assert "Traceback" not in result.err


def test_mlflow_is_not_imported_when_the_tracking_uri_is_unset(
    workspace: Workspace, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # any import of mlflow would fail
    monkeypatch.setitem(sys.modules, "riskops.training.tracking", None)
    summary = train_scenario(workspace, "toy", data, actor="test")
    assert summary["tracking"] == {"mlflow": False, "reason": "MLFLOW_TRACKING_URI is not set"}


def _fake_tracking(monkeypatch: pytest.MonkeyPatch, log: Any) -> None:
    module = types.ModuleType("riskops.training.tracking")
    module.log_to_mlflow = log  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "riskops.training.tracking", module)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///unused.db")


def test_mlflow_hook_gets_the_run_the_artifacts_and_the_manifest_digest(
    workspace: Workspace, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def log(summary: dict[str, Any], artifacts_dir: Path, *, model: str, version: int,
            manifest_sha256: str) -> str:
        calls.append({"summary": summary, "files": {p.name for p in artifacts_dir.iterdir()},
                      "model": model, "version": version, "manifest": manifest_sha256})
        return "run-123"

    _fake_tracking(monkeypatch, log)
    summary = train_scenario(workspace, "toy", data, seed=4, actor="test")

    (call,) = calls
    assert call["files"] == ARTIFACTS
    assert (call["model"], call["version"]) == ("toy", 1)
    assert call["manifest"] == hashlib.sha256(workspace.manifest_path.read_bytes()).hexdigest()
    run = call["summary"]
    assert (run["scenario"], run["seed"]) == ("toy", 4)
    assert run["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert run["metrics"]["roc_auc"] == summary["metrics"]["validation"]["roc_auc"]
    assert run["params"]["threshold"] == summary["threshold"]["value"]
    assert summary["tracking"] == {"mlflow": True, "run": "run-123"}


def test_mlflow_failure_is_a_warning_after_registration(
    workspace: Workspace, data: Path, monkeypatch: pytest.MonkeyPatch, cli  # type: ignore[no-untyped-def]
) -> None:
    def log(*_args: Any, **_kwargs: Any) -> None:
        raise InputError("MLflow at sqlite:///unused.db: connection failed")

    _fake_tracking(monkeypatch, log)
    result = cli("train", "toy", "--data", data)

    assert result.code == 0, result.err
    assert result.err == ("warning: toy v1 is registered, but logging it to MLflow failed: "
                          "InputError: MLflow at sqlite:///unused.db: connection failed\n")
    assert "registered toy v1" in result.out


def test_summary_lines_for_an_unavailable_comparison_and_a_fallback_threshold() -> None:
    assert comparison_lines({"status": "unavailable", "production_version": 3,
                             "reason": "cannot load v3: digest mismatch"}) == [
        "vs production v3: not compared: cannot load v3: digest mismatch"]
    summary = {
        "model": "toy", "version": 2, "manifest_version": 5, "seed": 0,
        "wall_time_seconds": 1.0, "split": {"rows": {"train": 7, "validation": 2, "golden": 1}},
        "data": {"path": "/d/toy.csv", "rows": 10},
        "threshold": {"value": 0.5, "rule": "scenario default threshold",
                      "fallback_reason": "no positive rows in the validation slice"},
        "metrics": {"validation": dict.fromkeys(
            ["roc_auc", "pr_auc", "f1", "precision", "recall", "brier", "log_loss", "ece"])},
        "comparison": {"status": "no production version"},
    }
    lines = summary_lines(summary)
    assert lines[1] == ("threshold 0.5: scenario default threshold (no positive rows in the "
                        "validation slice)")
    assert lines[3].split() == ["validation"] + ["-"] * 8


def test_numeric_feature_empty_in_every_row_is_named(
    workspace: Workspace, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    use_toy_scenario(monkeypatch)
    frame = toy_frame(1500)
    frame["velocity"] = np.nan
    frame.to_csv(tmp_path / "empty-feature.csv", index=False)
    result = cli("train", "toy", "--data", tmp_path / "empty-feature.csv")
    assert result.code == 2, result.err
    assert "no value in numeric feature 'velocity'" in result.err

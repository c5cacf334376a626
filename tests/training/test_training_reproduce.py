"""`riskops train --reproduce MODEL VERSION`: retrain from the record, compare exactly."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from training_helpers import use_toy_scenario, write_toy

from riskops.config import Workspace
from riskops.training import reproduce
from riskops.training.pipeline import fit_and_score


@pytest.fixture(autouse=True)
def _toy(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_scenario(monkeypatch)


@pytest.fixture
def trained(workspace: Workspace, tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    """Toy v1 trained on a Parquet file; returns the file."""
    data = write_toy(tmp_path / "toy.parquet", 1000)
    assert cli("train", "toy", "--data", data, "--seed", "2").code == 0
    return data


def test_reproduction_matches_and_moved_or_changed_data_is_handled(
    workspace: Workspace, trained: Path, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    manifest = workspace.manifest_path.read_bytes()

    result = cli("train", "--reproduce", "toy", "1")
    assert result.code == 0, result.err
    assert result.out.startswith(f"match: toy v1 retrained from {trained} (sha256 ")
    assert "seed 2); all 150 golden predictions are identical." in result.out

    moved = tmp_path / "moved.parquet"
    shutil.move(trained, moved)
    gone = cli("train", "--reproduce", "toy", "1")
    assert gone.code == 2
    assert f"toy v1 was trained with the data file {trained}, which no longer exists" in gone.err

    as_json = cli("train", "--reproduce", "toy", "1", "--data", moved, "--json")
    assert as_json.code == 0, as_json.err
    report = as_json.json()
    assert report["match"] is True and report["golden_ids_match"] is True
    assert report["profile_match"] is True  # the reference profile rebuilt byte for byte
    assert (report["rows"], report["rows_differing"], report["max_abs_score_delta"]) == (
        150, 0, 0.0)
    assert (report["seed"], report["threads"]) == (2, 1)
    assert report["environment_differences"] == []

    recorded = hashlib.sha256(moved.read_bytes()).hexdigest()
    write_toy(moved, 1000, seed=9)  # same name, other rows
    changed = cli("train", "--reproduce", "toy", "1", "--data", moved)
    now = hashlib.sha256(moved.read_bytes()).hexdigest()
    assert changed.code == 2
    assert changed.err == (f"error: data file {moved} has sha256 {now}, but toy v1 was trained "
                           f"on sha256 {recorded}; reproduction needs the same bytes.\n")
    assert workspace.manifest_path.read_bytes() == manifest  # nothing registered


def test_different_predictions_are_a_mismatch_exit_1(
    workspace: Workspace, trained: Path, monkeypatch: pytest.MonkeyPatch, cli  # type: ignore[no-untyped-def]
) -> None:
    def perturbed(*args, **kwargs):  # type: ignore[no-untyped-def]
        fit = fit_and_score(*args, **kwargs)
        scores = fit.golden_scores.copy()
        scores[:3] = scores[:3] * 0.5 + 0.25
        return dataclasses.replace(fit, golden_scores=scores)

    monkeypatch.setattr(reproduce, "fit_and_score", perturbed)
    result = cli("train", "--reproduce", "toy", "1")

    assert result.code == 1
    assert result.out.startswith("mismatch: toy v1: ")
    assert "of 150 golden predictions differ (max |delta| " in result.out


def test_environment_differences_are_listed(
    workspace: Workspace, trained: Path, monkeypatch: pytest.MonkeyPatch, cli  # type: ignore[no-untyped-def]
) -> None:
    real = reproduce.reports.environment

    def older_python():  # type: ignore[no-untyped-def]
        return {**real(), "python": "3.11.0"}

    monkeypatch.setattr(reproduce.reports, "environment", older_python)
    result = cli("train", "--reproduce", "toy", "1")

    assert result.code == 0, result.err
    recorded = real()["python"]
    assert f"  differs from the recorded run: python: {recorded} -> 3.11.0" in result.out


def test_a_tampered_version_is_not_reproduced(
    workspace: Workspace, trained: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    stored = workspace.store_dir / "models/toy/1/reproducibility-report.json"
    os.chmod(stored, 0o644)
    stored.write_text(stored.read_text().replace('"seed": 2', '"seed": 3'))

    result = cli("train", "--reproduce", "toy", "1")

    assert result.code == 1
    assert result.err.startswith("error: toy v1 failed verification; not reproduced: "
                                 "models/toy/1/reproducibility-report.json: sha256 mismatch")


def test_unknown_version_and_versions_without_reports(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    from conftest import make_model_dir

    assert cli("models", "register", "toy", "--from", make_model_dir(tmp_path / "byo")).code == 0

    missing = cli("train", "--reproduce", "toy", "4")
    assert missing.code == 2 and "toy v4 is not in manifest" in missing.err
    byo = cli("train", "--reproduce", "toy", "1")
    assert byo.code == 2
    assert byo.err == ("error: toy v1 has no reproducibility-report.json; only versions trained "
                       "with riskops train can be reproduced.\n")


def test_tampered_golden_predictions_are_refused(
    workspace: Workspace, trained: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    stored = workspace.store_dir / "models/toy/1/golden-predictions.parquet"
    os.chmod(stored, 0o644)
    stored.write_bytes(stored.read_bytes()[:-1] + b"\0")

    result = cli("train", "--reproduce", "toy", "1")

    assert result.code == 1
    assert result.err.startswith("error: toy v1 failed verification; not reproduced: "
                                 "models/toy/1/golden-predictions.parquet: ")


def test_the_version_is_read_through_load_model(
    workspace: Workspace, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskops.registry import loader

    calls = []
    real = loader.load_model

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((args[1:], kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "load_model", spy)
    assert reproduce.reproduce_version(workspace, "toy", 1)["match"] is True
    assert calls == [(("toy", 1), {
        "trusted_types": (), "action": "reproduced",
        "read": ("reproducibility-report.json", "golden-predictions.parquet")})]


def test_a_file_swapped_after_verification_is_caught_as_it_is_read(
    workspace: Workspace, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskops.errors import IntegrityError
    from riskops.registry import loader

    report = workspace.store_dir / "models/toy/1/reproducibility-report.json"
    real = loader.verify_artifacts

    def verify_then_swap(*args, **kwargs):  # type: ignore[no-untyped-def]
        failures = real(*args, **kwargs)
        os.chmod(report, 0o644)
        report.write_text(report.read_text().replace('"seed": 2', '"seed": 3'))
        return failures

    monkeypatch.setattr(loader, "verify_artifacts", verify_then_swap)
    with pytest.raises(IntegrityError, match=r"^models/toy/1/reproducibility-report\.json: "
                                             r"changed while being read; not reproduced\.$"):
        reproduce.reproduce_version(workspace, "toy", 1)

"""Candidate vs production: the pure score-delta maths and the cases without a comparison."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from training_helpers import ToyScenario, toy_frame, use_toy_scenario

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.training.compare import compare_with_production, score_delta_regression
from riskops.training.metrics import classification_metrics


def test_score_delta_regression_counts_moves_and_flips() -> None:
    result = score_delta_regression(
        [0.1, 0.5, 0.9, 0.3], [0.2, 0.5, 0.4, 0.6],
        candidate_labels=["0", "1", "1", "0"], production_labels=["0", "1", "0", "1"],
    )
    assert result["rows"] == 4
    assert result["mean_abs_score_delta"] == pytest.approx((0.1 + 0 + 0.5 + 0.3) / 4)
    assert result["max_abs_score_delta"] == pytest.approx(0.5)
    assert (result["labels_flipped"], result["share_labels_flipped"]) == (2, 0.5)
    assert result["flips"] == {"0 -> 1": 1, "1 -> 0": 1}


def test_identical_models_move_nothing() -> None:
    scores = np.linspace(0, 1, 11)
    labels = ["1" if s >= 0.5 else "0" for s in scores]
    result = score_delta_regression(scores, scores, candidate_labels=labels,
                                    production_labels=labels)
    assert result["max_abs_score_delta"] == 0.0 and result["labels_flipped"] == 0
    assert result["flips"] == {}


def test_multiclass_labels_flip_between_any_two_labels() -> None:
    result = score_delta_regression([0.2, 0.7], [0.4, 0.7], candidate_labels=["low", "high"],
                                    production_labels=["medium", "high"])
    assert result["flips"] == {"medium -> low": 1}


@pytest.mark.parametrize(
    ("candidate", "production", "message"),
    [
        ([0.1, np.nan], [0.1, 0.2], "candidate scores contains NaN"),
        ([0.1, 0.2], [0.1, 1.5], r"production scores has values outside \[0, 1\]"),
        ([0.1, 0.2], [0.1], "must have one length"),
    ],
)
def test_bad_scores_are_named(candidate: list, production: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        score_delta_regression(candidate, production, candidate_labels=["0"] * len(candidate),
                               production_labels=["0"] * len(production))


def _compare(ws: Workspace) -> dict:  # type: ignore[type-arg]
    scenario = ToyScenario()
    frame = toy_frame(300)
    validation, golden = frame.iloc[:150], frame.iloc[150:]
    y = scenario.binary_target(validation["label"])
    scores = np.full(150, 0.3)
    return compare_with_production(
        ws, scenario, validation=validation, golden=golden,
        candidate_validation=classification_metrics(y, scores, 0.5),
        candidate_golden_scores=np.full(150, 0.3), candidate_threshold=0.5,
    )


def test_no_production_version_is_reported_not_raised(workspace: Workspace) -> None:
    result = _compare(workspace)
    assert result["status"] == "no production version"
    assert result["production_version"] is None
    assert result["reason"] == "toy has no version in production; nothing to compare."


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_a_production_model_that_cannot_score_the_rows_is_unavailable(
    workspace: Workspace, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    use_toy_scenario(monkeypatch)  # toy is served as a reference scenario, so it may go live
    # A bring-your-own model trained on four unnamed numeric columns.
    assert cli("models", "register", "toy", "--from", make_model_dir(tmp_path / "byo")).code == 0
    assert cli("promote", "toy", "1", "--break-glass", "test set-up", token=admin_token()).code == 0

    result = _compare(workspace)

    assert result["status"] == "unavailable" and result["production_version"] == 1
    assert result["reason"].startswith("v1 could not score the validation rows (")
    assert result["production_threshold"] == 0.5
    assert result["production_threshold_source"] == "scenario default"


def test_a_tampered_production_model_is_never_loaded(
    workspace: Workspace, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    use_toy_scenario(monkeypatch)  # toy is served as a reference scenario, so it may go live
    assert cli("models", "register", "toy", "--from", make_model_dir(tmp_path / "byo")).code == 0
    assert cli("promote", "toy", "1", "--break-glass", "test set-up", token=admin_token()).code == 0
    stored = workspace.store_dir / "models/toy/1/model.skops"
    os.chmod(stored, 0o644)
    stored.write_bytes(stored.read_bytes() + b"x")

    result = _compare(workspace)

    assert result["status"] == "unavailable"
    assert "cannot load v1: toy v1 failed verification" in result["reason"]
    assert "model.skops: grown" in result["reason"]

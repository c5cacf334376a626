"""Issue 13 training choices: the model of a custom scenario, the plain baseline beside every
model, and splits without timestamps."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from training_helpers import use_toy_scenario, write_toy

from riskops.cli.train import summary_lines
from riskops.config import Workspace
from riskops.scenarios import get_scenario
from riskops.training.baseline import TOLERANCE, baseline_warning

INCIDENT_CONFIG = """\
[scenario]
name = "tickets"
[columns]
label = "severity"
positive_label = "high"
segments = ["industry", "region", "size_band"]
sensitive = "reporter_language"
[features]
text = ["text"]
categorical = ["source", "service_tier"]
"""


def _report(ws: Workspace, model: str, version: int, name: str) -> dict[str, Any]:
    return json.loads((ws.store_dir / f"models/{model}/{version}/{name}").read_text())


def test_custom_text_scenario_matches_the_incident_model_on_the_same_rows(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    frame = get_scenario("incident").generate(4000, start=date(2024, 1, 1), days=60, seed=0)
    frame.to_parquet(tmp_path / "incident.parquet", index=False)
    # The custom scenario is binary: high against the rest, as incident's metrics are.
    custom = frame.assign(severity=np.where(frame["label"] == "high", "high", "not high"))
    custom.drop(columns=["label"]).to_csv(tmp_path / "tickets.csv", index=False)
    (tmp_path / "tickets.toml").write_text(INCIDENT_CONFIG)

    reference = cli("train", "incident", "--data", tmp_path / "incident.parquet", "--json")
    assert reference.code == 0, reference.err
    mine = cli("train", "tickets", "--data", tmp_path / "tickets.csv", "--config",
               tmp_path / "tickets.toml", "--json")
    assert mine.code == 0, mine.err

    ref_golden = reference.json()["metrics"]["golden"]["roc_auc"]
    my_golden = mine.json()["metrics"]["golden"]["roc_auc"]
    assert abs(my_golden - ref_golden) <= 0.01, (my_golden, ref_golden)
    ref_split = _report(workspace, "incident", 1, "evaluation-report.json")["split"]
    my_split = _report(workspace, "tickets", 1, "evaluation-report.json")["split"]
    assert my_split["golden_ids_sha256"] == ref_split["golden_ids_sha256"]
    assert mine.json()["params"]["steps"] == reference.json()["params"]["steps"]


def test_baseline_metrics_are_a_plain_logistic_regression_on_the_same_split(
    workspace: Workspace, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    use_toy_scenario(monkeypatch)
    data = write_toy(tmp_path / "toy.csv", 1200)
    result = cli("train", "toy", "--data", data, "--json")
    assert result.code == 0, result.err
    block = _report(workspace, "toy", 1, "evaluation-report.json")["baseline"]
    assert result.json()["baseline"] == block

    # The oracle: scikit-learn by hand on the rows of each slice, ordered by time then id.
    frame = pd.read_csv(data, dtype=str).assign(
        amount=lambda f: f["amount"].astype(float), velocity=lambda f: f["velocity"].astype(float),
        timestamp=lambda f: pd.to_datetime(f["timestamp"], utc=True),
    ).sort_values(["timestamp", "id"], kind="mergesort")
    train, validation = frame.iloc[:840], frame.iloc[840:1020]
    oracle = make_pipeline(
        ColumnTransformer([
            ("c", OneHotEncoder(handle_unknown="ignore"), ["channel"]),
            ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             ["amount", "velocity"]),
        ]),
        LogisticRegression(max_iter=1000),
    ).fit(train[["amount", "velocity", "channel"]], (train["label"] == "1").astype(int))
    scores = oracle.predict_proba(validation[["amount", "velocity", "channel"]])[:, 1]
    y = (validation["label"] == "1").astype(int)
    got = block["metrics"]["validation"]
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-9)
    assert got["pr_auc"] == pytest.approx(average_precision_score(y, scores), abs=1e-9)
    assert got["brier"] == pytest.approx(brier_score_loss(y, scores), abs=1e-9)
    model_auc = result.json()["metrics"]["validation"]["roc_auc"]
    assert block["model_minus_baseline_roc_auc"]["validation"] == pytest.approx(
        model_auc - got["roc_auc"])
    assert block["worse_than_baseline"] is (model_auc < got["roc_auc"] - TOLERANCE)


def test_a_model_worse_than_the_baseline_gets_a_one_line_warning() -> None:
    block = {"status": "fitted", "worse_than_baseline": True, "tolerance": TOLERANCE,
             "metrics": {"validation": {"roc_auc": 0.90, "pr_auc": 0.5, "brier": 0.1},
                         "golden": {"roc_auc": 0.91, "pr_auc": 0.5, "brier": 0.1}}}
    warning = baseline_warning(block, 0.85)
    assert warning == ("warning: the model's validation ROC AUC 0.8500 is 0.0500 below the "
                       "plain logistic-regression baseline's 0.9000 (tolerance 0.005); consider "
                       "a simpler model ([model] estimator of a custom scenario).")
    assert baseline_warning({**block, "worse_than_baseline": False}, 0.85) is None
    summary = {
        "model": "toy", "version": 1, "manifest_version": 1, "seed": 0,
        "wall_time_seconds": 1.0,
        "data": {"path": "toy.csv", "rows": 1000},
        "split": {"rows": {"train": 700, "validation": 150, "golden": 150}, "notice": None},
        "threshold": {"value": 0.5, "rule": "r", "fallback_reason": None},
        "metrics": {},
        "comparison": {"status": "no production version"},
        "baseline": block, "baseline_warning": warning,
    }
    lines = summary_lines(summary)
    assert lines.count(warning) == 1
    assert ("baseline (logistic regression): validation ROC AUC 0.9000, PR AUC 0.5000, "
            "Brier 0.1000; golden ROC AUC 0.9100, PR AUC 0.5000, Brier 0.1000") in lines


def _claims_without_time(path: Path, rows: int = 900) -> Path:
    rng = np.random.default_rng(1)
    amount = rng.lognormal(5, 1, rows)
    pd.DataFrame({
        "id": [f"c{i}" for i in range(rows)],
        "amount": amount,
        "channel": rng.choice(["web", "phone"], rows),
        "label": np.where(rng.random(rows) < 1 / (1 + np.exp(-(np.log(amount) - 5.5))),
                          "1", "0"),
    }).to_csv(path, index=False)
    return path


CLAIMS = ('[scenario]\nname = "claims"\n'
          '[features]\nnumeric = ["amount"]\ncategorical = ["channel"]\n')


@pytest.mark.parametrize(("section", "kind", "seed", "notice"), [
    ("", "ordered", None, True),
    ('[split]\nkind = "ordered"\n', "ordered", None, False),
    ('[split]\nkind = "random"\nseed = 11\n', "random", 11, False),
])
def test_data_without_timestamps_trains_and_reproduces(
    workspace: Workspace, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
    section: str, kind: str, seed: int | None, notice: bool,
) -> None:
    data = _claims_without_time(tmp_path / "claims.csv")
    config = tmp_path / "claims.toml"
    config.write_text(CLAIMS + section)

    trained = cli("train", "claims", "--data", data, "--config", config)
    assert trained.code == 0, trained.err
    lines = trained.out.splitlines()
    notices = [line for line in lines if line.startswith("notice:")]
    assert notices == ([
        "notice: no timestamp column 'timestamp' in the data; split by row order (the first "
        "rows train, the last are golden); set [split] kind in the config to choose."
    ] if notice else [])
    record = _report(workspace, "claims", 1, "reproducibility-report.json")["split"]
    assert (record["kind"], record["seed"]) == (kind, seed)
    evaluation = _report(workspace, "claims", 1, "evaluation-report.json")["split"]
    assert evaluation["time_ranges"] is None
    golden = pd.read_parquet(workspace.store_dir / "models/claims/1/golden-predictions.parquet")
    ids = pd.read_csv(data)["id"]
    expected = (ids.iloc[765:] if kind == "ordered"
                else ids.iloc[np.sort(np.random.default_rng(seed).permutation(900)[765:])])
    assert golden["id"].tolist() == expected.tolist()

    reproduced = cli("train", "--reproduce", "claims", "1", "--json")
    assert reproduced.code == 0, reproduced.err
    assert reproduced.json()["match"] is True
    assert reproduced.json()["split"]["kind"] == kind


def test_a_time_split_without_the_timestamp_column_exits_2(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    data = _claims_without_time(tmp_path / "claims.csv")
    config = tmp_path / "claims.toml"
    config.write_text(CLAIMS + '[split]\nkind = "time"\n')
    result = cli("train", "claims", "--data", data, "--config", config)
    assert result.code == 2
    assert "missing timestamp column 'timestamp'" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_malformed_model_section_exits_2_naming_file_and_key(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    data = _claims_without_time(tmp_path / "claims.csv")
    config = tmp_path / "claims.toml"
    config.write_text(CLAIMS + '[model]\nestimator = "xgboost"\n')
    result = cli("train", "claims", "--data", data, "--config", config)
    assert result.code == 2
    assert f"{config}: model.estimator 'xgboost' is not one of" in result.err


def test_train_prints_the_warning_for_a_model_the_baseline_beats(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    frame = get_scenario("incident").generate(2000, start=date(2024, 1, 1), days=60, seed=0)
    frame.assign(severity=np.where(frame["label"] == "high", "high", "not high")).drop(
        columns=["label"]).to_csv(tmp_path / "tickets.csv", index=False)
    (tmp_path / "tickets.toml").write_text(
        INCIDENT_CONFIG + '[model]\nestimator = "gradient_boosting"\nmax_iter = 1\n')

    result = cli("train", "tickets", "--data", tmp_path / "tickets.csv", "--config",
                 tmp_path / "tickets.toml")

    assert result.code == 0, result.err
    report = _report(workspace, "tickets", 1, "evaluation-report.json")
    assert report["baseline"]["worse_than_baseline"] is True
    warnings = [line for line in result.out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "below the plain logistic-regression baseline" in warnings[0]


def test_the_notice_names_the_configured_timestamp_column(tmp_path: Path) -> None:
    from riskops.scenarios.custom import load_custom_scenario
    from riskops.training.pipeline import split_rule

    config = tmp_path / "claims.toml"
    config.write_text(CLAIMS.replace("[features]", '[columns]\ntimestamp = "submitted_at"\n'
                                                   "[features]"))
    scenario = load_custom_scenario(config, name="claims")
    rule, notice = split_rule(scenario, pd.DataFrame({"id": ["a"]}))
    assert rule.kind == "ordered"
    assert notice is not None and notice.startswith(
        "notice: no timestamp column 'submitted_at' in the data;")
    assert split_rule(scenario, pd.DataFrame({"timestamp": []}))[0].kind == "time"

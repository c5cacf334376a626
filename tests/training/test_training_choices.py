"""Issue 13 training choices: the model of a custom scenario and splits without timestamps."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskops.config import Workspace
from riskops.scenarios import get_scenario

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
        "notice: no timestamp column 'timestamp' in the data; split by row order (oldest "
        "rows first, as in the file); set [split] kind in the config to choose."
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

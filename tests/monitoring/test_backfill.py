"""`riskops monitor import`: history into the inference log, idempotently, or one clear error."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.monitoring.backfill import import_predictions, prediction_id
from riskops.monitoring.checks import model_id
from riskops.scenarios import get_scenario
from riskops.storage.predictions import read_window

FEATURES = get_scenario("fraud").schema.feature_names
START = datetime(2026, 1, 1, tzinfo=UTC)
EVERYTHING = {"start": START - timedelta(days=1), "end": START + timedelta(days=400)}


def scored(rows: int = 300, *, days: int = 30, seed: int = 0, tenants: int = 2) -> pd.DataFrame:
    """Generated fraud rows with a smooth risk score (independent of riskops' scorers)."""
    frame = get_scenario("fraud").generate(rows, start=START.date(), days=days, seed=seed,
                                           tenants=tenants)
    logit = 0.8 * (np.log1p(frame["amount"]) - 5) + 0.002 * frame["distance_from_home_km"] - 1
    return frame.assign(score=expit(logit))


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def run(ws: Workspace, path: Path, **options: object):  # type: ignore[no-untyped-def]
    defaults: dict[str, object] = {"scenario": "fraud", "timestamp_col": "timestamp",
                                   "score_col": "score", "tenant_col": "tenant_id"}
    return import_predictions(ws, path, **{**defaults, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_rows_keep_their_timestamps_inputs_and_outcomes(workspace: Workspace, tmp_path: Path,
                                                        suffix: str) -> None:
    frame = scored()
    path = write(frame, tmp_path / f"history{suffix}")

    result = run(workspace, path, id_col="id", label_col="label")

    assert (result.rows, result.added, result.present, result.duplicates) == (300, 300, 0, 0)
    assert result.outcomes == result.labelled == 300
    assert result.model_id == "fraud-imported" and result.threshold == 0.5
    logged = {r["id"]: r for r in read_window(workspace.database_url, **EVERYTHING)}
    assert len(logged) == 300
    for _, row in frame.iterrows():
        expected_id = "imp-" + hashlib.sha256(json.dumps(
            ["riskops-import", "fraud", "", row["id"]]).encode()).hexdigest()[:32]
        got = logged[expected_id]
        assert got["created_at"] == row["timestamp"].floor("us").to_pydatetime()
        assert got["tenant_id"] == row["tenant_id"] and got["scenario"] == "fraud"
        assert (got["method"], got["model_name"], got["model_version"]) == ("imported", None,
                                                                            None)
        assert got["score"] == pytest.approx(row["score"], abs=1e-12)
        assert got["label"] == ("1" if row["score"] >= 0.5 else "0")
        assert got["outcome"] == str(row["label"])
        inputs = json.loads(got["inputs"])
        assert set(inputs) == set(FEATURES) | {"industry", "region", "size_band"}
        assert inputs["amount"] == pytest.approx(row["amount"])
        assert inputs["channel"] == row["channel"]


def test_importing_again_adds_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = write(scored(), tmp_path / "history.csv")
    run(workspace, path, id_col="id", label_col="label")

    again = run(workspace, path, id_col="id", label_col="label")

    assert (again.rows, again.added, again.present, again.outcomes) == (300, 0, 300, 0)
    assert len(read_window(workspace.database_url, **EVERYTHING)) == 300


def test_without_an_id_column_ids_come_from_the_row_content(workspace: Workspace,
                                                            tmp_path: Path) -> None:
    frame = scored(100).drop(columns=["id"])
    path = write(pd.concat([frame, frame.iloc[:5]]), tmp_path / "history.csv")

    first = run(workspace, path)
    again = run(workspace, path)

    assert (first.rows, first.added, first.duplicates, first.present) == (105, 100, 5, 0)
    assert (again.added, again.present, again.duplicates) == (0, 100, 5)
    assert first.ids_from == "row content"
    # The same content with another score is another prediction.
    changed = write(frame.assign(score=frame["score"] / 2), tmp_path / "rescored.csv")
    assert run(workspace, changed).added == 100


def test_empty_label_cells_are_outcomes_not_yet_known(workspace: Workspace,
                                                      tmp_path: Path) -> None:
    frame = scored(50).astype({"label": object})
    frame.loc[frame.index[:20], "label"] = None
    path = write(frame, tmp_path / "history.parquet")

    result = run(workspace, path, id_col="id", label_col="label")

    assert (result.labelled, result.outcomes) == (30, 30)
    outcomes = [r["outcome"] for r in read_window(workspace.database_url, **EVERYTHING)]
    assert sum(o is None for o in outcomes) == 20


def test_a_registered_version_gives_model_version_and_threshold(
        workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    registered = cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "m"),
                     "--metrics", '{"threshold": 0.3}')
    assert registered.code == 0, registered.err
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    path = write(scored(), tmp_path / "history.csv")

    result = run(workspace, path, id_col="id", model="fraud")  # the production version

    assert (result.model, result.version, result.threshold) == ("fraud", 1, 0.3)
    assert result.model_id == "fraud"
    rows = read_window(workspace.database_url, **EVERYTHING)
    assert {(r["model_name"], r["model_version"], r["threshold"]) for r in rows} == {
        ("fraud", 1, 0.3)}
    assert all(r["label"] == ("1" if r["score"] >= 0.3 else "0") for r in rows)
    # Ids are per model: the same file without --model is other predictions.
    assert prediction_id("fraud", "fraud", "fraud-0-00000000") != prediction_id(
        "fraud", None, "fraud-0-00000000")


def test_imported_predictions_are_monitored_as_their_model() -> None:
    assert model_id("fraud", "imported", "fraud") == "fraud"
    assert model_id("fraud", "imported", None) == "fraud-imported"
    assert model_id("fraud", "ml", "fraud") == "fraud"
    assert model_id("fraud", "heuristic", None) == "fraud-heuristic"


def test_progress_is_reported_per_batch(workspace: Workspace, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    run(workspace, write(scored(250), tmp_path / "h.csv"), batch_rows=100,
        progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)]


# --- the command line and bad input -----------------------------------------------------


def args(path: Path, *extra: str) -> list[str | Path]:
    return ["monitor", "import", "--from", path, "--scenario", "fraud", "--timestamp-col",
            "timestamp", "--score-col", "score", *extra]


def test_cli_prints_what_it_read_and_added(workspace: Workspace, tmp_path: Path,
                                           cli) -> None:  # type: ignore[no-untyped-def]
    path = write(scored(), tmp_path / "history.csv")

    first = cli(*args(path, "--id-col", "id", "--label-col", "label", "--tenant-col",
                      "tenant_id"))
    again = cli(*args(path, "--id-col", "id", "--label-col", "label", "--tenant-col",
                      "tenant_id", "--json"))

    assert first.code == 0, first.err
    assert "read 300 rows from" in first.out
    assert "fraud-imported (no registered model), threshold 0.500" in first.out
    assert "added 300 predictions, 0 already present; 300 outcomes added" in first.out
    assert again.code == 0, again.err
    summary = again.json()
    assert (summary["added"], summary["present"], summary["outcomes"]) == (0, 300, 0)
    assert summary["ids_from"] == "column id"


def _bad(frame: pd.DataFrame, tmp_path: Path, **changes: object) -> Path:
    frame = frame.astype(object)
    for where, value in changes.items():
        column, row = where.rsplit("_at_", 1)
        frame.loc[int(row), column] = value
    return write(frame, tmp_path / "bad.csv")


BASE = scored(40, seed=3)


@pytest.mark.parametrize(("make", "extra", "message"), [
    (lambda p: p / "missing.csv", (), r"--from .*missing\.csv: no such file\.$"),
    (lambda p: write(BASE.rename(columns={"timestamp": "ts"}), p / "x.csv"), (),
     r"--from .*x\.csv: missing --timestamp-col column 'timestamp' \(importing fraud "
     r"predictions needs timestamp, score, amount, "),
    (lambda p: write(BASE.drop(columns=["amount", "channel"]), p / "x.csv"), (),
     r"missing numeric feature 'amount', categorical feature 'channel'"),
    (lambda p: _bad(BASE, p, score_at_7=1.5), (),
     r"--score-col column 'score' holds 1 value outside 0 to 1 \(first: 1\.5 at data row 8\)"),
    (lambda p: _bad(BASE, p, score_at_3=-0.1), (), r"\(first: -0\.1 at data row 4\)"),
    (lambda p: _bad(BASE, p, score_at_2="high"), (),
     r"--score-col column 'score' must be numeric; 1 row holds text \(first: 'high' at "
     r"data row 3\); scores are numbers from 0 to 1\.$"),
    (lambda p: _bad(BASE, p, score_at_2=""), (), r"--score-col column 'score' is empty in 1 row"),
    (lambda p: _bad(BASE, p, score_at_5="inf"), (), r"'score' holds infinity"),
    (lambda p: _bad(BASE, p, timestamp_at_4="last tuesday"), (),
     r"--timestamp-col column 'timestamp' holds 1 value that is not ISO 8601 timestamps "
     r"\(first: 'last tuesday' at data row 5\)"),
    (lambda p: _bad(BASE, p, id_at_9="fraud-3-00000000"), ("--id-col", "id"),
     r"--id-col column 'id' holds 1 duplicated id \(first: 'fraud-3-00000000' at data row 1\)"),
    (lambda p: _bad(BASE, p, label_at_6="maybe"), ("--label-col", "label"),
     r"--label-col column 'label' holds 'maybe' at data row 7; outcome labels are 0, 1"),
    (lambda p: _bad(BASE, p, tenant_id_at_1="acme\x1b[31m"), ("--tenant-col", "tenant_id"),
     r"--tenant-col column 'tenant_id' holds a control character \(newline, tab, escape\) in "
     r"1 row \(first: data row 2\); category values must be printable text\.$"),
    (lambda p: _bad(BASE, p, tenant_id_at_0="t" * 500), ("--tenant-col", "tenant_id"),
     r"holds 't{40}' at data row 1; a tenant id"),
    (lambda p: write(BASE, p / "x.csv"), ("--label-col", "score"),
     r"--score-col and --label-col both name column 'score'; each option needs its own "
     r"column\.$"),
    (lambda p: write(BASE, p / "x.csv"), ("--id-col", "amount"),
     r"--id-col 'amount' is a feature of scenario fraud"),
    (lambda p: write(BASE, p / "x.csv"), ("--id-col", "'; DROP TABLE predictions; --"),
     r"missing --id-col column \"'; DROP TABLE predictions; --\""),
    (lambda p: write(BASE, p / "x.txt"), (), r"unsupported file type '\.txt'"),
    (lambda p: write(BASE, p / "x.csv"), ("--version", "2"), r"--version 2 needs --model"),
    (lambda p: write(BASE, p / "x.csv"), ("--model", "fraud"),
     r"--model fraud: model 'fraud' is not in manifest v1 \(models: none\)\.$"),
])
def test_bad_input_exits_2_with_one_line_and_stores_nothing(
        workspace: Workspace, tmp_path: Path, cli, make, extra, message) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args(make(tmp_path), *extra))

    assert result.code == 2, result.out + result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert read_window(workspace.database_url, **EVERYTHING) == []
    assert re.search(message, result.err.strip()), result.err


def test_unknown_scenario_model_and_version_exit_2(
        workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = write(BASE, tmp_path / "x.csv")
    assert cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "m")).code == 0

    cases = {
        ("--scenario", "loans"): "unknown scenario 'loans'",
        ("--model", "deal"): "--model deal: model 'deal' is not in manifest",
        ("--model", "fraud"): "--model fraud has no production version; give one with "
                              "--version (versions: 1)",
        ("--model", "fraud", "--version", "7"): "--model fraud --version 7: fraud v7 is not "
                                                "in manifest",
    }
    for extra, message in cases.items():
        command = args(path, *extra)
        if extra[0] == "--scenario":
            command = ["monitor", "import", "--from", path, "--scenario", "loans",
                       "--timestamp-col", "timestamp", "--score-col", "score"]
        result = cli(*command)
        assert result.code == 2, (extra, result.err)
        assert message in result.err and result.err.count("\n") == 1, result.err


def test_the_date_range_is_reported(workspace: Workspace, tmp_path: Path) -> None:
    frame = scored(20, days=10)
    result = run(workspace, write(frame, tmp_path / "h.csv"))
    assert datetime.fromisoformat(result.first).date() >= date(2026, 1, 1)
    assert result.first == frame["timestamp"].min().floor("us").isoformat()
    assert result.last == frame["timestamp"].max().floor("us").isoformat()


@pytest.mark.postgres
def test_import_is_idempotent_on_postgres(pg_workspace: Workspace, tmp_path: Path) -> None:
    path = write(scored(120), tmp_path / "history.parquet")
    first = run(pg_workspace, path, id_col="id", label_col="label", batch_rows=50)
    again = run(pg_workspace, path, id_col="id", label_col="label", batch_rows=50)
    assert (first.added, first.outcomes, again.added, again.present, again.outcomes) == (
        120, 120, 0, 120, 0)
    logged = read_window(pg_workspace.database_url, **EVERYTHING)
    assert len(logged) == 120 and all(r["method"] == "imported" for r in logged)


CLAIMS = """\
[scenario]
name = "claims"
[columns]
segments = ["region"]
[features]
numeric = ["amount"]
categorical = ["channel"]
text = ["notes"]
[heuristic]
threshold = 0.7
"""


def test_a_custom_scenario_imports_its_own_features(workspace: Workspace, tmp_path: Path,
                                                    cli) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "claims.toml"
    config.write_text(CLAIMS)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "claim": [f"c{i}" for i in range(60)],
        "at": pd.date_range("2026-02-01", periods=60, freq="h", tz="UTC").astype(str),
        "amount": rng.gamma(2.0, 500.0, 60).round(2), "channel": rng.choice(["web", "fax"], 60),
        "notes": rng.choice(["", "late invoice", "duplicate invoice"], 60),
        "region": rng.choice(["north", "south"], 60), "p": rng.uniform(size=60).round(4)})
    path = write(frame, tmp_path / "claims.csv")

    result = cli("monitor", "import", "--from", path, "--scenario", "claims", "--config", config,
                 "--timestamp-col", "at", "--score-col", "p", "--id-col", "claim", "--json")

    assert result.code == 0, result.err
    summary = result.json()
    assert (summary["added"], summary["threshold"], summary["model_id"]) == (
        60, 0.7, "claims-imported")
    logged = sorted(read_window(workspace.database_url, **EVERYTHING),
                    key=lambda r: r["created_at"])
    inputs = json.loads(logged[0]["inputs"])
    assert set(inputs) == {"amount", "channel", "notes", "region"}
    assert inputs["amount"] == frame["amount"][0] and inputs["notes"] == frame["notes"][0]
    assert [r["label"] for r in logged] == ["1" if p >= 0.7 else "0" for p in frame["p"]]
    missing = cli("monitor", "import", "--from", write(frame.drop(columns=["notes"]),
                                                       tmp_path / "n.csv"),
                  "--scenario", "claims", "--config", config, "--timestamp-col", "at",
                  "--score-col", "p")
    assert missing.code == 2 and "missing text feature 'notes'" in missing.err

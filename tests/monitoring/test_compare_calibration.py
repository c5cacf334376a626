"""``monitor compare --segment-col A --segment-col B``: calibration per segment value.

A quarter of fraud rows whose scores are calibrated by construction (each label
drawn at its score), except in one region of the current quarter, whose scores
are cut to a quarter: that region's outcomes come four times as often as its
scores say, as concept drift in one market would do.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compare_helpers import write
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from riskops.errors import InputError
from riskops.monitoring.compare import compare_files
from riskops.scenarios import get_scenario

BAD = "latam"


def _quarter(rows: int, start: date, seed: int, *, distort: bool) -> pd.DataFrame:
    frame = get_scenario("fraud").generate(rows, start=start, days=90, seed=seed)
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 8, len(frame))
    label = (rng.uniform(size=len(frame)) < score).astype(int)
    if distort:
        score = np.where(frame["region"] == BAD, score / 4, score)
    return frame.assign(score=score, label=label)


@pytest.fixture
def quarter(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    reference = _quarter(4_000, date(2026, 1, 1), 1, distort=False)
    current = _quarter(6_000, date(2026, 4, 1), 2, distort=True)
    return (write(reference, tmp_path / "ref.parquet"), write(current, tmp_path / "cur.parquet"),
            current)


def _args(reference: Path, current: Path) -> list[str | Path]:
    return ["monitor", "compare", "--reference", reference, "--current", current,
            "--timestamp-col", "timestamp", "--chunk-period", "month", "--score-col", "score",
            "--label-col", "label", "--segment-col", "region", "--segment-col", "industry"]


def test_json_names_the_one_miscalibrated_region(cli, quarter):
    reference, current, frame = quarter

    result = cli(*_args(reference, current), "--json")

    assert result.code == 0, result.err
    document = result.json()
    assert document["options"]["segment_cols"] == ["region", "industry"]
    assert document["options"]["segment_col"] == "region"
    [found] = document["summary"]["calibration"]["degraded"]
    assert found == {"segment": "region=latam", "column": "region", "value": "latam",
                     "metrics": ["ece"], "chunks": ["2026-04", "2026-05", "2026-06"]}
    section = document["calibration"]
    assert section["thresholds"] == {"brier": 0.2, "ece": 0.1} and section["n_bins"] == 10
    whole = {e["segment"]: e for e in section["segments"]}
    assert set(whole) == {f"region={v}" for v in frame["region"].unique()} | {
        f"industry={v}" for v in frame["industry"].unique()}
    assert document["summary"]["calibration"]["checked"] == len(whole)

    # the whole-file numbers are scikit-learn's on the region's rows
    rows = frame[frame["region"] == BAD]
    latam = whole["region=latam"]
    assert latam["rows"] == len(rows) and latam["positives"] == rows["label"].sum()
    assert latam["brier"] == pytest.approx(brier_score_loss(rows["label"], rows["score"]))
    prob_true, prob_pred = calibration_curve(rows["label"], rows["score"], n_bins=10)
    table = latam["reliability"]
    assert [v for v in table["observed_rate"] if v is not None] == pytest.approx(prob_true)
    assert [v for v in table["mean_predicted"] if v is not None] == pytest.approx(prob_pred)

    # ... and per chunk, on the region's rows of that month
    may = next(c for c in document["chunks"] if c["key"] == "2026-05")
    entry = next(s for s in may["segments"] if s["column"] == "region" and s["value"] == BAD)
    in_may = rows[rows["timestamp"].dt.month == 5]
    assert entry["calibration"]["brier"] == pytest.approx(
        brier_score_loss(in_may["label"], in_may["score"]))
    assert [d["metric"] for d in entry["calibration"]["degraded"]] == ["ece"]
    others = [s for c in document["chunks"] for s in c["segments"]
              if (s["column"], s["value"]) != ("region", BAD)]
    assert others and not any(s["calibration"]["degraded"] for s in others)

    # two segment columns: the drift summary is keyed column=value
    assert document["summary"]["segments"]["region=latam"]["column"] == "region"
    assert "industry=retail" in document["summary"]["segments"]


def test_text_names_the_miscalibrated_region(cli, quarter):
    reference, current, _ = quarter

    result = cli(*_args(reference, current))

    assert result.code == 0, result.err
    assert "calibration per segment (whole current file)" in result.out
    assert ("segment region=latam is miscalibrated (whole file: ece; 3 chunks: 2026-04, "
            "2026-05, 2026-06)") in result.out
    assert "1 of 10 segments over Brier 0.20 or ECE 0.10" in result.out
    assert result.out.count("over: ece") == 1 and result.out.count("miscalibrated") == 1
    assert "region=latam" in result.out and "industry=retail" in result.out


def test_thresholds_are_options(quarter):
    reference, current, _ = quarter

    document = compare_files(reference, current, score_col="score", label_col="label",
                             segment_col=["region"], segment_ece_threshold=0.5,
                             segment_brier_threshold=0.01)

    degraded = document["summary"]["calibration"]["degraded"]
    assert {d["segment"] for d in degraded} == {"region=apac", "region=europe",
                                                "region=latam", "region=north_america"}
    assert all(d["metrics"] == ["brier"] for d in degraded)
    assert document["options"]["segment_ece_threshold"] == 0.5


def test_without_labels_there_is_no_calibration(quarter):
    reference, current, _ = quarter

    document = compare_files(reference, current, score_col="score", segment_col="region")

    assert document["calibration"] is None and "calibration" not in document["summary"]
    assert "calibration" not in document["chunks"][0]["segments"][0]
    assert document["summary"]["segments"]["latam"]["column"] == "region"  # one column: value


def test_segments_without_enough_labels_are_skipped(tmp_path: Path):
    frame = pd.DataFrame({"score": np.linspace(0, 1, 300), "label": [0, 1] * 150,
                          "g": ["big"] * 250 + ["small"] * 50})
    frame.loc[:100, "label"] = np.nan  # 101 of big's rows have no outcome yet
    path = write(frame, tmp_path / "f.csv")

    document = compare_files(path, path, score_col="score", label_col="label",
                             segment_col="g")

    big, small = document["calibration"]["segments"]
    assert big["status"] == "skipped" and big["rows"] == 149
    assert small["reason"] == "50 labelled rows, fewer than the 200 a calibration check needs"
    assert document["summary"]["calibration"] == {"checked": 0, "degraded": []}


@pytest.mark.parametrize(("args", "message"), [
    (["--segment-col", "region", "--segment-col", "nope"],
     "error: --reference ref.parquet: missing --segment-col column 'nope'"),
    (["--segment-col", "region", "--segment-col", "region"],
     "error: --segment-col 'region' is given twice; give each segment column once."),
    (["--segment-col", "region", "--segment-col", "score", "--score-col", "score"],
     "error: --timestamp-col, --score-col, --label-col and --segment-col must name different"),
    (["--segment-col", "region", "--segment-ece-threshold", "0"],
     "error: --segment-ece-threshold must be a number above 0 and at most 1, got 0.0"),
    (["--segment-col", "region", "--segment-brier-threshold", "2"],
     "error: --segment-brier-threshold must be a number above 0 and at most 1, got 2.0"),
])
def test_bad_segment_options_exit_2_in_one_line(cli, quarter, tmp_path: Path, monkeypatch,
                                                args: list[str], message: str):
    monkeypatch.chdir(tmp_path)

    result = cli("monitor", "compare", "--reference", "ref.parquet", "--current",
                 "cur.parquet", *args)

    assert result.code == 2
    assert result.err.startswith(message), result.err
    assert result.err.count("\n") == 1


def test_a_duplicate_segment_column_is_refused_from_python_too(quarter):
    reference, current, _ = quarter
    with pytest.raises(InputError, match="--segment-col 'region' is given twice"):
        compare_files(reference, current, segment_col=["region", "region"])


def test_a_segment_column_of_thousands_of_values_gives_a_short_report(cli, tmp_path: Path):
    from riskops.monitoring.calibration import MAX_SKIPPED_LISTED, OTHER_VALUES

    rng = np.random.default_rng(5)
    n = 5_000
    score = rng.uniform(size=n)
    frame = pd.DataFrame({"id": [f"row-{i}" for i in range(n)], "score": score,
                          "label": (rng.uniform(size=n) < score).astype(int),
                          "x": rng.normal(size=n)})
    path = write(frame, tmp_path / "many.parquet")

    result = cli("monitor", "compare", "--reference", path, "--current", path,
                 "--score-col", "score", "--label-col", "label", "--segment-col", "id",
                 "--columns", "x", "--json")

    assert result.code == 0, result.err
    segments = result.json()["calibration"]["segments"]
    assert len(segments) == MAX_SKIPPED_LISTED + 1
    other = segments[-1]
    assert other["segment"] == f"id={OTHER_VALUES}" and other["status"] == "skipped"
    assert other["values"] == n - MAX_SKIPPED_LISTED and other["degraded"] == []


def test_hostile_segment_values_are_printed_escaped_and_short(cli, tmp_path: Path):
    rng = np.random.default_rng(6)
    n = 600
    score = rng.uniform(size=n)
    hostile = ["emea\x1b[31m\nred", "[bold]x[/bold]", "y" * 500]
    frame = pd.DataFrame({"g": [hostile[i % 3] for i in range(n)], "score": score,
                          "label": (rng.uniform(size=n) < score / 4).astype(int),
                          "x": rng.normal(size=n)})
    path = write(frame, tmp_path / "hostile.parquet")

    result = cli("monitor", "compare", "--reference", path, "--current", path,
                 "--score-col", "score", "--label-col", "label", "--segment-col", "g",
                 "--columns", "x")

    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "g=emea\\x1b[31m\\nred" in result.out
    assert "[bold]x[/bold]" in result.out  # not taken as markup
    assert "y" * 70 not in result.out

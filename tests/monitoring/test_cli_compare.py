"""``riskops monitor compare`` as a user types it: no workspace, files in, a report out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compare_helpers import credit_frame, write


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A reference year and a current half-year whose last three months shift."""
    reference = credit_frame(200, start="2018-01-01", seed=1)
    current = credit_frame(400, start="2019-01-01", months=6, shift_from=3, seed=2)
    return write(reference, tmp_path / "reference.parquet"), write(current,
                                                                   tmp_path / "current.csv")


def test_compare_prints_a_table_and_exits_0_despite_drift(cli, files: tuple[Path, Path]):
    reference, current = files

    result = cli("monitor", "compare", "--reference", reference, "--current", current,
                 "--timestamp-col", "ts", "--chunk-period", "month", "--score-col", "score",
                 "--label-col", "default")

    assert result.code == 0, result.err
    assert "monitor compare" in result.out and "2019-04" in result.out
    assert "income (" in result.out
    assert "3 of 6 chunks drifted (PSI over 0.2)" in result.out


def test_json_and_json_out_hold_the_document(cli, files: tuple[Path, Path], tmp_path: Path):
    reference, current = files
    out = tmp_path / "compare.json"

    result = cli("monitor", "compare", "--reference", reference, "--current", current,
                 "--chunk-size", "1000", "--columns", "income,age", "--categorical", "age",
                 "--threshold", "0.25", "--bins", "5", "--json-out", out, "--json")

    assert result.code == 0, result.err
    document = result.json()
    assert document == json.loads(out.read_text())
    assert document["options"]["columns"] == ["income", "age"]
    assert document["options"]["categorical"] == ["age"]
    assert [c["key"] for c in document["chunks"]] == ["0", "1", "2"]
    assert document["chunks"][0]["drift"][0]["threshold"] == 0.25
    assert len(document["reference"]["columns"][0]["shares"]) == 5


def test_fail_on_drift_exits_1_naming_the_columns(cli, files: tuple[Path, Path]):
    reference, current = files

    result = cli("monitor", "compare", "--reference", reference, "--current", current,
                 "--timestamp-col", "ts", "--chunk-period", "quarter", "--columns",
                 "income,age", "--fail-on-drift", "--json")

    assert result.code == 1
    assert result.json()["summary"]["drifted_chunks"] == 1
    assert result.err == ("error: drift in 1 of 2 chunks (income); exiting 1 because of "
                          "--fail-on-drift.\n")


def test_fail_on_drift_without_drift_exits_0(cli, files: tuple[Path, Path]):
    reference, _ = files

    result = cli("monitor", "compare", "--reference", reference, "--current", reference,
                 "--fail-on-drift")

    assert result.code == 0, result.err
    assert "0 of 1 chunk drifted" in result.out


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("args, message", [
    (["--current", "missing.csv"], "error: --current missing.csv: no such file."),
    (["--current", "data.txt"], "error: --current data.txt: unsupported file type '.txt'"),
    (["--current", "good.csv", "--columns", "nope"], "error: --reference good.csv: missing "
     "--columns column 'nope'"),
    (["--current", "good.csv", "--chunk-period", "month"], "error: --chunk-period needs "
     "--timestamp-col"),
    (["--current", "good.csv", "--timestamp-col", "ts", "--chunk-period", "month",
      "--chunk-size", "10"], "error: --chunk-period and --chunk-size are alternatives"),
    (["--current", "good.csv", "--threshold", "0"], "error: --threshold must be a PSI above 0"),
    (["--current", "good.csv", "--columns", "x,,y"], "error: --columns 'x,,y' has an empty "
     "column name"),
    (["--current", "text.csv"], "error: --current text.csv: numeric column 'x' must hold "
     "numbers; data row 2 has 'many'"),
    (["--current", "empty.csv"], "error: --current empty.csv: the file is empty."),
    (["--current", "good.csv", "--columns", "a\nb"], "error: --reference good.csv: missing "
     "--columns column 'a\\nb'"),
    (["--current", "noscore.csv", "--score-col", "score"], "error: --current noscore.csv: missing "
     "--score-col column 'score'"),
    (["--current", "good.csv", "--segment-col", "nope"], "error: --reference good.csv: missing "
     "--segment-col column 'nope'"),
    (["--current", "good.csv", "--segment-col", "x", "--score-col", "x"], "error: "
     "--timestamp-col, --score-col, --label-col and --segment-col must name different"),
])
def test_bad_input_exits_2_in_one_line(cli, tmp_path: Path, args: list[str], message: str):
    rows = "".join(f"{v},2019-01-0{1 + i % 9},{v / 10:.2f}\n"
                   for i, v in enumerate(np.arange(40) % 10))
    _bad(tmp_path, "good.csv", "x,ts,score\n" + rows)
    _bad(tmp_path, "text.csv", "x,ts,score\n1,2019-01-01,0.5\nmany,2019-01-01,0.5\n")
    _bad(tmp_path, "empty.csv", "")
    _bad(tmp_path, "data.txt", "x\n1\n")
    _bad(tmp_path, "noscore.csv", "x,ts\n1,2019-01-01\n")

    result = cli("monitor", "compare", "--reference", "good.csv", *args)

    assert result.code == 2
    assert result.err.startswith(message), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_hostile_column_names_in_a_csv_header(cli, tmp_path: Path):
    frame = pd.DataFrame({"amount, in €": np.arange(60.0), "line\nbreak": np.arange(60.0)})
    write(frame, tmp_path / "r.csv")

    result = cli("monitor", "compare", "--reference", tmp_path / "r.csv", "--current",
                 tmp_path / "r.csv", "--json")

    assert result.code == 0, result.err
    assert result.json()["options"]["columns"] == ["amount, in €", "line\nbreak"]


def test_segment_col_finds_drift_inside_one_segment(cli, tmp_path: Path):
    reference = credit_frame(1_000, start="2018-01-01", months=3, seed=7)
    current = credit_frame(1_500, start="2019-01-01", months=2, seed=8)
    inside = (current["ts"].dt.month == 2) & (current["channel"] == "web")
    current.loc[inside, "income"] *= 1.8  # only web rows of the second month move
    write(reference, tmp_path / "r.parquet")
    write(current, tmp_path / "c.parquet")
    args = ("monitor", "compare", "--reference", tmp_path / "r.parquet", "--current",
            tmp_path / "c.parquet", "--timestamp-col", "ts", "--chunk-period", "month",
            "--segment-col", "channel")

    result = cli(*args, "--json")

    assert result.code == 0, result.err
    document = result.json()
    assert document["options"]["segment_col"] == "channel"
    assert "channel" not in document["options"]["columns"]
    first, second = document["chunks"]
    assert [s["value"] for s in second["segments"]] == ["branch", "phone", "web"]
    web = second["segments"][2]
    assert web["rows"] == int(inside.sum())
    assert [e["column"] for e in web["drift"] if e["drifted"]] == ["income"]
    assert not any(e["drifted"] for s in first["segments"] for e in s["drift"])
    assert document["summary"]["segments"]["web"] == {"column": "channel", "value": "web",
                                                      "drifted_chunks": 1,
                                                      "columns": ["income"]}
    assert document["summary"]["segments"]["phone"]["drifted_chunks"] == 0
    assert "segment channel=web: income drifted in 1 chunk" in cli(*args).out


def test_small_segments_are_skipped_with_their_reason(tmp_path: Path, cli):
    frame = pd.DataFrame({"x": np.arange(300.0), "g": ["big"] * 250 + ["small"] * 50})
    write(frame, tmp_path / "f.csv")

    result = cli("monitor", "compare", "--reference", tmp_path / "f.csv", "--current",
                 tmp_path / "f.csv", "--segment-col", "g", "--json")

    small = result.json()["chunks"][0]["segments"][1]
    assert small["value"] == "small"
    assert small["drift"][0]["skipped"] == ("reference has 50 non-missing values, fewer than "
                                            "the 200 a drift check needs")

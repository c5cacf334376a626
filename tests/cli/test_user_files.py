"""Every command that reads a user's table refuses the same broken file with the same line:
exit 2, one line on stderr naming the option and the file, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.scenarios import get_scenario


def _scored(rows: int = 60) -> pd.DataFrame:
    frame = get_scenario("fraud").generate(rows, start=pd.Timestamp("2024-01-01").date(),
                                           days=10, seed=0)
    return frame.assign(risk=np.linspace(0.01, 0.99, rows).round(3))


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def _latin1(frame: pd.DataFrame) -> bytes:
    frame = frame.copy()
    frame["channel"] = frame["channel"].astype(object)
    frame.loc[0, "channel"] = "caf\u00e9"
    return frame.to_csv(index=False).encode("latin-1")


def _truncated_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _doubled(frame: pd.DataFrame) -> bytes:
    header, rest = frame.to_csv(index=False).split("\n", 1)
    return (header.replace("hour_of_day", "amount") + "\n" + rest).encode("utf-8")


#: name -> (how to write the file at the path, the line after "error: OPTION PATH: ").
FAULTS: dict[str, tuple[str, Callable[[pd.DataFrame, Path], object], str]] = {
    "empty": ("t.csv", lambda f, p: p.write_bytes(b""), "the file is empty."),
    "header only": ("t.csv", lambda f, p: p.write_bytes(_csv(f.head(0))),
                    "has a header but no rows."),
    "binary garbage": ("t.csv", lambda f, p: p.write_bytes(bytes(range(256)) * 8),
                       "cannot be read as CSV: it holds binary data (a NUL byte at byte 1), "
                       "not text; save it as UTF-8 CSV."),
    "truncated parquet": ("t.parquet", _truncated_parquet,
                          "cannot be read as Parquet: Parquet magic bytes not found in footer. "
                          "Either the file is corrupted or this is not a parquet file."),
    "utf-16": ("t.csv", lambda f, p: p.write_bytes(f.to_csv(index=False).encode("utf-16")),
               "cannot be read as CSV: it is UTF-16 text; save it as UTF-8."),
    "invalid utf-8": ("t.csv", lambda f, p: p.write_bytes(_latin1(f)),
                      "cannot be read as CSV: not UTF-8 text in column 'channel' (first: "
                      "data row 1); save it as UTF-8."),
    "duplicate names": ("t.csv", lambda f, p: p.write_bytes(_doubled(f)),
                        "column 'amount' appears more than once in the header; rename one "
                        "of them."),
    "xlsx": ("t.xlsx", lambda f, p: p.write_bytes(b"PK\x03\x04"),
             "unsupported file type '.xlsx'; use .csv or .parquet."),
    "folder": ("folder", lambda f, p: p.mkdir(), "is a folder, not a data file."),
    "missing path": ("absent.csv", lambda f, p: None, "no such file."),
}

#: command -> (its arguments with the file as FILE and a good file as GOOD, the option).
COMMANDS: dict[str, tuple[list[str], str]] = {
    "train": (["train", "fraud", "--data", "FILE"], "--data"),
    "monitor import": (["monitor", "import", "--from", "FILE", "--scenario", "fraud",
                        "--timestamp-col", "timestamp", "--score-col", "risk"], "--from"),
    "monitor compare --reference": (["monitor", "compare", "--reference", "FILE", "--current",
                                     "GOOD", "--score-col", "risk"], "--reference"),
    "monitor compare --current": (["monitor", "compare", "--reference", "GOOD", "--current",
                                   "FILE", "--score-col", "risk"], "--current"),
    "audit bias --data": (["audit", "bias", "--data", "FILE", "--score-col", "risk",
                           "--label-col", "label", "--sensitive", "region"], "--data"),
}


def _run(cli, tmp_path: Path, command: str, path: Path):  # type: ignore[no-untyped-def]
    args, option = COMMANDS[command]
    good = tmp_path / "good.csv"
    good.write_bytes(_csv(_scored()))
    args = [{"FILE": path, "GOOD": good}.get(a, a) for a in args]
    return cli(*args, token=admin_token()), option


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_file_reads_the_same_in_every_command(
        cli, workspace: Workspace, tmp_path: Path, fault: str, command: str) -> None:
    name, write, line = FAULTS[fault]
    path = tmp_path / name
    write(_scored(), path)
    result, option = _run(cli, tmp_path, command, path)
    assert result.code == 2, result.err
    assert result.err.splitlines() == [f"error: {option} {path}: {line}"]
    assert "Traceback" not in result.err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_column_is_named_in_every_command(
        cli, workspace: Workspace, tmp_path: Path, command: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(_csv(_scored().drop(columns=["risk", "label"])))
    result, option = _run(cli, tmp_path, command, path)
    assert result.code == 2, result.err
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err
    assert result.err.startswith(f"error: {option} {path}: missing ")
    assert "'risk'" in result.err or "label" in result.err

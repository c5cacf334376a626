"""Bad training data: one clear line naming the file, column and rule; exit 2; nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from training_helpers import SCHEMA, ToyScenario, toy_frame, use_toy_scenario

from riskops.config import Workspace
from riskops.training.data import InvalidTrainingData, load_training_data, validate_frame


@pytest.fixture(autouse=True)
def _toy(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_scenario(monkeypatch)


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def _with(change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pd.DataFrame:
    frame = toy_frame(1500)
    changed = change(frame)
    return frame if changed is None else changed


def _set(column: str, rows: list[int], value: object) -> Callable[[pd.DataFrame], None]:
    def change(frame: pd.DataFrame) -> None:
        frame[column] = frame[column].astype(object)
        frame.loc[rows, column] = value
    return change


def _late_positives(frame: pd.DataFrame) -> None:
    frame["label"] = np.where(np.arange(len(frame)) >= 1400, "1", "0")


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing file": (lambda d: d / "nowhere.csv", "nowhere.csv: no such file."),
    "folder": (lambda d: d, "is a folder, not a data file"),
    "unsupported suffix": (
        lambda d: _write_text(d / "data.json", '{"a": 1}'),
        "unsupported file type '.json'; use .csv or .parquet.",
    ),
    "empty file": (lambda d: _write_text(d / "empty.csv", ""), "empty.csv: the file is empty."),
    "header only": (
        lambda d: _write_text(d / "header.csv", "id,timestamp,tenant_id,amount,label\n"),
        "has a header but no rows",
    ),
    "not parquet": (
        lambda d: _write_text(d / "bad.parquet", "this is not parquet"),
        "bad.parquet: cannot be read as Parquet",
    ),
    "missing columns": (
        lambda d: _csv(_with(lambda f: f.drop(columns=["amount", "channel"])), d / "m.csv"),
        "missing columns amount, channel (the scenario needs id, timestamp, tenant_id, "
        "amount, velocity, channel, label).",
    ),
    "text in a numeric column": (
        lambda d: _csv(_with(_set("amount", [5, 9], "abc")), d / "t.csv"),
        "column 'amount' must be numeric; 2 rows hold text (first: 'abc' at data row 6).",
    ),
    "infinity in a numeric column": (
        lambda d: _parquet(_with(_set("velocity", [3], np.inf)), d / "inf.parquet"),
        "column 'velocity' holds infinity in 1 row (first: data row 4)",
    ),
    "unparseable timestamp": (
        lambda d: _csv(_with(_set("timestamp", [7], "yesterday")), d / "ts.csv"),
        "column 'timestamp' holds 1 value that is not ISO 8601 timestamps "
        "(first: 'yesterday' at data row 8).",
    ),
    "numeric timestamps": (
        lambda d: _parquet(_with(lambda f: f.assign(timestamp=np.arange(len(f)))),
                           d / "n.parquet"),
        "column 'timestamp' has type int64; timestamps must be ISO 8601 text",
    ),
    "NaN in the label": (
        lambda d: _parquet(_with(_set("label", [2, 10, 11], None)), d / "nan.parquet"),
        "column 'label' is empty in 3 of 1500 rows (first: data row 3); drop or label "
        "those rows before training.",
    ),
    "label outside the label set": (
        lambda d: _csv(_with(_set("label", [4], "yes")), d / "l.csv"),
        "column 'label' holds 'yes' (first: data row 5); labels must be one of 0, 1.",
    ),
    "single class": (
        lambda d: _csv(_with(lambda f: f.assign(label="0")), d / "one.csv"),
        "column 'label' holds a single class ('0' in all 1500 rows)",
    ),
    "too few rows": (
        lambda d: _csv(_with(lambda f: f.head(150)), d / "few.csv"),
        "150 rows; training needs at least 200",
    ),
    "duplicate ids": (
        lambda d: _csv(_with(_set("id", [0, 1], "same")), d / "dup.csv"),
        "column 'id' holds 1 duplicated id (first: 'same' at data row 1); ids must be unique.",
    ),
    "no risky rows in the training slice": (
        lambda d: _csv(_with(_late_positives), d / "late.csv"),
        "the training slice (oldest 1050 rows) has no row labelled '1', the risky outcome",
    ),
}


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_line_exit_2_and_nothing_registered(
    case: str, workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    make, needle = CASES[case]
    folder = tmp_path / "data"
    folder.mkdir()
    path = make(folder)
    manifest = workspace.manifest_path.read_bytes()

    result = cli("train", "toy", "--data", path)

    assert result.code == 2, result.out + result.err
    assert result.err.startswith(f"error: --data {path}"), result.err
    assert needle in result.err, result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert workspace.manifest_path.read_bytes() == manifest


def test_labels_from_a_float_column_are_read_as_label_text(tmp_path: Path) -> None:
    frame = toy_frame(400)
    frame["label"] = frame["label"].astype(float)  # 0.0 / 1.0, as a writer might store them
    data = load_training_data(_parquet(frame, tmp_path / "f.parquet"), ToyScenario())
    assert set(data.frame["label"]) == {"0", "1"}


def test_csv_labels_and_ids_stay_text(tmp_path: Path) -> None:
    frame = toy_frame(400)
    frame["id"] = [f"{i:05d}" for i in range(len(frame))]
    data = load_training_data(_csv(frame, tmp_path / "f.csv"), ToyScenario())
    assert data.frame["id"].iloc[0] == "00000"
    assert data.frame["label"].map(type).eq(str).all()


def test_naive_timestamps_are_taken_as_utc(tmp_path: Path) -> None:
    frame = toy_frame(400)
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    data = load_training_data(_csv(frame, tmp_path / "naive.csv"), ToyScenario())
    assert str(data.frame["timestamp"].dt.tz) == "UTC"
    assert data.frame["timestamp"].iloc[0] == pd.Timestamp(frame["timestamp"].iloc[0], tz="UTC")


def test_digest_and_row_count_are_of_the_file_read(tmp_path: Path) -> None:
    import hashlib

    path = _parquet(toy_frame(400), tmp_path / "d.parquet")
    data = load_training_data(path, ToyScenario())
    assert data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (data.rows, data.size, data.format, data.path) == (
        400, path.stat().st_size, "parquet", path.resolve())


def test_empty_feature_cells_are_kept_as_missing() -> None:
    frame = toy_frame(400)
    frame.loc[0, "amount"] = np.nan
    frame.loc[1, "channel"] = None
    checked = validate_frame(frame, SCHEMA, source="test")
    assert np.isnan(checked.loc[0, "amount"]) and checked.loc[1, "channel"] is None


def test_segment_and_sensitive_columns_are_optional() -> None:
    frame = toy_frame(400).drop(columns=["region", "age_band"])
    assert len(validate_frame(frame, SCHEMA, source="test")) == 400


def test_error_type_is_an_input_error(tmp_path: Path) -> None:
    from riskops.errors import InputError

    with pytest.raises(InvalidTrainingData) as caught:
        load_training_data(tmp_path / "x.csv", ToyScenario())
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2


def test_csv_and_parquet_of_the_same_data_read_identically(tmp_path: Path) -> None:
    from datetime import date

    from riskops.scenarios import get_scenario
    from riskops.training.data import load_training_data

    scenario = get_scenario("fraud")
    frame = scenario.generate(600, start=date(2026, 1, 1), days=30, seed=3)
    frame["id"] = [f"{i:06d}" for i in range(len(frame))]  # leading zeros
    frame.loc[frame.index[:50], "tenant_id"] = "NA"  # a value, not a missing cell
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    from_csv = load_training_data(tmp_path / "d.csv", scenario).frame
    from_parquet = load_training_data(tmp_path / "d.parquet", scenario).frame
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)
    assert from_csv["id"].iloc[0] == "000000"
    assert (from_csv["tenant_id"] == "NA").sum() == 50


def test_parquet_with_the_id_saved_as_index(tmp_path: Path) -> None:
    from datetime import date

    from riskops.scenarios import get_scenario
    from riskops.training.data import load_training_data

    scenario = get_scenario("fraud")
    frame = scenario.generate(400, start=date(2026, 1, 1), days=30, seed=4)
    frame.set_index("id").to_parquet(tmp_path / "i.parquet")
    loaded = load_training_data(tmp_path / "i.parquet", scenario).frame
    assert loaded["id"].tolist() == frame["id"].tolist()

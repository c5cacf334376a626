"""The one reader and column validator of a user's table: messages name the file, the
column, the first bad row, the rule and the fix."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.user_tables import (
    Column,
    TableSpec,
    load_table,
    read_table,
    read_table_file,
    validate_table,
)

SPEC = TableSpec((
    Column("id", "id"),
    Column("ts", "timestamp"),
    Column("amount", "numeric"),
    Column("channel", "category"),
    Column("note", "text", required=False),
    Column("label", "label", labels=("0", "1")),
))


def _frame(rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"r{i:03d}" for i in range(rows)],
        "ts": [f"2024-05-0{1 + i % 9}T12:00:00Z" for i in range(rows)],
        "amount": [float(i) for i in range(rows)],
        "channel": ["web", "pos"] * (rows // 2),
        "label": ["0", "1"] * (rows // 2),
        "extra": "kept",
    })


def _error(frame: pd.DataFrame, spec: TableSpec = SPEC) -> str:
    with pytest.raises(InputError) as caught:
        validate_table(frame, spec, source="--data t.csv")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_table_is_converted_and_other_columns_are_kept() -> None:
    frame = _frame()
    frame.loc[1, "amount"] = None
    frame.loc[2, "channel"] = None
    out = validate_table(frame, SPEC, source="t")
    assert str(out["ts"].dt.tz) == "UTC"
    assert out["ts"].iloc[0] == pd.Timestamp("2024-05-01T12:00:00Z")
    assert out["amount"].dtype == float and math.isnan(out.loc[1, "amount"])
    assert out.loc[2, "channel"] is None and out.loc[0, "channel"] == "web"
    assert out["label"].tolist() == ["0", "1", "0", "1"]
    assert "note" not in out.columns and (out["extra"] == "kept").all()
    assert frame["ts"].iloc[0] == "2024-05-01T12:00:00Z"  # the input is left as it was


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.drop(columns=["amount", "label"]),
     "--data t.csv: missing columns amount, label (the scenario needs id, ts, amount, "
     "channel, label)."),
    (lambda f: f.assign(amount=["1", "x", "2", "y"]),
     "--data t.csv: column 'amount' must be numeric; 2 rows hold text (first: 'x' at data "
     "row 2)."),
    (lambda f: f.assign(amount=[1.0, 2.0, np.inf, 3.0]),
     "--data t.csv: column 'amount' holds infinity in 1 row (first: data row 3); use an "
     "empty cell for a missing value."),
    (lambda f: f.assign(ts=["2024-05-01", None, "2024-05-02", None]),
     "--data t.csv: column 'ts' is empty in 2 rows (first: data row 2); every row needs a "
     "timestamp."),
    (lambda f: f.assign(ts=["2024-05-01", "soon", "2024-05-02", "2024-05-03"]),
     "--data t.csv: column 'ts' holds 1 value that is not ISO 8601 timestamps (first: "
     "'soon' at data row 2)."),
    (lambda f: f.assign(ts=[1, 2, 3, 4]),
     "--data t.csv: column 'ts' has type int64; timestamps must be ISO 8601 text (e.g. "
     "2024-05-01T12:00:00Z) or a timestamp type, not numbers."),
    (lambda f: f.assign(id=["a", "b", "a", "c"]),
     "--data t.csv: column 'id' holds 1 duplicated id (first: 'a' at data row 1); ids must "
     "be unique."),
    (lambda f: f.assign(label=["0", None, "1", "1"]),
     "--data t.csv: column 'label' is empty in 1 of 4 rows (first: data row 2); drop or label "
     "those rows before training."),
    (lambda f: f.assign(label=["0", "1", "maybe", "1"]),
     "--data t.csv: column 'label' holds 'maybe' (first: data row 3); labels must be one of "
     "0, 1."),
    (lambda f: f.assign(label="1"),
     "--data t.csv: column 'label' holds a single class ('1' in all 4 rows); a model needs "
     "examples of at least two of 0, 1."),
    (lambda f: f.assign(channel=["web", "pos", "a\x1b[31mb", "x\ny"]),
     "--data t.csv: column 'channel' holds a control character (newline, tab, escape) in "
     "2 rows (first: data row 3); category values must be printable text."),
    (lambda f: f.head(0), "--data t.csv: has a header but no rows."),
    (lambda f: pd.DataFrame(), "--data t.csv: is empty (no columns)."),
    (lambda f: f.set_axis(["id", "ts", "amount", "channel", "label", "amount"], axis=1),
     "--data t.csv: column 'amount' appears more than once; column names must be unique."),
], ids=["missing", "text", "infinity", "empty-ts", "bad-ts", "numeric-ts", "dup-id",
        "empty-label", "unknown-label", "single-class", "control-char", "no-rows",
        "no-columns", "doubled"])
def test_each_rule_has_one_message(change, message: str) -> None:  # type: ignore[no-untyped-def]
    assert _error(change(_frame())) == message


def test_spec_wording_roles_hints_owner_and_row_minimum() -> None:
    spec = TableSpec((
        Column("amount", "numeric", role="numeric feature", hint="fix them, or list it as "
               "categorical"),
        Column("tenant", "category", allow_empty=False),
        Column("outcome", "label", role="label column"),
    ), min_rows=3, owner="claims.toml", purpose="monitoring",
        min_rows_reason=" to compare windows")
    frame = pd.DataFrame({"amount": ["1", "a", "2"], "tenant": ["t", "t", None],
                          "outcome": ["yes", "no", "no"]})
    assert _error(frame, spec) == (
        "--data t.csv: numeric feature 'amount' must be numeric; 1 row holds text (first: 'a' "
        "at data row 2); fix them, or list it as categorical.")
    assert _error(frame.assign(amount=1.0), spec) == (
        "--data t.csv: column 'tenant' is empty in 1 row (first: data row 3); every row needs "
        "a value.")
    assert _error(frame.drop(columns=["amount", "outcome"]), spec) == (
        "--data t.csv: missing numeric feature 'amount', label column 'outcome' (claims.toml "
        "needs amount, tenant, outcome).")
    assert _error(frame.head(2), spec) == (
        "--data t.csv: 2 rows; monitoring needs at least 3 rows to compare windows.")
    assert _error(frame.assign(amount=1.0, tenant="t", outcome=[None, "no", "no"]), spec) \
        .endswith("drop or label those rows before monitoring.")
    assert _error(frame.assign(amount=1.0, tenant="t", outcome=["a", "b", "c"]), spec) == (
        "--data t.csv: label column 'outcome' must hold exactly two distinct values; found 3: "
        "'a', 'b', 'c'.")


def test_labels_read_from_typed_columns_become_label_text() -> None:
    spec = TableSpec((Column("y", "label", labels=("0", "1")),))
    as_float = validate_table(pd.DataFrame({"y": [0.0, 1.0]}), spec, source="t")
    as_bool = validate_table(pd.DataFrame({"y": [False, True]}), spec, source="t")
    assert as_float["y"].tolist() == as_bool["y"].tolist() == ["0", "1"]
    free = TableSpec((Column("y", "label"),))
    assert validate_table(pd.DataFrame({"y": [2.0, 3.0]}), free, source="t")["y"].tolist() == [
        "2", "3"]
    one = TableSpec((Column("y", "label", both_classes=False),))
    assert validate_table(pd.DataFrame({"y": ["a", "a"]}), one, source="t")["y"].tolist() == [
        "a", "a"]


def test_optional_columns_and_fill() -> None:
    spec = TableSpec((Column("tenant", "category", required=False, fill="default"),
                      Column("segment", "category", required=False)))
    absent = validate_table(pd.DataFrame({"x": [1, 2]}), spec, source="t")
    assert absent["tenant"].tolist() == ["default", "default"] and "segment" not in absent
    gaps = validate_table(pd.DataFrame({"tenant": ["a", None]}), spec, source="t")
    assert gaps["tenant"].tolist() == ["a", "default"]


def test_naive_timestamps_are_utc_and_typed_ones_are_kept() -> None:
    spec = TableSpec((Column("ts", "timestamp"),))
    naive = validate_table(pd.DataFrame({"ts": ["2024-05-01 12:00:00"]}), spec, source="t")
    typed = validate_table(pd.DataFrame({"ts": pd.to_datetime(["2024-05-01T12:00:00"])}),
                           spec, source="t")
    assert naive["ts"].iloc[0] == typed["ts"].iloc[0] == pd.Timestamp("2024-05-01T12:00Z")


def test_spec_mistakes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="kind 'number' is not one of"):
        Column("x", "number")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only a category column takes fill"):
        Column("x", "numeric", fill="0")
    with pytest.raises(ValueError, match="columns named twice in a spec: x"):
        TableSpec((Column("x", "numeric"), Column("x", "text")))


# -- reading --------------------------------------------------------------------------------


def test_csv_cells_are_text_until_the_spec_converts_them(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,ts,amount,channel,label\n007,2024-05-01,1.5,NA,1\n"
                    "008,2024-05-02,,web,0\n", encoding="utf-8")
    table = read_table_file(path, source="--data t.csv")
    assert table.frame["id"].tolist() == ["007", "008"]
    assert table.frame["channel"].tolist() == ["NA", "web"]  # NA is a value; empty is missing
    assert (table.sha256, table.size, table.format, table.source) == (
        hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size, "csv",
        "--data t.csv")
    checked = load_table(path, SPEC)
    assert checked["amount"].iloc[0] == 1.5 and math.isnan(checked["amount"].iloc[1])


def test_csv_and_parquet_of_the_same_table_validate_identically(tmp_path: Path) -> None:
    frame = _frame(6)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.set_index("id").to_parquet(tmp_path / "t.parquet")  # an index is a column to us
    from_csv = load_table(tmp_path / "t.csv", SPEC)
    from_parquet = load_table(tmp_path / "t.parquet", SPEC)
    pd.testing.assert_frame_equal(from_csv[from_parquet.columns], from_parquet,
                                  check_dtype=False)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("t.json", b"{}", "t.json: unsupported file type '.json'; use .csv or .parquet."),
    ("t.csv", b"  \n", "t.csv: the file is empty."),
    ("t.csv", b"a,b\n", "t.csv: has a header but no rows."),
    ("t.csv", b"a\n\xff\n", "t.csv: cannot be read as CSV: not UTF-8 text"),
    ("t.parquet", b"PAR1 not really", "t.parquet: cannot be read as Parquet: "),
])
def test_unreadable_files_name_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_table(tmp_path / name, source=name)
    assert str(caught.value).startswith(message)


def test_missing_files_and_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^x\.csv: no such file\.$"):
        read_table(tmp_path / "x.csv", source="x.csv")
    with pytest.raises(InputError, match=r"is a folder, not a data file\.$"):
        read_table(tmp_path)


def test_a_scenario_schema_as_a_spec() -> None:
    from riskops.scenarios import get_scenario

    schema = get_scenario("fraud").schema
    spec = schema.table_spec(min_rows=5)
    required = [(c.name, c.kind) for c in spec.columns if c.required]
    assert required == [
        ("id", "id"), ("timestamp", "timestamp"), ("tenant_id", "category"),
        *[(f.name, {"numeric": "numeric", "categorical": "category", "text": "text"}[f.kind])
          for f in schema.features],
        ("label", "label"),
    ]
    optional = {c.name for c in spec.columns if not c.required}
    assert optional == {*schema.segments, *([schema.sensitive] if schema.sensitive else [])}
    assert spec.min_rows == 5 and spec.columns[-len(optional) - 1].labels == schema.labels

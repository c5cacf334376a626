"""Reading a training file and checking it against a scenario's schema.

The file is read into memory once; its SHA-256 is taken from those very
bytes, so the digest in the reproducibility report is the digest of the
data the model saw.

    data = load_training_data(Path("fraud.parquet"), scenario)
    data.frame, data.sha256, data.rows
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskops.errors import InvalidTrainingData
from riskops.scenarios.base import Scenario, Schema

#: Fewer rows than this cannot give a train, validation and golden slice
#: large enough to fit and evaluate anything.
MIN_ROWS = 200
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class TrainingData:
    """A validated training table and the identity of the file it came from."""

    frame: pd.DataFrame
    path: Path
    sha256: str
    size: int
    format: str

    @property
    def rows(self) -> int:
        return len(self.frame)


def load_training_data(
    path: Path, scenario: Scenario, *, min_rows: int = MIN_ROWS
) -> TrainingData:
    """Read ``path`` (CSV or Parquet, by suffix) and validate it against the scenario's schema.

    A scenario with a ``prepare(frame, source=...)`` method (custom scenarios:
    rename the user's columns to riskops' layout) gets the table first.

    Raises
    ------
    InvalidTrainingData, InputError
        Naming the file, the column and the rule broken.
    """
    if path.is_dir():
        raise InvalidTrainingData(f"--data {path}: is a folder, not a data file.")
    if not path.exists():
        raise InvalidTrainingData(f"--data {path}: no such file.")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidTrainingData(
            f"--data {path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            "use .csv or .parquet."
        )
    raw = _read_bytes(path)
    frame = _parse(raw, fmt, path, scenario.schema)
    prepare = getattr(scenario, "prepare", None)
    if callable(prepare):
        frame = prepare(frame, source=f"--data {path}")
    frame = validate_frame(frame, scenario.schema, source=f"--data {path}", min_rows=min_rows)
    return TrainingData(frame=frame, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest(),
                        size=len(raw), format=fmt)


def file_sha256(path: Path) -> str:
    """SHA-256 of a data file, with the same one-line errors as ``load_training_data``."""
    return hashlib.sha256(_read_bytes(path)).hexdigest()


def validate_frame(
    frame: pd.DataFrame, schema: Schema, *, source: str, min_rows: int = MIN_ROWS
) -> pd.DataFrame:
    """A copy of ``frame`` with checked, normalised columns.

    Rules: the id, timestamp, tenant, label and feature columns are present;
    ids are unique and not empty; timestamps parse (naive ones are taken as
    UTC; all become tz-aware UTC); numeric features are numbers (empty cells
    allowed, infinity not); the label is never empty, is read as text and
    takes only ``schema.labels`` values, at least two of them; at least
    ``min_rows`` rows. Segment and sensitive columns are optional.
    """
    if len(frame) == 0:
        raise InvalidTrainingData(f"{source}: has a header but no rows.")
    required = [schema.id, schema.timestamp, schema.tenant, *schema.feature_names, schema.label]
    missing = [c for c in dict.fromkeys(required) if c not in frame.columns]
    if missing:
        raise InvalidTrainingData(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the scenario needs {', '.join(dict.fromkeys(required))})."
        )
    if len(frame) < min_rows:
        raise InvalidTrainingData(
            f"{source}: {len(frame)} rows; training needs at least {min_rows} so that the "
            "train, validation and golden slices each hold enough rows."
        )
    out = frame.reset_index(drop=True)
    out[schema.label] = _labels(out[schema.label], schema, source)
    out[schema.id] = _ids(out[schema.id], schema.id, source)
    out[schema.timestamp] = _timestamps(out[schema.timestamp], schema.timestamp, source)
    out[schema.tenant] = _text(out[schema.tenant], schema.tenant, source, allow_empty=False)
    for feature in schema.features:
        column = out[feature.name]
        if feature.kind == "numeric":
            out[feature.name] = _numbers(column, feature.name, source)
        elif feature.kind == "categorical":
            out[feature.name] = _text_keeping_missing(column)
        else:  # text: an empty cell is empty text
            out[feature.name] = column.fillna("").astype(str).astype(object)
    for name in (*schema.segments, schema.sensitive):
        if name is not None and name in out.columns:
            out[name] = _text_keeping_missing(out[name])
    return out


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidTrainingData(f"--data {path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidTrainingData(f"--data {path}: is a folder, not a data file.") from None
    except OSError as exc:
        raise InvalidTrainingData(f"--data {path}: cannot read: {exc.strerror}.") from None
    if not raw.strip():
        raise InvalidTrainingData(f"--data {path}: the file is empty.")
    return raw


def _parse(raw: bytes, fmt: str, path: Path, schema: Schema) -> pd.DataFrame:
    try:
        if fmt == "csv":
            # Every cell is read as text and converted by the schema afterwards, so a
            # CSV and a Parquet file of the same data give the same frame: "007"
            # stays "007", "NA" is a value (only an empty cell is missing), numbers
            # are parsed only where the schema says numeric.
            return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False,
                               na_values=[""], low_memory=False)
        frame = pd.read_parquet(io.BytesIO(raw))
        if any(name is not None for name in frame.index.names):
            frame = frame.reset_index()  # an index saved by pandas is a column to us
        return frame
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "CSV" if fmt == "csv" else "Parquet"
        raise InvalidTrainingData(f"--data {path}: cannot be read as {kind}: {reason}") from None


def _text_keeping_missing(column: pd.Series) -> pd.Series:
    return column.astype(str).astype(object).where(column.notna(), None)


def _row(index: int) -> str:
    return f"data row {index + 1}"


def _labels(column: pd.Series, schema: Schema, source: str) -> pd.Series:
    name = schema.label
    empty = column.isna().to_numpy()
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        raise InvalidTrainingData(
            f"{source}: column {name!r} is empty in {int(empty.sum())} of {len(column)} rows "
            f"(first: {_row(first)}); drop or label those rows before training."
        )
    allowed = set(schema.labels)
    values = column.map(lambda v: _label_text(v, allowed))
    bad = ~values.isin(allowed).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        unknown = sorted(set(values[bad].tolist()))[:5]
        raise InvalidTrainingData(
            f"{source}: column {name!r} holds {', '.join(repr(u) for u in unknown)} "
            f"(first: {_row(first)}); labels must be one of {', '.join(schema.labels)}."
        )
    present = sorted(set(values.tolist()))
    if len(present) < 2:
        raise InvalidTrainingData(
            f"{source}: column {name!r} holds a single class ({present[0]!r} in all "
            f"{len(values)} rows); a model needs examples of at least two of "
            f"{', '.join(schema.labels)}."
        )
    return values.astype(object)


def _label_text(value: object, allowed: set[str]) -> str:
    """Labels as text; 1.0 or True read from a typed column become "1" when that is a label."""
    text = str(value)
    if text in allowed:
        return text
    if isinstance(value, bool | np.bool_):
        as_int = str(int(value))
        return as_int if as_int in allowed else text
    if isinstance(value, float | np.floating) and float(value).is_integer():
        as_int = str(int(value))
        return as_int if as_int in allowed else text
    return text


def _ids(column: pd.Series, name: str, source: str) -> pd.Series:
    values = _text(column, name, source, allow_empty=False)
    duplicated = values.duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        raise InvalidTrainingData(
            f"{source}: column {name!r} holds {int(values[duplicated].nunique())} duplicated "
            f"ids (first: {values.iloc[first]!r} at {_row(first)}); ids must be unique."
        )
    return values


def _text(column: pd.Series, name: str, source: str, *, allow_empty: bool) -> pd.Series:
    empty = column.isna().to_numpy()
    if empty.any() and not allow_empty:
        first = int(np.flatnonzero(empty)[0])
        raise InvalidTrainingData(
            f"{source}: column {name!r} is empty in {int(empty.sum())} rows "
            f"(first: {_row(first)}); every row needs a value."
        )
    return column.map(str).astype(object)


def _timestamps(column: pd.Series, name: str, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise InvalidTrainingData(
            f"{source}: column {name!r} has type {column.dtype}; timestamps must be ISO 8601 "
            "text (e.g. 2024-05-01T12:00:00Z) or a timestamp type, not numbers."
        )
    empty = column.isna().to_numpy()
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        raise InvalidTrainingData(
            f"{source}: column {name!r} is empty in {int(empty.sum())} rows "
            f"(first: {_row(first)}); every row needs a timestamp."
        )
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
    else:
        try:
            parsed = pd.to_datetime(column.astype(str), utc=True, format="ISO8601",
                                    errors="coerce")
        except (ValueError, TypeError, OverflowError):
            parsed = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns, UTC]")
        bad = parsed.isna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidTrainingData(
                f"{source}: column {name!r} holds {int(bad.sum())} values that are not ISO 8601 "
                f"timestamps (first: {column.iloc[first]!r} at {_row(first)})."
            )
    return parsed


def _numbers(column: pd.Series, name: str, source: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype(float)
    else:
        values = pd.to_numeric(column, errors="coerce").astype(float)
        bad = (values.isna() & column.notna()).to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidTrainingData(
                f"{source}: column {name!r} must be numeric; {int(bad.sum())} rows hold text "
                f"(first: {column.iloc[first]!r} at {_row(first)})."
            )
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise InvalidTrainingData(
            f"{source}: column {name!r} holds infinity in {int(infinite.sum())} rows "
            f"(first: {_row(first)}); use an empty cell for a missing value."
        )
    return values

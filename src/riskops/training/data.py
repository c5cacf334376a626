"""Reading a training file and checking it against a scenario's schema.

The file is read (``riskops.user_tables``) into memory once; its SHA-256 is
taken from those very bytes, so the digest in the reproducibility report is
the digest of the data the model saw.

    data = load_training_data(Path("fraud.parquet"), scenario)
    data.frame, data.sha256, data.rows
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskops.errors import InputError, InvalidTrainingData
from riskops.scenarios.base import MIN_ROWS_REASON, Scenario, Schema
from riskops.user_tables import FORMATS, read_bytes, read_table_file, validate_table

__all__ = ["FORMATS", "MIN_ROWS", "InvalidTrainingData", "TrainingData", "file_sha256",
           "load_training_data", "validate_frame"]

#: Fewer rows than this cannot give a train, validation and golden slice
#: large enough to fit and evaluate anything.
MIN_ROWS = 200


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
    source = f"--data {path}"
    with _training_error():
        table = read_table_file(path, source=source)
    frame = table.frame
    prepare = getattr(scenario, "prepare", None)
    if callable(prepare):
        frame = prepare(frame, source=source)
    # A custom scenario may train without timestamps (split by row order); its prepare
    # has already checked the column when its split needs it.
    optional = callable(prepare) and scenario.schema.timestamp not in frame.columns
    frame = validate_frame(frame, scenario.schema, source=source, min_rows=min_rows,
                           timestamp_required=not optional)
    return TrainingData(frame=frame, path=table.path, sha256=table.sha256, size=table.size,
                        format=table.format)


def file_sha256(path: Path) -> str:
    """SHA-256 of a data file, with the same one-line errors as ``load_training_data``."""
    with _training_error():
        return hashlib.sha256(read_bytes(path, source=f"--data {path}")).hexdigest()


def validate_frame(
    frame: pd.DataFrame, schema: Schema, *, source: str, min_rows: int = MIN_ROWS,
    timestamp_required: bool = True,
) -> pd.DataFrame:
    """A copy of ``frame`` with checked, normalised columns.

    Rules (``Schema.table_spec``, checked by ``riskops.user_tables``): the id,
    timestamp, tenant, feature and label columns are present; ids are unique
    and not empty; timestamps parse (naive ones are taken as UTC; all become
    tz-aware UTC); numeric features are numbers (empty cells allowed,
    infinity not); the label is never empty, is read as text and takes only
    ``schema.labels`` values, at least two of them; at least ``min_rows``
    rows. Segment and sensitive columns are optional, and so is the timestamp
    when ``timestamp_required`` is false.
    """
    spec = schema.table_spec(min_rows=min_rows, min_rows_reason=MIN_ROWS_REASON,
                             timestamp_required=timestamp_required)
    with _training_error():
        return validate_table(frame, spec, source=source)


@contextmanager
def _training_error() -> Iterator[None]:
    """Refusals of the shared reader and validator, as ``InvalidTrainingData``."""
    try:
        yield
    except InvalidTrainingData:
        raise
    except InputError as exc:
        raise InvalidTrainingData(str(exc)) from None

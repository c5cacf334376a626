"""A user's table (CSV or Parquet): read it, and check its columns against a spec.

The one place riskops reads a table a user brings (``train --data``, a custom
scenario's data, ``monitor import --from``, ``audit bias --data``) and checks
its columns; ``monitor compare`` reads its large files column by column
(``riskops.user_columns.ColumnFile``) through the same opening checks
(``table_format``, ``check_csv_head``, ``read_csv_columns``, ``check_header``,
``open_parquet``), so a broken file gets the same line from every command.
Every refusal is one ``InputError`` line naming the file (``source``), the
column, the first bad row (``data row N``: 1-based, header excluded), the
rule and, where there is one, the fix.

    spec = TableSpec((
        Column("id", "id"),
        Column("timestamp", "timestamp"),
        Column("amount", "numeric"),
        Column("channel", "category"),
        Column("label", "label", labels=("0", "1")),
    ))
    frame = load_table(Path("claims.csv"), spec)       # read + validate

    table = read_table_file(path, source=f"--data {path}")   # bytes' digest too
    frame = validate_table(table.frame, spec, source=table.source)

Reading: the suffix picks the format (``.csv``; ``.parquet`` or ``.pq``). The
file is read into memory once and its SHA-256 taken from those bytes. CSV is
UTF-8 with a header row (a UTF-16 mark, a NUL byte or a cell that is not UTF-8
is refused naming the column and row; a column name twice is refused), parsed
by Arrow, and every cell is read as text (``"007"`` stays
``"007"``, ``NA`` is a value, only an empty cell is missing); the column
checks convert, so a CSV and a Parquet file of the same data give the same
frame. A Parquet index saved by pandas becomes a column.

Column kinds and what ``validate_table`` returns for them:

- ``id``: text, never empty, unique.
- ``timestamp``: ISO 8601 text or a timestamp type, never empty; tz-aware UTC
  (a time without zone is UTC). Numbers are refused.
- ``numeric``: floats; empty cells are NaN (refused if not ``allow_empty``),
  infinity is refused, and so are values outside ``lower_bound``/``upper_bound``
  or with a fraction when ``integer``.
- ``category``: text; empty cells are ``None`` (or ``fill``, or refused if not
  ``allow_empty``); values not in ``categories`` (when given) are refused.
- ``text``: free text; an empty cell is ``""``.
- ``label``: text (``1.0`` or ``True`` read from a typed column become
  ``"1"``), never empty; only ``labels`` if given, else at most two distinct
  values; at least two distinct values if ``both_classes``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskops.errors import InputError

__all__ = [
    "FORMATS",
    "Column",
    "ColumnKind",
    "TableFile",
    "TableSpec",
    "load_table",
    "read_bytes",
    "read_table",
    "read_table_file",
    "validate_table",
]

#: Suffix (lower case) -> format.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

ColumnKind = Literal["id", "timestamp", "numeric", "category", "text", "label"]
_KINDS: tuple[str, ...] = ("id", "timestamp", "numeric", "category", "text", "label")


# -- the spec -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column a table must (or may) have, and the rule its values follow.

    Parameters
    ----------
    name : str
        The column's name in the user's table.
    kind : {"id", "timestamp", "numeric", "category", "text", "label"}
        The rule (see the module docstring).
    required : bool, default=True
        An absent optional column is simply not there (or ``fill`` everywhere).
    allow_empty : bool, default=True
        ``numeric`` and ``category``: whether a cell may be empty.
    fill : str, optional
        ``category``: the value of empty cells, and of every row when an
        optional column is absent.
    labels : tuple of str, optional
        ``label``: the values allowed.
    both_classes : bool, default=True
        ``label``: refuse a column holding a single class.
    hint : str, optional
        The next step when a value has the wrong type (text in a numeric
        column, a timestamp that does not parse), e.g. "fix them, or list the
        column under features.categorical".
    role : str, default="column"
        How messages call the column, e.g. "numeric feature" for
        "numeric feature 'amount' must be numeric".
    lower_bound, upper_bound : float, optional
        ``numeric``: the smallest and largest valid value (inclusive).
    integer : bool, default=False
        ``numeric``: values must be whole numbers (``3`` or ``3.0``).
    categories : tuple of str, optional
        ``category``: the values allowed (empty cells follow ``allow_empty``).
    """

    name: str
    kind: ColumnKind
    required: bool = True
    allow_empty: bool = True
    fill: str | None = None
    labels: tuple[str, ...] | None = None
    both_classes: bool = True
    hint: str | None = None
    role: str = "column"
    lower_bound: float | None = None
    upper_bound: float | None = None
    integer: bool = False
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of "
                             f"{', '.join(_KINDS)}")
        if self.fill is not None and self.kind != "category":
            raise ValueError(f"column {self.name!r}: only a category column takes fill")
        if self.labels is not None and self.kind != "label":
            raise ValueError(f"column {self.name!r}: only a label column takes labels")
        bounded = self.lower_bound is not None or self.upper_bound is not None or self.integer
        if bounded and self.kind != "numeric":
            raise ValueError(f"column {self.name!r}: only a numeric column takes bounds")
        if self.categories is not None and self.kind != "category":
            raise ValueError(f"column {self.name!r}: only a category column takes categories")


@dataclass(frozen=True)
class TableSpec:
    """The columns of a table, and how many rows it needs.

    ``owner`` and ``purpose`` complete messages: "missing column x (``owner``
    needs a, b, x)", "150 rows; ``purpose`` needs at least 200 rows"; a label
    column's empty cells are to be dropped or labelled "before ``purpose``".
    ``min_rows_reason`` ends the too-few-rows message (" so that ...").
    Columns are checked in order; the first broken rule is reported.
    """

    columns: tuple[Column, ...]
    min_rows: int = 1
    owner: str = "the scenario"
    purpose: str = "training"
    min_rows_reason: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"columns named twice in a spec: {', '.join(doubled)}")


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableFile:
    """A table as read, and the identity of the file it came from."""

    frame: pd.DataFrame
    path: Path
    source: str
    sha256: str
    size: int
    format: str


def read_table_file(path: Path, *, source: str | None = None) -> TableFile:
    """Read a CSV or Parquet file (chosen by suffix) into a frame; see the module docstring.

    ``source`` names the file in messages (default: the path), e.g. ``"--data x.csv"``.
    The frame's ``attrs["source"]`` holds it too.

    Raises
    ------
    InputError
        If the file is missing, a folder, has an unsupported suffix, cannot
        be read, is empty (no bytes, blank, no columns, or a header but no
        rows), is not UTF-8, has a column name twice, or cannot be parsed as
        its format.
    """
    path = Path(path)
    where = str(path) if source is None else source
    fmt = table_format(path, source=where)
    raw = read_bytes(path, source=where)
    frame = _parse(raw, fmt, where)
    frame.attrs["source"] = where
    return TableFile(frame=frame, path=path.resolve(), source=where,
                     sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), format=fmt)


def read_table(path: Path, *, source: str | None = None) -> pd.DataFrame:
    """The frame of :func:`read_table_file`; ``attrs["source"]`` names the file."""
    return read_table_file(path, source=source).frame


def load_table(path: Path, spec: TableSpec, *, source: str | None = None) -> pd.DataFrame:
    """Read ``path`` and validate it against ``spec``: the checked frame, or ``InputError``."""
    table = read_table_file(path, source=source)
    return validate_table(table.frame, spec, source=table.source)


def read_bytes(path: Path, *, source: str | None = None) -> bytes:
    """The bytes of a data file; ``InputError`` naming ``source`` if unreadable or blank."""
    where = str(path) if source is None else source
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{where}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{where}: is a folder, not a data file.") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror}.") from None
    if not raw.strip():
        raise InputError(f"{where}: the file is empty.")
    return raw


def _parse(raw: bytes, fmt: str, where: str) -> pd.DataFrame:
    """The whole file as a frame: CSV cells as text, Parquet columns as typed."""
    if fmt == "csv":
        table = read_csv_columns(io.BytesIO(raw), source=where, head=raw[:_HEAD])
        frame = table.to_pandas()
    else:
        open_parquet(io.BytesIO(raw), source=where)  # the footer, with the shared messages
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise InputError(f"{where}: cannot be read as Parquet: {_first_line(exc)}.") from None
        if any(name is not None for name in frame.index.names):
            frame = frame.reset_index()  # an index saved by pandas is a column to us
        check_header([str(n) for n in frame.columns], len(frame), source=where)
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return _clip(text[0].rstrip(".")) if text else type(exc).__name__


# -- validating -----------------------------------------------------------------------------


def validate_table(frame: pd.DataFrame, spec: TableSpec, *, source: str) -> pd.DataFrame:
    """A copy of ``frame`` (index reset) whose spec'd columns are checked and converted.

    Columns the spec does not name are kept as they are. Checks, in order:
    the table has columns and rows; every required column is present, and no
    spec'd column appears twice; at least ``spec.min_rows`` rows; then each
    column's rule, in spec order.

    Raises
    ------
    InputError
        One line naming ``source``, the column, the first bad row and the rule.
    """
    if len(frame.columns) == 0:
        raise InputError(f"{source}: is empty (no columns).")
    if len(frame) == 0:
        raise InputError(f"{source}: has a header but no rows.")
    required = [c for c in spec.columns if c.required]
    missing = [c for c in required if c.name not in frame.columns]
    if missing:
        if all(c.role == "column" for c in missing):
            listed = (f"column{'s' if len(missing) > 1 else ''} "
                      f"{', '.join(c.name for c in missing)}")
        else:  # "timestamp column 'submitted_at', numeric feature 'amount'"
            listed = ", ".join(f"{c.role} {c.name!r}" for c in missing)
        raise InputError(f"{source}: missing {listed} ({spec.owner} needs "
                         f"{', '.join(c.name for c in required)}).")
    present = list(frame.columns)
    doubled = [c.name for c in spec.columns if present.count(c.name) > 1]
    if doubled:
        raise InputError(f"{source}: column {_preview(doubled)} appears more than once; "
                         "column names must be unique.")
    if len(frame) < spec.min_rows:
        raise InputError(f"{source}: {_rows(len(frame))}; {spec.purpose} needs at least "
                         f"{spec.min_rows} rows{spec.min_rows_reason}.")
    out = frame.reset_index(drop=True)
    for column in spec.columns:
        if column.name in out.columns:
            out[column.name] = _CHECKS[column.kind](out[column.name], column, spec, source)
        elif column.fill is not None:
            out[column.name] = column.fill
    return out


def _ids(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    text = _never_empty(values, column, source, "every row needs a value")
    duplicated = text.duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = _first(duplicated)
        raise InputError(
            f"{source}: {column.role} {column.name!r} holds "
            f"{_count(int(text[duplicated].nunique()), 'duplicated id')} (first: "
            f"{text.iloc[first]!r} at {_row(first)}); ids must be unique."
        )
    return text


def _timestamps(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    name = f"{column.role} {column.name!r}"
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InputError(
            f"{source}: {name} has type {values.dtype}; timestamps must be ISO 8601 "
            "text (e.g. 2024-05-01T12:00:00Z) or a timestamp type, not numbers."
        )
    _never_empty(values, column, source, "every row needs a timestamp")
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        return pd.to_datetime(values, utc=True)
    try:
        parsed = pd.to_datetime(values.astype(str), utc=True, format="ISO8601", errors="coerce")
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = _first(bad)
        raise InputError(
            f"{source}: {name} holds {_count(int(bad.sum()), 'value')} that "
            f"{'is' if bad.sum() == 1 else 'are'} not ISO 8601 timestamps (first: "
            f"{values.iloc[first]!r} at {_row(first)}){_fix(column)}."
        )
    return parsed


def _numbers(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    name = f"{column.role} {column.name!r}"
    if not column.allow_empty:
        _never_empty(values, column, source, "every row needs a value")
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        bad = (numbers.isna() & values.notna()).to_numpy()
        if bad.any():
            first = _first(bad)
            raise InputError(
                f"{source}: {name} must be numeric; {_rows(int(bad.sum()))} "
                f"{'holds' if bad.sum() == 1 else 'hold'} text "
                f"(first: {values.iloc[first]!r} at {_row(first)}){_fix(column)}."
            )
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        raise InputError(
            f"{source}: {name} holds infinity in {_rows(int(infinite.sum()))} "
            f"(first: {_row(_first(infinite))}); use an empty cell for a missing value."
        )
    return _within_bounds(numbers, column, source)


def _within_bounds(numbers: pd.Series, column: Column, source: str) -> pd.Series:
    """``numbers``; ``InputError`` naming the first value outside the column's bounds."""
    values = numbers.to_numpy()
    rules = []
    if column.lower_bound is not None:
        rules.append((values < column.lower_bound, f"below its lower bound "
                                                   f"{column.lower_bound:g}"))
    if column.upper_bound is not None:
        rules.append((values > column.upper_bound, f"above its upper bound "
                                                   f"{column.upper_bound:g}"))
    if column.integer:
        with np.errstate(invalid="ignore"):
            rules.append((np.isfinite(values) & (values != np.floor(values)),
                          "not a whole number"))
    for bad, rule in rules:
        if bad.any():
            first = _first(bad)
            raise InputError(
                f"{source}: {column.role} {column.name!r} is {rule} in "
                f"{_rows(int(bad.sum()))} (first: {values[first]:g} at {_row(first)}); "
                "correct or drop those rows, or change the bound if it is wrong."
            )
    return numbers


def _categories(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    if not column.allow_empty and column.fill is None:
        text = _printable(_never_empty(values, column, source, "every row needs a value"),
                          column, source)
        _listed(text, column, source)
        return text
    text = values.map(str).astype(object).where(values.notna(), None)
    _printable(text, column, source)
    _listed(text, column, source)
    return text if column.fill is None else text.fillna(column.fill).astype(object)


def _listed(text: pd.Series, column: Column, source: str) -> None:
    """``InputError`` if a (non-empty) value of ``text`` is not one of ``column.categories``."""
    if column.categories is None:
        return
    bad = (text.notna() & ~text.isin(column.categories)).to_numpy(dtype=bool)
    if bad.any():
        unknown = sorted(set(text[bad].tolist()))
        raise InputError(
            f"{source}: {column.role} {column.name!r} holds {_preview(unknown, 5)} "
            f"(first: {_row(_first(bad))}), not among its categories "
            f"{', '.join(column.categories)}; correct those rows or list the value."
        )


def _printable(text: pd.Series, column: Column, source: str) -> pd.Series:
    """``text``; ``InputError`` if a value holds a control character (a newline, an
    escape): category values end up in reports, terminals and log lines."""
    bad = text.str.contains(r"[\x00-\x1f\x7f]", regex=True, na=False).to_numpy(dtype=bool)
    if bad.any():
        raise InputError(f"{source}: {column.role} {column.name!r} holds a control character "
                         f"(newline, tab, escape) in {_rows(int(bad.sum()))} (first: "
                         f"{_row(_first(bad))}); category values must be printable text.")
    return text


def _free_text(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    return values.fillna("").astype(str).astype(object)


def _labels(values: pd.Series, column: Column, spec: TableSpec, source: str) -> pd.Series:
    name = f"{column.role} {column.name!r}"
    empty = values.isna().to_numpy()
    if empty.any():
        raise InputError(
            f"{source}: {name} is empty in {int(empty.sum())} of {len(values)} rows "
            f"(first: {_row(_first(empty))}); drop or label those rows before {spec.purpose}."
        )
    allowed = None if column.labels is None else set(column.labels)
    text = values.map(lambda v: _label_text(v, allowed)).astype(object)
    if allowed is not None:
        bad = ~text.isin(allowed).to_numpy()
        if bad.any():
            unknown = sorted(set(text[bad].tolist()))[:5]
            raise InputError(
                f"{source}: {name} holds {', '.join(repr(u) for u in unknown)} "
                f"(first: {_row(_first(bad))}); labels must be one of "
                f"{', '.join(column.labels or ())}."
            )
    present = sorted(set(text.tolist()))
    if allowed is None and len(present) > 2:
        raise InputError(f"{source}: {name} must hold exactly two distinct values; "
                         f"found {len(present)}: {_preview(present)}.")
    if column.both_classes and len(present) < 2:
        needed = ("both outcomes" if column.labels is None
                  else f"at least two of {', '.join(column.labels)}")
        raise InputError(
            f"{source}: {name} holds a single class ({present[0]!r} in all "
            f"{len(text)} rows); a model needs examples of {needed}."
        )
    return text


_CHECKS: dict[str, Callable[[pd.Series, Column, TableSpec, str], pd.Series]] = {
    "id": _ids, "timestamp": _timestamps, "numeric": _numbers, "category": _categories,
    "text": _free_text, "label": _labels,
}


def _label_text(value: Any, allowed: set[str] | None) -> str:
    """A label as text; 1.0 or True read from a typed column become "1" (when "1" is
    allowed, or any value is)."""
    text = str(value)
    if allowed is not None and text in allowed:
        return text
    if isinstance(value, bool | np.bool_) or (
            isinstance(value, float | np.floating) and float(value).is_integer()):
        as_int = str(int(value))
        return as_int if allowed is None or as_int in allowed else text
    return text


def _never_empty(values: pd.Series, column: Column, source: str, fix: str) -> pd.Series:
    """The values as text; ``InputError`` if a cell is empty."""
    empty = values.isna().to_numpy()
    if empty.any():
        raise InputError(f"{source}: {column.role} {column.name!r} is empty in "
                         f"{_rows(int(empty.sum()))} "
                         f"(first: {_row(_first(empty))}); {fix}.")
    return values.map(str).astype(object)


def _fix(column: Column) -> str:
    return f"; {column.hint}" if column.hint else ""


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _row(index: int) -> str:
    return f"data row {index + 1}"


def _rows(count: int) -> str:
    return _count(count, "row")


def _count(count: int, noun: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _preview(values: Iterable[Any], limit: int = 10) -> str:
    items = [repr(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# -- opening a file: the checks both readers share ------------------------------------------
#
# ``read_table_file`` (the whole table, as a frame) and ``riskops.user_columns.ColumnFile``
# (one column at a time, for files too large for a frame of Python objects) open a file
# through these, so the same fault reads the same whichever command meets it.

#: Bytes of a CSV file looked at for a byte-order mark, NUL bytes and the header's encoding.
_HEAD = 64 * 1024

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"),
)

_CSV_RULE = "it must be UTF-8 text with a header row and the same number of cells on every line"


def table_format(path: Path, *, source: str) -> str:
    """The format of a user's file from its suffix (``"csv"`` or ``"parquet"``).

    Raises
    ------
    InputError
        If the path is a folder, does not exist, or has another suffix.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{source}: is a folder, not a data file.")
    if not path.exists():
        raise InputError(f"{source}: no such file.")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{source}: unsupported file type {path.suffix or '(no suffix)'!r}; "
                         "use .csv or .parquet.")
    return fmt


def check_header(names: list[str], rows: int, *, source: str) -> None:
    """Refuse a table with no columns, a column name twice, or no rows.

    >>> check_header(["a", "b", "a"], 3, source="x.csv")
    Traceback (most recent call last):
    riskops.errors.InputError: x.csv: column 'a' appears more than once in the header; \
rename one of them.
    """
    if not names:
        raise InputError(f"{source}: the file is empty (no columns).")
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise InputError(f"{source}: column {doubled[0]!r} appears more than once in the "
                         "header; rename one of them.")
    if rows == 0:
        raise InputError(f"{source}: has a header but no rows.")


def check_csv_head(head: bytes, *, source: str) -> None:
    """Refuse a CSV file whose first bytes show it is not UTF-8 text.

    A byte-order mark of UTF-16 or UTF-32, a NUL byte (binary data, or UTF-16
    without a mark), or a header row that is not UTF-8 are refused here;
    later cells are checked column by column (:func:`text_column`).
    """
    if not head.strip():
        raise InputError(f"{source}: the file is empty.")
    for mark, encoding in _BOMS:
        if head.startswith(mark):
            raise InputError(f"{source}: cannot be read as CSV: it is {encoding} text; save it "
                             "as UTF-8.")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{source}: cannot be read as CSV: it holds binary data (a NUL byte "
                         f"at byte {nul + 1}), not text; save it as UTF-8 CSV.")
    header = head.split(b"\n", 1)[0] if b"\n" in head else head
    try:
        header.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end < len(header) or len(header) < len(head):  # not a character cut by _HEAD
            raise InputError(f"{source}: cannot be read as CSV: not UTF-8 text in the header "
                             f"row ({exc.reason} at byte {exc.start + 1}); save it as "
                             "UTF-8.") from None


def read_csv_columns(data: Any, *, source: str, head: bytes, typed: bool = False) -> Any:
    """A CSV file (a path or a binary buffer) parsed by Arrow into a ``pyarrow.Table``.

    Every cell is text (``typed=False``; an empty cell is null), or Arrow
    infers numbers and times (``typed=True``: fast, and every cell is text
    again if a later part of the file breaks an inferred type). ``head`` is
    the file's first bytes (:func:`check_csv_head`). Columns are valid UTF-8
    strings, or the first bad row is named.

    Raises
    ------
    InputError
        For the faults of :func:`check_csv_head` and :func:`check_header`, and
        a file Arrow cannot parse (a row with more or fewer cells than the header).
    """
    import pyarrow as pa

    check_csv_head(head, source=source)
    rewind = data.seek if hasattr(data, "seek") else (lambda _: None)
    attempts = ([(True, False)] if typed else []) + [(False, False), (False, True)]
    for number, (infer, newlines) in enumerate(attempts, start=1):
        rewind(0)
        try:
            table = _arrow_csv(data, infer=infer, newlines=newlines)
            break
        except (pa.ArrowException, OSError) as exc:
            message = _first_line(exc)
            if "Empty CSV file" in message:
                raise InputError(f"{source}: the file is empty.") from None
            if number == len(attempts) or not isinstance(exc, pa.ArrowInvalid):
                raise InputError(f"{source}: cannot be read as CSV: {_cells(message)}; "
                                 f"{_CSV_RULE}.") from None
    names = [str(n) for n in table.column_names]
    check_header(names, table.num_rows, source=source)
    columns = [text_column(table.column(i), name, source=source)
               for i, name in enumerate(names)]
    return pa.table(columns, names=names)


def _arrow_csv(data: Any, *, infer: bool, newlines: bool) -> Any:
    """Arrow's CSV reader: ``infer`` types, or read every cell as bytes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(newlines_in_values=newlines)
    types: dict[str, Any] = {}
    if not infer:
        header = pacsv.open_csv(data, parse_options=parse)
        types = {n: pa.binary() for n in header.schema.names}  # UTF-8 checked per column
        header.close()
        if hasattr(data, "seek"):
            data.seek(0)
    convert = pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, null_values=[""],
        quoted_strings_can_be_null=True, true_values=[], false_values=[])
    return pacsv.read_csv(data, parse_options=parse, convert_options=convert)


def text_column(column: Any, name: str, *, source: str) -> Any:
    """An Arrow column read from CSV, with bytes as UTF-8 strings; others as they are.

    Raises
    ------
    InputError
        If a cell is not UTF-8, naming the column and the first such row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        return column
    try:
        return pc.cast(column, pa.string())
    except pa.ArrowInvalid:
        low, high = 0, len(column)  # the first bad cell lies in [low, high)
        while high - low > 1:
            middle = (low + high) // 2
            try:
                pc.cast(column.slice(low, middle - low), pa.string())
                low = middle
            except pa.ArrowInvalid:
                high = middle
        raise InputError(f"{source}: cannot be read as CSV: not UTF-8 text in column "
                         f"{name!r} (first: data row {low + 1}); save it as UTF-8.") from None


def open_parquet(data: Any, *, source: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` of a path or buffer; ``InputError`` if unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(data)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: cannot be read as Parquet: {_first_line(exc)}.") from None


def missing_column(name: str, *, role: str, present: list[str], source: str) -> InputError:
    """The refusal of an absent column, in the shape of ``validate_table``'s.

    >>> str(missing_column("score", role="--score-col column", present=["id", "p"],
    ...                    source="--data x.csv"))
    "--data x.csv: missing --score-col column 'score' (the file has 'id', 'p'; check the spelling)."
    """
    return InputError(f"{source}: missing {role} {name!r} (the file has "
                      f"{_preview(present, limit=12)}; check the spelling).")


def _cells(message: str) -> str:
    """Arrow's "Expected 6 columns, got 1: <row>" as words, without the row's bytes."""
    match = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if match is None:
        return message
    expected, got = int(match[1]), int(match[2])
    return f"a row has {_count(got, 'cell')} where the header has {expected}"


def _clip(text: str, limit: int = 160) -> str:
    """One printable line of at most ``limit`` characters (a parser may quote raw bytes)."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"

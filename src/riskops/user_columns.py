"""A user's CSV or Parquet file read one column at a time, straight into numpy arrays.

The columnar door of ``riskops.user_tables``, for files too large for a frame
of Python objects (``monitor compare``: a 1 M-row CSV is read about 4x faster
than as a frame, a Parquet file in a sixth of the memory). The file is opened
through the same checks as ``user_tables.read_table_file`` (suffix, empty
file, encoding, header, repeated names, no rows), so those faults read the
same whichever command meets them. Parquet columns are read one by one
(only the ones asked for), a CSV file is parsed once by pyarrow (types
inferred by Arrow; if a later part of the file breaks them, every cell is
read as text and each column converted by Arrow kernels), so no row ever
becomes a Python object.

    table = ColumnFile(Path("current.parquet"), source="--current current.parquet")
    table.kind("amount")            # "numeric" | "categorical" | "timestamp"
    table.numeric("amount")         # float64, NaN where empty
    table.categorical("channel")    # Encoded(codes, labels): code -1 where empty
    table.timestamps("ts")          # datetime64[us], UTC

Types: a Parquet column is numeric when its type is a number, a timestamp
when it is a date or time, else categorical (text, booleans). A CSV column is
numeric when every non-empty cell parses as a number (or every cell is
empty), a timestamp when Arrow reads every cell as an ISO 8601 date or time
of one kind, else categorical (``true``/``false`` stay text). An empty cell (or
an empty string) is missing. Every refusal is one ``InputError`` naming the
file (``source``), the column, the first bad row (``data row N``: 1-based,
header excluded) and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskops.errors import InputError
from riskops.user_tables import (
    FORMATS,
    check_header,
    missing_column,
    open_parquet,
    read_csv_columns,
    table_format,
)

__all__ = ["FORMATS", "ColumnFile", "ColumnKind", "Encoded"]

#: Bytes looked at before parsing (byte-order mark, NUL bytes, the header's encoding).
_HEAD = 64 * 1024

ColumnKind = Literal["numeric", "categorical", "timestamp"]

#: A time with a zone: ``Z`` or ``+02:00`` / ``-0500`` at the end.
_ZONED = r"(Z|[+-]\d\d:?\d\d)$"


class Encoded(NamedTuple):
    """A categorical column: one code per row (-1 where missing) into ``labels``."""

    codes: np.ndarray
    labels: list[str]


def _name(column: str) -> str:
    return repr(column)  # quotes, and escapes a line break so a message stays one line


class ColumnFile:
    """One CSV or Parquet file whose columns are read on demand; see the module docstring.

    Raises
    ------
    InputError
        If the file is missing, a folder, has another suffix, cannot be parsed,
        has duplicate column names or no rows.
    """

    def __init__(self, path: Path, *, source: str | None = None) -> None:
        self.path = Path(path)
        self.source = str(path) if source is None else source
        self.format = table_format(self.path, source=self.source)
        self._cache: dict[str, pa.ChunkedArray] = {}
        self._numbers: dict[str, np.ndarray | None] = {}
        self._dictionaries: dict[str, pa.DictionaryArray] = {}
        if self.format == "parquet":
            self._open_parquet()
        else:
            self._open_csv()
        check_header(self.names, self.rows, source=self.source)

    # -- opening -------------------------------------------------------------------------

    def _open_parquet(self) -> None:
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.source}: the file is empty.")
        self._parquet = open_parquet(self.path, source=self.source)
        schema = self._parquet.schema_arrow
        self.names: list[str] = list(schema.names)
        self._types = {field.name: field.type for field in schema}
        self.rows = int(self._parquet.metadata.num_rows)

    def _open_csv(self) -> None:
        try:
            with self.path.open("rb") as handle:
                head = handle.read(_HEAD)
        except OSError as exc:
            raise InputError(f"{self.source}: cannot read: {exc.strerror}.") from None
        table = read_csv_columns(self.path, source=self.source, head=head, typed=True)
        self.names = list(table.column_names)
        self._types = {field.name: field.type for field in table.schema}
        self.rows = table.num_rows
        self._cache = {name: table.column(i) for i, name in enumerate(self.names)}

    # -- columns ---------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """Whether the file has a column of that name."""
        return name in self._types

    def require(self, name: str, *, option: str) -> None:
        """Refuse a column the file lacks, naming the option that asked for it."""
        if not self.has(name):
            role = f"{option} column" if option.startswith("--") else f"column of {option}"
            raise missing_column(name, role=role, present=self.names, source=self.source)

    def _column(self, name: str) -> pa.ChunkedArray:
        column = self._cache.get(name)
        if column is None:
            try:
                column = self._parquet.read(columns=[name], use_threads=True).column(0)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"{self.source}: column {_name(name)} cannot be read: "
                                 f"{_first_line(exc)}.") from None
            if self.format == "parquet" and _is_numeric_type(column.type):
                return column  # read again when asked: memory stays one column at a time
            self._cache[name] = column
        return column

    def release(self, name: str) -> None:
        """Forget what was kept of a column (a CSV keeps its text until then)."""
        self._cache.pop(name, None)
        self._numbers.pop(name, None)
        self._dictionaries.pop(name, None)

    def kind(self, name: str) -> ColumnKind:
        """How the column reads: numeric, categorical or timestamp (see the module docstring)."""
        kind = self._types[name]
        if self.format == "csv" and pa.types.is_null(kind):
            return "numeric"  # every cell empty: numbers, all missing
        if self.format == "parquet" or not pa.types.is_string(kind):
            if _is_numeric_type(kind):
                return "numeric"
            if pa.types.is_temporal(kind):
                return "timestamp"
            return "categorical"
        return "numeric" if self._as_float(name) is not None else "categorical"

    def _as_float(self, name: str) -> np.ndarray | None:
        """The column as floats if every non-empty cell is a number, else ``None``."""
        if name not in self._numbers:
            column = self._column(name)
            try:
                numbers = pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self._numbers[name] = None
            else:
                self._numbers[name] = numbers.to_numpy()
        return self._numbers[name]

    def numeric(self, name: str, *, role: str = "numeric column",
                fix: str = "fix or empty that cell, or list the column under --categorical",
                ) -> np.ndarray:
        """The column as float64, NaN where empty.

        Raises
        ------
        InputError
            If a cell is not a number, naming the first such row.
        """
        kind = self._types[name]
        if _is_numeric_type(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
            return _float_numpy(self._column(name))
        if self.format == "csv" or pa.types.is_string(kind) or pa.types.is_large_string(kind):
            numbers = self._as_float(name)
            if numbers is not None:
                return numbers
            column = self._column(name)
            row = _first_failure(column, lambda part: _castable(part, pa.float64()))
            value = column[row].as_py()
            raise InputError(f"{self.source}: {role} {_name(name)} must hold numbers; data row "
                             f"{row + 1} has {value!r}; {fix}.")
        raise InputError(f"{self.source}: {role} {_name(name)} must hold numbers, not "
                         f"{_type_text(kind)}; {fix}.")

    def all_distinct(self, name: str) -> bool:
        """Whether every row holds a value and no two rows the same one (an identifier)."""
        distinct, missing = self._distinct(name)
        if missing or self.rows < 2:
            return False
        return distinct == self.rows

    def distinct_count(self, name: str) -> int:
        """How many distinct non-empty values the column holds."""
        return self._distinct(name)[0]

    def _distinct(self, name: str) -> tuple[int, int]:
        """Distinct values (nulls aside) and nulls; ``""`` counts as a value here."""
        dictionary = self._dictionary(name)
        if dictionary is not None:  # unified: one entry per value, maybe some unused
            used = np.bincount(dictionary.indices.drop_null().to_numpy(),
                               minlength=len(dictionary.dictionary))
            return int(np.count_nonzero(used)), dictionary.null_count
        column = self._column(name)
        return int(pc.count_distinct(column, mode="only_valid").as_py()), column.null_count

    def _dictionary(self, name: str) -> pa.DictionaryArray | None:
        """A Parquet text column read as a dictionary (codes + distinct values), or ``None``.

        Parquet stores most text columns dictionary-encoded: reading them so
        skips building a million strings only to encode them again (about 7x
        faster for a 1 M-row column). Kept until ``release``, so the identifier
        checks and the encoding read the column once.
        """
        kind = self._types[name]
        if self.format != "parquet" or not (
                pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return None
        if name not in self._dictionaries:
            import pyarrow.parquet as pq

            try:
                handle = pq.ParquetFile(self.path, read_dictionary=[name])
                column = handle.read(columns=[name], use_threads=True).column(0)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"{self.source}: column {_name(name)} cannot be read: "
                                 f"{_first_line(exc)}.") from None
            # One dictionary for all row groups, then one array.
            self._dictionaries[name] = column.unify_dictionaries().combine_chunks()
        return self._dictionaries[name]

    def categorical(self, name: str) -> Encoded:
        """The column's values as text labels and one code per row (-1: empty or missing)."""
        dictionary = self._dictionary(name)
        if dictionary is not None:
            return self._encoded(dictionary.dictionary, dictionary.indices)
        column = self._column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_dictionary(column.type)):
            try:
                column = pc.cast(column, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"{self.source}: column {_name(name)} of type "
                                 f"{_type_text(column.type)} cannot be read as categories; "
                                 "leave it out with --columns.") from None
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        encoded = pc.dictionary_encode(column.combine_chunks())
        return self._encoded(encoded.dictionary, encoded.indices)

    @staticmethod
    def _encoded(dictionary: pa.Array, indices: pa.Array) -> Encoded:
        """Codes and labels from an Arrow dictionary (a null index: missing)."""
        labels = [str(v) for v in dictionary.to_pylist()]
        codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
        if "" in labels:  # an empty string is as missing as an empty cell
            codes[codes == labels.index("")] = -1
        return Encoded(codes, labels)

    def timestamps(self, name: str) -> np.ndarray:
        """The column as UTC instants (``datetime64[us]``); a time without a zone is UTC.

        Raises
        ------
        InputError
            If a cell is empty or not an ISO 8601 date or time, naming the first such row.
        """
        column = self._column(name)
        kind = column.type
        if pa.types.is_timestamp(kind):
            micros = pc.cast(pc.cast(column, pa.timestamp("us", tz=kind.tz), safe=False),
                             pa.int64())
        elif pa.types.is_date(kind):
            micros = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            parsed = _parse_times(column)
            if parsed is None:
                row = _first_failure(column, lambda part: _parse_times(part) is not None)
                raise InputError(f"{self.source}: timestamp column {_name(name)}: data row "
                                 f"{row + 1} has {column[row].as_py()!r}, not an ISO 8601 "
                                 "date or time; use e.g. 2024-01-31 or 2024-01-31T12:00:00Z.")
            micros = parsed
        else:
            raise InputError(f"{self.source}: timestamp column {_name(name)} holds "
                             f"{_type_text(kind)}, not dates or times; use ISO 8601 text or a "
                             "timestamp type.")
        if micros.null_count:
            row = int(np.flatnonzero(pc.is_null(micros).to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{self.source}: timestamp column {_name(name)}: data row {row + 1} "
                             "is empty; every row needs a time when chunking by time.")
        return micros.to_numpy().astype("datetime64[us]")


# -- helpers ---------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _is_numeric_type(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _type_text(kind: pa.DataType) -> str:
    return f"type {kind}"


def _float_numpy(column: pa.ChunkedArray) -> np.ndarray:
    numbers = pc.cast(column, pa.float64()) if column.type != pa.float64() else column
    return numbers.to_numpy()  # nulls become NaN


def _castable(part: pa.ChunkedArray, target: pa.DataType) -> bool:
    try:
        pc.cast(part, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _parse_times(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """ISO 8601 text as int64 UTC microseconds; ``None`` if a cell does not parse."""
    zoned = pc.fill_null(pc.match_substring_regex(column, _ZONED), False)
    n_zoned = pc.sum(zoned).as_py() or 0
    empty = pa.scalar(None, column.type)
    for unit in ("us", "ns"):  # nanoseconds only when written (e.g. by pandas)
        try:
            if n_zoned == 0:
                return _micros(column, unit, None)
            utc = _micros(pc.if_else(zoned, column, empty), unit, "UTC")
            if n_zoned == len(column) - column.null_count:
                return utc
            return pc.if_else(zoned, utc, _micros(pc.if_else(zoned, empty, column), unit, None))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _micros(text: pa.ChunkedArray, unit: str, tz: str | None) -> pa.ChunkedArray:
    parsed = pc.cast(text, pa.timestamp(unit, tz=tz))
    return pc.cast(pc.cast(parsed, pa.timestamp("us", tz=tz), safe=False), pa.int64())


def _first_failure(column: pa.ChunkedArray, ok: Callable[[pa.ChunkedArray], bool]) -> int:
    """Index of the first row whose one-row slice fails ``ok``, found by halving the column."""
    low, high = 0, len(column)  # the failure lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if ok(column.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low

"""Reading a user's table (CSV or Parquet, chosen by suffix) into a DataFrame.

    frame = read_table(Path("claims.csv"))
    frame.attrs["source"]        # "claims.csv", for messages that name the file

Every failure is one ``InputError`` line naming the file: missing, a folder,
unsupported suffix, empty, or not readable as the format its suffix claims.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskops.errors import InputError

#: Suffix (lower case) -> format.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: Path) -> pd.DataFrame:
    """The rows of a CSV or Parquet file, as pandas reads them.

    CSV is read as UTF-8 with a header row; column types are pandas'
    inference (numbers become numbers, everything else text). The frame's
    ``attrs["source"]`` holds the path, so later checks can name the file.

    Raises
    ------
    InputError
        If the file is missing, a folder, has an unsupported suffix, is empty
        (no bytes, or a header but no rows), or cannot be parsed.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            f"use {' or '.join(sorted(set(FORMATS)))}."
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}.") from None
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a data file.")
    if size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes).")
    frame = _parse(path, fmt)
    if len(frame.columns) == 0:
        raise InputError(f"{path}: the file is empty (no columns).")
    if len(frame) == 0:
        raise InputError(f"{path}: has a header but no rows.")
    frame.attrs["source"] = str(path)
    return frame


def _parse(path: Path, fmt: str) -> pd.DataFrame:
    kind = "CSV" if fmt == "csv" else "Parquet"
    try:
        if fmt == "csv":
            return pd.read_csv(path, encoding="utf-8", low_memory=False)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows).") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot be read as {kind}: not UTF-8 text ({exc.reason}).") \
            from None
    except PermissionError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}.") from None
    except Exception as exc:  # pandas and pyarrow raise many types for malformed files
        raise InputError(f"{path}: cannot be read as {kind}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

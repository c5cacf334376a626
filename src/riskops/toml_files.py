"""Reading a user's TOML file (a scenario config, a model.toml) with one clear error per fault."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from riskops.errors import InputError

MAX_TOML_BYTES = 1024 * 1024


def read_toml(path: Path, *, what: str, max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """The parsed TOML document at ``path``; ``InputError`` naming ``path`` and the fault
    (missing, a folder, too large, not UTF-8, malformed or nested too deeply)."""
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not a {what} file.")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: {size} bytes is too large for a {what} "
                             f"(at most {max_bytes}); is this the right file?")
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is not content
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason}).") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: malformed TOML: {exc}.") from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table.
        raise InputError(f"{path}: malformed TOML: arrays or tables nested too deeply.") \
            from None

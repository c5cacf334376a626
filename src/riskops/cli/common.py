"""What every command module shares: workspace and actor, output helpers, common options.

Command modules import this module and nothing else from ``riskops.cli``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from riskops.config import Workspace, open_workspace
from riskops.errors import InputError

#: Normal output (stdout) and diagnostics (stderr); one line each, never wrapped.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[Path | None, typer.Option(
    "--home", metavar="DIR", help="Workspace folder (default: $RISKOPS_HOME or ./.riskops).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def open_ws(home: Path | None, action: str | None = None) -> Workspace:
    """The workspace at ``home`` (or the default), migrated, with ``RISKOPS_TOKEN`` checked.

    A token that is set must be valid for every command, reads included: an
    unknown or revoked token is refused, never silently ignored. With
    ``action`` the caller must also be allowed it by the role table
    (``riskops.roles``), exactly as the HTTP API checks it.
    """
    from riskops.storage import db

    ws = open_workspace(home)
    db.migrate(ws.database_url)
    if action is not None:
        actor(ws, action)
    elif os.environ.get("RISKOPS_TOKEN") is not None:
        actor(ws)
    return ws


def actor(ws: Workspace, action: str = "read") -> str:
    """Who acts: the holder of ``RISKOPS_TOKEN``, else the local user; ``PermissionDenied``
    unless the role table (``riskops.roles``) lets them perform ``action``."""
    from riskops.tokens import authorize, current_identity

    return authorize(current_identity(ws), action).actor


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (datetimes and paths as text)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def write_report(path: Path, document: dict[str, Any], *, option: str = "--json-out") -> None:
    """Write ``document`` as JSON to ``path``; an unwritable path is an input error."""
    write_text(path, json.dumps(document, indent=2, default=str) + "\n", option=option)


def write_text(path: Path, text: str, *, option: str) -> None:
    """Write ``text`` (UTF-8) to ``path``; an unwritable path is an input error naming ``option``.

    A regular file (or a link to one) is replaced whole or not at all, never left
    torn; anything else (``/dev/stdout``, a pipe) is written to as it is.
    """
    from riskops.files import atomic_write

    try:
        if path.exists() and not path.is_file():
            with path.open("w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            with atomic_write(path.resolve(), "w", encoding="utf-8") as fh:
                fh.write(text)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write the report: {exc.strerror}.") from None


def writable_folder(path: Path, *, option: str) -> None:
    """Check before long work that ``path`` can be a file in an existing folder."""
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name, e.g. "
                         f"{option} {path / 'drift.html'}.")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InputError(f"{option} {path}: folder {folder} does not exist; create it or "
                         "write the report elsewhere.")


def json_object(value: str | None, option: str) -> dict[str, Any] | None:
    """Parse an option's JSON object text; ``None`` stays ``None``.

    Raises
    ------
    InputError
        Not JSON, NaN or Infinity, or not an object; the message names ``option``.
    """
    if value is None:
        return None
    try:
        parsed = json.loads(value, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{option} is not valid JSON: {exc.msg} at position {exc.pos}.") from None
    except ValueError as exc:  # NaN and Infinity: standard JSON readers reject them
        raise InputError(f"{option} is not valid JSON: {exc}.") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{option} must be a JSON object, not {type(parsed).__name__}.")
    return parsed


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_date(text: str, option: str) -> date:
    """An ISO ``YYYY-MM-DD`` date, or an input error naming ``option``."""
    try:
        if _ISO_DATE.fullmatch(text.strip()) is None:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; use YYYY-MM-DD, "
                         "e.g. 2024-01-31.") from None


def version_text(version: int | None, *, none: str = "-") -> str:
    """``v3`` for a version number, ``none`` when there is none."""
    return none if version is None else f"v{version}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 version``, ``2 versions``, ``0 entries`` (with ``plural_form``)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def shown(text: str, limit: int = 64) -> str:
    """``text`` safe for one terminal line: control characters written as escapes
    (``\\n``, ``\\x1b``), and cut to ``limit`` characters with an ellipsis.
    For values that come from data or requests (segment values, names).

    >>> shown("emea\\x1b[31m\\nred")
    'emea\\\\x1b[31m\\\\nred'
    """
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[:limit - 1] + "…"


def number(value: float | None, digits: int = 3) -> str:
    """A score or metric for people: fixed decimals, ``-`` when missing."""
    return "-" if value is None else f"{value:.{digits}f}"


@contextmanager
def progress(quiet: bool, what: str) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on stderr when it is a terminal and ``quiet`` is false.

    Yields ``update(step, done, total)`` for the long-running call, or ``None``.
    """
    if quiet or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn(f"{what}: {{task.description:<26}}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update


"""``riskops demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from riskops.cli.common import JsonFlag, err, out, print_json

DemoHomeOption = Annotated[Path | None, typer.Option(
    "--home", metavar="DIR",
    help="Workspace folder for the demo (default: ./.riskops-demo; $RISKOPS_HOME is not used, "
    "so the demo never touches your own workspace).")]

#: What points at the user's own workspace and services; the demo runs without them.
YOURS = ("RISKOPS_HOME", "RISKOPS_DATABASE_URL", "RISKOPS_AMQP_URL", "RISKOPS_TRUSTED_KEYS",
         "RISKOPS_TOKEN", "RISKOPS_URL")


def demo(home: DemoHomeOption = None, as_json: JsonFlag = False) -> None:
    """Run the main job end to end on embedded defaults (SQLite, local folders)."""
    from riskops.demo.lifecycle import DEMO_HOME, run_demo

    with _without_your_settings() as ignored:
        if ignored:
            they = "it belongs" if len(ignored) == 1 else "they belong"
            err.print(f"the demo ignores {', '.join(ignored)}: {they} to your own workspace",
                      markup=False)
        summary = run_demo(home or Path(DEMO_HOME), say=(lambda _m: None) if as_json else _say)
    if as_json:
        print_json(summary)


@contextmanager
def _without_your_settings() -> Iterator[list[str]]:
    """Unset ``YOURS`` while the demo runs (embedded defaults); restore them after."""
    saved = {name: os.environ.pop(name) for name in YOURS if name in os.environ}
    try:
        yield sorted(saved)
    finally:
        os.environ.update(saved)


def _say(line: str) -> None:
    out.print(line, markup=False)

"""``riskops demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskops.cli.common import JsonFlag, out, print_json

DemoHomeOption = Annotated[Path | None, typer.Option(
    "--home", metavar="DIR",
    help="Workspace folder for the demo (default: ./.riskops-demo; $RISKOPS_HOME is not used, "
    "so the demo never touches your own workspace).")]


def demo(home: DemoHomeOption = None, as_json: JsonFlag = False) -> None:
    """Run the main job end to end on embedded defaults (SQLite, local folders)."""
    from riskops.demo.lifecycle import DEMO_HOME, run_demo

    summary = run_demo(home or Path(DEMO_HOME), say=(lambda _m: None) if as_json else _say)
    if as_json:
        print_json(summary)


def _say(line: str) -> None:
    out.print(line, markup=False)

"""``riskops demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

from riskops.cli.common import HomeOption, JsonFlag, out, print_json


def demo(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Run the main job end to end on embedded defaults (SQLite, local folders)."""
    from riskops.demo.lifecycle import run_demo

    summary = run_demo(home, say=(lambda _m: None) if as_json else _say)
    if as_json:
        print_json(summary)


def _say(line: str) -> None:
    out.print(line, markup=False)

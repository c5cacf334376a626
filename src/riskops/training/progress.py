"""Progress reporting for long training work: a callback, never output of its own.

    def show(step: str, done: int, total: int) -> None: ...
    train_scenario(ws, "fraud", path, actor=a, progress=show)

The command line turns the calls into a progress bar on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: ``progress(step, done, total)``: called as each step starts, and with "done" at the end.
Progress = Callable[[str, int, int], None]


def stepper(progress: Progress | None, steps: Sequence[str]) -> Callable[[str], None]:
    """A ``step(name)`` function that reports ``name`` and how many steps are done."""
    done = 0

    def step(name: str) -> None:
        nonlocal done
        if progress is not None:
            progress(name, min(done, len(steps)), len(steps))
        done += 1

    return step

"""Helpers the benchmark scripts share for their results tables."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_average() -> str:
    """1, 5 and 15 minute load averages: other work on the machine skews timings."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _proc_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def vm_hwm_mib() -> float | None:
    """This process's peak resident set size in MiB (``VmHWM``), else ``None``."""
    value = _proc_field("/proc/self/status", "VmHWM:")
    return int(value.split()[0]) / 1024 if value else None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else "unknown"."""
    return _proc_field("/proc/cpuinfo", "model name") or "unknown"


def memory_total() -> str:
    """Total RAM in GiB from /proc/meminfo, else "unknown"."""
    value = _proc_field("/proc/meminfo", "MemTotal:")
    return f"{int(value.split()[0]) / 1024**2:.1f} GiB" if value else "unknown"


def table(rows: list[list[str]]) -> str:
    """A Markdown table, aligned so it also reads as plain text."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                  enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1)
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls of ``fn``, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result

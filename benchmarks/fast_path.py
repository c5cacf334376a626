"""The fast path beside the estimator: one model call on 1 and 8 rows, no HTTP.

What is measured
----------------
For each reference tabular scenario asked for (``--scenarios``, default
fraud), a model fitted with the scenario's own builder on ``--rows`` generated
rows (or, with ``--home``, the scenario's signed version loaded as serving
loads it) scores the same feature dicts two ways, as ``serving.scoring`` would:

* estimator: ``pd.DataFrame.from_records`` + ``scenario.risk_scores`` (the
  column transformer, then three calibrated HistGradientBoosting boosters);
* fast path: ``FastPath.scores`` on the dicts, after the load-time check
  (``compare_with_estimator`` on the golden rows) has passed.

Both run on one thread with native pools limited to one thread, as the
server's model thread runs (``[serving] model_threads = 1``). Each cell is the
median and the 99th percentile of ``--calls`` timed calls, interleaved
estimator / fast path so both see the same machine load, and the process CPU
time per call, which moves less than wall time on a shared machine.

How to run
----------
::

    .venv/bin/python benchmarks/fast_path.py [--scenarios fraud,deal] [--rows 20000] \\
        [--calls 400] [--home WORKSPACE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# sibling module; scripts run from here
from _report import cpu_model, load_average, table

BATCHES = (1, 8)


def fitted(name: str, rows: int) -> Any:
    from riskops.scenarios import get_scenario

    scenario = get_scenario(name)
    frame = scenario.generate(rows, start=dt.date(2026, 1, 1), days=90, seed=1)
    model = scenario.build_model(seed=0)
    return model.fit(scenario.model_input(frame), frame[scenario.schema.label].astype(str))


def signed(home: Path, name: str) -> Any:
    from riskops.config import open_workspace
    from riskops.registry.loader import load_model
    from riskops.registry.manifest import read_verified_manifest

    ws = open_workspace(home)
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    production = verified.manifest.models[name].stages.production
    if production is None:
        raise SystemExit(f"{name} has no production version in {home}; promote one first.")
    return load_model(verified, name, production,
                      trusted_types=ws.settings.trusted_types).estimator


def request_rows(name: str, count: int) -> list[dict[str, Any]]:
    """``count`` generated rows as the validated dicts a request carries."""
    from riskops.scenarios import get_scenario

    scenario = get_scenario(name)
    frame = scenario.generate(count, start=dt.date(2026, 4, 1), days=7, seed=7)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame[scenario.schema.feature_names].to_dict(orient="records")]


def contenders(scenario: Any, model: Any, fast: Any, batch: list[dict[str, Any]]
               ) -> list[Callable[[], Any]]:
    """The estimator as ``serving.scoring`` calls it, and the fast path, on ``batch``."""
    import pandas as pd

    columns = scenario.schema.feature_names

    def estimator() -> Any:
        return scenario.risk_scores(model, pd.DataFrame.from_records(batch, columns=columns))

    return [estimator, lambda: fast.scores(batch)]


def interleaved(calls: int, contenders: Sequence[Callable[[], Any]]
                ) -> list[tuple[list[float], float]]:
    """Per contender: the wall seconds of each call and the CPU seconds per call."""
    walls: list[list[float]] = [[] for _ in contenders]
    cpus = [0.0 for _ in contenders]
    for _ in range(calls):
        for i, call in enumerate(contenders):
            c0, t0 = time.process_time(), time.perf_counter()
            call()
            walls[i].append(time.perf_counter() - t0)
            cpus[i] += time.process_time() - c0
    return [(w, c / calls) for w, c in zip(walls, cpus, strict=True)]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="fraud",
                        help="comma-separated tabular scenarios (default fraud)")
    parser.add_argument("--rows", type=int, default=20_000,
                        help="rows each model is fitted on (default 20000; ignored with --home)")
    parser.add_argument("--calls", type=int, default=400,
                        help="timed calls per contender and batch size (default 400)")
    parser.add_argument("--home", type=Path,
                        help="score the production versions signed in this workspace instead")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from riskops.scenarios import get_scenario
    from riskops.serving.fast_path import (
        compare_with_estimator,
        compile_fast_path,
        estimator_scores,
        golden_rows,
    )
    from riskops.serving.pool import GOLDEN_SAMPLE_ROWS

    print(f"machine:  {cpu_model()}, {__import__('os').cpu_count()} CPUs; Python "
          f"{sys.version.split()[0]}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"load avg: {load_average()} (before)", flush=True)
    header = ["scenario", "rows/call", "estimator p50 ms", "p99 ms", "CPU ms/call",
              "fast path p50 ms", "p99 ms", "CPU ms/call", "speed-up (CPU)"]
    lines = [header]
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        scenario = get_scenario(name)
        with threadpool_limits(limits=1):
            model = signed(args.home, name) if args.home else fitted(name, args.rows)
        limits = threadpool_limits(limits=1)  # after loading: the pools exist now
        fast = compile_fast_path(scenario, model)
        golden = golden_rows(scenario, fast, scenario.sample_rows(GOLDEN_SAMPLE_ROWS))
        check = compare_with_estimator(scenario, model, fast, golden)
        print(f"{name}: fast path checked on {check.rows} golden rows, "
              f"{check.differing} differ", flush=True)
        if not check.identical:
            return 1
        rows = request_rows(name, max(BATCHES))
        for size in BATCHES:
            batch = rows[:size]
            if list(fast.scores(batch)) != list(estimator_scores(scenario, model, batch)):
                raise SystemExit(f"{name}: the two paths disagree on the benchmark rows")
            both = contenders(scenario, model, fast, batch)
            interleaved(max(10, args.calls // 10), both)  # warm-up
            (est, est_cpu), (fst, fst_cpu) = interleaved(args.calls, both)
            lines.append([name, str(size), f"{p(est, 50) * 1e3:.3f}", f"{p(est, 99) * 1e3:.3f}",
                          f"{est_cpu * 1e3:.3f}", f"{p(fst, 50) * 1e3:.3f}",
                          f"{p(fst, 99) * 1e3:.3f}", f"{fst_cpu * 1e3:.3f}",
                          f"{est_cpu / fst_cpu:.1f}x"])
            print(f"  {size} row(s): estimator {statistics.median(est) * 1e3:.3f} ms, "
                  f"fast path {statistics.median(fst) * 1e3:.3f} ms", flush=True)
        limits.restore_original_limits()
    print(f"load avg: {load_average()} (after)")
    print()
    print(table(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

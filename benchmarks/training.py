"""Wall time and peak memory of ``riskops train`` per reference scenario, beside a bare fit.

What it measures
----------------
For each reference scenario (``fraud``, ``shortfall``, ``compliance``,
``incident``) a data set of ``--rows`` rows (default 200,000) is generated
once with ``riskops.scenarios.generate.generate_to_file`` into
``benchmarks/.data/training/`` as Parquet, then trained two ways, each in its
own fresh child process:

``riskops train_scenario``
    The full ``riskops.training.pipeline.train_scenario`` into a new, empty
    workspace (``riskops.workspace.init_workspace`` on a temporary folder,
    untimed): read and validate the file, time-ordered split, fit, score the
    validation and golden slices, choose the threshold, metrics per slice and
    segment, comparison with production (none in a fresh workspace), the
    evaluation and reproducibility reports, ``model.skops``, golden
    predictions, then registration (artifacts copied into the store, signed,
    a new manifest published).
``bare scikit-learn fit``
    The baseline: the scenario's own ``build_model(seed=0)`` fitted directly
    on the feature columns (``scenario.model_input``) and labels of the same
    train slice, and nothing else. The child reads the Parquet file with
    ``pandas.read_parquet`` and takes the slice with riskops' ``time_split``
    (the oldest 70% by timestamp, then id) before the clock starts, so both
    contenders fit the very same rows.

Both fits run under ``threadpoolctl.threadpool_limits(--threads)``:
``train_scenario`` limits native thread pools (OpenMP, BLAS) to ``threads``
(default 1, for reproducible floating-point sums), so the bare fit gets the
same limit or the comparison would not be fair.

Reported per scenario: the generation time, the wall time of the
``train_scenario`` call, the wall time of the bare ``model.fit`` call, their
ratio (riskops' overhead on top of the fit), the peak resident set size of
each child, and the validation ROC AUC. A second table splits the riskops
time into its steps (from its progress callback); the fit time riskops
records itself (``wall_time_seconds.fit`` in the reproducibility report)
shows whether its fit costs the same as the bare one. The bare child also
scores the validation slice after its clock and memory reading stop: the
same ROC AUC on both sides shows the same model was fitted.

Timing covers only the call itself, not interpreter start-up, imports or
(for riskops) creating the workspace. Peak RSS is the child's own ``VmHWM``
from ``/proc/self/status``, read at the end of the call, so it includes the
interpreter, the imports and the data. ``ru_maxrss`` is not used: Linux
carries the parent's high-water mark into a child started through
``vfork``/``posix_spawn`` (as ``subprocess`` does) across ``exec``.

How to run
----------
::

    .venv/bin/python benchmarks/training.py [--rows 200000] \\
        [--scenarios fraud,shortfall,compliance,incident] [--threads 1] \\
        [--data-dir DIR] [--repeat 1] [--timeout SECONDS] [--regenerate]

A scenario can get its own row count, e.g. ``--scenarios fraud,incident:50000``.
The data is generated once and reused while its parameters and SHA-256 match;
then the generation time shown is the one recorded when it was generated
(marked ``*``). ``--regenerate`` generates it again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# sibling module; scripts run from here
from _report import cpu_model, load_average, memory_total, table

MIB = 1024 * 1024
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data"
DATA_FOLDER = "training"
SCENARIOS = ("fraud", "shortfall", "compliance", "incident")
START = dt.date(2024, 1, 1)
DAYS = 90
SEED = 0
ACTOR = "benchmark:training"

RISKOPS = "riskops train_scenario"
BARE = "bare scikit-learn fit"


# --------------------------------------------------------------------------- helpers


def vm_hwm_kib(pid: int | str = "self") -> int | None:
    """Peak RSS (``VmHWM``) of a process in KiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def data_paths(data_dir: Path, scenario: str, rows: int) -> tuple[Path, Path]:
    """The Parquet file of one scenario and size, and the JSON that records it."""
    folder = data_dir / DATA_FOLDER
    return folder / f"{scenario}-{rows}.parquet", folder / f"{scenario}-{rows}.json"


# --------------------------------------------------------------------------- children


def child_generate(scenario: str, rows: int, out: Path) -> dict[str, Any]:
    """Generate one data set with ``generate_to_file``; time it."""
    from riskops.scenarios.generate import generate_to_file

    start = time.perf_counter()
    summary = generate_to_file(scenario, rows=rows, start=START, days=DAYS, out=out, seed=SEED)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_peak_kib": vm_hwm_kib(), "sha256": summary["sha256"],
            "label_share": summary["label_share"], "date_range": summary["date_range"]}


def child_riskops(scenario: str, path: Path, threads: int) -> dict[str, Any]:
    """The full ``train_scenario`` into a fresh temporary workspace."""
    from riskops.scenarios import get_scenario
    from riskops.training import reports
    from riskops.training.pipeline import train_scenario
    from riskops.workspace import init_workspace

    # The bare child builds its model before its clock starts, which imports the
    # estimator's scikit-learn modules; do the same here so that neither side
    # times that one-off import.
    warmed = time.perf_counter()
    get_scenario(scenario).build_model(seed=SEED)
    import_seconds = time.perf_counter() - warmed

    with tempfile.TemporaryDirectory(prefix="riskops-bench-") as tmp:
        started = time.perf_counter()
        ws = init_workspace(Path(tmp) / "workspace").workspace
        init_seconds = time.perf_counter() - started
        marks: list[tuple[str, float, int | None]] = []

        def progress(step: str, done: int, total: int) -> None:
            marks.append((step, time.perf_counter(), vm_hwm_kib()))

        rss_before = vm_hwm_kib()
        start = time.perf_counter()
        summary = train_scenario(ws, scenario, path, seed=SEED, actor=ACTOR, threads=threads,
                                 progress=progress)
        seconds = time.perf_counter() - start
        rss_peak = vm_hwm_kib()

        steps = {name: later - at for (name, at, _), (_, later, _) in itertools.pairwise(marks)}
        # The high-water mark when each step ends (= when the next one starts).
        step_peaks = {name: hwm for (name, _, _), (_, _, hwm) in itertools.pairwise(marks)}
        artifacts = {Path(a["path"]).name: a for a in summary["artifacts"]}
        reproducibility = json.loads(
            (ws.store_dir / artifacts[reports.REPRODUCIBILITY_FILE]["path"]).read_text()
        )
    return {
        "seconds": seconds, "init_seconds": init_seconds, "import_seconds": import_seconds,
        "steps": steps, "step_peaks_kib": step_peaks,
        "fit_seconds": reproducibility["wall_time_seconds"]["fit"],
        "rss_before_kib": rss_before, "rss_peak_kib": rss_peak,
        "split": summary["split"]["rows"], "version": summary["version"],
        "roc_auc": summary["metrics"]["validation"]["roc_auc"],
        "model_bytes": artifacts[reports.MODEL_FILE]["size"],
        "artifact_bytes": sum(a["size"] for a in summary["artifacts"]),
    }


def child_bare(scenario_name: str, path: Path, threads: int) -> dict[str, Any]:
    """``build_model(seed=0).fit`` on the train slice's feature columns, nothing else."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    from riskops.scenarios import get_scenario
    from riskops.training.split import time_split

    scenario = get_scenario(scenario_name)
    schema = scenario.schema
    model = scenario.build_model(seed=SEED)
    rss_imports = vm_hwm_kib()
    prepared = time.perf_counter()
    frame = pd.read_parquet(path)
    split = time_split(frame, timestamp=schema.timestamp, id=schema.id)
    x_train = scenario.model_input(split.train)
    y_train = split.train[schema.label].astype(str)
    prepare_seconds = time.perf_counter() - prepared

    rss_before = vm_hwm_kib()
    start = time.perf_counter()
    with threadpool_limits(limits=threads):
        model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    rss_peak = vm_hwm_kib()

    # Untimed check, after the memory reading: the same model as riskops fits?
    with threadpool_limits(limits=threads):
        scores = scenario.risk_scores(model, split.validation)
    auc = roc_auc_score(scenario.binary_target(split.validation[schema.label]), scores)
    return {"seconds": seconds, "prepare_seconds": prepare_seconds,
            "rss_imports_kib": rss_imports, "rss_before_kib": rss_before,
            "rss_peak_kib": rss_peak, "roc_auc": float(auc),
            "split": {name: len(part) for name, part in split.slices().items()}}


def child_main(args: argparse.Namespace) -> int:
    path, _ = data_paths(args.data_dir.resolve(), args.scenario, args.rows)
    if args.child == "generate":
        report = child_generate(args.scenario, args.rows, path)
    elif args.child == "riskops":
        report = child_riskops(args.scenario, path, args.threads)
    else:
        report = child_bare(args.scenario, path, args.threads)
    print(json.dumps(report))
    return 0


# --------------------------------------------------------------------------- parent


class Timeout(Exception):
    pass


def run_child(mode: str, scenario: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one child of this script in a fresh interpreter; return its JSON report."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
            "--scenario", scenario, "--rows", str(rows), "--threads", str(args.threads),
            "--data-dir", str(args.data_dir.resolve())]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        try:
            proc.wait(timeout=args.timeout or None)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Timeout(f"{mode} {scenario} ({rows} rows) ran over {args.timeout} s") from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} {scenario} failed ({proc.returncode}):\n{stderr}")
    return json.loads(stdout.strip().splitlines()[-1])


def ensure_data(scenario: str, rows: int, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The recorded generation of this data set; generate it first unless it is there.

    Returns the record and whether it was generated in this run.
    """
    path, record_path = data_paths(args.data_dir.resolve(), scenario, rows)
    params = {"scenario": scenario, "rows": rows, "start": START.isoformat(), "days": DAYS,
              "seed": SEED}
    if not args.regenerate:
        try:
            record = json.loads(record_path.read_text())
            if record["params"] == params and record["sha256"] == sha256_of(path):
                return record, False
        except (OSError, ValueError, KeyError, TypeError):
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    record_path.unlink(missing_ok=True)
    report = run_child("generate", scenario, rows, args)
    record = {"params": params, "generated_at": now(), **report}
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record, True


@dataclass
class Result:
    scenario: str
    rows: int
    generation: dict[str, Any]
    generated_now: bool
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    timeout: str | None = None

    def best(self, name: str) -> dict[str, Any] | None:
        runs = self.runs.get(name) or []
        return min(runs, key=lambda r: r["seconds"]) if runs else None

    def peak_mib(self, name: str) -> str:
        peaks = [r["rss_peak_kib"] for r in self.runs.get(name) or [] if r["rss_peak_kib"]]
        return f"{max(peaks) / 1024:.0f}" if peaks else "n/a"


def plan(spec: str, rows: int) -> list[tuple[str, int]]:
    """``fraud,incident:50000`` -> [("fraud", rows), ("incident", 50000)]."""
    result = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        if name not in SCENARIOS:
            raise SystemExit(f"unknown scenario {name!r}; use {', '.join(SCENARIOS)}")
        result.append((name, int(count) if count else rows))
    if not result:
        raise SystemExit("--scenarios is empty")
    return result


def now() -> str:
    return f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}"


def machine_lines(threads: int) -> list[str]:
    import numpy
    import pandas
    import sklearn

    cpu = cpu_model()
    ram = memory_total()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return [
        f"date:       {now()}",
        f"cpu:        {cpu}",
        f"cores:      {os.cpu_count()} logical ({usable} usable by this process)",
        f"ram:        {ram}",
        f"os:         {platform.platform()}",
        f"python:     {platform.python_version()}",
        f"libraries:  scikit-learn {sklearn.__version__}, pandas {pandas.__version__}, "
        f"numpy {numpy.__version__}",
        f"threads:    {threads} (train_scenario(threads=...) and threadpool_limits for the "
        "bare fit)",
    ]


def summary_table(results: Sequence[Result]) -> str:
    rows = [["scenario", "rows (train)", "generate s", "riskops train s", "bare fit s",
             "overhead", "riskops peak RSS MiB", "bare peak RSS MiB", "validation ROC AUC"]]
    for res in results:
        riskops, bare = res.best(RISKOPS), res.best(BARE)
        train = (riskops or bare or {}).get("split", {}).get("train")
        generated = f"{res.generation['seconds']:.1f}" + ("" if res.generated_now else "*")
        rows.append([
            res.scenario,
            f"{res.rows:,}" + (f" ({train:,})" if train else ""),
            generated,
            f"{riskops['seconds']:.1f}" if riskops else "timeout",
            f"{bare['seconds']:.1f}" if bare else "timeout",
            f"{riskops['seconds'] / bare['seconds']:.2f}x" if riskops and bare else "n/a",
            res.peak_mib(RISKOPS),
            res.peak_mib(BARE),
            f"{riskops['roc_auc']:.4f}" if riskops else "n/a",
        ])
    return table(rows)


STEP_COLUMNS = (
    ("reading data", "read + validate s"),
    ("fitting", "split + fit + score s"),
    ("evaluating", "evaluate s"),
    ("comparing with production", "compare s"),
    ("writing reports", "reports + model.skops s"),
    ("registering", "register s"),
)


def steps_table(results: Sequence[Result]) -> str:
    rows = [["scenario", *(title for _, title in STEP_COLUMNS), "riskops fit s", "bare fit s",
             "not fitting s", "model.skops MiB"]]
    for res in results:
        riskops, bare = res.best(RISKOPS), res.best(BARE)
        if riskops is None:
            continue
        steps = riskops["steps"]
        rows.append([
            res.scenario,
            *(f"{steps.get(step, 0.0):.2f}" for step, _ in STEP_COLUMNS),
            f"{riskops['fit_seconds']:.2f}",
            f"{bare['seconds']:.2f}" if bare else "n/a",
            f"{riskops['seconds'] - riskops['fit_seconds']:.2f}",
            f"{riskops['model_bytes'] / MIB:.1f}",
        ])
    return table(rows)


def mib(run: dict[str, Any] | None, key: str) -> str:
    return f"{run[key] / 1024:.0f}" if run and run.get(key) else "n/a"


def memory_table(results: Sequence[Result]) -> str:
    """Peak RSS (VmHWM) so far at points in each child's best run, in MiB."""
    rows = [["scenario", "generate", "riskops before train", "+ read", "+ fit + score",
             "+ evaluate", "+ reports", "riskops peak", "bare after imports",
             "+ read + split", "bare peak"]]
    for res in results:
        riskops, bare = res.best(RISKOPS), res.best(BARE)
        peaks = riskops["step_peaks_kib"] if riskops else {}
        rows.append([
            res.scenario,
            mib(res.generation, "rss_peak_kib"),
            mib(riskops, "rss_before_kib"),
            *(mib(peaks, step) for step in ("reading data", "fitting", "evaluating",
                                            "writing reports")),
            mib(riskops, "rss_peak_kib"),
            mib(bare, "rss_imports_kib"), mib(bare, "rss_before_kib"), mib(bare, "rss_peak_kib"),
        ])
    return table(rows)


def checks_table(results: Sequence[Result]) -> str:
    rows = [["scenario", "riskops model imports s", "bare read + split s",
             "riskops validation ROC AUC", "bare validation ROC AUC", "same model"]]
    for res in results:
        riskops, bare = res.best(RISKOPS), res.best(BARE)
        same = "n/a"
        if riskops and bare:
            same = "yes" if (riskops["split"] == bare["split"]
                             and abs(riskops["roc_auc"] - bare["roc_auc"]) < 1e-12) else "NO"
        rows.append([
            res.scenario,
            f"{riskops['import_seconds']:.2f}" if riskops else "n/a",
            f"{bare['prepare_seconds']:.2f}" if bare else "n/a",
            f"{riskops['roc_auc']:.6f}" if riskops else "n/a",
            f"{bare['roc_auc']:.6f}" if bare else "n/a",
            same,
        ])
    return table(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000,
                        help="rows generated per scenario (default 200000)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated; NAME:ROWS overrides --rows for one scenario "
                             f"(default {','.join(SCENARIOS)})")
    parser.add_argument("--threads", type=int, default=1,
                        help="native threads for both fits (default 1, riskops' default)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"where the data lives (default {DEFAULT_DATA_DIR}), "
                             f"in its {DATA_FOLDER}/ folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per contender; the best time is shown (default 1)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="give up on a child after this many seconds (default: never)")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the data again even if it is there")
    parser.add_argument("--child", choices=["generate", "riskops", "bare"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    if args.threads < 1 or args.repeat < 1:
        raise SystemExit("--threads and --repeat must be at least 1")
    scenarios = plan(args.scenarios, args.rows)

    print("\n".join(machine_lines(args.threads)))
    print(f"load avg:   {load_average()} (before)")
    results: list[Result] = []
    for index, (scenario, rows) in enumerate(scenarios):
        generation, fresh = ensure_data(scenario, rows, args)
        how = "generated" if fresh else f"reused, generated {generation['generated_at']}"
        print(f"{scenario}: {rows:,} rows, {how} in {generation['seconds']:.1f} s "
              f"(label share {generation['label_share']})")
        result = Result(scenario, rows, generation, fresh)
        results.append(result)
        names = [RISKOPS, BARE] if index % 2 == 0 else [BARE, RISKOPS]
        try:
            for r in range(args.repeat):
                order = names[r % 2:] + names[:r % 2]
                for name in order:
                    mode = "riskops" if name == RISKOPS else "bare"
                    run = run_child(mode, scenario, rows, args)
                    result.runs.setdefault(name, []).append(run)
                    print(f"  repeat {r + 1}/{args.repeat}  {name:<24} {run['seconds']:8.2f} s  "
                          f"peak {run['rss_peak_kib'] / 1024:6.0f} MiB  "
                          f"AUC {run['roc_auc']:.4f}  load {load_average()}")
        except Timeout as exc:
            result.timeout = str(exc)
            print(f"  {exc}; try fewer rows, e.g. --scenarios {scenario}:{rows // 4}")

    print(f"load avg:   {load_average()} (after)")
    print()
    print(f"best time of {args.repeat}, highest peak RSS of {args.repeat}, "
          f"threads={args.threads}; overhead = riskops train s / bare fit s; "
          "* = generation time recorded when the data was generated earlier:")
    print(summary_table(results))
    print()
    print("riskops train_scenario by step (best run):")
    print(steps_table(results))
    print()
    print("peak RSS (VmHWM) so far in the best run, MiB: riskops when each step ends, "
          "bare before and after its fit:")
    print(memory_table(results))
    print()
    print("untimed parts and the same-model check (same split and validation ROC AUC):")
    print(checks_table(results))
    return 1 if any(res.timeout for res in results) else 0


if __name__ == "__main__":
    sys.exit(main())

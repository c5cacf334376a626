"""``riskops monitor compare`` beside Evidently and NannyML on the same generated files.

What it measures
----------------
One seeded data set of 10 columns (6 numeric of different shapes, 4
categorical with 3 to 20 categories) is written twice as Parquet: a reference
file and a current file of ``--rows`` rows each (default 1,000,000). The
current file has drift injected on 3 columns: ``income`` (mean +0.6 standard
deviations), ``amount`` (scale x2) and ``channel`` (category shares moved);
the other 7 come from the same distributions as the reference. Each contender
runs in its own fresh child process on the same two files:

``riskops compare_files (in-process)``
    ``riskops.monitoring.compare.compare_files(reference, current,
    columns=..., categorical=...)`` timed around the call (it reads the
    Parquet files itself), not the interpreter start-up or imports.
``riskops monitor compare (whole process)``
    The command line, ``riskops monitor compare --reference A --current B
    --columns ... --categorical ... --json-out F``, timed around the whole
    process: interpreter, imports, reading, drift, writing the JSON.
``evidently`` (``DataDriftPreset(method="psi")`` and its default methods) and
``nannyml`` (``UnivariateDriftCalculator``, ``jensen_shannon`` and ``ks+chi2``)
    ``benchmarks/_reference_tools.py`` in a separate virtual environment,
    ``benchmarks/.venv-reference``, which this script creates and fills from
    ``benchmarks/reference-tools.txt`` (Evidently needs pandas<3). Compute
    time = reading both files with pandas + the tool's own work; the wall
    time is the whole process, imports included.

Peak RSS is each child's ``VmHWM``: read by the Python children from
``/proc/self/status`` at the end, and for the riskops command line reported
by ``/usr/bin/time`` (whose own tiny high-water mark is all a forked child
inherits). ``ru_maxrss`` of a ``subprocess`` child is not used: Linux
carries the parent's high-water mark into it across ``exec``.

Targets (issue 10): riskops compute <= 2 s, and >= 20x faster than Evidently's
preset with ``method="psi"`` and with its default methods; riskops must flag
exactly the 3 drifted columns. The script exits 1 when a target is missed
(with ``--rows`` below 1,000,000 only the flagged columns are checked).

How to run
----------
::

    .venv/bin/python benchmarks/monitoring.py [--rows 1000000] [--repeat 1] \\
        [--data-dir DIR] [--regenerate] [--skip-reference] [--tools LIST] \\
        [--profile] [--json-out FILE]

``--skip-reference`` runs the riskops half only (no virtual environment).
``--profile`` prints where ``compare_files`` spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# sibling module; scripts run from here
from _report import cpu_model, load_average, memory_total, table, vm_hwm_mib

HERE = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = HERE / ".data"
DATA_FOLDER = "monitoring"
DEFAULT_VENV = HERE / ".venv-reference"
REQUIREMENTS = HERE / "reference-tools.txt"
WORKER = HERE / "_reference_tools.py"
GENERATOR_VERSION = 1
SEED = 20240601
DEFAULT_ROWS = 1_000_000
TARGET_COMPUTE_SECONDS = 2.0
TARGET_SPEEDUP = 20.0

NUMERIC = ("income", "amount", "tenure_months", "utilisation", "days_since_last",
           "balance_change")
CATEGORICAL = ("channel", "region", "product", "merchant_category")
COLUMNS = NUMERIC + CATEGORICAL
DRIFTED = ("income", "amount", "channel")

RISKOPS_IN_PROCESS = "riskops-inprocess"
RISKOPS_CLI = "riskops-cli"
REFERENCE_TOOLS = ("evidently-psi", "evidently-default", "nannyml-js", "nannyml-ks")


# --------------------------------------------------------------------------- data


def _categories(prefix: str, count: int) -> list[str]:
    return [f"{prefix}_{i:02d}" for i in range(count)]


def _zipf_shares(count: int, power: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** power
    return weights / weights.sum()


CHANNELS = ["web", "branch", "phone"]
CHANNEL_SHARES = np.array([0.6, 0.3, 0.1])
CHANNEL_SHARES_DRIFTED = np.array([0.4, 0.3, 0.3])
REGIONS = _categories("region", 8)
PRODUCTS = _categories("product", 12)
MERCHANTS = _categories("mcc", 20)


def generate_columns(rows: int, *, seed: int, drifted: bool) -> dict[str, np.ndarray]:
    """The 10 benchmark columns: numbers as float64/int64, categories as str labels.

    ``drifted=True`` moves ``income`` (+0.6 sd), ``amount`` (x2) and the shares
    of ``channel``; every other column keeps the reference distribution.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}.")
    rng = np.random.default_rng(seed)
    income_mean = 50_000.0 + (0.6 * 12_000.0 if drifted else 0.0)
    amount_scale = 2.0 if drifted else 1.0
    bimodal = rng.random(rows) < 0.3
    columns: dict[str, np.ndarray] = {
        "income": rng.normal(income_mean, 12_000.0, rows),
        "amount": rng.lognormal(4.0, 1.0, rows) * amount_scale,
        "tenure_months": rng.poisson(30, rows).astype(np.int64),
        "utilisation": rng.beta(2.0, 5.0, rows),
        "days_since_last": rng.exponential(7.0, rows),
        "balance_change": np.where(bimodal, rng.normal(300.0, 80.0, rows),
                                   rng.normal(-100.0, 50.0, rows)),
    }
    shares = CHANNEL_SHARES_DRIFTED if drifted else CHANNEL_SHARES
    for name, labels, probabilities in (
        ("channel", CHANNELS, shares),
        ("region", REGIONS, _zipf_shares(len(REGIONS), 0.5)),
        ("product", PRODUCTS, _zipf_shares(len(PRODUCTS), 1.0)),
        ("merchant_category", MERCHANTS, _zipf_shares(len(MERCHANTS), 1.2)),
    ):
        codes = rng.choice(len(labels), size=rows, p=probabilities)
        columns[name] = np.asarray(labels, dtype=object)[codes]
    return columns


def write_parquet(columns: dict[str, np.ndarray], path: Path) -> None:
    """Write ``columns`` as one Parquet file (categories as plain strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {name: pa.array(values, type=pa.string() if values.dtype == object else None)
              for name, values in columns.items()}
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table(arrays), tmp)
    tmp.replace(path)


@dataclass(frozen=True)
class DataSet:
    reference: Path
    current: Path
    rows: int
    generate_seconds: float
    reused: bool


def ensure_data(data_dir: Path, rows: int, *, regenerate: bool = False) -> DataSet:
    """Generate the reference and current files once; reuse them while their recipe matches."""
    folder = data_dir / DATA_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    reference = folder / f"reference-{rows}.parquet"
    current = folder / f"current-{rows}.parquet"
    recipe_path = folder / f"recipe-{rows}.json"
    recipe = {"rows": rows, "seed": SEED, "generator": GENERATOR_VERSION}
    if not regenerate and reference.exists() and current.exists() and recipe_path.exists():
        recorded = json.loads(recipe_path.read_text())
        if {k: recorded.get(k) for k in recipe} == recipe and all(
            _sha256(p) == recorded.get(p.name) for p in (reference, current)
        ):
            return DataSet(reference, current, rows, recorded["seconds"], True)
    start = time.perf_counter()
    write_parquet(generate_columns(rows, seed=SEED, drifted=False), reference)
    write_parquet(generate_columns(rows, seed=SEED + 1, drifted=True), current)
    seconds = time.perf_counter() - start
    recipe.update({"seconds": seconds, reference.name: _sha256(reference),
                   current.name: _sha256(current)})
    recipe_path.write_text(json.dumps(recipe, indent=2) + "\n")
    return DataSet(reference, current, rows, seconds, False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- riskops


def riskops_columns(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-column drift of ``compare_files``'s (or ``--json-out``'s) single chunk."""
    chunks = result.get("chunks") or []
    if len(chunks) != 1:
        raise ValueError(f"expected one chunk (no chunking), got {len(chunks)}")
    columns = {}
    for entry in chunks[0]["drift"]:
        columns[entry["column"]] = {
            "kind": entry.get("kind"),
            "method": entry.get("method"),
            "value": entry.get("value"),
            "threshold": entry.get("threshold"),
            "drifted": bool(entry.get("drifted")),
            "statistics": entry.get("statistics") or {},
        }
    return columns


def run_riskops_in_process(reference: Path, current: Path, *,
                           profile: bool = False) -> dict[str, Any]:
    """Time ``compare_files`` on the two files in this process; per-column results."""
    from riskops.monitoring.compare import compare_files

    profiler = cProfile.Profile() if profile else None
    start, cpu_start = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = compare_files(reference, current, columns=list(COLUMNS), categorical=CATEGORICAL)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    out: dict[str, Any] = {
        "tool": "riskops",
        "method": "compare_files (in-process)",
        "compute_seconds": seconds,
        "compute_cpu_seconds": cpu_seconds,
        "peak_rss_mib": vm_hwm_mib(),
        "columns": riskops_columns(result),
    }
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def riskops_cli_argv(reference: Path, current: Path, json_out: Path) -> list[str]:
    """``riskops monitor compare`` run by this interpreter, so the same riskops is used."""
    return [sys.executable, "-c", "from riskops.cli.main import run; run()",
            "monitor", "compare", "--reference", str(reference), "--current", str(current),
            "--columns", ",".join(COLUMNS), "--categorical", ",".join(CATEGORICAL),
            "--json-out", str(json_out)]


def run_riskops_cli(reference: Path, current: Path) -> dict[str, Any]:
    """Time the whole ``riskops monitor compare`` process; peak RSS from /usr/bin/time."""
    with tempfile.TemporaryDirectory(prefix="riskops-bench-") as tmp:
        json_out = Path(tmp) / "compare.json"
        argv = riskops_cli_argv(reference, current, json_out)
        rss_file = Path(tmp) / "rss"
        timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists()
                                         else None)
        if timer:
            argv = [timer, "-f", "%M %U %S", "-o", str(rss_file), *argv]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"riskops monitor compare exited {proc.returncode}: "
                               f"{proc.stderr.strip()[-2000:]}")
        peak = cpu = None
        if timer and rss_file.exists():
            kib, user, system = rss_file.read_text().split()[-3:]
            peak, cpu = int(kib) / 1024, float(user) + float(system)
        result = json.loads(json_out.read_text())
    return {"tool": "riskops", "method": "monitor compare (CLI)", "wall_seconds": wall,
            "wall_cpu_seconds": cpu, "peak_rss_mib": peak, "columns": riskops_columns(result)}


# --------------------------------------------------------------------------- children


def child_env(*, reference_venv: bool) -> dict[str, str]:
    """The environment of a child: riskops' as it is; the reference tools' without riskops."""
    env = dict(os.environ)
    if reference_venv:
        env.pop("PYTHONPATH", None)
        # No usage logging or telemetry: the machine may have no network, and
        # a network call would count against the tool's time.
        env["NML_DISABLE_USAGE_LOGGING"] = "1"
        env["DO_NOT_TRACK"] = "1"
    return env


def run_child(argv: Sequence[str], *, env: dict[str, str], timeout: float) -> tuple[
    dict[str, Any], float
]:
    """Run a child that prints one JSON object last; its result and whole-process wall time."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {proc.returncode}: "
                           f"{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def riskops_in_process_child(data: DataSet, *, profile: bool, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", RISKOPS_IN_PROCESS,
            "--reference", str(data.reference), "--current", str(data.current)]
    if profile:
        argv.append("--profile")
    result, wall = run_child(argv, env=child_env(reference_venv=False), timeout=timeout)
    result["wall_seconds"] = wall
    return result


def reference_tool_child(venv: Path, tool: str, data: DataSet, *,
                         timeout: float) -> dict[str, Any]:
    argv = [str(venv / "bin" / "python"), str(WORKER), "--tool", tool,
            "--reference", str(data.reference), "--current", str(data.current),
            "--numeric", ",".join(NUMERIC), "--categorical", ",".join(CATEGORICAL)]
    result, wall = run_child(argv, env=child_env(reference_venv=True), timeout=timeout)
    result["wall_seconds"] = wall
    result["drift_seconds"] = result["compute_seconds"]
    result["compute_seconds"] = result["read_seconds"] + result["compute_seconds"]
    return result


# --------------------------------------------------------------------------- reference venv


def requirements_digest(requirements: Path = REQUIREMENTS) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def ensure_reference_venv(venv: Path, *, python: str, requirements: Path = REQUIREMENTS) -> Path:
    """Create ``venv`` with the pinned Evidently and NannyML unless it is already up to date."""
    marker = venv / ".requirements.sha256"
    digest = requirements_digest(requirements)
    if (venv / "bin" / "python").exists() and marker.exists() and \
            marker.read_text().strip() == digest:
        return venv
    print(f"creating {venv} from {requirements.name} (a minute or two) ...", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(requirements)], check=True)
    marker.write_text(digest + "\n")
    return venv


# --------------------------------------------------------------------------- report


def best(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the lowest ``key``, with the lowest CPU time and highest peak RSS of all."""
    chosen = dict(min(runs, key=lambda r: r[key]))
    for cpu_key in ("compute_cpu_seconds", "wall_cpu_seconds"):
        cpus = [r[cpu_key] for r in runs if r.get(cpu_key) is not None]
        if cpus:
            chosen[cpu_key] = min(cpus)
    peaks = [r["peak_rss_mib"] for r in runs if r.get("peak_rss_mib") is not None]
    chosen["peak_rss_mib"] = max(peaks) if peaks else None
    chosen["runs"] = len(runs)
    return chosen


def drifted_columns(result: dict[str, Any]) -> list[str]:
    return [name for name in COLUMNS if result["columns"].get(name, {}).get("drifted")]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def results_table(results: list[dict[str, Any]], riskops_seconds: float,
                  riskops_wall: float | None, riskops_cpu: float | None = None) -> str:
    """One row per contender; speed-ups against riskops' in-process and whole-process times."""
    rows = [["tool", "method", "compute s", "compute CPU s", "wall s (whole process)",
             "peak RSS MiB", "riskops faster by (compute)", "(CPU)", "(wall, vs CLI)",
             "drifted columns found"]]
    for r in results:
        compute = r.get("compute_seconds")
        cpu = r.get("compute_cpu_seconds")
        wall = r.get("wall_seconds")
        found = drifted_columns(r)
        rows.append([
            r["tool"], r["method"], _fmt(compute, ".2f"), _fmt(cpu, ".2f"), _fmt(wall, ".2f"),
            _fmt(r.get("peak_rss_mib"), ".0f"),
            "-" if compute is None else f"{compute / riskops_seconds:.1f}x",
            "-" if cpu is None or not riskops_cpu else f"{cpu / riskops_cpu:.1f}x",
            "-" if wall is None or not riskops_wall else f"{wall / riskops_wall:.1f}x",
            f"{len(found)}: {','.join(found)}"])
    return table(rows)


def _value(results: dict[str, dict[str, Any]], key: str, column: str,
           statistic: str | None = None) -> str:
    result = results.get(key)
    if result is None or column not in result["columns"]:
        return "-"
    entry = result["columns"][column]
    value = entry["statistics"].get(statistic) if statistic else entry.get("value")
    if isinstance(value, dict):
        value = value.get("statistic", value.get("value"))
    mark = "*" if entry.get("drifted") and statistic is None else ""
    return "-" if value is None else f"{float(value):.4f}{mark}"


def psi_table(by_key: dict[str, dict[str, Any]]) -> str:
    """Per column: riskops' PSI and statistics beside Evidently's and NannyML's."""
    rows = [["column", "kind", "drift injected", "riskops PSI", "Evidently PSI",
             "riskops JS", "NannyML JS", "riskops W scaled", "Evidently default",
             "riskops KS / chi2", "NannyML KS / chi2"]]
    for name in COLUMNS:
        numeric = name in NUMERIC
        default = "-"
        evidently_default = by_key.get("evidently-default")
        if evidently_default and name in evidently_default["columns"]:
            method = evidently_default["columns"][name]["method"].lower()
            short = "W" if "wasserstein" in method else "JS" if "jensen" in method else method
            default = f"{short} {_value(by_key, 'evidently-default', name)}"
        test = "ks" if numeric else "chi_square"
        rows.append([
            name, "numeric" if numeric else "categorical", "yes" if name in DRIFTED else "no",
            _value(by_key, RISKOPS_IN_PROCESS, name),
            _value(by_key, "evidently-psi", name),
            _value(by_key, RISKOPS_IN_PROCESS, name, "jensen_shannon") if numeric else "-",
            _value(by_key, "nannyml-js", name),
            _value(by_key, RISKOPS_IN_PROCESS, name, "wasserstein_scaled") if numeric else "-",
            default,
            _value(by_key, RISKOPS_IN_PROCESS, name, test),
            _value(by_key, "nannyml-ks", name, "kolmogorov_smirnov" if numeric else "chi2"),
        ])
    return table(rows)


def machine_lines() -> list[str]:
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "?"

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return [
        f"date:       {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}",
        f"cpu:        {cpu_model()}",
        f"cores:      {os.cpu_count()} logical ({usable} usable by this process)",
        f"ram:        {memory_total()}",
        f"os:         {platform.platform()}",
        f"python:     {platform.python_version()}; numpy {version('numpy')}, "
        f"pyarrow {version('pyarrow')}, pandas {version('pandas')}, scipy {version('scipy')}",
        f"load:       {load_average()} (1/5/15 min)",
    ]


def check_targets(by_key: dict[str, dict[str, Any]], *, timed: bool = True) -> list[str]:
    """Each missed target as one line; empty when every target is met.

    ``timed=False`` checks the flagged columns only: the time targets are set
    for 1 M + 1 M rows, and a smaller quick run would miss them by design.
    """
    problems = []
    riskops = by_key[RISKOPS_IN_PROCESS]
    found = drifted_columns(riskops)
    if sorted(found) != sorted(DRIFTED):
        problems.append(f"riskops flagged {found}, expected exactly {list(DRIFTED)}")
    cli = by_key.get(RISKOPS_CLI)
    if cli is not None and sorted(drifted_columns(cli)) != sorted(DRIFTED):
        problems.append(f"riskops monitor compare flagged {drifted_columns(cli)}, "
                        f"expected exactly {list(DRIFTED)}")
    seconds = riskops["compute_seconds"]
    if not timed:
        return problems
    if seconds > TARGET_COMPUTE_SECONDS:
        problems.append(f"riskops compute {seconds:.2f} s > target {TARGET_COMPUTE_SECONDS} s")
    for key in ("evidently-psi", "evidently-default"):
        if key in by_key:
            ratio = by_key[key]["compute_seconds"] / seconds
            if ratio < TARGET_SPEEDUP:
                problems.append(f"riskops only {ratio:.1f}x faster than {key} "
                                f"(target {TARGET_SPEEDUP:.0f}x)")
    return problems


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, metavar="N",
                        help=f"Rows in each file (default {DEFAULT_ROWS:,}).")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="Runs of each contender; the best time counts (default 1).")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
                        help="Where the generated files go (default benchmarks/.data).")
    parser.add_argument("--regenerate", action="store_true", help="Generate the files again.")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, metavar="DIR",
                        help="Virtual environment for Evidently and NannyML.")
    parser.add_argument("--python", default=sys.executable, metavar="EXE",
                        help="Interpreter that creates the reference virtual environment.")
    parser.add_argument("--skip-reference", action="store_true",
                        help="Run the riskops contenders only.")
    parser.add_argument("--tools", default=",".join(REFERENCE_TOOLS), metavar="LIST",
                        help="Reference contenders to run (comma-separated).")
    parser.add_argument("--profile", action="store_true",
                        help="Print where compare_files spends its time.")
    parser.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                        help="Stop a child that runs longer (default 1800).")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="Also write every result as JSON.")
    parser.add_argument("--child", choices=[RISKOPS_IN_PROCESS], help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--current", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 100:
        parser.error("--rows must be at least 100")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(tools) - set(REFERENCE_TOOLS))
    if unknown:
        parser.error(f"--tools: unknown {unknown}; choose from {','.join(REFERENCE_TOOLS)}")
    args.tools = tools
    return args


def run_benchmark(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], DataSet]:
    """Every contender, ``args.repeat`` times in alternating order; the best run of each."""
    data = ensure_data(args.data_dir, args.rows, regenerate=args.regenerate)
    note = "reused" if data.reused else "generated"
    print(f"data: {data.rows:,} + {data.rows:,} rows, {note} in {data.generate_seconds:.1f} s "
          f"({data.reference.parent})", flush=True)
    venv = None
    if not args.skip_reference and args.tools:
        venv = ensure_reference_venv(args.venv, python=args.python)
    contenders = [RISKOPS_IN_PROCESS, RISKOPS_CLI]
    if venv is not None:
        contenders += args.tools
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in contenders}
    for repeat in range(args.repeat):
        order = contenders if repeat % 2 == 0 else list(reversed(contenders))
        for key in order:
            print(f"  run {repeat + 1}/{args.repeat}: {key} ...", end=" ", flush=True)
            if key == RISKOPS_IN_PROCESS:
                result = riskops_in_process_child(data, profile=args.profile and repeat == 0,
                                                  timeout=args.timeout)
            elif key == RISKOPS_CLI:
                result = run_riskops_cli(data.reference, data.current)
            else:
                result = reference_tool_child(venv, key, data, timeout=args.timeout)
            seconds = result.get("compute_seconds", result.get("wall_seconds"))
            print(f"{seconds:.2f} s", flush=True)
            runs[key].append(result)
    by_key = {}
    for key, results in runs.items():
        by_key[key] = best(results, "wall_seconds" if key == RISKOPS_CLI else "compute_seconds")
        if key == RISKOPS_IN_PROCESS and results[0].get("profile"):
            by_key[key]["profile"] = results[0]["profile"]
    return by_key, data


def report(by_key: dict[str, dict[str, Any]], data: DataSet) -> list[str]:
    riskops = by_key[RISKOPS_IN_PROCESS]
    print()
    print("\n".join(machine_lines()))
    print()
    print(f"{data.rows:,} reference + {data.rows:,} current rows, 10 columns "
          f"(drift injected on {', '.join(DRIFTED)}); best time, lowest CPU time and "
          f"highest peak RSS of {riskops['runs']} runs")
    print()
    ordered = [by_key[k] for k in (RISKOPS_IN_PROCESS, RISKOPS_CLI, *REFERENCE_TOOLS)
               if k in by_key]
    cli = by_key.get(RISKOPS_CLI)
    print(results_table(ordered, riskops["compute_seconds"],
                        cli["wall_seconds"] if cli else None,
                        riskops.get("compute_cpu_seconds")))
    if cli and cli.get("wall_cpu_seconds") is not None:
        print(f"riskops monitor compare (CLI): {cli['wall_cpu_seconds']:.2f} s CPU (user + "
              f"system) for the whole process, imports included")
    print()
    print("Per column (* = flagged as drifted by that tool's own rule):")
    print(psi_table(by_key))
    for key in REFERENCE_TOOLS:
        if key in by_key:
            print(f"{key}: read {by_key[key]['read_seconds']:.2f} s + "
                  f"own work {by_key[key]['drift_seconds']:.2f} s; "
                  f"versions {by_key[key]['versions']}")
    if riskops.get("profile"):
        print()
        print(riskops["profile"])
    timed = data.rows >= DEFAULT_ROWS
    problems = check_targets(by_key, timed=timed)
    print()
    if not timed:
        print(f"time targets not checked: they are set for {DEFAULT_ROWS:,} rows per file")
    if problems:
        print("TARGETS MISSED:")
        for line in problems:
            print(f"  - {line}")
    elif not timed:
        print(f"riskops flags exactly {', '.join(DRIFTED)}")
    else:
        print(f"targets met: riskops {riskops['compute_seconds']:.2f} s <= "
              f"{TARGET_COMPUTE_SECONDS} s, flags exactly {', '.join(DRIFTED)}"
              + ("" if "evidently-psi" not in by_key else
                 f", >= {TARGET_SPEEDUP:.0f}x faster than Evidently"))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == RISKOPS_IN_PROCESS:
        result = run_riskops_in_process(args.reference, args.current, profile=args.profile)
        print(json.dumps(result))
        return 0
    print(f"load before: {load_average()}", flush=True)
    by_key, data = run_benchmark(args)
    print(f"load after: {load_average()}", flush=True)
    problems = report(by_key, data)
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": data.rows, "machine": machine_lines(),
                                             "results": by_key, "problems": problems},
                                            indent=2, default=str) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""`riskops monitor run` over the same Parquet lake with DuckDB and with Spark local mode.

What it measures
----------------
For each ``--rows`` size, the lake of ``monitoring_lake.py`` (one model, 6
numeric and 4 categorical features, drift on three, half the rows in each
window, ``--gap-rows`` between them) is generated once; then
``riskops monitor run --now NOW --source lake --engine E --json-out F`` runs as
a whole process for E = duckdb and E = spark (``RISKOPS_SPARK_MASTER``, default
``local[2]``): wall time including interpreter and JVM start-up, and the peak
resident memory of the process tree (the Python process plus, for Spark, the
JVM it starts), sampled every 0.1 s from ``/proc``, beside the Python process's
own peak. It checks that both engines give the same results (every float to
1e-9) and prints a Markdown table with the machine, date and load.

    .venv/bin/python benchmarks/monitoring_spark.py [--rows 1000000 5000000] \
        [--gap-rows 100000] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import cpu_model, load_average, memory_total, table
from monitoring_lake import NOW, generate

DEFAULT_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "riskops-bench-spark"
RISKOPS = Path(sys.executable).with_name("riskops")


def _tree_rss_kib(root: int) -> tuple[int, int]:
    """Resident KiB of ``root`` and of ``root`` with all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip())
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid]
        tree.update(children)
        frontier += children
    return rss.get(root, 0), sum(rss.get(pid, 0) for pid in tree)


def run_engine(home: Path, engine: str, out: Path) -> dict[str, Any]:
    """One ``monitor run`` process: seconds, peak RSS (own and tree, MiB)."""
    command = [str(RISKOPS), "monitor", "run", "--now", NOW.isoformat(), "--source", "lake",
               "--engine", engine, "--home", str(home), "--json-out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    own = tree = 0
    while child.poll() is None:
        mine, everything = _tree_rss_kib(child.pid)
        own, tree = max(own, mine), max(tree, everything)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{engine}: exit {child.returncode}: {child.stderr.read().decode()}")
    return {"seconds": seconds, "own_mib": own / 1024, "tree_mib": tree / 1024}


def max_difference(a: Any, b: Any) -> float:
    """The largest relative difference between two result documents' floats."""
    if isinstance(a, dict):
        return max([max_difference(a[k], b[k]) for k in a if k in b] or [0.0])
    if isinstance(a, list):
        return max([max_difference(x, y) for x, y in zip(a, b, strict=True)] or [0.0])
    if isinstance(a, float) and isinstance(b, float) and math.isfinite(a):
        return abs(a - b) / max(abs(a), abs(b), 1e-300) if a != b else 0.0
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--gap-rows", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    load_before = load_average()
    rows_out = []
    failed = False
    for rows in args.rows:
        root = args.data_dir / f"rows-{rows}"
        meta = generate(root, rows, args.gap_rows)
        print(f"{rows:,} rows: {meta['bytes'] / 2**20:.0f} MiB of Parquet", flush=True)
        results = {}
        for engine in ("duckdb", "spark"):
            out = root / f"{engine}.json"
            measured = run_engine(root / "ws", engine, out)
            results[engine] = json.loads(out.read_text())["results"]
            rows_out.append([f"{rows:,}", engine, f"{measured['seconds']:.1f}",
                             f"{measured['own_mib']:.0f}", f"{measured['tree_mib']:.0f}"])
            print(rows_out[-1], flush=True)
        difference = max_difference(results["duckdb"], results["spark"])
        print(f"largest relative difference of a result float: {difference:.1e}")
        failed |= difference > 1e-9
    print()
    print(f"{time.strftime('%Y-%m-%d')}, {cpu_model()}, {os.cpu_count()} CPUs, "
          f"{memory_total()}, load {load_before} -> {load_average()}, "
          f"master {os.environ.get('RISKOPS_SPARK_MASTER', 'local[2]')}")
    print(table([["rows", "engine", "wall s", "peak RSS python MiB", "peak RSS tree MiB"],
                 *rows_out]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`riskops monitor run` over 10 M predictions in the Parquet lake, beside plain DuckDB SQL.

What it measures
----------------
``--rows`` predictions (default 10 M) of one model, 10 input features (6
numeric, 4 categorical), are written straight into a workspace's lake as
hive-partitioned Parquet (``scenario=loans/date=YYYY-MM-DD``), half in the
reference window (60 to 30 days before ``NOW``) and half in the current window
(the last 7 days), plus ``--gap-rows`` rows between the windows that the
window filters must skip. Drift is injected in the current window on three
features: ``income`` (x1.3), ``debt_ratio`` (a different shape) and
``channel`` (shares moved). 2% of the reference rows carry an outcome, so
performance is estimated (CBPE) with isotonic calibration.

Contenders, each in its own child process, in rotating order per repeat:

``riskops monitor run (process)``
    ``riskops monitor run --now NOW --source lake --json-out F`` as a whole
    process: wall time including interpreter start-up and imports; peak RSS
    from GNU ``/usr/bin/time -v`` (its child is forked, not spawned, so its
    ``ru_maxrss`` is the command's own).
``riskops run_model_monitoring (in-process)``
    A Python child times only ``run_model_monitoring(ws, {"now": NOW,
    "source": "lake"})`` and reads its own ``VmHWM`` before and after.
``DuckDB SQL histogram PSI (baseline)``
    The same per-feature PSI computed in plain SQL over the same files: one
    ``json_transform`` pass per window into a table, reference deciles by
    ``quantile_cont``, bucket counts by ``GROUP BY``, PSI with the same empty-bin
    epsilon. No KS, Wasserstein, chi-square, segments or performance: the
    floor of what any DuckDB-based PSI costs.

It checks that riskops flags exactly the three drifted features, that its
PSI agrees with the baseline's, and prints a Markdown table plus the machine,
date and load. Exit status 1 when a check or the target (<= 30 s,
peak RSS < 2 GiB for the process) fails.

    .venv/bin/python benchmarks/monitoring_lake.py [--rows 10000000] [--gap-rows 1000000] \
        [--repeat 1] [--data-dir DIR] [--regenerate]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import cpu_model, load_average, memory_total, table

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SCENARIO = "loans"
NUMERIC = ("income", "debt_ratio", "age", "amount", "tenure_months", "utilisation")
CATEGORICAL = ("region", "channel", "product", "employment")
DRIFTED = {"income", "debt_ratio", "channel"}
TARGET_SECONDS = 30.0
TARGET_RSS_MIB = 2048.0
DEFAULT_DIR = Path(__file__).resolve().parent / ".data" / "monitoring-lake"


def _normal(a: str, b: str) -> str:
    """A standard normal from two uniforms (Box-Muller), in DuckDB SQL."""
    return f"(sqrt(-2 * ln(1 - {a})) * cos(2 * pi() * {b}))"


def _rows_sql(n: int, start: datetime, seconds: float, drifted: bool, offset: int) -> str:
    u = [f"u{i}" for i in range(12)]
    income = f"exp(10.5 + 0.5 * {_normal(u[0], u[1])})" + (" * 1.3" if drifted else "")
    debt = f"sqrt({u[2]})" if drifted else f"{u[2]} * {u[2]}"
    channel = (f"CASE WHEN {u[9]} < {0.25 if drifted else 0.5} THEN 'web' "
               f"WHEN {u[9]} < 0.8 THEN 'app' ELSE 'branch' END")
    inputs = (
        f"json_object('income', round({income}, 2), 'debt_ratio', round({debt}, 4), "
        f"'age', 18 + floor({u[3]} * 62)::INT, 'amount', round(1000 + 49000 * {u[4]}, 2), "
        f"'tenure_months', floor({u[5]} * 240)::INT, 'utilisation', round({u[6]}, 4), "
        f"'region', ['north', 'south', 'east', 'west', 'centre'][1 + floor({u[7]} * 5)::INT], "
        f"'channel', {channel}, "
        f"'product', ['card', 'loan', 'mortgage', 'overdraft'][1 + floor({u[8]} * 4)::INT], "
        f"'employment', ['employed', 'self', 'retired', 'student'][1 + floor({u[10]} * 4)::INT])"
    )
    step = seconds * 1e6 / n
    created = f"TIMESTAMPTZ '{start.isoformat()}' + to_microseconds((i * {step})::BIGINT)"
    score = f"1 / (1 + exp(-(-2.5 + 1.5 * {_normal(u[11], u[3])})))"
    uniforms = ", ".join(f"random() AS {x}" for x in u)
    return f"""
        SELECT 'p{offset}-' || i AS id, {created} AS created_at, 'default' AS tenant_id,
               '{SCENARIO}' AS model_name, 1::BIGINT AS model_version,
               1::BIGINT AS manifest_version, 'ml' AS method, 'production' AS route,
               {inputs}::VARCHAR AS inputs, {score} AS score,
               CASE WHEN {score} >= 0.5 THEN '1' ELSE '0' END AS label, 0.5 AS threshold,
               []::VARCHAR[] AS reasons, 1.0 AS latency_ms,
               CASE WHEN {'false' if drifted else 'random() < 0.02'}
                    THEN CASE WHEN random() < {score} THEN '1' ELSE '0' END END AS outcome,
               false AS override, '{SCENARIO}' AS scenario
        FROM (SELECT i, {uniforms} FROM range({n}) t(i))"""


def generate(root: Path, rows: int, gap_rows: int) -> dict[str, float]:
    """Write the lake partitions with DuckDB; returns the time and size taken."""
    import duckdb

    from riskops.workspace import init_workspace

    if root.exists():
        shutil.rmtree(root)
    ws = init_workspace(root / "ws").workspace
    lake = ws.lake_dir / "predictions"
    lake.mkdir(parents=True, exist_ok=True)
    half = rows // 2
    parts = [
        (half, NOW - timedelta(days=60), 30 * 86400, False),
        (rows - half, NOW - timedelta(days=7), 7 * 86400 - 1, True),
        (gap_rows, NOW - timedelta(days=30), 23 * 86400 - 1, False),
    ]
    started = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = '2GB'")
        con.execute("SET preserve_insertion_order = false")
        for i, (n, start, seconds, drifted) in enumerate(parts):
            if n == 0:
                continue
            body = _rows_sql(n, start, seconds, drifted, i)
            con.execute(
                f"COPY (SELECT *, (created_at AT TIME ZONE 'UTC')::DATE AS date FROM ({body})) "
                f"TO '{lake}' (FORMAT parquet, PARTITION_BY (scenario, date), "
                f"FILENAME_PATTERN 'part-{i}-{{i}}', OVERWRITE_OR_IGNORE)")
        # The watermark an export leaves: the newest (created_at, id) in the lake.
        newest, newest_id = con.execute(
            f"SELECT strftime(created_at, '%Y-%m-%dT%H:%M:%S.%f+00:00'), id "
            f"FROM read_parquet('{lake}/*/*/*.parquet') "
            "ORDER BY created_at DESC, id DESC LIMIT 1").fetchall()[0]
    (lake / "_watermark.json").write_text(json.dumps(
        {"created_at": newest, "id": newest_id, "exported_at": NOW.isoformat()}))
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    meta = {"rows": rows, "gap_rows": gap_rows, "seconds": seconds, "bytes": size}
    (root / "generated.json").write_text(json.dumps(meta))
    return meta


# --- children -------------------------------------------------------------------------


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_inprocess(home: Path) -> dict[str, object]:
    from riskops.config import Workspace
    from riskops.monitoring.job import run_model_monitoring

    ws = Workspace(home)
    before = _vm_hwm_mib()
    started = time.perf_counter()
    summary = run_model_monitoring(ws, {"now": NOW.isoformat(), "source": "lake"})
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "hwm_before": before, "hwm_after": _vm_hwm_mib(),
            "source": summary["source"], "results": summary["results"]}


def child_baseline(home: Path) -> dict[str, object]:
    """PSI per feature in plain DuckDB SQL (see the module docstring)."""
    import duckdb

    lake = home / "lake" / "predictions" / "*" / "*" / "*.parquet"
    struct = json.dumps({**{c: "DOUBLE" for c in NUMERIC}, **{c: "VARCHAR" for c in CATEGORICAL}})
    windows = {"ref": (NOW - timedelta(days=60), NOW - timedelta(days=30)),
               "cur": (NOW - timedelta(days=7), NOW)}
    started = time.perf_counter()
    before = _vm_hwm_mib()
    psi: dict[str, float] = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET preserve_insertion_order = false")
        for name, (start, end) in windows.items():
            con.execute(
                f"CREATE TABLE {name} AS SELECT score, unnest(json_transform(inputs, '{struct}')) "
                f"FROM read_parquet('{lake}', hive_partitioning = true) "
                f"WHERE date >= DATE '{start.date()}' "
                f"AND date <= DATE '{(end - timedelta(microseconds=1)).date()}' "
                f"AND created_at >= TIMESTAMPTZ '{start.isoformat()}' "
                f"AND created_at < TIMESTAMPTZ '{end.isoformat()}'")
        for column in ("score", *NUMERIC):
            psi[column] = con.execute(f"""
                WITH edges AS (SELECT list_distinct(quantile_cont({column},
                                   [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])) AS e FROM ref),
                counts AS (
                    SELECT 'ref' AS w, len(list_filter(e, lambda x: x <= {column})) AS bin,
                           count(*) AS n
                    FROM ref, edges WHERE {column} IS NOT NULL AND isfinite({column}) GROUP BY ALL
                    UNION ALL
                    SELECT 'cur', len(list_filter(e, lambda x: x <= {column})), count(*)
                    FROM cur, edges WHERE {column} IS NOT NULL AND isfinite({column}) GROUP BY ALL),
                shares AS (SELECT w, bin, n / sum(n) OVER (PARTITION BY w) AS s FROM counts),
                pairs AS (
                    SELECT coalesce(r.s, 0) AS r, coalesce(c.s, 0) AS c
                    FROM (SELECT * FROM shares WHERE w = 'ref') r
                    FULL JOIN (SELECT * FROM shares WHERE w = 'cur') c ON r.bin = c.bin)
                SELECT sum((c - r) * ln(c / r)) FROM (
                    SELECT CASE WHEN c = 0 THEN 1e-4 ELSE c END AS c,
                           CASE WHEN r = 0 THEN 1e-4 ELSE r END AS r FROM pairs)
                """).fetchall()[0][0]
        for column in CATEGORICAL:
            psi[column] = con.execute(f"""
                WITH counts AS (
                    SELECT 'ref' AS w, coalesce({column}, '(missing)') AS v, count(*) AS n
                    FROM ref GROUP BY ALL
                    UNION ALL SELECT 'cur', coalesce({column}, '(missing)'), count(*)
                    FROM cur GROUP BY ALL),
                shares AS (SELECT w, v, n / sum(n) OVER (PARTITION BY w) AS s FROM counts),
                pairs AS (
                    SELECT coalesce(r.s, 1e-4) AS r, coalesce(c.s, 1e-4) AS c
                    FROM (SELECT * FROM shares WHERE w = 'ref') r
                    FULL JOIN (SELECT * FROM shares WHERE w = 'cur') c ON r.v = c.v)
                SELECT sum((c - r) * ln(c / r)) FROM pairs""").fetchall()[0][0]
    return {"seconds": time.perf_counter() - started, "hwm_before": before,
            "hwm_after": _vm_hwm_mib(), "psi": psi}


def _run_child(kind: str, home: Path) -> dict[str, object]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--home", str(home)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def _run_cli(home: Path, report: Path) -> dict[str, object]:
    riskops = shutil.which("riskops", path=str(Path(sys.executable).parent)) or "riskops"
    command = [riskops, "monitor", "run", "--home", str(home), "--now", NOW.isoformat(),
               "--source", "lake", "--json-out", str(report)]
    timer = shutil.which("time") or "/usr/bin/time"
    started = time.perf_counter()
    out = subprocess.run([timer, "-v", *command], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"riskops monitor run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return {"wall": wall, "rss": int(match.group(1)) / 1024 if match else float("nan"),
            "summary": json.loads(report.read_text())}


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--gap-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--child", choices=("inprocess", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_inprocess if args.child == "inprocess" else child_baseline)(args.home)
        print(json.dumps(result, default=str))
        return 0

    root = args.data_dir
    recorded = root / "generated.json"
    meta = json.loads(recorded.read_text()) if recorded.exists() else None
    if args.regenerate or not meta or meta["rows"] != args.rows or \
            meta["gap_rows"] != args.gap_rows:
        print(f"generating {args.rows:,} + {args.gap_rows:,} rows into {root} ...", flush=True)
        meta = generate(root, args.rows, args.gap_rows)
    home = root / "ws"
    print(f"lake: {meta['bytes'] / 2**20:.0f} MiB of Parquet, generated in "
          f"{meta['seconds']:.1f} s", flush=True)

    load_before = load_average()
    runs: dict[str, list[dict[str, object]]] = {"cli": [], "inprocess": [], "baseline": []}
    order = ["cli", "inprocess", "baseline"]
    for repeat in range(args.repeat):
        for kind in order[repeat % 3:] + order[:repeat % 3]:
            if kind == "cli":
                runs[kind].append(_run_cli(home, root / f"drift-scan-{repeat}.json"))
            else:
                runs[kind].append(_run_child(kind, home))
            print(f"  {kind}: {runs[kind][-1]['wall']:.1f} s wall", flush=True)
    load_after = load_average()

    cli = min(runs["cli"], key=lambda r: r["wall"])
    inproc = min(runs["inprocess"], key=lambda r: r["seconds"])
    base = min(runs["baseline"], key=lambda r: r["seconds"])
    results = cli["summary"]["results"]  # type: ignore[index]
    drift = [r for r in results if r["check"] == "data_drift"]
    flagged = {r["feature"] for r in drift if r.get("drift")}
    score_drift = [r for r in results if r["check"] == "prediction_drift" and r.get("drift")]
    ours = {r["feature"]: r["psi"] for r in results
            if r["check"] in ("data_drift", "prediction_drift") and r["status"] == "checked"
            and not r.get("segment")}
    theirs = base["psi"]  # type: ignore[index]
    n = args.rows
    print()
    print(table([
        ["contender", "best s", "rows/s", "peak RSS MiB"],
        ["riskops monitor run --source lake (whole process)", f"{cli['wall']:.1f}",
         f"{n / cli['wall']:,.0f}", f"{cli['rss']:.0f}"],
        ["riskops run_model_monitoring (in-process)", f"{inproc['seconds']:.1f}",
         f"{n / inproc['seconds']:,.0f}", f"{inproc['hwm_after']:.0f}"],
        ["DuckDB SQL histogram PSI (baseline)", f"{base['seconds']:.1f}",
         f"{n / base['seconds']:,.0f}", f"{base['hwm_after']:.0f}"],
    ]))
    print()
    print(table([["feature", "drift injected", "riskops PSI", "SQL PSI", "flagged"]] + [
        [name, "yes" if name in DRIFTED else "", f"{ours.get(name, float('nan')):.4f}",
         f"{theirs.get(name, float('nan')):.4f}", "yes" if name in flagged else ""]
        for name in ("score", *NUMERIC, *CATEGORICAL)]))
    print()
    print(f"rows: {n:,} in the windows + {args.gap_rows:,} between them (skipped); "
          f"{len(drift)} data-drift checks, source {cli['summary']['source']}")  # type: ignore[index]
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {memory_total()} RAM; "
          f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load {load_before} before, "
          f"{load_after} after")
    ok = True
    if flagged != DRIFTED:
        print(f"FAIL: flagged {sorted(flagged)}, expected {sorted(DRIFTED)}")
        ok = False
    if score_drift:
        print("note: the score drifted too (prediction drift)")
    mismatched = [k for k in theirs
                  if k in ours and abs(ours[k] - theirs[k]) > 1e-6 + 1e-3 * theirs[k]]
    if mismatched:
        print(f"FAIL: PSI differs from the SQL baseline on {mismatched}")
        ok = False
    if cli["wall"] > TARGET_SECONDS or cli["rss"] > TARGET_RSS_MIB:
        print(f"target missed: {cli['wall']:.1f} s (<= {TARGET_SECONDS:.0f}), "
              f"{cli['rss']:.0f} MiB (< {TARGET_RSS_MIB:.0f})")
        ok = False
    else:
        print(f"target met: {cli['wall']:.1f} s <= {TARGET_SECONDS:.0f} s, "
              f"{cli['rss']:.0f} MiB < {TARGET_RSS_MIB:.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

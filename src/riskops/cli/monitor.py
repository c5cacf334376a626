"""``riskops monitor run``: drift and performance over the inference log.

    riskops monitor run [--tenant T]... [--now ISO] [--json-out drift-scan.json] [--json]
        [--source auto|db|lake] [--engine duckdb]
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from riskops.cli.common import (
    HomeOption,
    JsonFlag,
    number,
    open_ws,
    out,
    plural,
    print_json,
    write_report,
)
from riskops.errors import InputError

app = typer.Typer(help="Drift and performance monitoring.", no_args_is_help=True)


@app.command("run")
def run(
    tenant: Annotated[list[str] | None, typer.Option(
        "--tenant", metavar="TENANT",
        help="Tenant to check; repeat for several (default: all).")] = None,
    now: Annotated[str | None, typer.Option(
        "--now", metavar="TIME",
        help="Evaluate as of this ISO 8601 time (default: now), for backfills.")] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the full results to this JSON file.")]
    = None,
    source: Annotated[str, typer.Option(
        "--source", metavar="SOURCE",
        help="Read the inference log from auto, db or lake (auto: lake once exported).")]
    = "auto",
    engine: Annotated[str, typer.Option(
        "--engine", metavar="ENGINE", help="Query engine: duckdb (the only one so far).")]
    = "duckdb",
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check drift and performance of every model over its reference and current windows.

    Drift over the threshold emits ml.model.drift.detected; degraded performance
    emits ml.model.performance.degraded.
    """
    from riskops.monitoring.job import run_model_monitoring

    if tenant is not None and any(not t.strip() for t in tenant):
        raise InputError("--tenant needs a non-empty tenant id, e.g. --tenant acme.")
    if source not in ("auto", "db", "lake"):
        raise InputError(f"--source {source!r} is not auto, db or lake; e.g. --source lake "
                         "(the Parquet lake, read with DuckDB).")
    if engine != "duckdb":
        raise InputError(f"--engine {engine!r} is not available; use --engine duckdb.")
    metadata: dict[str, Any] = {"source": source}
    if tenant:
        metadata["tenantIds"] = list(tenant)
    if now is not None:
        metadata["now"] = _iso_time(now)
    ws = open_ws(home)
    summary = run_model_monitoring(ws, metadata)
    if json_out is not None:
        write_report(json_out, summary)
    if as_json:
        print_json(summary)
        return
    for line in summary_table(summary):
        out.print(line)


def _iso_time(text: str) -> str:
    """``text`` if it reads as an ISO 8601 date or time, else an error naming ``--now``."""
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--now {text!r} is not an ISO 8601 time; use e.g. 2026-03-01 or "
                         "2026-03-01T12:00:00Z.") from None
    return text.strip()


def summary_table(summary: dict[str, Any]) -> list[Any]:
    """A table of the checks that ran (worst PSI first) and a one-line total."""
    table = Table(title="model monitoring", title_justify="left")
    for column in ("tenant", "model", "check", "feature", "value", "verdict"):
        table.add_column(column)
    rows = []
    for r in summary["results"]:
        if r["status"] != "checked":
            value, verdict = "-", f"skipped: {r.get('reason', '')}"
        elif r["check"] == "performance":
            metrics = r["metrics"]
            value = f"brier {number(metrics.get('brier'))}  mae {number(metrics.get('mae'))}"
            degraded = [d["metric"] for d in r.get("degraded", [])]
            verdict = ("degraded: " + ", ".join(degraded)) if degraded else r["mode"]
        else:
            value = f"psi {number(r['psi'])}"
            verdict = r["verdict"] + (" (event)" if r.get("drift") else "")
        feature = r.get("feature", "")
        if r.get("segment"):
            feature = f"{feature} [{r['segment']}]"
        rows.append((-(r.get("psi") or 0.0), r["tenantId"], r["modelId"], r["check"], feature,
                     value, verdict))
    for row in sorted(rows, key=lambda x: (x[1], x[2], x[0])):
        table.add_row(*row[1:])
    total = (f"{plural(summary['driftChecked'], 'drift check')} ({summary['driftDetected']} "
             f"over threshold), {plural(summary['performanceChecked'], 'performance check')}, "
             f"{plural(len(summary['events']), 'event')}"
             + (f"; read from the {summary['source']}" if summary.get("source") else ""))
    return [table, total]

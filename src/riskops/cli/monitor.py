"""``riskops monitor run``: drift and performance over the inference log.

    riskops monitor run [--tenant T]... [--now ISO] [--json-out drift-scan.json] [--json]
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
    writable_folder,
    write_report,
    write_text,
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
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE",
        help="Also write an offline HTML report (tables and charts) to this file.")] = None,
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
    metadata: dict[str, Any] = {}
    if tenant:
        metadata["tenantIds"] = list(tenant)
    if now is not None:
        metadata["now"] = _iso_time(now)
    ws = open_ws(home)
    if report is not None:
        writable_folder(report, option="--report")
    summary = run_model_monitoring(ws, metadata)
    if json_out is not None:
        write_report(json_out, summary)
    if report is not None:
        from riskops.monitoring.report import run_report_html

        write_text(report, run_report_html(summary), option="--report")
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
             f"{plural(len(summary['events']), 'event')}")
    return [table, total]

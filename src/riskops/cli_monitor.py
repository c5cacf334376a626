"""`riskops monitor ...` commands (wired into the app by `riskops.cli`).

    riskops monitor run [--tenant T]... [--now ISO] [--json-out drift-scan.json] [--json]
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from riskops.errors import InputError

monitor_app = typer.Typer(help="Drift and performance monitoring.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `riskops` app."""
    from riskops.cli import HomeOption, JsonFlag, _print_json, _workspace, _write_report, out

    @monitor_app.command("run")
    def run(
        tenant: Annotated[list[str] | None, typer.Option(
            "--tenant", help="Tenant to check; repeat for several (default: all).")] = None,
        now: Annotated[str | None, typer.Option(
            "--now", help="Evaluate as of this ISO 8601 time (default: now), for backfills.")]
        = None,
        json_out: Annotated[Path | None, typer.Option(
            "--json-out", help="Also write the full results to this JSON file.")] = None,
        home: HomeOption = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Check drift and performance of every model over the reference and current
        windows; emit ml.model.drift.detected / ml.model.performance.degraded events."""
        from riskops.monitoring.job import run_model_monitoring

        if tenant is not None and any(not t.strip() for t in tenant):
            raise InputError("--tenant needs a non-empty tenant id, e.g. --tenant acme.")
        metadata: dict[str, Any] = {}
        if tenant:
            metadata["tenantIds"] = list(tenant)
        if now is not None:
            metadata["now"] = now
        ws = _workspace(home)
        summary = run_model_monitoring(ws, metadata)
        if json_out is not None:
            _write_report(json_out, summary)
        if as_json:
            _print_json(summary)
            return
        for line in summary_table(summary):
            out.print(line)

    app.add_typer(monitor_app, name="monitor")


def summary_table(summary: dict[str, Any]) -> list[Any]:
    """A rich table of the checks that ran (worst PSI first) and a one-line total."""
    from rich.table import Table

    table = Table(title="model monitoring", title_justify="left")
    for column in ("tenant", "model", "check", "feature", "value", "verdict"):
        table.add_column(column)
    rows = []
    for r in summary["results"]:
        if r["status"] != "checked":
            value, verdict = "-", f"skipped: {r.get('reason', '')}"
        elif r["check"] == "performance":
            metrics = r["metrics"]
            value = f"brier {_num(metrics.get('brier'))}  mae {_num(metrics.get('mae'))}"
            degraded = [d["metric"] for d in r.get("degraded", [])]
            verdict = ("degraded: " + ", ".join(degraded)) if degraded else r["mode"]
        else:
            value = f"psi {_num(r['psi'])}"
            verdict = r["verdict"] + (" (event)" if r.get("drift") else "")
        feature = r.get("feature", "")
        if r.get("segment"):
            feature = f"{feature} [{r['segment']}]"
        rows.append((-(r.get("psi") or 0.0), r["tenantId"], r["modelId"], r["check"], feature,
                     value, verdict))
    for row in sorted(rows, key=lambda x: (x[1], x[2], x[0])):
        table.add_row(*row[1:])
    total = (f"{summary['driftChecked']} drift checks ({summary['driftDetected']} over "
             f"threshold), {summary['performanceChecked']} performance checks, "
             f"{len(summary['events'])} events")
    return [table, total]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"

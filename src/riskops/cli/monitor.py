"""``riskops monitor run``: drift and performance over the inference log.

    riskops monitor run [--tenant T]... [--now ISO] [--json-out drift-scan.json] [--json]
    riskops monitor compare --reference A --current B [--timestamp-col C --chunk-period month]
                            [--score-col S --label-col L --segment-col G] [--json-out F]
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
from riskops.errors import CheckFailed, InputError

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
             f"{plural(len(summary['events']), 'event')}")
    return [table, total]


# -- monitor compare -----------------------------------------------------------------------


def _names(text: str | None, option: str) -> list[str] | None:
    """A comma-separated list of column names; ``None`` stays ``None``."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",")]
    if not any(names) or not all(names):
        raise InputError(f"{option} {text!r} has an empty column name; list names separated "
                         "by commas, e.g. amount,channel.")
    return names


@app.command("compare")
def compare(
    reference: Annotated[Path, typer.Option(
        "--reference", metavar="FILE",
        help="Reference data (CSV or Parquet), e.g. the validation set.")],
    current: Annotated[Path, typer.Option(
        "--current", metavar="FILE", help="Current data (CSV or Parquet) to compare with it.")],
    timestamp_col: Annotated[str | None, typer.Option(
        "--timestamp-col", metavar="COLUMN", help="Column holding each row's time.")] = None,
    chunk_period: Annotated[str | None, typer.Option(
        "--chunk-period", metavar="PERIOD",
        help="Chunk the current file by day, week, month, quarter or year.")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", metavar="N", help="Chunk the current file every N rows.")] = None,
    score_col: Annotated[str | None, typer.Option(
        "--score-col", metavar="COLUMN",
        help="Risk score column in [0, 1]: prediction drift and performance.")] = None,
    label_col: Annotated[str | None, typer.Option(
        "--label-col", metavar="COLUMN",
        help="0/1 outcome column: realised performance and calibration.")] = None,
    segment_col: Annotated[str | None, typer.Option(
        "--segment-col", metavar="COLUMN",
        help="Also measure drift within each value of this column.")] = None,
    columns: Annotated[str | None, typer.Option(
        "--columns", metavar="A,B,C",
        help="Columns to compare (default: all but id, time, score and label).")] = None,
    categorical: Annotated[str | None, typer.Option(
        "--categorical", metavar="X,Y", help="Columns to compare as categories.")] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", metavar="PSI", help="PSI above which a column has drifted.")] = 0.2,
    bins: Annotated[int, typer.Option(
        "--bins", metavar="N", help="Quantile bins of the reference for numeric PSI.")] = 10,
    decision_threshold: Annotated[float, typer.Option(
        "--decision-threshold", metavar="SCORE",
        help="Score at or above which a row is predicted risky.")] = 0.5,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the full results to this JSON file.")]
    = None,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE", help="Also write an HTML report to this file.")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit 1 when any chunk has drifted (for CI pipelines).")]
    = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare a current file with a reference file: drift and performance per chunk.

    No workspace or service needed. Exits 0 whether or not drift is found
    (1 with --fail-on-drift), 2 for unusable input.
    """
    from riskops.monitoring.compare import compare_files

    document = compare_files(
        reference, current, timestamp_col=timestamp_col, chunk_period=chunk_period,
        chunk_size=chunk_size, score_col=score_col, label_col=label_col,
        columns=_names(columns, "--columns"),
        categorical=_names(categorical, "--categorical") or (), threshold=threshold,
        bins=bins, decision_threshold=decision_threshold, segment_col=segment_col)
    if json_out is not None:
        write_report(json_out, document)
    if report is not None:
        _write_html(report, document)
    if as_json:
        print_json(document)
    else:
        for line in compare_table(document):
            out.print(line)
    summary = document["summary"]
    if fail_on_drift and summary["drift"]:
        drifted = [name for name, s in summary["columns"].items() if s["drifted_chunks"]]
        raise CheckFailed(f"drift in {summary['drifted_chunks']} of "
                          f"{plural(summary['chunks'], 'chunk')} ({', '.join(drifted)}); "
                          "exiting 1 because of --fail-on-drift.")


def _write_html(path: Path, document: dict[str, Any]) -> None:
    from riskops.files import atomic_write
    from riskops.monitoring.report import compare_report_html

    html = compare_report_html(document)
    try:
        with atomic_write(path.resolve(), "w", encoding="utf-8") as fh:
            fh.write(html)
    except OSError as exc:
        raise InputError(f"--report {path}: cannot write the report: {exc.strerror}.") from None


def compare_table(document: dict[str, Any]) -> list[Any]:
    """Per chunk: rows, drifted columns, estimated and realised ROC AUC; then a total."""
    table = Table(title="monitor compare", title_justify="left")
    for column in ("chunk", "rows", "drifted columns", "est. AUC", "real. AUC"):
        table.add_column(column)
    for chunk in document["chunks"]:
        drifted = [f"{e['column']} ({number(e['value'])})" for e in chunk["drift"]
                   if e["drifted"]]
        skipped = sum(1 for e in chunk["drift"] if e["skipped"])
        text = ", ".join(drifted) or "-"
        if skipped:
            text += f" [{skipped} skipped]"
        perf = chunk["performance"] or {}
        estimated = (perf.get("estimated") or {}).get("roc_auc")
        realised = (perf.get("realised") or {}).get("roc_auc")
        table.add_row(chunk["key"], str(chunk["rows"]), text, number(estimated),
                      number(realised))
    summary = document["summary"]
    lines: list[Any] = [table, f"{summary['drifted_chunks']} of "
                        f"{plural(summary['chunks'], 'chunk')} drifted (PSI over "
                        f"{document['options']['threshold']})"]
    column = document["options"].get("segment_col")
    for value, stat in summary.get("segments", {}).items():
        if stat["drifted_chunks"]:
            lines.append(f"segment {column}={value}: {', '.join(stat['columns'])} drifted in "
                         f"{plural(stat['drifted_chunks'], 'chunk')}")
    return lines

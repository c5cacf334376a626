"""``riskops monitor run``: drift and performance over the inference log;
``riskops monitor import``: backfill the log from a file;
``riskops monitor compare``: drift and performance of one file against another.

    riskops monitor run [--tenant T]... [--now ISO] [--json-out drift-scan.json] [--json]
        [--consecutive N] [--report report.html] [--source auto|db|lake] [--engine duckdb|spark]
    riskops monitor import --from FILE --scenario S --timestamp-col C --score-col C [...]
    riskops monitor compare --reference A --current B [--timestamp-col C --chunk-period month]
                            [--score-col S --label-col L --segment-col G]... [--json-out F]
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from riskops.cli.common import (
    HomeOption,
    JsonFlag,
    actor,
    number,
    open_ws,
    out,
    plural,
    print_json,
    progress,
    shown,
    writable_folder,
    write_report,
    write_text,
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
    consecutive: Annotated[int | None, typer.Option(
        "--consecutive", metavar="N",
        help="Breaches in a row that fire an alert, clean runs that resolve it (default 3).")]
    = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the full results to this JSON file.")]
    = None,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE",
        help="Also write an offline HTML report (tables and charts) to this file.")] = None,
    source: Annotated[str, typer.Option(
        "--source", metavar="SOURCE",
        help="Read the inference log from auto, db or lake (auto: lake once exported).")]
    = "auto",
    engine: Annotated[str, typer.Option(
        "--engine", metavar="ENGINE",
        help="Query engine: duckdb, or spark (the lake with Spark SQL; riskops[spark]).")]
    = "duckdb",
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check drift and performance of every model over its reference and current windows.

    An alert fires after --consecutive breaches in a row (ml.model.drift.detected,
    ml.model.performance.degraded) and resolves after as many clean evaluations.
    """
    from riskops.monitoring.job import run_model_monitoring
    from riskops.monitoring.windows import SOURCES

    if tenant is not None and any(not t.strip() for t in tenant):
        raise InputError("--tenant needs a non-empty tenant id, e.g. --tenant acme.")
    if source not in SOURCES:
        raise InputError(f"--source {source!r} is not auto, db or lake; e.g. --source lake "
                         "(the Parquet lake, read with DuckDB).")
    if engine not in ("duckdb", "spark"):
        raise InputError(f"--engine {engine!r} is not duckdb or spark; e.g. --engine spark "
                         "(the Parquet lake with Spark SQL).")
    if engine == "spark" and source == "db":
        raise InputError("--engine spark reads the Parquet lake only, and --source db asks for "
                         "the database; use --source lake (after 'riskops jobs run "
                         "lake-export') or --engine duckdb.")
    metadata: dict[str, Any] = {"source": source, "engine": engine}
    if tenant:
        metadata["tenantIds"] = list(tenant)
    if now is not None:
        metadata["now"] = _iso_time(now)
    if consecutive is not None:
        from riskops.monitoring.alerts import MAX_CONSECUTIVE, check_consecutive

        try:  # the job's own rule, named as the option is typed
            metadata["consecutive"] = check_consecutive(consecutive, name="--consecutive")
        except ValueError:
            raise InputError(f"--consecutive must be from 1 to {MAX_CONSECUTIVE}, got "
                             f"{consecutive}; e.g. --consecutive 3 fires an alert on the third "
                             "breach in a row.") from None
    ws = open_ws(home, "operate")
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
        out.print(line, markup=False)  # tables escape their cells
    # A failure to log is the job's warning (stderr, one line); the results stand.
    tracking = summary.get("mlflow") or {}
    if tracking.get("status") == "logged":
        experiments = sorted({run["experiment"] for run in tracking["runs"]})
        out.print(f"logged {plural(len(tracking['runs']), 'MLflow run')} to "
                  f"{tracking['trackingUri']} ({', '.join(experiments)})", markup=False)


def _calibration_rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One table row per segment value of a performance result's ``segment_calibration``."""
    rows = []
    for entry in (result.get("segment_calibration") or {}).get("segments", []):
        if entry["status"] != "checked":
            value, verdict = "-", f"skipped: {entry['reason']}"
        else:
            value = f"brier {number(entry['brier'])}  ece {number(entry['ece'])}"
            degraded = [f"{d['metric']} over {number(d['threshold'], 2)}"
                        for d in entry["degraded"]]
            verdict = ("degraded: " + ", ".join(degraded)) if degraded else "calibrated"
            if entry.get("eventIds"):
                verdict += " (event)"
        rows.append((0.0, result["tenantId"], result["modelId"], "calibration",
                     f"[{entry['segment']}]", value, verdict))
    return rows


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
            value = f"psi {number(r.get('psi', r.get('value')))}"
            verdict = r.get("verdict", "drift" if r.get("drift") else "stable")
            if r.get("alert") == "firing":
                verdict += (f"; alert firing ({r['consecutive']} breaches in a row)"
                            if r.get("drift") else "; alert firing, clean this time")
            elif r.get("drift"):
                verdict += f"; breach {r.get('consecutive', 1)} of {summary.get('consecutive', 3)}"
            if r.get("eventIds"):
                verdict += " (event)"
        feature = r.get("feature", "")
        if r.get("segment"):
            feature = f"{feature} [{r['segment']}]"
        rows.append((-(r.get("psi") or 0.0), r["tenantId"], r["modelId"], r["check"], feature,
                     value, verdict))
        rows.extend(_calibration_rows(r))
    for row in sorted(rows, key=lambda x: (x[1], x[2], x[0])):
        # "[region=x]" is no markup; values from the log are shown safely and short
        table.add_row(*(escape(shown(str(cell), 96)) for cell in row[1:]))
    total = (f"{plural(summary['driftChecked'], 'drift check')} ({summary['driftDetected']} "
             f"over threshold), {plural(summary['performanceChecked'], 'performance check')}, "
             f"{plural(len(summary['events']), 'event')}"
             + (f"; read from the {summary['source']}" if summary.get("source") else ""))
    return [table, total]


# --- riskops monitor import ----------------------------------------------------------------


@app.command("import")
def import_(
    from_file: Annotated[Path, typer.Option(
        "--from", metavar="FILE", help="CSV or Parquet file of scored predictions.")],
    scenario: Annotated[str, typer.Option(
        "--scenario", metavar="SCENARIO",
        help="Scenario whose features the file holds, e.g. fraud.")],
    timestamp_col: Annotated[str, typer.Option(
        "--timestamp-col", metavar="COLUMN", help="Column of when each prediction was made.")],
    score_col: Annotated[str, typer.Option(
        "--score-col", metavar="COLUMN", help="Column of the risk scores, 0 to 1.")],
    model: Annotated[str | None, typer.Option(
        "--model", metavar="MODEL",
        help="Registered model that made the scores (default: none, monitored as "
             "SCENARIO-imported).")] = None,
    version: Annotated[int | None, typer.Option(
        "--version", metavar="N",
        help="Version of --model (default: its production version).")] = None,
    label_col: Annotated[str | None, typer.Option(
        "--label-col", metavar="COLUMN",
        help="Column of true outcomes; empty cells mean no outcome yet.")] = None,
    tenant_col: Annotated[str | None, typer.Option(
        "--tenant-col", metavar="COLUMN",
        help="Column of tenant ids (default: every row is tenant default).")] = None,
    id_col: Annotated[str | None, typer.Option(
        "--id-col", metavar="COLUMN",
        help="Column of unique row ids; re-importing them adds nothing.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", help="Config file (TOML) of a custom scenario.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Backfill historical predictions (and outcomes) into the inference log.

    Each row keeps its own timestamp, so riskops monitor run --now DATE evaluates
    windows of the past. Importing the same file again adds nothing.
    """
    from riskops.monitoring.backfill import import_predictions

    ws = open_ws(home)
    with progress(as_json, "import") as update:
        result = import_predictions(
            ws, from_file, scenario=scenario, timestamp_col=timestamp_col, score_col=score_col,
            model=model, version=version, label_col=label_col, tenant_col=tenant_col,
            id_col=id_col, config=config, actor=actor(ws, "operate"),
            progress=None if update is None else lambda done, total: update(
                "storing rows", done, total))
    if as_json:
        print_json(result.as_dict())
        return
    attributed = (f"{result.model} v{result.version}" if result.model
                  else f"{result.model_id} (no registered model)")
    out.print(f"read {plural(result.rows, 'row')} from {result.source} "
              f"({result.first} to {result.last}); scores of {attributed}, threshold "
              f"{number(result.threshold)}", markup=False)
    duplicates = (f", {plural(result.duplicates, 'duplicate row')} skipped"
                  if result.duplicates else "")
    out.print(f"added {plural(result.added, 'prediction')}, "
              f"{result.present} already present{duplicates}; "
              f"{plural(result.outcomes, 'outcome')} added "
              f"({result.labelled} rows labelled); ids from {result.ids_from}", markup=False)
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
    segment_col: Annotated[list[str] | None, typer.Option(
        "--segment-col", metavar="COLUMN",
        help="Also measure drift (and, with --label-col, calibration) within each value of "
             "this column; repeat for several.")] = None,
    columns: Annotated[str | None, typer.Option(
        "--columns", metavar="A,B,C",
        help="Columns to compare (default: all but id, time, score and label).")] = None,
    categorical: Annotated[str | None, typer.Option(
        "--categorical", metavar="X,Y", help="Columns to compare as categories.")] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", metavar="PSI", help="PSI above which a column has drifted.")] = 0.2,
    segment_brier_threshold: Annotated[float, typer.Option(
        "--segment-brier-threshold", metavar="B",
        help="Brier above which a segment is named as miscalibrated.")] = 0.2,
    segment_ece_threshold: Annotated[float, typer.Option(
        "--segment-ece-threshold", metavar="E",
        help="Expected calibration error above which a segment is named.")] = 0.1,
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

    if report is not None:
        writable_folder(report, option="--report")
    document = compare_files(
        reference, current, timestamp_col=timestamp_col, chunk_period=chunk_period,
        chunk_size=chunk_size, score_col=score_col, label_col=label_col,
        columns=_names(columns, "--columns"),
        categorical=_names(categorical, "--categorical") or (), threshold=threshold,
        bins=bins, decision_threshold=decision_threshold, segment_col=segment_col,
        segment_brier_threshold=segment_brier_threshold,
        segment_ece_threshold=segment_ece_threshold)
    if json_out is not None:
        write_report(json_out, document)
    if report is not None:
        from riskops.monitoring.report import compare_report_html

        write_text(report, compare_report_html(document), option="--report")
    if as_json:
        print_json(document)
    else:
        for line in compare_table(document):
            out.print(line, markup=False)  # tables escape their cells
    summary = document["summary"]
    if fail_on_drift and summary["drift"]:
        drifted = [name for name, s in summary["columns"].items() if s["drifted_chunks"]]
        raise CheckFailed(f"drift in {summary['drifted_chunks']} of "
                          f"{plural(summary['chunks'], 'chunk')} ({', '.join(drifted)}); "
                          "exiting 1 because of --fail-on-drift.")


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
    for stat in summary.get("segments", {}).values():
        if stat["drifted_chunks"]:
            lines.append(f"segment {shown(stat['column'] + '=' + stat['value'])}: "
                         f"{', '.join(stat['columns'])} drifted in "
                         f"{plural(stat['drifted_chunks'], 'chunk')}")
    if document.get("calibration") is not None:
        lines += calibration_lines(document)
    return lines


def calibration_lines(document: dict[str, Any]) -> list[Any]:
    """Per segment value over the whole current file: labelled rows, Brier, ECE and the
    verdict; then one line per value over a threshold, whole file or chunk."""
    section = document["calibration"]
    limits = section["thresholds"]
    table = Table(title="calibration per segment (whole current file)", title_justify="left")
    table.add_column("segment", no_wrap=True)
    for column in ("labelled", "Brier", "ECE", "verdict"):
        table.add_column(column)
    for e in section["segments"]:
        if e["status"] != "checked":
            cells = ("-", "-", f"skipped: {e['reason']}")
        else:
            over = [d["metric"] for d in e["degraded"]]
            cells = (number(e["brier"]), number(e["ece"]),
                     ("over: " + ", ".join(over)) if over else "ok")
        table.add_row(escape(shown(e["segment"])), str(e["rows"]), *map(escape, cells))
    summary = document["summary"]["calibration"]
    lines: list[Any] = [table, f"{len(summary['degraded'])} of "
                        f"{plural(len(section['segments']), 'segment')} over Brier "
                        f"{number(limits['brier'], 2)} or ECE {number(limits['ece'], 2)} "
                        f"({summary['checked']} with {section['min_rows']}+ labelled rows)"]
    for found in summary["degraded"]:
        where = [f"whole file: {', '.join(found['metrics'])}"] if found["metrics"] else []
        if found["chunks"]:
            where.append(f"{plural(len(found['chunks']), 'chunk')}: "
                         f"{', '.join(found['chunks'])}")
        lines.append(f"segment {shown(found['segment'])} is miscalibrated ({'; '.join(where)})")
    return lines

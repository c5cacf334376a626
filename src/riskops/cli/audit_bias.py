"""``riskops audit bias``: fairness of a registered version, or of any scored file.

    riskops audit bias fraud 3 [--json-out bias-report.json] [--json]
    riskops audit bias --data scored.csv --score-col score --label-col label \\
        --sensitive age_band [--sensitive region] [--threshold 0.5] [--positive-label V]

Exit 0 when the audit passes, 1 when it fails, 2 on an input error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from riskops.cli.common import (
    HomeOption,
    JsonFlag,
    number,
    open_ws,
    out,
    print_json,
    writable_folder,
    write_report,
)
from riskops.errors import InputError

_RATES = (("selection_rate", "selection"), ("tpr", "TPR"), ("fpr", "FPR"), ("fnr", "FNR"),
          ("precision", "precision"), ("roc_auc", "AUC"), ("brier", "Brier"),
          ("calibration_error", "calib. err"))
_FILE_OPTIONS = ("--score-col", "--label-col", "--sensitive", "--threshold", "--positive-label")


def bias(
    model: Annotated[str | None, typer.Argument(
        metavar="MODEL", help="Registered model, e.g. fraud (with VERSION).")] = None,
    version: Annotated[int | None, typer.Argument(
        metavar="VERSION", help="Version number, audited on its held-out rows.")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", help="A scored CSV or Parquet file, instead of a version.")
    ] = None,
    score_col: Annotated[str | None, typer.Option(
        "--score-col", metavar="COL", help="--data: the risk score column, in [0, 1].")] = None,
    label_col: Annotated[str | None, typer.Option(
        "--label-col", metavar="COL", help="--data: the outcome column.")] = None,
    sensitive: Annotated[list[str] | None, typer.Option(
        "--sensitive", metavar="COL", help="--data: a column of groups to compare "
        "(repeat for several).")] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", metavar="T", help="--data: scores at or above T are flagged "
        "(default 0.5).")] = None,
    positive_label: Annotated[str | None, typer.Option(
        "--positive-label", metavar="V", help="--data: the label value of the risky outcome "
        "(needed unless labels are 0/1 or true/false).")] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the report as JSON.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Per-group error rates and fairness gaps; exit 1 if a limit is broken.

    MODEL VERSION audits a registered version on its held-out rows and stores
    the result; --data audits any scored file and stores nothing.
    """
    if json_out is not None:
        writable_folder(json_out, option="--json-out")
    if data is not None:
        if model is not None:
            raise InputError("give either MODEL VERSION (a registered version) or --data FILE "
                             "(a scored file), not both.")
        report = _audit_file(data, score_col, label_col, sensitive or [], threshold,
                             positive_label, home)
    else:
        given = [name for name, value in zip(
            _FILE_OPTIONS, (score_col, label_col, sensitive, threshold, positive_label),
            strict=True) if value is not None]
        if model is None or version is None:
            raise InputError("give MODEL VERSION to audit a registered version (e.g. riskops "
                             "audit bias fraud 3), or --data FILE --score-col S --label-col L "
                             "--sensitive COL to audit a scored file.")
        if given:
            raise InputError(f"{given[0]} only applies with --data FILE; a version is audited "
                             "with its own schema and threshold.")
        report = _audit_version(model, version, home)
    if json_out is not None:
        write_report(json_out, report)
    if as_json:
        print_json(report)
    else:
        _print(report)
    if report["status"] != "pass":
        raise typer.Exit(1)


def _audit_file(data: Path, score_col: str | None, label_col: str | None,
                sensitive: list[str], threshold: float | None, positive_label: str | None,
                home: Path | None) -> dict[str, Any]:
    from riskops.errors import WorkspaceNotFound
    from riskops.governance.bias_audit import audit_file
    from riskops.governance.policy import BiasLimits, governance_policy

    if score_col is None or label_col is None or not sensitive:
        missing = [name for name, value in (("--score-col S", score_col),
                                            ("--label-col L", label_col),
                                            ("--sensitive COL", sensitive)) if not value]
        raise InputError(f"--data needs {', '.join(missing)}: riskops audit bias --data FILE "
                         "--score-col S --label-col L --sensitive COL.")
    try:
        limits = governance_policy(open_ws(home)).bias
    except WorkspaceNotFound:
        if home is not None:
            raise
        limits = BiasLimits()  # no workspace: the default limits
    return audit_file(data, score_col=score_col, label_col=label_col, sensitive=sensitive,
                      threshold=0.5 if threshold is None else threshold,
                      positive_label=positive_label, limits=limits)


def _audit_version(model: str, version: int, home: Path | None) -> dict[str, Any]:
    from riskops.governance.bias_audit import audit_version
    from riskops.tokens import authorize, current_identity

    ws = open_ws(home)
    identity = authorize(current_identity(ws), "audit")
    return audit_version(ws, model, version, actor=identity.actor)


def _print(report: dict[str, Any]) -> None:
    subject = (f"{report['model']} v{report['version']} ({report['source']})"
               if "model" in report else f"{report['source']['file']}")
    limits = report["limits"]
    out.print(f"bias audit of {subject}: {report['rows']} rows, threshold "
              f"{report['threshold']:.3f}, groups under {limits['min_group_size']} rows are "
              "not judged", markup=False)
    for column, section in report["sensitive"].items():
        for line in group_lines(column, section):
            out.print(line, markup=False)
    out.print(f"status: {report['status']}", markup=False)
    for reason in report["reasons"]:
        out.print(f"  - {reason}", markup=False)


def group_lines(column: str, section: dict[str, Any]) -> list[str]:
    """One sensitive column as fixed-width text: a row per group, then the differences."""
    width = max(5, *(len(name) for name in section["groups"]))
    role = "judged" if section.get("judged", True) else "reported, not judged (a segment)"
    lines = [f"{column} ({role}):",
             f"  {'group':<{width}} {'count':>7}" + "".join(f"{label:>11}" for _, label in _RATES)
             + "  too small"]
    for name, group in section["groups"].items():
        rates = "".join(f"{number(group[key]):>11}" for key, _ in _RATES)
        lines.append(f"  {name:<{width}} {group['count']:>7}{rates}  "
                     + ("yes" if group["too_small"] else "no"))
    lines += [f"  {key.replace('_', ' ')}: {number(value)}"
              for key, value in section["differences"].items()]
    calibration = section.get("calibration")
    if calibration is not None:
        limits = calibration["thresholds"]
        over = [f"{name!r} (" + ", ".join(f"{d['metric']} {number(d['value'])}"
                                          for d in calibration["groups"][name]["degraded"])
                + ")" for name in calibration["miscalibrated"]]
        lines.append(f"  miscalibrated (Brier over {number(limits['brier'], 2)} or ECE over "
                     f"{number(limits['ece'], 2)}; reported, not judged): "
                     + (", ".join(over) or "none"))
    return lines

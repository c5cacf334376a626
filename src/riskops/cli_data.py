"""`riskops data ...` commands (wired into the app by `riskops.cli`)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from riskops.cli import JsonFlag, _print_json, out
from riskops.errors import InputError

data_app = typer.Typer(help="Generate and inspect scenario data.", no_args_is_help=True)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `riskops` app."""
    app.add_typer(data_app, name="data")


@data_app.command("generate")
def generate(
    scenario: Annotated[str, typer.Argument(help="fraud, shortfall, compliance or incident.")],
    rows: Annotated[int, typer.Option("--rows", help="Rows to generate (1 to 10,000,000).")],
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option("--days", help="Days the timestamps span (1 to 3650).")],
    out_path: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet.")],
    drift_from: Annotated[
        str | None, typer.Option("--drift-from", help="Day drift starts, YYYY-MM-DD.")
    ] = None,
    drift: Annotated[
        str | None, typer.Option("--drift", help="Drift kind: covariate, concept or prior.")
    ] = None,
    drift_features: Annotated[
        str | None,
        typer.Option("--drift-features", help="Features covariate drift shifts, e.g. a,b "
                                              "(default: the scenario's documented pair)."),
    ] = None,
    magnitude: Annotated[
        float, typer.Option("--magnitude", help="Drift size; 1.0 is clearly visible.")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    tenants: Annotated[int, typer.Option("--tenants", help="Tenants to spread rows over.")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Write seeded synthetic SCENARIO rows, optionally with drift, to a CSV or Parquet file."""
    from riskops.scenarios.generate import generate_to_file

    features = tuple(name.strip() for name in (drift_features or "").split(",") if name.strip())
    summary = generate_to_file(
        scenario, rows=rows, start=_date(start, "--start"), days=days, out=out_path, seed=seed,
        tenants=tenants, drift_from=None if drift_from is None else _date(drift_from,
                                                                           "--drift-from"),
        drift_kind=drift, drift_features=features, magnitude=magnitude,
    )
    if as_json:
        _print_json(summary)
        return
    shares = ", ".join(f"{label} {share:.1%}" for label, share in summary["label_share"].items())
    span = summary["date_range"]
    drifted = summary["drift"]
    drift_text = "" if drifted is None else f", {drifted['kind']} drift from {drifted['from']}"
    out.print(f"wrote {summary['rows']} {scenario} rows to {summary['path']} "
              f"({span['first']} to {span['last']}{drift_text}; labels {shares}; "
              f"sha256 {summary['sha256'][:12]})", markup=False)


def _date(text: str, option: str) -> date:
    """Parse an ISO ``YYYY-MM-DD`` date, naming ``option`` if it is not one."""
    try:
        if _ISO_DATE.fullmatch(text.strip()) is None:
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; use YYYY-MM-DD, "
                         "e.g. 2024-01-31.") from None

"""``riskops data generate``: seeded synthetic data for the reference scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskops.cli.common import JsonFlag, out, parse_date, plural, print_json

app = typer.Typer(help="Generate seeded synthetic data for the reference scenarios.",
                  no_args_is_help=True)


@app.command("generate")
def generate(
    scenario: Annotated[str, typer.Argument(
        metavar="SCENARIO", help="fraud, shortfall, compliance, incident or deal.")],
    rows: Annotated[int, typer.Option(
        "--rows", metavar="N", help="Rows to generate (1 to 10,000,000).")],
    start: Annotated[str, typer.Option("--start", metavar="DATE", help="First day, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option(
        "--days", metavar="N", help="Days the timestamps span (1 to 3650).")],
    out_path: Annotated[Path, typer.Option(
        "--out", metavar="FILE", help="File to write: .csv or .parquet.")],
    drift_from: Annotated[str | None, typer.Option(
        "--drift-from", metavar="DATE", help="Day drift starts, YYYY-MM-DD.")] = None,
    drift: Annotated[str | None, typer.Option(
        "--drift", metavar="KIND", help="Drift kind: covariate, concept or prior.")] = None,
    drift_features: Annotated[str | None, typer.Option(
        "--drift-features", metavar="A,B", help="Features covariate drift shifts (default: "
        "the scenario's documented pair).")] = None,
    drift_segment: Annotated[str | None, typer.Option(
        "--drift-segment", metavar="COLUMN=VALUE", help="Drift only the rows of one segment "
        "value, e.g. region=emea.")] = None,
    magnitude: Annotated[float, typer.Option(
        "--magnitude", metavar="X", help="Drift size; 1.0 is clearly visible.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")] = 0,
    tenants: Annotated[int, typer.Option(
        "--tenants", metavar="N", help="Tenants to spread rows over.")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Write seeded synthetic SCENARIO rows, optionally with drift, to a CSV or Parquet file."""
    from riskops.scenarios.generate import generate_to_file

    features = tuple(name.strip() for name in (drift_features or "").split(",") if name.strip())
    summary = generate_to_file(
        scenario, rows=rows, start=parse_date(start, "--start"), days=days, out=out_path,
        seed=seed, tenants=tenants,
        drift_from=None if drift_from is None else parse_date(drift_from, "--drift-from"),
        drift_kind=drift, drift_features=features, magnitude=magnitude,
        drift_segment=drift_segment,
    )
    if as_json:
        print_json(summary)
        return
    shares = ", ".join(f"{label} {share:.1%}" for label, share in summary["label_share"].items())
    span = summary["date_range"]
    drifted = summary["drift"]
    drift_text = "" if drifted is None else f", {drifted['kind']} drift from {drifted['from']}"
    if drifted is not None and drifted["segment"]:
        drift_text += f" in {drifted['segment']}"
    out.print(f"wrote {plural(summary['rows'], f'{scenario} row')} to {summary['path']} "
              f"({span['first']} to {span['last']}{drift_text}; labels {shares}; "
              f"sha256 {summary['sha256'][:12]})", markup=False)

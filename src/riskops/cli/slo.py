"""Service-level objectives: ``riskops slo status``.

    riskops slo status [--scenario S]... [--now TIME] [--json]
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskops.cli.common import HomeOption, JsonFlag, number, open_ws, out, print_json
from riskops.times import parse_time

app = typer.Typer(help="Service-level objectives and error budgets, from the inference log.",
                  no_args_is_help=True)


@app.command("status")
def status(
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", metavar="NAME", help="Only this scenario (repeat for several).")] = None,
    now: Annotated[str | None, typer.Option(
        "--now", metavar="TIME", help="Evaluate as of this ISO 8601 time (default: now).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Each scenario's availability and latency objectives: budget left and burn rates."""
    from riskops.governance.slo_status import slo_status

    moment = parse_time(now, where="--now")
    ws = open_ws(home)
    rows = slo_status(ws, now=moment, scenarios=scenario or None)
    if as_json:
        print_json({"generated_at": moment.isoformat(), "scenarios": [r.as_dict() for r in rows]})
        return
    if not rows:
        out.print("no scenario has served a request in the SLO window yet.", markup=False)
        return
    table = Table("scenario", "objective", "target", "requests", "SLI", "budget left",
                  "burn 5m / 1h / 6h", "alerts", title=f"SLOs over {rows[0].window_days} days",
                  title_justify="left")
    for row in rows:
        for name, o in row.objectives.items():
            target = f"{o.target:.3%}" + (f" < {row.latency_ms:g} ms" if name == "latency"
                                          else "")
            burns = " / ".join(number(o.burn_rates[w], 2) for w in ("5m", "1h", "6h"))
            table.add_row(row.scenario, name, target, str(o.total),
                          "-" if o.sli is None else f"{o.sli:.3%}",
                          f"{o.budget_remaining:.1%}", burns,
                          ", ".join(f"{a} burn" for a in o.alerts) or "-")
    out.print(table)

"""``riskops retrain``: eligibility and triggers of automatic retraining.

    riskops retrain check fraud [--now TIME] [--json]     exit 0 eligible, 1 not, 2 bad input
    riskops retrain triggers [--model M]... [--now TIME] [--dry-run] [--json]
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json
from riskops.times import parse_time

app = typer.Typer(help="Retraining: eligibility and triggers.", no_args_is_help=True)

NowOption = Annotated[str | None, typer.Option(
    "--now", metavar="TIME", help="Evaluate as of this ISO 8601 time (default: now).")]


@app.command("check")
def check(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model to check.")],
    now: NowOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Each retrain eligibility condition of MODEL with pass/fail and its numbers.

    Exit 0 when eligible, 1 when a condition fails.
    """
    from riskops.governance.retrain_eligibility import check_eligibility
    from riskops.registry.service import check_model_name

    check_model_name(model)
    moment = parse_time(now, where="--now")
    result = check_eligibility(open_ws(home), model, now=moment)
    if as_json:
        print_json(result.as_dict())
    else:
        verdict = "eligible" if result.eligible else "not eligible"
        out.print(f"{model}: {verdict} for retraining at {moment.isoformat()}", markup=False)
        for condition in result.conditions:
            mark = "pass" if condition.passed else "FAIL"
            out.print(f"  {mark:<4}  {condition.name:<10} {condition.detail}", markup=False)
    if not result.eligible:
        raise typer.Exit(1)


@app.command("triggers")
def triggers(
    model: Annotated[list[str] | None, typer.Option(
        "--model", metavar="MODEL", help="Only this model (repeatable).")] = None,
    now: NowOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would fire; record and trigger nothing.")] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate the retrain triggers now and act on new firings (the retrain-triggers job).

    Each new firing gets its event and audit entry, and an eligible model the retrain job.
    """
    from riskops.governance.retrain_triggers import evaluate_triggers
    from riskops.registry.service import check_model_name

    for name in model or []:
        check_model_name(name)
    moment = parse_time(now, where="--now")
    ws = open_ws(home, None if dry_run else "operate")
    result = evaluate_triggers(ws, now=moment, models=model or None, act=not dry_run)
    if as_json:
        print_json(result)
        return
    for line in trigger_lines(result):
        out.print(line, markup=False)


def trigger_lines(result: dict[str, Any]) -> list[str]:
    """The human view of one evaluation of the triggers."""
    lines = [f"retrain triggers at {result['now']}"]
    if not result["models"]:
        lines.append("  no model has a production version or a "
                     "[governance.retrain.models.NAME] table.")
    for entry in result["models"]:
        if not entry["enabled"]:
            lines.append(f"  {entry['model']}: disabled (enabled = false)")
            continue
        rules = entry["rules"]
        parts = []
        if "schedule" in rules:
            parts.append(f"schedule {rules['schedule']['cron']} (next "
                         f"{rules['schedule']['next']})")
        drift = rules["drift"]
        parts.append("drift: none firing" if drift["since"] is None else
                     f"drift firing {drift['hours']:.1f} h of {drift['required_hours']:g}")
        override = rules["override"]
        rate = "-" if override["rate"] is None else f"{override['rate']:.1%}"
        parts.append(f"override {rate} ({override['overrides']}/{override['reviews']}, "
                     f"min {override['min_reviews']})")
        lines.append(f"  {entry['model']}: " + "; ".join(parts))
        for firing in entry["firings"]:
            status = firing.get("status") or firing["state"]
            extra = ""
            if firing.get("failed"):
                extra = f" (failed: {', '.join(firing['failed'])})"
            job = firing.get("job") or {}
            if job.get("error"):
                extra += f" (retrain job: {job['error']})"
            elif (job.get("result") or {}).get("version"):
                extra += f" -> candidate v{job['result']['version']}"
            lines.append(f"    fired {firing['rule']}: {firing['reason']} [{status}]{extra}")
    return lines

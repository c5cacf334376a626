"""The model-risk inventory: ``riskops inventory`` and ``riskops models describe|retire``.

    riskops models describe fraud --owner rita --tier high --tier-reason "..." \\
        --purpose "..." --intended-use "..." --limitation "..." [--from-file model.toml]
    riskops models retire fraud --reason "replaced by the claims model"
    riskops models card fraud 3 [--out DIR] [--json]
    riskops inventory [--json | --csv] [--overdue]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json, write_text
from riskops.errors import InputError

ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name, e.g. fraud.")]


def describe(
    model: ModelArg,
    owner: Annotated[str | None, typer.Option(
        "--owner", metavar="USER", help="The accountable owner (a riskops user).")] = None,
    tier: Annotated[str | None, typer.Option(
        "--tier", metavar="TIER", help="Risk tier: high, medium or low.")] = None,
    tier_reason: Annotated[str | None, typer.Option(
        "--tier-reason", metavar="TEXT", help="Why the model has this tier.")] = None,
    purpose: Annotated[str | None, typer.Option(
        "--purpose", metavar="TEXT", help="What the model is for.")] = None,
    description: Annotated[str | None, typer.Option(
        "--description", metavar="TEXT", help="What the model is (method, inputs).")] = None,
    business_line: Annotated[str | None, typer.Option(
        "--business-line", metavar="TEXT", help="The business line that uses it.")] = None,
    intended_use: Annotated[list[str] | None, typer.Option(
        "--intended-use", metavar="TEXT",
        help="An intended use (repeat; replaces the stored list).")] = None,
    out_of_scope: Annotated[list[str] | None, typer.Option(
        "--out-of-scope", metavar="TEXT",
        help="A use it must not be put to (repeat; replaces the list).")] = None,
    limitation: Annotated[list[str] | None, typer.Option(
        "--limitation", metavar="TEXT",
        help="A known limitation (repeat; replaces the list).")] = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from-file", metavar="FILE", help="Read the fields from a model.toml.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Record MODEL's owner, risk tier, purpose, uses and limitations (audited)."""
    from riskops.governance.model_metadata import check_fields, describe, read_model_toml
    from riskops.tokens import current_identity

    given: dict[str, Any] = {
        "owner": owner, "tier": tier, "tier_reason": tier_reason, "purpose": purpose,
        "description": description, "business_line": business_line,
        "intended_uses": intended_use, "out_of_scope_uses": out_of_scope,
        "limitations": limitation}
    given = {k: v for k, v in given.items() if v is not None}
    if from_file is not None:
        if given:
            raise InputError("--from-file and field options exclude each other; put every "
                             "field in the file or give them as options.")
        change = read_model_toml(from_file)
    else:
        change = check_fields(given, source="riskops models describe")
    ws = open_ws(home)
    result = describe(ws, current_identity(ws), model, change)
    if as_json:
        print_json(result)
        return
    changed = ", ".join(result["changed"]) or "nothing (the values were already stored)"
    out.print(f"described {model}: changed {changed}.", markup=False)


def retire(
    model: ModelArg,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why the model leaves service (kept in the audit log).")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Take MODEL out of service: every replica answers from the heuristic; evidence stays.

    Production, canary, staging and version pins leave it; it returns only
    through a production promotion with every gate and new sign-offs.
    """
    from riskops.governance.promotion import retire as retire_model
    from riskops.tokens import current_identity

    ws = open_ws(home)
    result = retire_model(ws, current_identity(ws), model, reason=reason)
    if as_json:
        print_json(result)
        return
    live = result["was_live"]["production"]
    out.print(f"retired {model} (was serving {f'v{live}' if live else 'no version'}); it "
              f"answers from the heuristic now. Manifest v{result['manifest_version']}.",
              markup=False)


def card(
    model: ModelArg,
    version: Annotated[int, typer.Argument(metavar="VERSION", help="Version number.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Write model-card.json and model-card.md here.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The model card of MODEL VERSION (markdown on stdout, or files with --out)."""
    from riskops.governance.cards import card_files, model_card

    document = model_card(open_ws(home, "read"), model, version)
    files = card_files(document)
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"--out {out_dir} is a file; give a folder for the two card files.")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {out_dir}: cannot create the folder: {exc.strerror}.") \
                from None
        for name, data in files.items():
            write_text(out_dir / name, data.decode(), option="--out")
        if not as_json:
            out.print(f"wrote {', '.join(str(out_dir / n) for n in files)} "
                      f"(status {document['model_card_status']}).", markup=False)
    if as_json:
        print_json(document)
    elif out_dir is None:
        typer.echo(files["model-card.md"].decode(), nl=False)


def inventory(
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV for an MRM team.")] = False,
    overdue: Annotated[bool, typer.Option(
        "--overdue", help="Only models past their re-validation due date.")] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Every model with owner, tier, state, last validation, next due date and open alerts."""
    from riskops.governance.inventory import csv_rows, due_text
    from riskops.governance.inventory import inventory as read_inventory

    if as_csv and as_json:
        raise InputError("--csv and --json exclude each other; pick one.")
    entries = read_inventory(open_ws(home, "read"), overdue_only=overdue)
    if as_json:
        print_json(entries)
        return
    if as_csv:
        typer.echo(csv_rows(entries), nl=False)
        return
    if not entries:
        out.print("no overdue models." if overdue else "no models registered.")
        return
    table = Table("model", "state", "owner", "tier", "live", "last validation", "due",
                  "alerts")
    for e in entries:
        meta = e["metadata"] or {}
        last = e["last_validation"]
        due = due_text(e) or "-"
        table.add_row(e["model"], e["state"], meta.get("owner") or "-", meta.get("tier") or "-",
                      f"v{e['live_version']}" if e["live_version"] else "-",
                      f"{last['date']} ({last['kind']})" if last else "-",
                      f"{due} OVERDUE" if e["overdue"] else due,
                      ", ".join(sorted({a["kind"] for a in e["open_alerts"]})) or "-")
    out.print(table)

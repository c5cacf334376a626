"""``riskops audit-log verify``: the hash-chained audit log."""

from __future__ import annotations

import typer

from riskops.cli.common import HomeOption, JsonFlag, err, open_ws, out, plural, print_json

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Check the audit log's hash chain end to end; name the first bad entry."""
    from riskops.governance.audit_check import check_audit_log

    result = check_audit_log(open_ws(home))
    problem = result.problem
    if as_json:
        print_json({"status": "pass" if problem is None else "fail", "entries": result.entries,
                    "head": result.head_hash, "anchored_seq": result.anchored_seq,
                    "first_bad_seq": problem.seq if problem else None,
                    "reason": problem.reason if problem else None})
    elif problem is None:
        out.print(f"ok: {plural(result.entries, 'entry', 'entries')} chain correctly; head "
                  f"{result.head_hash} matches the signed manifest up to entry "
                  f"{result.anchored_seq}.", markup=False)
    else:
        err.print(f"error: audit log broken: {problem.reason}.", markup=False)
    if problem is not None:
        raise typer.Exit(1)

"""``riskops init``: create a workspace."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, err, out, print_json
from riskops.errors import InputError


def init(
    home: HomeOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the signing keys (as riskops keys rotate).")] = False,
    as_json: JsonFlag = False,
    as_env: Annotated[bool, typer.Option(
        "--env", help="Print only export lines (RISKOPS_HOME, RISKOPS_TOKEN, "
        "RISKOPS_TRUSTED_KEYS) for eval \"$(riskops init --env)\".")] = False,
) -> None:
    """Create a workspace: config, database, artifact store, keys, admin token."""
    from riskops.workspace import init_workspace

    if as_json and as_env:
        raise InputError("give --json or --env, not both")
    result = init_workspace(home, force=force)
    ws = result.workspace
    if as_env:
        _print_exports(ws.home, result.admin_token, result.anchor, result.notes)
        return
    if as_json:
        print_json({"home": str(ws.home), "created": result.created,
                    "admin_token": result.admin_token, "notes": result.notes,
                    "trusted_key": result.anchor})
        return
    if result.created:
        out.print(f"initialised workspace {ws.home}", markup=False)
        out.print(f"  database   {ws.database_url.split('@')[-1]}", markup=False)
        out.print(f"  public key {ws.public_key_path}", markup=False)
    for note in result.notes:
        out.print(note, markup=False)
    if result.anchor:
        out.print(f"signing key {result.anchor}; pin it on every replica and verifier, "
                  f"outside this folder: RISKOPS_TRUSTED_KEYS={result.anchor}", markup=False)
    if result.admin_token:
        out.print("\nadmin API token (shown once; store it now):")
        out.print(f"  {result.admin_token}", markup=False)
        out.print("  export RISKOPS_TOKEN=<token> to act as admin on the command line.")


def _print_exports(home: object, token: str | None, anchor: str | None,
                   notes: list[str]) -> None:
    """Shell ``export`` lines on stdout; notes, and a missing token, on stderr."""
    lines = [f"export RISKOPS_HOME={shlex.quote(str(home))}"]
    if token:
        lines.append(f"export RISKOPS_TOKEN={shlex.quote(token)}")
    if anchor:
        lines.append(f"export RISKOPS_TRUSTED_KEYS={shlex.quote(anchor)}")
    sys.stdout.write("\n".join(lines) + "\n")
    for note in notes:
        err.print(note, markup=False)
    if not token:
        err.print(f"no admin token printed: the workspace {home} already had one "
                  "(riskops token create makes another)", markup=False)

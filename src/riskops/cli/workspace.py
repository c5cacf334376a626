"""``riskops init``: create a workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, out, print_json


def init(
    home: HomeOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the signing keys (as riskops keys rotate).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a workspace: config, database, artifact store, keys, admin token."""
    from riskops.workspace import init_workspace

    result = init_workspace(home, force=force)
    ws = result.workspace
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

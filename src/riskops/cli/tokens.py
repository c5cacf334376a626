"""``riskops token create|list|revoke``: API tokens, stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskops.cli.common import HomeOption, JsonFlag, actor, open_ws, out, print_json

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(
        "--name", metavar="NAME", help="Who or what holds the token.")],
    role: Annotated[str, typer.Option(
        "--role", metavar="ROLE",
        help="admin, service, scorer, reviewer, risk_lead or platform_owner.")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token; it is printed once and stored hashed."""
    from riskops.tokens import create_token

    ws = open_ws(home)
    token = create_token(ws, name=name, role=role, actor=actor(ws))
    if as_json:
        print_json({"name": name, "role": role, "token": token})
    else:
        out.print(f"token for {name} ({role}), shown once:\n  {token}", markup=False)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Token to revoke.")],
    home: HomeOption = None,
) -> None:
    """Revoke an API token by name."""
    from riskops.tokens import revoke_token

    ws = open_ws(home)
    revoke_token(ws, name=name, actor=actor(ws))
    out.print(f"revoked token {name}.", markup=False)


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """API tokens (names and roles; never the secrets)."""
    from riskops.tokens import list_tokens

    rows = list_tokens(open_ws(home))
    if as_json:
        print_json(rows)
        return
    table = Table("name", "role", "created", "revoked")
    for r in rows:
        table.add_row(r["name"] or "", r["role"] or "", (r["created_at"] or "")[:19],
                      (r["revoked_at"] or "-")[:19])
    out.print(table)

"""``riskops token create|list|revoke``: API tokens, stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json
from riskops.errors import InputError

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(
        "--name", metavar="NAME", help="The token's name, e.g. ana-laptop.")],
    user: Annotated[str | None, typer.Option(
        "--user", metavar="USER", help="The user it belongs to (riskops users add).")] = None,
    role: Annotated[str | None, typer.Option(
        "--role", metavar="ROLE", help="Instead of --user: a user named NAME holding ROLE "
        "(created if absent): admin, service, scorer, reviewer, risk_lead or "
        "platform_owner.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the token, for TOKEN=$(riskops token create …).",
    )] = False,
) -> None:
    """Create an API token for a user; printed once, stored hashed (admin only)."""
    from riskops.tokens import authorize, create_token, current_identity

    if as_json and quiet:
        raise InputError("give --json or --quiet, not both")
    ws = open_ws(home)
    who = authorize(current_identity(ws), "manage_tokens")
    token = create_token(ws, name=name, role=role, user=user, actor=who.actor)
    owner = user or name
    if as_json:
        print_json({"name": name, "user": owner, "role": role, "token": token})
    elif quiet:
        out.print(token, markup=False)
    else:
        held = f" ({role})" if role else ""
        out.print(f"token {name} for user {owner}{held}, shown once:\n  {token}", markup=False)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Token to revoke.")],
    home: HomeOption = None,
) -> None:
    """Revoke an API token by name."""
    from riskops.tokens import authorize, current_identity, revoke_token

    ws = open_ws(home)
    who = authorize(current_identity(ws), "manage_tokens")
    revoke_token(ws, name=name, actor=who.actor)
    out.print(f"revoked token {name}.", markup=False)


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """API tokens (names and roles; never the secrets)."""
    from riskops.tokens import list_tokens

    rows = list_tokens(open_ws(home))
    if as_json:
        print_json(rows)
        return
    table = Table("name", "user", "roles", "created", "revoked")
    for r in rows:
        table.add_row(r["name"] or "", r["user"] or "-", r["role"] or "",
                      (r["created_at"] or "")[:19],
                      (r["revoked_at"] or "-")[:19])
    out.print(table)

"""Sign-offs and gates: ``riskops approve|reject|gates`` and ``riskops users ...``.

    riskops approve fraud 3 --role risk_lead [--comment "..."] [--url URL]
    riskops approve fraud 3 --role validator --revalidation   # periodic re-validation
    riskops reject fraud 3 --role platform_owner --comment "why"
    riskops gates fraud 3 [--stage canary] [--json]
    riskops users add ana --roles risk_lead,reviewer | users list | users disable ana
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json
from riskops.cli.remote import UrlOption, call, print_gates, server_url

ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name, e.g. fraud.")]
VersionArg = Annotated[int, typer.Argument(metavar="VERSION", help="Version number.")]
RoleOption = Annotated[str, typer.Option(
    "--role", metavar="ROLE", help="The role you sign under (one you hold), e.g. risk_lead.")]
CommentOption = Annotated[str, typer.Option(
    "--comment", metavar="TEXT", help="Why; kept with the decision.")]


def approve(model: ModelArg, version: VersionArg, role: RoleOption, comment: CommentOption = "",
            revalidation: Annotated[bool, typer.Option(
                "--revalidation", help="A validator's periodic re-validation of the live "
                "version (resets its re-validation due date).")] = False,
            url: UrlOption = None, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Sign off MODEL VERSION under ROLE (identity from $RISKOPS_TOKEN)."""
    _decide("approve", model, version, role, comment, url, home, as_json, revalidation)


def reject(model: ModelArg, version: VersionArg, role: RoleOption, comment: CommentOption = "",
           revalidation: Annotated[bool, typer.Option(
               "--revalidation", help="A validator's failed re-validation of the version in "
               "service: the model is overdue at once.")] = False,
           url: UrlOption = None, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Veto MODEL VERSION: it stays blocked until a new version is trained."""
    _decide("reject", model, version, role, comment, url, home, as_json, revalidation)


def _decide(decision: str, model: str, version: int, role: str, comment: str,
            url: str | None, home: Any, as_json: bool, revalidation: bool = False) -> None:
    remote = server_url(url)
    if remote is not None:
        result = call(remote, "POST", f"/models/{model}/versions/{version}/approvals",
                      {"decision": decision, "role": role, "comment": comment,
                       "revalidation": revalidation})
    else:
        from riskops.governance.approvals import decide
        from riskops.tokens import current_identity

        ws = open_ws(home)
        result = decide(ws, current_identity(ws), model, version, decision=decision, role=role,
                        comment=comment, revalidation=revalidation)
    if as_json:
        print_json(result)
        return
    if revalidation:
        done = "re-validated" if decision == "approve" else "failed the re-validation of"
        out.print(f"{result['user']} {done} {model} v{version} as {role}.", markup=False)
        return
    verb = "approved" if decision == "approve" else "rejected"
    out.print(f"{result['user']} {verb} {model} v{version} as {role}; approvals: "
              f"{result['approvals']['summary']}.", markup=False)


def gates(
    model: ModelArg, version: VersionArg,
    stage: Annotated[str, typer.Option(
        "--stage", metavar="STAGE", help="production or canary.")] = "production",
    url: UrlOption = None, home: HomeOption = None, as_json: JsonFlag = False,
) -> None:
    """Every promotion gate of MODEL VERSION with pass/fail and evidence; exit 1 if one fails."""
    remote = server_url(url)
    if remote is not None:
        document = call(remote, "GET", f"/models/{model}/versions/{version}/gates?stage={stage}")
    else:
        from riskops.governance.gates import evaluate_gates
        from riskops.registry.service import STAGES
        from riskops.serving.smoke import smoke_test
        from riskops.tokens import authorize, current_identity

        if stage not in STAGES:
            from riskops.errors import InputError

            raise InputError(f"--stage {stage!r} is not one of {', '.join(STAGES)}.")
        ws = open_ws(home)
        authorize(current_identity(ws), "read")
        document = evaluate_gates(ws, model, version, stage=stage,
                                  smoke_test=smoke_test).as_dict()
    if as_json:
        print_json(document)
    else:
        print_gates(document)
    if document["status"] != "pass":
        raise typer.Exit(1)


# --- users ---------------------------------------------------------------------------

users_app = typer.Typer(help="People and systems, and the roles they hold.",
                        no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name, e.g. ana.")],
    roles: Annotated[str, typer.Option(
        "--roles", metavar="R1,R2", help="admin, service, scorer, reviewer, risk_lead, "
        "platform_owner; comma-separated.")],
    home: HomeOption = None, as_json: JsonFlag = False,
) -> None:
    """Add a user holding ROLES (admin token needed)."""
    from riskops.tokens import add_user, authorize, current_identity, parse_roles

    ws = open_ws(home)
    who = authorize(current_identity(ws), "manage_users")
    result = add_user(ws, name=name, roles=parse_roles(roles), actor=who.actor)
    if as_json:
        print_json(result)
    else:
        out.print(f"added user {name} with roles {', '.join(result['roles'])}; give them a "
                  f"token with riskops token create --user {name} --name {name}-laptop.",
                  markup=False)


@users_app.command("list")
def users_list(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Users, their roles and active tokens."""
    from riskops.tokens import authorize, current_identity, list_users

    ws = open_ws(home)
    authorize(current_identity(ws), "read")
    rows = list_users(ws)
    if as_json:
        print_json(rows)
        return
    table = Table("user", "roles", "tokens", "created", "disabled")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["roles"]), ", ".join(r["tokens"]) or "-",
                      r["created_at"][:19], (r["disabled_at"] or "-")[:19])
    out.print(table)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User to disable.")],
    home: HomeOption = None,
) -> None:
    """Disable a user: every token of theirs is refused from now on (admin token needed)."""
    from riskops.tokens import authorize, current_identity, disable_user

    ws = open_ws(home)
    who = authorize(current_identity(ws), "manage_users")
    disable_user(ws, name=name, actor=who.actor)
    out.print(f"disabled user {name}; their tokens no longer work.", markup=False)

"""The `riskops` command line: parse, call, print. Logic lives in the modules it calls."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from riskops import __version__
from riskops.config import Workspace, open_workspace
from riskops.errors import InputError, RiskopsError

app = typer.Typer(
    help="Governed lifecycle for risk-scoring models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Register and inspect model versions.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
audit_log_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(token_app, name="token")
app.add_typer(audit_log_app, name="audit-log")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace folder (default: $RISKOPS_HOME or ./.riskops)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _workspace(home: Path | None) -> Workspace:
    from riskops.storage import db

    ws = open_workspace(home)
    db.migrate(ws.database_url)
    if os.environ.get("RISKOPS_TOKEN") is not None:
        # A token that is set must be valid for every command, reads included:
        # an unknown or revoked token is refused, never silently ignored.
        _actor(ws)
    return ws


def _actor(ws: Workspace) -> str:
    from riskops.tokens import current_identity

    return current_identity(ws).actor


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def _write_report(path: Path, document: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--json-out {path}: cannot write the report: {exc.strerror}.") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _json_option(value: str | None, option: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{option} is not valid JSON: {exc.msg} at position {exc.pos}.") from None
    except ValueError as exc:  # NaN and Infinity: standard JSON readers reject them
        raise InputError(f"{option} is not valid JSON: {exc}.") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{option} must be a JSON object, not {type(parsed).__name__}.")
    return parsed


def _print_version(value: bool) -> None:
    if value:
        out.print(f"riskops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        # Eager, so it runs while parsing, before the group insists on a command.
        typer.Option("--version", help="Print the version.", callback=_print_version,
                     is_eager=True),
    ] = False,
) -> None:
    pass


@app.command()
def init(
    home: HomeOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the signing keys.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a workspace: config, database, artifact store, keys, admin token."""
    from riskops.workspace import init_workspace

    result = init_workspace(home, force=force)
    ws = result.workspace
    if as_json:
        _print_json({"home": str(ws.home), "created": result.created,
                     "admin_token": result.admin_token, "notes": result.notes})
        return
    if result.created:
        out.print(f"initialised workspace {ws.home}")
        out.print(f"  database   {ws.database_url.split('@')[-1]}")
        out.print(f"  public key {ws.public_key_path}")
    for note in result.notes:
        out.print(note)
    if result.admin_token:
        out.print("\nadmin API token (shown once; store it now):")
        out.print(f"  {result.admin_token}")
        out.print("  export RISKOPS_TOKEN=<token> to act as admin on the command line.")


@app.command()
def demo(
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the main job end to end on embedded defaults (SQLite, local folders)."""
    from riskops.demo import run_demo

    summary = run_demo(home, say=(lambda _m: None) if as_json else out.print)
    if as_json:
        _print_json(summary)


@models_app.command("register")
def models_register(
    model: Annotated[str, typer.Argument(help="Model name, e.g. fraud.")],
    source: Annotated[Path, typer.Option("--from", help="Folder holding the artifacts.")],
    metrics: Annotated[str | None, typer.Option(help="Metrics as a JSON object.")] = None,
    params: Annotated[str | None, typer.Option(help="Parameters as a JSON object.")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Training run id.")] = None,
    entrypoint: Annotated[
        str | None, typer.Option(help="The .skops file serving loads (if several).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a folder of artifacts as the next version of MODEL (not live)."""
    from riskops.registry.service import Registry

    ws = _workspace(home)
    result = Registry(ws).register(
        model, source, actor=_actor(ws), metrics=_json_option(metrics, "--metrics"),
        params=_json_option(params, "--params"), training_run_id=run_id, entrypoint=entrypoint,
    )
    if as_json:
        _print_json(result)
        return
    out.print(f"registered {model} v{result['version']} ({len(result['artifacts'])} files, "
              f"manifest v{result['manifest_version']}); not live until promoted.")


@models_app.command("list")
def models_list(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Every model with its stage pointers."""
    from riskops.registry.service import Registry

    rows = Registry(_workspace(home)).list_models()
    if as_json:
        _print_json(rows)
        return
    table = Table("model", "production", "staging", "canary", "versions")
    for r in rows:
        canary = f"v{r['canary']} ({r['canary_percent']}%)" if r["canary"] else "-"
        table.add_row(r["model"], _v(r["production"]), _v(r["staging"]), canary,
                      ", ".join(str(v) for v in r["versions"]))
    out.print(table if rows else "no models registered; see riskops models register --help")


@models_app.command("show")
def models_show(model: str, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """One model: stages, history and every version with its artifacts."""
    from riskops.registry.service import Registry

    info = Registry(_workspace(home)).show_model(model)
    if as_json:
        _print_json(info)
        return
    stages = info["stages"]
    canary = stages["canary"]
    canary_text = f"v{canary['version']} ({canary['percent']}%)" if canary else "-"
    out.print(f"[bold]{model}[/bold]  production {_v(stages['production'])}  staging "
              f"{_v(stages['staging'])}  canary {canary_text}")
    out.print(f"history: {' -> '.join(f'v{v}' for v in info['history']) or '-'}")
    table = Table("version", "created", "author", "entrypoint", "files", "metrics")
    for v in info["versions"]:
        table.add_row(str(v["version"]), v["created_at"][:19], v["author"],
                      v["entrypoint"] or "-", str(len(v["artifacts"])),
                      json.dumps(v["metrics"])[:60])
    out.print(table)


@models_app.command("history")
def models_history(model: str, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Every stage pointer change of MODEL, oldest first."""
    from riskops.registry.service import Registry

    rows = Registry(_workspace(home)).history(model)
    if as_json:
        _print_json(rows)
        return
    table = Table("at", "stage", "action", "from", "to", "actor", "manifest")
    for r in rows:
        table.add_row(r["at"][:19], r["stage"], r["action"], _v(r["from"]), _v(r["to"]),
                      r["actor"], str(r["manifest_version"]))
    out.print(table if rows else f"{model} has never been promoted.")


@app.command()
def verify(
    model: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    version: Annotated[int | None, typer.Argument(help="Only this version.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Write the report here.")
    ] = None,
    openssf: Annotated[
        bool, typer.Option("--openssf/--no-openssf", help="Also check OpenSSF bundles.")
    ] = True,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the manifest signature and every artifact's digest and size."""
    from riskops.registry.verification import verify_workspace

    ws = _workspace(home)
    if as_json or not err.is_terminal:
        report = verify_workspace(ws, model, version, openssf=openssf)
    else:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        with Progress("verifying", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("verify", total=None)
            report = verify_workspace(
                ws, model, version, openssf=openssf,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    document = report.as_dict()
    if json_out is not None:
        _write_report(json_out, document)
    if as_json:
        _print_json(document)
    elif report.ok:
        out.print(f"ok: manifest v{report.manifest_version} signature verified; "
                  f"{report.files_checked} files ({report.bytes_checked} bytes) in "
                  f"{len(report.checked)} versions match their digests.")
    else:
        for failure in report.failures:
            err.print(f"FAIL {failure.path}: {failure.reason}", markup=False)
        err.print(f"error: {len(report.failures)} integrity failure(s); nothing failing "
                  "will be loaded.", markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def promote(
    model: str,
    version: int,
    stage: Annotated[str, typer.Option(help="production, staging or canary.")] = "production",
    percent: Annotated[int | None, typer.Option(help="Canary traffic share, 1-100.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote to production without gates.")
    ] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Point a stage of MODEL at VERSION and publish a signed manifest."""
    from riskops.registry.service import Registry

    ws = _workspace(home)
    result = Registry(ws).promote(model, version, actor=_actor(ws), stage=stage,
                                  percent=percent, force=force)
    if as_json:
        _print_json(result)
    elif not result["changed"]:
        out.print(f"{model} v{version} is already in {stage}; nothing changed.")
    else:
        if stage == "production":
            err.print("warning: approval and quality gates are not yet enforced (--force).")
        share = f" at {percent}%" if percent else ""
        out.print(f"promoted {model} v{version} to {stage}{share} "
                  f"(was {_v(result['from'])}); manifest v{result['manifest_version']}.")


@app.command()
def rollback(
    model: str,
    to: Annotated[int | None, typer.Option("--to", help="Version to return to.")] = None,
    fallback: Annotated[str | None, typer.Option(
        "--fallback", help="'heuristic': take production off the model; every replica "
                           "answers from the scenario's rules.")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Return production to the previous version (history\\[n-1]), to --to VERSION, or
    to the heuristic with --fallback heuristic."""
    from riskops.registry.service import Registry

    if fallback is not None and fallback != "heuristic":
        raise InputError(f"--fallback {fallback!r} is not supported; the only fallback is "
                         "'heuristic'.")
    ws = _workspace(home)
    result = Registry(ws).rollback(model, actor=_actor(ws), to=to,
                                   fallback_heuristic=fallback == "heuristic")
    if as_json:
        _print_json(result)
    else:
        out.print(f"rolled back {model} production {_v(result['from'])} -> "
                  f"{_v(result['to']) if result['to'] is not None else 'heuristic'}; "
                  f"manifest v{result['manifest_version']}.")


@models_app.command("pin")
def models_pin(
    model: str,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id (X-Tenant-ID).")],
    version: Annotated[int | None, typer.Option("--version", help="Version to pin.")] = None,
    heuristic: Annotated[bool, typer.Option(
        "--heuristic", help="Pin the tenant to the heuristic (no model).")] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Route one tenant to a fixed version of MODEL, or to its heuristic."""
    from riskops.registry.service import Registry

    if (version is None) == (not heuristic):
        raise InputError("give exactly one of --version VERSION or --heuristic.")
    ws = _workspace(home)
    result = Registry(ws).pin(model, tenant, version, actor=_actor(ws))
    if as_json:
        _print_json(result)
    else:
        target = "the heuristic" if version is None else f"v{version}"
        out.print(f"pinned tenant {tenant} of {model} to {target}; "
                  f"manifest v{result['manifest_version']}.")


@models_app.command("unpin")
def models_unpin(
    model: str,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id (X-Tenant-ID).")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Remove a tenant's pin; it follows production and canary again."""
    from riskops.registry.service import Registry

    ws = _workspace(home)
    result = Registry(ws).unpin(model, tenant, actor=_actor(ws))
    if as_json:
        _print_json(result)
    else:
        out.print(f"unpinned tenant {tenant} of {model}; manifest v{result['manifest_version']}.")


@audit_log_app.command("verify")
def audit_log_verify(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Check the audit log's hash chain end to end; name the first bad entry."""
    from riskops.governance.audit_check import check_audit_log

    result = check_audit_log(_workspace(home))
    if as_json:
        _print_json({"status": "pass" if result.ok else "fail", "entries": result.entries,
                     "head": result.head_hash, "anchored_seq": result.anchored_seq,
                     "first_bad_seq": result.problem.seq if result.problem else None,
                     "reason": result.problem.reason if result.problem else None})
    elif result.ok:
        # soft_wrap: one line each, never split by the console width (grep-able).
        out.print(f"ok: {result.entries} entries chain correctly; head {result.head_hash} "
                  f"matches the signed manifest up to entry {result.anchored_seq}.",
                  soft_wrap=True)
    else:
        assert result.problem is not None
        err.print(f"error: audit log broken: {result.problem.reason}.", markup=False,
                  soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who or what holds the token.")],
    role: Annotated[str, typer.Option("--role", help="admin, service, scorer, reviewer, "
                                                     "risk_lead or platform_owner.")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token; it is printed once and stored hashed."""
    from riskops.tokens import create_token

    ws = _workspace(home)
    token = create_token(ws, name=name, role=role, actor=_actor(ws))
    if as_json:
        _print_json({"name": name, "role": role, "token": token})
    else:
        out.print(f"token for {name} ({role}), shown once:\n  {token}")


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Option("--name", help="Token to revoke.")],
    home: HomeOption = None,
) -> None:
    """Revoke an API token by name."""
    from riskops.tokens import revoke_token

    ws = _workspace(home)
    revoke_token(ws, name=name, actor=_actor(ws))
    out.print(f"revoked token {name}.")


@token_app.command("list")
def token_list(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """API tokens (names and roles; never the secrets)."""
    from riskops.tokens import list_tokens

    rows = list_tokens(_workspace(home))
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "role", "created", "revoked")
    for r in rows:
        table.add_row(r["name"] or "", r["role"] or "", (r["created_at"] or "")[:19],
                      (r["revoked_at"] or "-")[:19])
    out.print(table)


def _v(version: int | None) -> str:
    return "-" if version is None else f"v{version}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # type: ignore[no-untyped-def]
        pass


class _LowerLevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _log_warnings_to_stderr() -> None:
    logger = logging.getLogger("riskops")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_LowerLevelFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turn every expected error into one line and an exit code."""
    debug = os.environ.get("RISKOPS_DEBUG") == "1"
    _log_warnings_to_stderr()
    try:
        result = app(args=argv, prog_name="riskops", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted.")
        return 130
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        return int(getattr(exc, "exit_code", 2))
    except RiskopsError as exc:
        if debug:
            raise
        first, *rest = str(exc).splitlines() or [type(exc).__name__]
        sys.stderr.write(f"error: {first}\n" + "".join(f"{line}\n" for line in rest))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if debug:
            raise
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} "
                         "(set RISKOPS_DEBUG=1 for the traceback and report it)\n")
        return 70
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())


# Commands that live in their own modules; imported last so they can use the
# helpers above.
from riskops import cli_data, cli_events, cli_jobs, cli_monitor, cli_serve, cli_train  # noqa: E402

cli_data.register(app)
cli_train.register(app)
cli_jobs.register(app)
cli_monitor.register(app)
cli_events.register(app)
cli_serve.register(app)

"""The ``riskops`` application: its command tree, exit codes and the ``run()`` entry point.

Every command lives in a module of this package named for its group; this
module only puts them together and turns errors into one line and an exit code
(0 ok, 1 a check failed, 2 usage or input error, 70 a bug, 130 interrupted).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
import typer.core

from riskops import __version__
from riskops.cli import (
    audit,
    audit_bias,
    audit_group,
    audit_security,
    data,
    demo,
    events,
    evidence,
    freeze,
    governance,
    inventory,
    jobs,
    keys,
    models,
    monitor,
    retrain,
    serve,
    slo,
    tokens,
    train,
    workspace,
)
from riskops.cli.common import err, out
from riskops.errors import RiskopsError

app = typer.Typer(
    help="Governed lifecycle for risk-scoring models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"riskops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        # Eager, so it runs while parsing, before the group insists on a command.
        "--version", help="Print the version.", callback=_print_version, is_eager=True)] = False,
) -> None:
    pass


app.command()(workspace.init)
app.command()(demo.demo)
app.add_typer(data.app, name="data")
app.command()(train.train)
models.app.command("describe")(inventory.describe)
models.app.command("retire")(inventory.retire)
models.app.command("card")(inventory.card)
app.add_typer(models.app, name="models")
app.command()(models.verify)
app.command()(governance.approve)
app.command()(governance.reject)
app.command()(governance.gates)
app.command()(models.promote)
app.command()(models.rollback)
app.command()(freeze.freeze)
app.command()(freeze.unfreeze)
app.command()(serve.serve)
app.add_typer(monitor.app, name="monitor")
app.add_typer(events.app, name="events")
app.add_typer(jobs.app, name="jobs")
app.command()(jobs.scheduler)
app.command()(jobs.worker)
app.add_typer(governance.users_app, name="users")
app.add_typer(tokens.app, name="token")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit-log")
audit_group.app.command("bias")(audit_bias.bias)
audit_group.app.command("security")(audit_security.security)
app.add_typer(audit_group.app, name="audit")
app.command()(evidence.evidence)
app.command()(inventory.inventory)
app.add_typer(slo.app, name="slo")
app.add_typer(retrain.app, name="retrain")


def _type_column(param: typer.core.TyperArgument | typer.core.TyperOption,
                 ctx: object) -> str | None:
    """Help shows a parameter's metavar (FILE, N, DATE), never its Python type.

    Typer prints ``<str>``, ``<bool>``, ``<list[str]>`` beside each parameter;
    arguments already show their metavar as their name and flags take no value.
    """
    if isinstance(param, typer.core.TyperArgument) or param.is_flag:
        return None
    return param.metavar


typer.core.TyperArgument.display_type_rich = _type_column  # type: ignore[method-assign]
typer.core.TyperOption.display_type_rich = _type_column  # type: ignore[method-assign]


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
    """Run the app; turn every expected error into one line and an exit code."""
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
    """Console-script entry point."""
    sys.exit(main())

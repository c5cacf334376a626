"""``--help`` of every command: it answers, names values by metavar, and reads whole."""

from __future__ import annotations

import re

import pytest
import typer.core
import typer.main

from riskops.cli.main import app

Command = typer.core.TyperCommand | typer.core.TyperGroup
#: What Typer prints for a parameter without a metavar: <str>, <bool>, <list[str]>, <path>.
TYPE_METAVAR = re.compile(r"<(?:str|int|float|bool|path|list\[[^\]]*\]|[a-z ]+ range)>")


def _commands() -> list[tuple[tuple[str, ...], Command]]:
    found: list[tuple[tuple[str, ...], Command]] = []

    def walk(path: tuple[str, ...], command: Command) -> None:
        found.append((path, command))
        if isinstance(command, typer.core.TyperGroup):
            for name, sub in command.commands.items():
                walk((*path, name), sub)

    walk((), typer.main.get_command(app))
    return found


COMMANDS = _commands()


def test_the_tree_holds_every_documented_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "demo", "data generate", "train", "models register", "models list",
            "models show", "models history", "models pin", "models unpin", "verify",
            "promote", "rollback", "serve", "monitor run", "monitor import",
            "monitor compare", "events list", "events show",
            "events retry", "events dispatch", "jobs list", "jobs run", "jobs trigger",
            "jobs history", "scheduler", "worker", "token create", "token list",
            "token revoke", "audit-log verify"} <= paths


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "riskops")
def test_help_answers_without_type_metavars(cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.code == 0, result.err
    assert "Usage: riskops" in result.out
    assert not TYPE_METAVAR.search(result.out), TYPE_METAVAR.findall(result.out)


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "riskops"
                                                          for p, _ in COMMANDS])
def test_parameters_name_their_values(path: tuple[str, ...], command: Command) -> None:
    """Arguments and valued options carry an upper-case metavar (FILE, N, DATE, MODEL)."""
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and param.is_flag:
            continue
        assert param.metavar, f"riskops {' '.join(path)}: {param.name} has no metavar"
        assert param.metavar == param.metavar.upper() or param.metavar == "heuristic", (
            f"riskops {' '.join(path)}: metavar {param.metavar!r} is not upper case")


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "riskops"
                                                          for p, _ in COMMANDS])
def test_summary_is_one_unbroken_line(path: tuple[str, ...], command: Command) -> None:
    """The first paragraph of a help text is what command lists show: one line, one sentence
    or more, never cut by a line break."""
    summary = (command.help or "").strip().split("\n\n")[0]
    assert summary, f"riskops {' '.join(path)} has no help text"
    assert "\n" not in summary, f"riskops {' '.join(path)}: summary broken over lines"
    assert summary.endswith("."), f"riskops {' '.join(path)}: {summary!r}"


def test_usage_lines_name_arguments_in_capitals(cli) -> None:
    assert "Usage: riskops promote [OPTIONS] {MODEL} {VERSION}" in cli("promote", "--help").out
    assert "Usage: riskops events retry [OPTIONS] [ID]" in cli("events", "retry", "--help").out
    assert "Usage: riskops train [OPTIONS] {SCENARIO} [VERSION]" in cli("train", "--help").out


def test_data_help_describes_what_exists(cli) -> None:
    text = cli("data", "--help").out
    assert "generate" in text
    assert "inspect" not in text

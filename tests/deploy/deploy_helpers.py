"""Helpers for the tests of deploy/: riskops command lines checked against the real CLI,
PromQL metric names, and promtool (skips with the reason when it is missing, fails
under CI, where .ci/run installs it)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import typer.main
from prometheus_client import Counter, Gauge, Histogram, Summary
from typer.testing import CliRunner

from riskops import metrics
from riskops.cli.main import app

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

# --- riskops command lines ----------------------------------------------------------

_SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", "<", ">", ">>"}


def riskops_commands(script: str) -> list[list[str]]:
    """The ``riskops ...`` commands of a shell script, each as its argument list.

    Continuation lines are joined; a command ends at a shell operator (``||``,
    ``&&``, ``;``, ``|``, a redirection) or at the end of its line.

    >>> riskops_commands("set -e\\nriskops verify \\\\\\n  --json-out x.json || status=1")
    [['riskops', 'verify', '--json-out', 'x.json']]
    """
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        segment: list[str] = []
        for token in [*lexer, ";"]:
            if token in _SHELL_OPERATORS:
                if segment and Path(segment[0]).name == "riskops":
                    found.append(segment)
                segment = []
            else:
                segment.append(token)
    return found


def cli_problems(argv: list[str]) -> list[str]:
    """What is wrong with ``riskops ARGS`` as the real CLI sees it: an unknown command,
    an unknown option, too many positional values, or a ``--help`` that fails."""
    if not argv or Path(argv[0]).name != "riskops":
        return [f"{argv!r} does not start with riskops"]
    # Typer ships its own copy of click: its groups are known by their ``commands``.
    command = typer.main.get_command(app)
    path: list[str] = []
    rest = argv[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        if sub is None:
            return [f"riskops {' '.join([*path, rest[0]])}: no such command"]
        command, path, rest = sub, [*path, rest[0]], rest[1:]
    line = "riskops " + " ".join(path)
    if hasattr(command, "commands"):
        return [f"{line}: a command group, not a command"]
    problems = []
    helped = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    if helped.exit_code != 0:
        problems.append(f"{line} --help exited {helped.exit_code}")
    options = {opt: p for p in command.params if p.param_type_name == "option"
               for opt in (*p.opts, *p.secondary_opts)}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    positional = 0
    tokens = iter(rest)
    for token in tokens:
        if token.startswith("-"):
            name = token.split("=", 1)[0]
            option = options.get(name)
            if option is None:
                problems.append(f"{line}: no option {name}")
                continue
            if name not in helped.output:
                problems.append(f"{line} --help does not show {name}")
            if not (option.is_flag or option.count) and "=" not in token:
                next(tokens, None)  # its value
        else:
            positional += 1
    if all(a.nargs >= 0 for a in arguments) and positional > sum(a.nargs for a in arguments):
        problems.append(f"{line}: {positional} positional values, it takes "
                        f"{sum(a.nargs for a in arguments)}")
    return problems


# --- metric names ---------------------------------------------------------------------

_SUFFIXES = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_sum", "_count"),
             Summary: ("_sum", "_count", "")}


def exported_series() -> set[str]:
    """Every series name the collectors of ``riskops.metrics`` expose (``_total`` of a
    counter, ``_bucket``/``_sum``/``_count`` of a histogram, a gauge's own name)."""
    names = set()
    for value in vars(metrics).values():
        for kind, suffixes in _SUFFIXES.items():
            if isinstance(value, kind):
                names.update(value._name + s for s in suffixes)
    return names


# Words of PromQL that look like metric names: aggregations, keywords, functions are
# followed by "(" and are dropped by the pattern itself.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
             "unless", "offset", "bool", "sum", "min", "max", "avg", "count", "stddev",
             "stdvar", "topk", "bottomk", "quantile", "count_values", "group", "inf", "nan",
             "atan2"}
#: Prometheus' own series, not riskops'.
BUILTIN_SERIES = {"ALERTS", "ALERTS_FOR_STATE", "up", "scrape_duration_seconds"}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (Grafana's ``$variables`` allowed).

    >>> sorted(metric_names('sum by (le) (rate(a_bucket{x=~"$v"}[$__rate_interval])) / b'))
    ['a_bucket', 'b']
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ",
                  text)  # label lists
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _KEYWORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def dashboard_exprs(dashboard: dict) -> list[str]:  # type: ignore[type-arg]
    """Every PromQL expression of a Grafana dashboard: panel targets (rows' nested
    panels too) and query variables (``label_values(METRIC, label)`` as ``METRIC``)."""
    exprs = []
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        found = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", query)
        exprs.append(found.group(1) if found else query)
    return exprs


def unknown_metrics(exprs: list[str]) -> dict[str, set[str]]:
    """Expression -> the names in it that riskops does not export (empty: all known)."""
    known = exported_series() | BUILTIN_SERIES
    unknown = {expr: metric_names(expr) - known for expr in exprs}
    return {expr: names for expr, names in unknown.items() if names}


# --- promtool -------------------------------------------------------------------------


def promtool() -> str:
    """Path of ``promtool`` (Debian package ``prometheus``); skip, or fail under CI."""
    found = shutil.which("promtool")
    if found is None:
        reason = ("promtool is not installed: the alert rules and their unit tests were not "
                  "checked (apt-get install prometheus; .ci/run does it)")
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it (.ci/run): a skip there would hide a gap
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    return found

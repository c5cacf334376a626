"""Import layering: low-level modules stay low, and packages never import each other in a
circle (every import counts, also those inside functions)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "riskops"

#: Part -> the riskops parts it may import (the low end of the stack).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "audit_chain": set(),
    "arrays": set(),
    "files": set(),
    "user_tables": {"errors"},
    "storage": {"errors", "config", "audit_chain", "files"},
}
#: Part -> parts it must never import (the high end keeps its direction).
FORBIDDEN: dict[str, set[str]] = {
    "registry": {"governance", "serving", "monitoring", "training", "jobs"},
    "training": {"monitoring", "serving", "governance", "jobs"},
    "scenarios": {"training", "monitoring", "serving", "registry", "governance", "storage"},
}


def _part(path: Path) -> str:
    """The package (or top-level module) a file belongs to: ``storage``, ``errors``."""
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0]


def _imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        part = _part(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.startswith("riskops."):
                    target = name.split(".")[1]
                    if target != part:
                        edges[part].add(target)
    return edges


def test_low_level_parts_import_only_what_is_below_them() -> None:
    edges = _imports()
    for part, allowed in ALLOWED.items():
        assert edges.get(part, set()) <= allowed, (part, edges.get(part, set()) - allowed)


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_packages_keep_their_direction(part: str) -> None:
    assert not _imports().get(part, set()) & FORBIDDEN[part]


def test_no_import_cycles_between_packages() -> None:
    # The command-line and demo modules are the top; they may import each other.
    edges = {k: {v for v in vs if not v.startswith(("cli", "demo"))}
             for k, vs in _imports().items() if not k.startswith(("cli", "demo"))}
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node):], node]
            raise AssertionError(" -> ".join(cycle))
        if node in done:
            return
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for start in sorted(edges):
        visit(start, [])

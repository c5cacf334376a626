"""The import graph of ``src/riskops``: no cycles, and no layer importing one above it.

Imports inside ``if TYPE_CHECKING:`` blocks are left out (they never run).
Function-level imports count: they run too, only later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Top-level packages and modules of riskops, lowest layer first. A module may
#: import its own layer and the layers below it, never one above.
LAYERS: list[set[str]] = [
    {"riskops", "errors", "roles", "times"},
    {"config", "files", "arrays", "audit_chain", "user_tables", "user_columns", "metrics",
     "scenarios", "binning", "profiles", "toml_files", "tracking"},
    {"storage"},
    {"registry", "events", "tokens", "workspace"},
    {"training", "monitoring", "jobs", "governance", "serving"},
    {"demo"},
    {"cli"},
]


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): p
            for p in sorted((SRC / "riskops").rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The riskops modules ``name`` imports at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for branch in ast.walk(tree)
               if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
               for node in ast.walk(branch)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                keep = len(base) - node.level + (path.name == "__init__.py")
                module = ".".join(base[:keep] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in candidates:
            if target in modules and target != name and not name.startswith(target + "."):
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imports(name, path, modules)) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for vertex in sorted(graph):
        if vertex not in index:
            visit(vertex)
    return cycles


def _top(module: str) -> str:
    """``storage`` for ``riskops.storage.db``; ``riskops`` for the package itself."""
    return module.split(".")[1] if "." in module else "riskops"


def layer_of(module: str) -> int:
    top = _top(module)
    for rank, members in enumerate(LAYERS):
        if top in members:
            return rank
    raise AssertionError(f"{module}: top-level name {top!r} is in no layer; add it to LAYERS "
                         "in tests/test_structure.py where it belongs.")


def test_find_cycles_reports_a_cycle_and_ignores_a_chain() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_imports_resolve_like_python(tmp_path: Path) -> None:
    pkg = tmp_path / "riskops" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("from .b import thing\nfrom ..errors import X\n")
    modules = {"riskops.pkg": pkg / "__init__.py", "riskops.pkg.a": pkg / "a.py",
               "riskops.pkg.b": pkg / "b.py", "riskops.errors": tmp_path / "e.py"}
    assert set(_imports("riskops.pkg", pkg / "__init__.py", modules)) == {"riskops.pkg.a"}
    assert set(_imports("riskops.pkg.a", pkg / "a.py", modules)) == {
        "riskops.pkg.b", "riskops.errors"}


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_layer_imports_a_layer_above_it() -> None:
    upward = sorted(f"{source} (layer {layer_of(source)}) imports {target} "
                    f"(layer {layer_of(target)})"
                    for source, targets in import_graph().items() for target in targets
                    if layer_of(target) > layer_of(source))
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_cycles_between_packages() -> None:
    """Also no cycle when modules are taken together by package: registry -> events ->
    registry would be one even if no single module closed the loop."""
    packages: dict[str, set[str]] = {}
    for source, targets in import_graph().items():
        top = _top(source)
        packages.setdefault(top, set()).update(_top(t) for t in targets if _top(t) != top)
    cycles = find_cycles(packages)
    assert not cycles, "package cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_storage_imports_no_higher_package() -> None:
    higher = {"serving", "governance", "monitoring", "events", "registry", "cli", "jobs"}
    bad = sorted(f"{source} -> {target}" for source, targets in import_graph().items()
                 if source.startswith("riskops.storage") for target in targets
                 if target.split(".")[1] in higher)
    assert not bad


@pytest.mark.parametrize("package", ["sqlalchemy", "fastapi", "typer", "grpc"])
def test_frameworks_stay_in_their_package(package: str) -> None:
    """SQLAlchemy only in storage/ (and the MLflow store's error catch in tracking.py),
    FastAPI and gRPC only in serving/, Typer only in cli/."""
    home = {"sqlalchemy": ("riskops.storage", "riskops.tracking"),
            "fastapi": ("riskops.serving",), "typer": ("riskops.cli",),
            "grpc": ("riskops.serving",)}[package]
    found = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n == package or n.startswith(package + ".") for n in names) and \
                    not name.startswith(home):
                found.append(name)
    assert not found, f"{package} imported outside {', '.join(home)}: {sorted(set(found))}"


def test_no_assert_as_a_runtime_check() -> None:
    """``assert`` vanishes under ``python -O``; runtime checks raise real errors."""
    found = [f"{name}:{node.lineno}" for name, path in _modules().items()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Assert)]
    assert not found, found

"""mlirboot's layers, read from the sources (no import runs):

    CLI        mlirboot.bootstrap.cli, mlirboot.bootstrap.commands.*,
               mlirboot.backend.commands.*
    backend    mlirboot.backend.* (but its commands)
    bootstrap  mlirboot.bootstrap.* (but cli and commands)

A layer imports only the layers below it, and no module imports itself back,
directly or through a chain. Every import counts: at module level, inside a
function, under `if TYPE_CHECKING:`, and `importlib.import_module` by name
(a string naming an mlirboot module, in a module that imports by name).
import-linter checks the same layers in CI (`[tool.importlinter]`,
scripts/check.sh); this test needs nothing but the sources."""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Repository folder -> the package it is installed as (pyproject.toml's
# [tool.scikit-build.wheel.packages]).
PACKAGES = {"bootstrap": "mlirboot.bootstrap", "backend": "mlirboot.backend"}
IMPORT_BY_NAME = {"import_module", "__import__"}


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    file: str  # relative to the repository root
    line: int

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}  ({self.file}:{self.line})"


def module_files() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join([package, *parts])] = path
    return mods


def _known(name: str, mods: dict[str, Path]) -> str | None:
    """The module an import of `name` loads: itself, or the longest prefix
    that is a module (`a.b.func` -> `a.b`)."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(mod: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    by_name = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in mods else base, node.lineno))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in IMPORT_BY_NAME:
                by_name = True
    if by_name:  # a string naming a module, wherever it is (a list the call loops over)
        found += [
            (node.value, node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in mods
        ]
    return found


@cache
def graph() -> tuple[Edge, ...]:
    mods = module_files()
    edges: dict[tuple[str, str], Edge] = {}
    for mod, path in mods.items():
        for name, line in _imports(mod, path, mods):
            dst = _known(name, mods)
            if dst is None or dst == mod:
                continue
            edge = Edge(mod, dst, str(path.relative_to(REPO)), line)
            edges.setdefault((mod, dst), edge)  # the first line that imports it
    return tuple(sorted(edges.values(), key=lambda e: (e.src, e.line, e.dst)))


def layer(mod: str) -> str:
    if (
        mod == "mlirboot.bootstrap.cli"
        or mod.startswith("mlirboot.bootstrap.commands")
        or mod.startswith("mlirboot.backend.commands")
    ):
        return "cli"
    if mod.startswith("mlirboot.backend"):
        return "backend"
    return "bootstrap"


def violations(src_layer: str, forbidden: set[str]) -> list[str]:
    return [
        f"{e}  [{src_layer} imports {layer(e.dst)}]"
        for e in graph()
        if layer(e.src) == src_layer and layer(e.dst) in forbidden
    ]


def test_the_graph_sees_every_kind_of_import() -> None:
    """Guards the other tests against passing on an empty or partial graph."""
    pairs = {(e.src, e.dst) for e in graph()}
    # importlib.import_module over COMMAND_MODULES' strings
    assert ("mlirboot.bootstrap.cli", "mlirboot.backend.commands.run") in pairs
    # a function-local relative import
    assert ("mlirboot.backend", "mlirboot.backend.driver") in pairs
    # `from ..bootstrap import proc`: a module, not its package
    assert ("mlirboot.backend.devices", "mlirboot.bootstrap.proc") in pairs
    assert len(module_files()) > 80


def test_lower_bootstrap_imports_neither_backend_nor_cli() -> None:
    bad = violations("bootstrap", {"backend", "cli"})
    if bad:
        pytest.fail("bootstrap's lower modules import a higher layer:\n  " + "\n  ".join(bad))


def test_backend_does_not_import_the_cli_layer() -> None:
    bad = violations("backend", {"cli"})
    if bad:
        pytest.fail("backend imports the CLI layer:\n  " + "\n  ".join(bad))


def _components(succ: dict[str, list[Edge]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for e in succ.get(v, []):
            if e.dst not in index:
                visit(e.dst)
                low[v] = min(low[v], low[e.dst])
            elif e.dst in on_stack:
                low[v] = min(low[v], index[e.dst])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return out


def _path(succ: dict[str, list[Edge]], start: str, goal: str, within: set[str]) -> list[Edge]:
    """A shortest import chain start ~> goal inside one component."""
    came: dict[str, Edge | None] = {start: None}
    todo = deque([start])
    while todo:
        v = todo.popleft()
        if v == goal:
            break
        for e in succ.get(v, []):
            if e.dst in within and e.dst not in came:
                came[e.dst] = e
                todo.append(e.dst)
    chain: list[Edge] = []
    while (e := came[goal]) is not None:
        chain.append(e)
        goal = e.src
    return chain[::-1]


def cycles() -> list[str]:
    """Each component, with one shortest cycle through each of its imports
    (the same cycle once)."""
    succ: dict[str, list[Edge]] = {}
    for e in graph():
        succ.setdefault(e.src, []).append(e)
    report = []
    for comp in _components(succ):
        within = set(comp)
        seen: set[frozenset[Edge]] = set()
        lines = [f"cycle among {len(comp)} modules: {', '.join(comp)}"]
        for e in (e for e in graph() if e.src in within and e.dst in within):
            cycle = [e, *_path(succ, e.dst, e.src, within)]
            if frozenset(cycle) in seen:
                continue
            seen.add(frozenset(cycle))
            lines.append("    " + "\n      ".join(str(c) for c in cycle))
        report.append("\n".join(lines))
    return report


def test_no_import_cycles() -> None:
    found = cycles()
    if found:
        pytest.fail(f"{len(found)} import cycle(s):\n  " + "\n  ".join(found))

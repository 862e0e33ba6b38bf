"""No import cycle anywhere in ``core/``, ``tui/`` and ``clawtop/``, and no import hidden in a
function body to dodge one.

The graph is built from the source (an AST walk, so a package without ``__init__.py`` is still
seen). An edge is every import a module runs or names for the type checker: module level, class
bodies and ``if TYPE_CHECKING:`` blocks (a type-only import back up is still a design cycle).
Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``, so those packages are edges
too, except the importer's own enclosing packages, which are already initialising.

Imports inside functions are not edges; each must say why it is deferred with a
``# deferred: <reason>`` comment on the import (or on the comment lines directly above a run of
imports), e.g. ``# deferred: start-up cost, docker is slow to import``. A deferral to dodge a
cycle is not a reason: fix the layering instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "tui", "clawtop")
MARKER = "# deferred:"


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int


@dataclass(frozen=True)
class Deferred:
    module: str
    path: str
    line: int
    source: str


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


class _Walker:
    """Module-level imports (edges) and function-level imports (deferrals) of one module."""

    def __init__(self, name: str, path: Path, modules: dict[str, Path]) -> None:
        self.name, self.path, self.modules = name, path, modules
        self.source = path.read_text(encoding="utf-8")
        self.lines = self.source.splitlines()
        self.edges: list[Import] = []
        self.deferred: list[Deferred] = []

    def _resolve(self, dotted: str) -> str | None:
        """The project module that ``dotted`` names (its longest existing prefix), if any."""
        parts = dotted.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.modules:
                return candidate
            parts.pop()
        return None

    def _names(self, node: ast.Import | ast.ImportFrom) -> list[str]:
        """The dotted names an import statement loads: ``from a.b import c`` loads the submodule
        ``a.b.c`` when there is one, else it reads the name ``c`` from ``a.b``."""
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            package = self.name.split(".")
            if self.path.name != "__init__.py":
                package.pop()
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in self.modules else base for alias in node.names]

    def _targets(self, node: ast.Import | ast.ImportFrom) -> set[str]:
        own_packages = {".".join(self.name.split(".")[:i]) for i in range(1, self.name.count(".") + 1)}
        targets: set[str] = set()
        for dotted in self._names(node):
            module = self._resolve(dotted)
            if module is None or module == self.name:
                continue
            targets.add(module)
            # Python runs the __init__ of every enclosing package first, except the importer's own
            # (already initialising).
            parts = module.split(".")
            for i in range(1, len(parts)):
                package = ".".join(parts[:i])
                if package in self.modules and package not in own_packages and package != self.name:
                    targets.add(package)
        return targets

    def _marked(self, run: list[ast.Import | ast.ImportFrom]) -> bool:
        first, last = run[0].lineno, run[-1].end_lineno or run[-1].lineno
        if any(MARKER in line for line in self.lines[first - 1 : last]):
            return True
        above = first - 2
        while above >= 0 and self.lines[above].strip().startswith("#"):
            if MARKER in self.lines[above]:
                return True
            above -= 1
        return False

    def walk(self, body: list[ast.stmt], in_function: bool) -> None:
        run: list[ast.Import | ast.ImportFrom] = []
        for statement in [*body, None]:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                run.append(statement)
                continue
            if run:
                self._take(run, in_function)
                run = []
            if statement is not None:
                self._descend(statement, in_function)

    def _take(self, run: list[ast.Import | ast.ImportFrom], in_function: bool) -> None:
        if not in_function:
            for node in run:
                self.edges.extend(Import(self.name, target, node.lineno) for target in self._targets(node))
            return
        if self._marked(run):
            return
        relpath = str(self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path)
        self.deferred.extend(
            Deferred(self.name, relpath, node.lineno, self.lines[node.lineno - 1].strip()) for node in run
        )

    def _descend(self, statement: ast.stmt, in_function: bool) -> None:
        inner = in_function or isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                self.walk(child.body, inner)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                self.walk(block, inner)


def _walk_all() -> tuple[dict[str, list[Import]], list[Deferred]]:
    modules = _modules()
    edges: dict[str, list[Import]] = {}
    deferred: list[Deferred] = []
    for name, path in modules.items():
        walker = _Walker(name, path, modules)
        walker.walk(ast.parse(walker.source, str(path)).body, in_function=False)
        edges[name] = walker.edges
        deferred.extend(walker.deferred)
    return edges, deferred


def _strongly_connected(edges: dict[str, list[Import]]) -> Iterator[set[str]]:
    """Tarjan's algorithm, iterative; yields components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted({e.target for e in edges[root]})))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({e.target for e in edges.get(child, [])}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield component


def _one_cycle(component: set[str], edges: dict[str, list[Import]]) -> list[Import]:
    """A shortest cycle through the component's first module, as the imports that form it."""
    start = min(component)
    paths: dict[str, list[Import]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for edge in sorted(edges.get(node, []), key=lambda e: e.target):
            if edge.target == start:
                return [*paths[node], edge]
            if edge.target in component and edge.target not in paths:
                paths[edge.target] = [*paths[node], edge]
                queue.append(edge.target)
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def _describe(cycle: list[Import]) -> str:
    steps = " -> ".join(f"{edge.importer} (l.{edge.line})" for edge in cycle)
    return f"{steps} -> {cycle[0].importer}"


def test_graph_sees_every_module() -> None:
    """The walk finds the packages and their imports (a guard against a check that sees nothing)."""
    edges, _ = _walk_all()
    assert {"core.gateway", "core.events", "tui.app", "clawtop.cli"} <= set(edges)
    assert any(edge.target == "core.events" for edge in edges["core.gateway.gateway"])
    assert sum(len(found) for found in edges.values()) > 500


def test_cycle_finder_names_a_cycle() -> None:
    """The detector itself: a two-module loop and a three-module loop are found and named."""
    edges = {
        "a": [Import("a", "b", 1)],
        "b": [Import("b", "a", 2), Import("b", "c", 3)],
        "c": [Import("c", "d", 4)],
        "d": [Import("d", "e", 5)],
        "e": [Import("e", "c", 6)],
    }
    found = sorted(sorted(c) for c in _strongly_connected(edges))
    assert found == [["a", "b"], ["c", "d", "e"]]
    assert _describe(_one_cycle({"c", "d", "e"}, edges)) == "c (l.4) -> d (l.5) -> e (l.6) -> c"


def test_walker_edges_and_deferrals(tmp_path: Path) -> None:
    """The walker itself: module-level, class-level and TYPE_CHECKING imports are edges (with the
    packages they initialise); imports in functions are deferrals unless marked."""
    files = {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/sub/leaf.py": "X = 1\n",
        "pkg/mod.py": (
            "from typing import TYPE_CHECKING\n"
            "from pkg.sub.leaf import X\n"
            "if TYPE_CHECKING:\n"
            "    from pkg import other\n"
            "class C:\n"
            "    from pkg.sub import leaf\n"
            "def f():\n"
            "    import json\n"
            "    from pkg.sub.leaf import X\n"
            "def g():\n"
            "    # deferred: start-up cost, measured\n"
            "    # (a second comment line)\n"
            "    from pkg.sub.leaf import X\n"
            "    from pkg import other\n"
            "    y = 1\n"
            "    from pkg import other  # deferred: start-up cost\n"
            "    if y:\n"
            "        from pkg.sub import leaf\n"
        ),
        "pkg/other.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    modules = {"pkg": tmp_path / "pkg/__init__.py", "pkg.sub": tmp_path / "pkg/sub/__init__.py",
               "pkg.sub.leaf": tmp_path / "pkg/sub/leaf.py", "pkg.mod": tmp_path / "pkg/mod.py",
               "pkg.other": tmp_path / "pkg/other.py"}
    walker = _Walker("pkg.mod", modules["pkg.mod"], modules)
    walker.walk(ast.parse(walker.source).body, in_function=False)
    assert {(e.target, e.line) for e in walker.edges} == {
        ("pkg.sub.leaf", 2), ("pkg.sub", 2), ("pkg.other", 4), ("pkg.sub.leaf", 6), ("pkg.sub", 6)
    }
    assert [d.line for d in walker.deferred] == [8, 9, 18]


def test_no_import_cycles() -> None:
    edges, _ = _walk_all()
    cycles = [_describe(_one_cycle(component, edges)) for component in _strongly_connected(edges)]
    assert not cycles, "import cycles (module (line of its import) -> ...):\n" + "\n".join(cycles)


def test_deferred_imports_say_why() -> None:
    _, deferred = _walk_all()
    listed = [f"{d.path}:{d.line}: {d.source}" for d in deferred]
    assert not listed, (
        f"imports inside functions without a `{MARKER} <reason>` comment "
        "(a cycle is not a reason: fix the layering):\n" + "\n".join(listed)
    )

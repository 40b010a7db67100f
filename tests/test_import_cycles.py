"""The import graph of cqrs_lab: no cycles, and a write side that never imports the read side.

Every ``import cqrs_lab...`` and ``from cqrs_lab... import`` counts, wherever it is written: at
the top of a module, inside a function, or under ``if TYPE_CHECKING:``. A function-level import
hides a cycle from Python until the function runs, and a type-checking one still ties two modules
together for a reader, so none of them is allowed to close a loop.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = "cqrs_lab"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

WRITE_SIDE = (
    "cqrs_lab.messages",
    "cqrs_lab.handlers",
    "cqrs_lab.command_bus",
    "cqrs_lab.query_bus",
    "cqrs_lab.event_store",
    "cqrs_lab.aggregate",
)
"""The modules a command passes through, from message to stored event."""

READ_SIDE = (
    "cqrs_lab.projection",
    "cqrs_lab.projector",
    "cqrs_lab.consistency",
    "cqrs_lab.lag",
    "cqrs_lab.read_your_writes",  # composes both sides, one layer above them
)
"""Modules the write side must not reach, nor anything inside the outer packages below."""

OUTER_PACKAGES = ("adapters", "examples", "exercises", "sim", "ui")

Graph = Mapping[str, frozenset[str]]


def module_names(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package by dotted name; a package is named by its ``__init__``."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(
    tree: ast.AST, module: str, is_package: bool, known: Iterable[str]
) -> set[str]:
    """The package's modules that ``module`` imports anywhere in ``tree``, at any depth."""
    modules = set(known)
    package = module if is_package else module.rpartition(".")[0]

    def resolve(name: str) -> str | None:
        # the module itself, or the nearest package above it: "cqrs_lab.x.Name" -> "cqrs_lab.x"
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import: climb from this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # "from cqrs_lab.adapters import sqlite_store" imports the submodule, when it is one
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                target = resolve(name)
                if target is not None and target != module:
                    found.add(target)
    return found


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, frozenset[str]]:
    """Each module of the package -> the package's modules it imports."""
    modules = module_names(package_dir)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = frozenset(imported_modules(tree, name, is_package, modules))
    return graph


def reachable(graph: Graph, start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others (not ``start`` itself unless
    a cycle leads back to it)."""
    seen: set[str] = set()
    queue = deque(graph.get(start, ()))
    while queue:
        node = queue.popleft()
        if node not in seen:
            seen.add(node)
            queue.extend(graph.get(node, ()))
    return seen


def shortest_path(graph: Graph, start: str, goal: str) -> list[str]:
    """The shortest chain of imports from ``start`` to ``goal`` (both included)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt not in previous:
                previous[nxt] = node
                if nxt == goal:
                    path = [goal]
                    while path[-1] != start or len(path) == 1:
                        path.append(previous[path[-1]])
                    return path[::-1]
                queue.append(nxt)
    raise AssertionError(f"no path from {start} to {goal}")


def cycles(graph: Graph) -> list[list[str]]:
    """One shortest cycle per group of modules that import each other, e.g. [a, b, a]."""
    reach = {node: reachable(graph, node) for node in graph}
    found: list[list[str]] = []
    covered: set[str] = set()
    for node in sorted(graph):
        if node in reach[node] and node not in covered:
            group = {other for other in reach[node] if node in reach[other]}
            covered |= group
            found.append(shortest_path(graph, node, node))
    return found


# -- the checks ---------------------------------------------------------------------------------


def test_cqrs_lab_has_no_import_cycles_counting_function_and_type_checking_imports() -> None:
    found = cycles(import_graph())

    assert found == [], "import cycles in cqrs_lab:\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_the_write_side_never_imports_the_read_side_or_the_outer_layers() -> None:
    graph = import_graph()
    outer = tuple(f"{PACKAGE}.{name}" for name in OUTER_PACKAGES)

    def forbidden(name: str) -> bool:
        return name in READ_SIDE or name.startswith(outer)

    offences = []
    for module in WRITE_SIDE:
        for target in sorted(filter(forbidden, reachable(graph, module))):
            chain = shortest_path(graph, module, target)
            if not any(forbidden(step) for step in chain[:-1]):  # the first one reached says it
                offences.append(" -> ".join(chain))

    assert offences == [], "the write side imports what it must not:\n" + "\n".join(offences)


def test_the_write_side_modules_all_exist() -> None:
    # a renamed module would otherwise make the check above pass by checking nothing
    assert set(WRITE_SIDE) <= set(import_graph())


# -- the checks can fail ------------------------------------------------------------------------


def test_imports_inside_functions_and_type_checking_blocks_are_counted() -> None:
    source = """
from typing import TYPE_CHECKING
import json
from cqrs_lab.errors import CqrsLabError
if TYPE_CHECKING:
    from cqrs_lab.lag import LagReport
def late() -> None:
    import cqrs_lab.projector
    from . import clock
    from .adapters import sqlite_store
"""
    known = [
        "cqrs_lab",
        "cqrs_lab.errors",
        "cqrs_lab.lag",
        "cqrs_lab.projector",
        "cqrs_lab.clock",
        "cqrs_lab.adapters",
        "cqrs_lab.adapters.sqlite_store",
        "cqrs_lab.here",
    ]

    found = imported_modules(ast.parse(source), "cqrs_lab.here", False, known)

    assert found == {
        "cqrs_lab.errors",
        "cqrs_lab.lag",
        "cqrs_lab.projector",
        "cqrs_lab.clock",
        "cqrs_lab.adapters.sqlite_store",
    }


def test_a_name_imported_from_a_package_counts_as_importing_the_package() -> None:
    known = ["cqrs_lab", "cqrs_lab.errors", "cqrs_lab.sub", "cqrs_lab.sub.inner"]
    source = "from cqrs_lab import CqrsLabError\nfrom .. import errors\nfrom . import inner\n"

    found = imported_modules(ast.parse(source), "cqrs_lab.sub.leaf", False, known)

    assert found == {"cqrs_lab", "cqrs_lab.errors", "cqrs_lab.sub.inner"}


def test_a_cycle_is_reported_as_the_chain_of_imports_that_closes_it() -> None:
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a", "d"}),
        "d": frozenset(),
        "e": frozenset({"e2"}),
        "e2": frozenset({"e"}),
    }

    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []

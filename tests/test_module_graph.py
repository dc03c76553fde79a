"""The module graph: no cycles, and no module imports from a layer above.

Module-level imports between jinit's modules (those under
``typing.TYPE_CHECKING`` excluded) must form a directed acyclic graph, and
the core (every module but the registry, ``jinit.cli``, ``jinit.schemes``,
``jinit.diagnostics`` and the framework adapters) imports none of those, nor
the package itself.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jinit"
# What the core may not import: the registry of every initializer, the
# schemes, the diagnostics, the command line and the framework adapters.
UPPER = (
    "jinit._registry",
    "jinit.cli",
    "jinit.schemes",
    "jinit.diagnostics",
    "jinit.flax",
    "jinit.haiku",
    "jinit.equinox",
    "jinit.keras",
)


def _module(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, known: set[str]) -> set[str]:
    found = set()
    for node in tree.body:  # Module level only: no TYPE_CHECKING blocks.
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from jinit import _keys`` imports the module jinit._keys;
            # ``from jinit import __version__`` the package itself.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        found.update(name for name in names if name in known)
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {_module(path) for path in paths}
    return {
        _module(path): _imports(ast.parse(path.read_text()), known)
        - {_module(path)}
        for path in paths
    }


def test_the_graph_has_no_cycles():
    edges = graph()
    done: set[str] = set()

    def visit(module: str, stack: tuple[str, ...]) -> None:
        assert module not in stack, " -> ".join((*stack, module))
        if module in done:
            return
        for imported in edges[module]:
            visit(imported, (*stack, module))
        done.add(module)

    for module in edges:
        visit(module, ())


@pytest.mark.parametrize(
    "module",
    sorted(
        name
        for name in graph()
        if name != "jinit"
        and not name.startswith(UPPER)
        and name != "jinit.__main__"
    ),
)
def test_the_core_imports_nothing_above_it(module):
    upward = {
        name
        for name in graph()[module]
        if name == "jinit" or name.startswith(UPPER)
    }
    assert not upward, f"{module} imports {sorted(upward)}"

"""The command line builds on the public API only.

Every import in a module under ``jinit/cli`` (at any depth, functions'
included) that names a jinit module must name a public one (no part of its
dotted name starts with ``_``) or one of ``jinit.cli``'s own modules, and
may import no private name (one starting with ``_``, dunder names such as
``__version__`` apart) from it. Parsed with ``ast``, as
tests/test_module_graph.py does.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jinit"
CLI = PACKAGE / "cli"


def _private(name: str) -> bool:
    return name.startswith("_") and not (
        name.startswith("__") and name.endswith("__")
    )


def _module(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module ``from ... import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_imports(source: str, importer: str, is_package: bool) -> list[str]:
    """The imports in ``source`` that reach into jinit's private parts.

    ``source`` is that of the module ``importer`` (a package's
    ``__init__.py`` where ``is_package``).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, importer, is_package)
            imported = [(module, alias.name) for alias in node.names]
        else:
            continue
        for module, name in imported:
            if module != "jinit" and not module.startswith("jinit."):
                continue
            if module == "jinit.cli" or module.startswith("jinit.cli."):
                continue  # The command line's own modules.
            if any(map(_private, module.split("."))) or (
                name is not None and _private(name)
            ):
                what = module if name is None else f"{name} from {module}"
                found.append(f"line {node.lineno}: {what}")
    return found


@pytest.mark.parametrize(
    "path", sorted(CLI.rglob("*.py")), ids=lambda path: path.name
)
def test_the_command_line_imports_only_public_jinit(path):
    found = private_imports(
        path.read_text(encoding="utf-8"),
        _module(path),
        path.name == "__init__.py",
    )
    assert not found, f"{path.name} imports private jinit: {found}"


def test_the_check_finds_private_imports():
    # It can fail: each import but the last two reaches into jinit's
    # private parts, at module level or in a function.
    source = "\n".join(
        [
            "import jinit._draws",
            "from jinit._contract import Fill",
            "from jinit import _registry",
            "from jinit.typing import _private",
            "from .. import _shapes",
            "def late():",
            "    from jinit._variance_scaling import denominator",
            "from jinit import get, __version__",
            "from jinit.cli._catalogue import FACTORIES",
        ]
    )
    found = private_imports(source, "jinit.cli._probe", is_package=False)
    assert [line.split(": ", 1)[1] for line in found] == [
        "jinit._draws",
        "Fill from jinit._contract",
        "_registry from jinit",
        "_private from jinit.typing",
        "_shapes from jinit",
        "denominator from jinit._variance_scaling",
    ]

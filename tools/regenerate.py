"""Rewrites what is derived from jinit's code: ``python tools/regenerate.py``.

Adding an initializer is four hand edits: its module (the factory, with its
``About``), its case in ``tests/registry.py``, an entry in CHANGELOG.md, and
its import in ``jinit/__init__.py`` (in ``jinit/schemes/__init__.py`` for a
scheme). This command writes the rest from the code, and
``tests/test_regenerated.py`` fails while any of it is stale:

* ``__all__`` of ``jinit/schemes/__init__.py`` and of ``jinit/__init__.py``:
  the public names each imports, the latter importing every scheme;
* ``ALL`` and ``SIGNATURES`` of ``tests/test_public_api.py``, the pinned
  public API (review their diff: it is the change of the API);
* the ``::: jinit.name`` entries of each page of the API reference
  (``docs/api/*.md``), by the module that defines each name (:data:`PAGES`),
  and the names in the table of ``docs/api/index.md``;
* the table of initializers of ``docs/semantics.md``
  (:mod:`jinit.cli._catalogue`).

``--check`` writes nothing and exits with status 1, naming the stale files.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # Run as a script: import this checkout.
    sys.path.insert(0, str(ROOT))

import jinit  # noqa: E402

INIT = ROOT / "jinit" / "__init__.py"
SCHEMES_INIT = ROOT / "jinit" / "schemes" / "__init__.py"
PUBLIC_API = ROOT / "tests" / "test_public_api.py"
API = ROOT / "docs" / "api"
# Each page of the API reference, and the modules whose public names it
# documents, in this order (each module's names in the order it defines
# them). A new module of public names gets a line here.
PAGES: dict[str, tuple[str, ...]] = {
    "constants.md": ("jinit._constants",),
    "distributions.md": ("jinit._distributions",),
    "variance-scaling.md": ("jinit._variance_scaling", "jinit._presets"),
    "structured.md": (
        "jinit._orthogonal",
        "jinit._structured",
        "jinit._fourier",
    ),
    "residual.md": ("jinit.schemes._residual", "jinit.schemes._zer_o"),
    "width.md": ("jinit.schemes._width", "jinit.schemes._mup"),
    "sequence.md": (
        "jinit.schemes._state_space",
        "jinit.schemes._siren",
        "jinit.schemes._mimetic",
    ),
    "lsuv.md": ("jinit.schemes._lsuv",),
    "diagnostics.md": (
        "jinit.diagnostics._diagnose",
        "jinit.diagnostics._coord_check",
    ),
    "gains-and-fans.md": ("jinit._gains", "jinit._shapes"),
    "whole-models.md": ("jinit._trees", "jinit._keys", "jinit._ensemble"),
    "contract.md": ("jinit._contract",),
    "registry.md": ("jinit._registry",),
}
# What the index's table says of a page besides its names.
INDEX_EXTRA = {
    "contract.md": "; `jinit.typing`: the choice types (`Mode`, "
    "`Distribution`, `Axes`, …) and `Call`, `Affine`, `Fill`, `Unit`, "
    "`Factory`, `About`",
}
ENTRIES_START = "<!-- entries:start (python tools/regenerate.py) -->"
ENTRIES_END = "<!-- entries:end -->"
INDEX_START = "<!-- pages:start (python tools/regenerate.py) -->"
INDEX_END = "<!-- pages:end -->"


def imported_names(source: str) -> list[str]:
    """The public names the module ``source`` imports, sorted.

    Those of ``from jinit.x import ...`` statements; ``from jinit import``
    brings modules (``jinit.typing``), which are not in ``__all__``.
    """
    return sorted(
        name
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom) and node.module != "jinit"
        for alias in node.names
        if not (name := alias.asname or alias.name).startswith("_")
    )


def public_names() -> list[str]:
    """The public names of ``jinit``, as :func:`init_module` writes them."""
    return imported_names(init_module(INIT.read_text(encoding="utf-8")))


def _replace_assignment(source: str, target: str, value: str) -> str:
    """``source`` with the statement assigning ``target`` rewritten."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(name, ast.Name) and name.id == target
            for name in node.targets
        ):
            lines = source.splitlines(keepends=True)
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            return "".join(
                [*lines[:start], f"{target} = {value}\n", *lines[end:]]
            )
    raise ValueError(f"no assignment of {target} at the top level")


def _list(names: Sequence[str]) -> str:
    return "[\n" + "".join(f'    "{name}",\n' for name in names) + "]"


def _replace_import(source: str, module: str, names: Sequence[str]) -> str:
    """``source`` with its ``from module import ...`` statement rewritten."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module == module:
            lines = source.splitlines(keepends=True)
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            names_ = "".join(f"    {name},\n" for name in names)
            statement = f"from {module} import (\n{names_})\n"
            return "".join([*lines[:start], statement, *lines[end:]])
    raise ValueError(f"no import from {module} at the top level")


def schemes_module(source: str) -> str:
    """``jinit/schemes/__init__.py`` with its ``__all__`` written out."""
    return _replace_assignment(source, "__all__", _list(imported_names(source)))


def init_module(source: str) -> str:
    """``jinit/__init__.py`` importing every scheme, ``__all__`` written out."""
    schemes = imported_names(SCHEMES_INIT.read_text(encoding="utf-8"))
    source = _replace_import(source, "jinit.schemes", schemes)
    return _replace_assignment(source, "__all__", _list(imported_names(source)))


def public_api(source: str) -> str:
    """``tests/test_public_api.py`` with ``ALL`` and ``SIGNATURES`` pinned."""
    names = public_names()
    signatures = "".join(
        f'    "{name}": {json.dumps(str(inspect.signature(value)))},\n'
        for name in names
        if callable(value := getattr(jinit, name))
    )
    source = _replace_assignment(source, "ALL", _list(names))
    return _replace_assignment(source, "SIGNATURES", "{\n" + signatures + "}")


def _defined_at(name: str) -> tuple[str, int]:
    """The module defining the public ``name``, and the line."""
    value = inspect.unwrap(getattr(jinit, name))
    try:
        line = inspect.getsourcelines(value)[1]
    except (OSError, TypeError):
        line = 0
    return value.__module__, line


def page_names() -> dict[str, list[str]]:
    """The public names of each page of the API reference, in order."""
    where = {name: _defined_at(name) for name in public_names()}
    pages: dict[str, list[str]] = {}
    for page, modules in PAGES.items():
        pages[page] = sorted(
            (name for name in where if where[name][0] in modules),
            key=lambda name: (modules.index(where[name][0]), where[name][1]),
        )
    placed = {name for names in pages.values() for name in names}
    if unplaced := sorted(set(where) - placed):
        raise ValueError(
            f"no page of the API reference documents {unplaced}: add their "
            "modules to tools/regenerate.py's PAGES."
        )
    return pages


def _between(text: str, start: str, end: str, inner: str, path: Path) -> str:
    try:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"{path} lacks {start} ... {end}") from None
    return f"{head}{start}\n{inner}{end}{tail}"


def api_page(page: str, names: Sequence[str]) -> Callable[[str], str]:
    def rewrite(text: str) -> str:
        entries = "".join(f"::: jinit.{name}\n\n" for name in names)
        return _between(text, ENTRIES_START, ENTRIES_END, entries, API / page)

    return rewrite


def api_index(pages: dict[str, list[str]]) -> Callable[[str], str]:
    def rewrite(text: str) -> str:
        rows = []
        for page, names in pages.items():
            title = (API / page).read_text(encoding="utf-8").split("\n")[0]
            listed = ", ".join(f"`{name}`" for name in names)
            rows.append(
                f"| [{title.removeprefix('# ')}]({page}) | "
                f"{listed}{INDEX_EXTRA.get(page, '')} |\n"
            )
        return _between(
            text, INDEX_START, INDEX_END, "".join(rows), API / "index.md"
        )

    return rewrite


# The package's own modules, rewritten from their source alone, first: the
# other files are written from the package as a fresh process imports it.
SOURCES: list[tuple[Path, Callable[[str], str]]] = [
    (SCHEMES_INIT, schemes_module),
    (INIT, init_module),
]


def rewrites() -> list[tuple[Path, Callable[[str], str]]]:
    """Each file derived from the imported package, and its rewrite."""
    from jinit.cli import _catalogue

    pages = page_names()
    return [
        (PUBLIC_API, public_api),
        *((API / page, api_page(page, names)) for page, names in pages.items()),
        (API / "index.md", api_index(pages)),
        (ROOT / _catalogue.TABLE_PAGE, _catalogue.with_table),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; list stale files"
    )
    check = parser.parse_args(argv).check
    stale = _apply(SOURCES, check)
    if stale and not check:
        print(f"rewrote: {', '.join(stale)}")
        # The imported package predates them: the rest in a fresh process.
        subprocess.run([sys.executable, __file__], check=True)
        return 0
    stale += _apply(rewrites(), check)
    verb = "stale" if check else "rewrote"
    print(f"{verb}: {', '.join(stale)}" if stale else "up to date")
    return 1 if check and stale else 0


def _apply(
    files: Sequence[tuple[Path, Callable[[str], str]]], check: bool
) -> list[str]:
    """The files that ``files``' rewrites change, rewritten unless ``check``."""
    stale = []
    for path, rewrite in files:
        text = path.read_text(encoding="utf-8")
        updated = rewrite(text)
        if updated != text:
            stale.append(path.relative_to(ROOT).as_posix())
            if not check:
                path.write_text(updated, encoding="utf-8")
    return stale


if __name__ == "__main__":
    sys.exit(main())

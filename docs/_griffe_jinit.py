"""Griffe extension of the API reference (mkdocstrings' ``extensions:``).

Griffe reads the source without running it, which misses one thing of
jinit that only exists at run time, and the docstrings speak reST roles
where mkdocstrings reads Markdown:

- A function decorated with ``@factory(...)`` returns a draw closure or an
  ``Elementwise`` law, but the factory the decorator makes returns a
  ``ConfiguredInitializer`` (as type checkers see it too): the return
  annotation shown is the factory's (``inspect.signature`` of the object
  ``jinit`` exports).
- ``:func:`jinit.x``` and the like become links where the target is in the
  reference (plain code elsewhere); a reST ``::`` before a literal block
  becomes ``:``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from typing import Any

import griffe

PACKAGE = "jinit"
ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):"
    r"`(?P<short>~?)(?P<target>[^`]+)`"
)
LITERAL_BLOCK = re.compile(r"(?<=\S)::$", flags=re.MULTILINE)


def _modules(module: griffe.Module) -> Iterator[griffe.Module]:
    yield module
    for member in module.modules.values():
        if not member.is_alias:
            yield from _modules(member)  # type: ignore[arg-type]


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


def _is_factory(value: Any) -> bool:
    """Whether ``value`` is a factory made by ``jinit._contract.factory``."""
    return (
        callable(value)
        and hasattr(value, "about")
        and "__signature__" in getattr(value, "__dict__", {})
    )


def _annotation(annotation: Any, scope: griffe.Module) -> Any:
    """A griffe expression of a run-time annotation (a string here)."""
    if annotation is inspect.Parameter.empty:
        return None
    if not isinstance(annotation, str):
        annotation = inspect.formatannotation(annotation)
    return griffe.safe_get_annotation(
        ast.parse(annotation, mode="eval").body, scope
    )


def _markdown(text: str, obj: griffe.Object) -> str:
    """``text`` with its reST roles and literal-block markers as Markdown."""

    def link(match: re.Match[str]) -> str:
        target = match["target"]
        try:
            identifier = obj.resolve(target)
        except (griffe.NameResolutionError, ValueError):
            identifier = target
        shown = target.rsplit(".", 1)[-1] if match["short"] else target
        return (
            f'<autoref identifier="{identifier}" optional>'
            f"<code>{shown}</code></autoref>"
        )

    return LITERAL_BLOCK.sub(":", ROLE.sub(link, text))


class JinitDocs(griffe.Extension):
    """The run-time factories, and Markdown docstrings, for the reference."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != PACKAGE:
            return
        # Every factory jinit exports is in a module that `import jinit`
        # loads (the framework adapters, which import their framework, hold
        # none, so the site builds without the frameworks).
        importlib.import_module(PACKAGE)
        for module in _modules(pkg):
            runtime = sys.modules.get(module.path)
            if runtime is None:
                continue
            for name, member in list(module.members.items()):
                value = getattr(runtime, name, None)
                if (
                    not member.is_alias
                    and member.is_function
                    and _is_factory(value)
                ):
                    returns = inspect.signature(value).return_annotation
                    member.returns = _annotation(returns, pkg)
        for obj in _objects(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _markdown(obj.docstring.value, obj)

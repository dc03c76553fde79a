"""The catalogue printed by ``python -m jinit``, and the docs' table.

The catalogue draws every initializer at a default shape, with its target mean
and standard deviation beside the measured ones; the table of initializers of
the documentation (``docs/semantics.md``) lists them. Both read from each
factory's signature, ``about`` (:class:`jinit.typing.About`) and law: no
formula is written here. Like all of :mod:`jinit.cli`, this module uses
jinit's public API only, but for the registry's order of the factories.

``python -m jinit.cli._catalogue [docs/semantics.md]`` rewrites that table.
"""

from __future__ import annotations

import inspect
import math
import sys
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

import jinit
from jinit.typing import About, Affine, Factory, Family, Fill

DEFAULT_SHAPE = (256, 128)
# The dtype the numbers of a law are taken in for its target moments.
MOMENTS_DTYPE = np.dtype(np.float64)
# The page holding the table of initializers, from the repository's root.
TABLE_PAGE = "docs/semantics.md"
TABLE_START = "<!-- initializers:start -->"
TABLE_END = "<!-- initializers:end -->"
TABLE_HEADER = (
    "| factory (Keras name) | defaults | law of `W` |",
    "|---|---|---|",
)


def _registered() -> dict[str, Factory[...]]:
    """Every public factory with an :class:`~jinit.typing.About`, by name.

    By family (in the order of :data:`jinit.typing.Family`), then by
    module name, then in the order each module defines them, as the
    registry orders them.
    """
    families = typing.get_args(Family)
    public = [getattr(jinit, name) for name in jinit.__all__]
    found = [
        factory
        for factory in public
        if isinstance(getattr(factory, "about", None), About)
    ]
    found.sort(
        key=lambda f: (
            families.index(f.about.family),
            f.__module__,
            typing.cast(
                types.FunctionType, inspect.unwrap(f)
            ).__code__.co_firstlineno,
        )
    )
    return {factory.__name__: factory for factory in found}


# Every factory of the catalogue, by name, in the registry's order.
FACTORIES: dict[str, Factory[...]] = _registered()


def camel_case(name: str) -> str:
    """The spec's (Keras) class name of a factory.

    Examples:
      >>> camel_case("he_normal")
      'HeNormal'
    """
    return "".join(part.capitalize() for part in name.split("_"))


def about_named(name: str) -> About:
    """What is said of the factory ``name`` (its ``about``).

    Raises:
      KeyError: ``name`` is not the name of a factory of the catalogue.
    """
    about = FACTORIES[name].about
    assert about is not None  # FACTORIES holds the factories with one.
    return about


def about_of(init: jinit.ConfiguredInitializer) -> About:
    """What is said of the initializer ``init`` (its factory's ``about``)."""
    return about_named(init.name)


# The example shape of the initializers of convolution kernels.
KERNEL_SHAPE = about_named("convolution_orthogonal").shape


def example(name: str) -> tuple[jinit.ConfiguredInitializer, tuple[int, ...]]:
    """The initializer ``name`` with its example arguments, and its shape.

    The shape is the one the catalogue draws it at.
    """
    about = about_named(name)
    return FACTORIES[name](**about.example), about.shape or DEFAULT_SHAPE


def law_moments(law: Affine | Fill) -> tuple[float, float]:
    """The mean and standard deviation of an elementwise law.

    The law is ``scale * unit + shift``, whose unit gives its moments, or a
    constant.
    """
    if isinstance(law, Fill):
        return float(law.value), 0.0
    mean, variance = law.unit.moments(law.bounds)
    std = math.sqrt(variance)
    scale = 1.0 if law.scale is None else law.scale
    return mean * scale + (law.shift or 0.0), std * abs(scale)


def target_moments(
    init: jinit.ConfiguredInitializer, shape: Sequence[int]
) -> tuple[float, float]:
    """The mean and standard deviation of ``init``'s law at ``shape``.

    From its elementwise law, else from its ``about.moments``.

    Raises:
      ValueError: ``init`` has neither.
    """
    shape = tuple(shape)
    law = init.law(shape, MOMENTS_DTYPE)
    if law is not None:
        return law_moments(law)
    moments = about_of(init).moments
    if moments is None:
        raise ValueError(
            f"`{init.name}` has no elementwise law at shape {shape} and its "
            "About gives no `moments`; give it moments=(config, shape) -> "
            "(mean, std)."
        )
    return moments(init.get_config(), shape)


NAME_WIDTH = max(map(len, FACTORIES)) + 2


def catalogue(
    shape: Sequence[int] = DEFAULT_SHAPE, dtype: str = "float32", seed: int = 0
) -> str:
    """A table of every initializer drawn at ``shape`` and ``dtype``.

    An initializer with its own example shape is drawn at that shape.
    """
    header = (
        f"{'initializer':<{NAME_WIDTH}}{'target std':>11}{'std':>11}"
        f"{'target mean':>12}{'mean':>11}{'min':>11}{'max':>11}  law"
    )
    title = (
        f"jinit {jinit.__version__} (jax {jax.__version__}): every initializer "
        f"drawn at shape {tuple(shape)} (kernels at {KERNEL_SHAPE}), "
        f"{dtype}, key jax.random.key({seed})"
    )
    lines = [title, header, "-" * len(header)]
    key = jax.random.key(seed)
    for name in FACTORIES:
        about = about_named(name)
        init, drawn_at = FACTORIES[name](**about.example), about.shape or shape
        # Measured on the host, in float64: a jax.numpy reduction would
        # compile a program for each new shape.
        values = np.asarray(init(key, drawn_at, dtype)).astype(np.float64)
        mean, std = target_moments(init, drawn_at)
        lines.append(
            f"{name:<{NAME_WIDTH}}{std:>11.5f}{values.std():>11.5f}"
            f"{mean:>12.5f}{values.mean():>11.5f}"
            f"{values.min():>11.5f}{values.max():>11.5f}"
            f"  {about.formula}"
        )
    return "\n".join(lines)


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _arguments(parameters: Iterable[inspect.Parameter]) -> str:
    return ", ".join(
        p.name if p.default is p.empty else f"{p.name}={_literal(p.default)}"
        for p in parameters
    )


def table_row(name: str, build: Factory[...]) -> str:
    """The row of one factory in the table of initializers.

    Its signature (the keyword-only arguments apart, ``dtype`` left out), its
    Keras name and its law.

    Examples:
      >>> import jinit
      >>> print(table_row("he_normal", jinit.he_normal))  # doctest: +ELLIPSIS
      | `he_normal(seed=None)` (`HeNormal`) | `in_axis=-2, ...
    """
    about = about_named(build.__name__)
    parameters = inspect.signature(build).parameters.values()
    leading = [p for p in parameters if p.kind is not p.KEYWORD_ONLY]
    keywords = [
        p for p in parameters if p.kind is p.KEYWORD_ONLY and p.name != "dtype"
    ]
    factory = f"`{name}({_arguments(leading)})`"
    if about.keras:
        factory += f" (`{camel_case(name)}`)"
    law = about.details or about.formula
    if about.reference:
        law += f" ({about.reference})"
    cells = (factory, f"`{_arguments(keywords)}`" if keywords else "", law)
    escaped = [cell.replace("|", r"\|") for cell in cells]
    return f"| {' | '.join(escaped)} |"


def initializer_table() -> str:
    """The table of every initializer, in the registry's order."""
    return "\n".join(
        [
            *TABLE_HEADER,
            *(table_row(name, build) for name, build in FACTORIES.items()),
        ]
    )


def with_table(page: str) -> str:
    """``page`` with :func:`initializer_table` between its markers.

    The markers are ``<!-- initializers:start -->`` and
    ``<!-- initializers:end -->``.

    Raises:
      ValueError: ``page`` lacks the markers.
    """
    before, start, rest = page.partition(TABLE_START)
    _, end, after = rest.partition(TABLE_END)
    if not (start and end):
        raise ValueError(
            f"the page has no {TABLE_START} ... {TABLE_END} "
            "lines to put the table of initializers between."
        )
    return (
        f"{before}{TABLE_START}\n\n{initializer_table()}\n\n{TABLE_END}{after}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrites the table of initializers of a page of the docs.

    The page is ``argv[0]``, by default ``docs/semantics.md``.
    """
    path = Path([*(sys.argv[1:] if argv is None else argv), TABLE_PAGE][0])
    text = path.read_text(encoding="utf-8")
    updated = with_table(text)
    if updated == text:
        print(f"{path}: the table of initializers is up to date")
    else:
        path.write_text(updated, encoding="utf-8")
        print(f"{path}: wrote the table of initializers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What is said of each initializer, kept next to its code.

Every registered factory carries an :class:`About` (``factory.about``, from
``@factory(..., about=About(...))``): the registry, the catalogue of
``python -m jinit``, the command line and the table of initializers of the
docs (``docs/semantics.md``) read it from there. Its target moments come
from its law (:meth:`jinit.ConfiguredInitializer.law`), not from a table;
only an initializer whose entries have no common law says how to compute
them.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from jinit._contract import ConfiguredInitializer

Family = Literal[
    "constant", "distribution", "variance scaling", "structured", "scheme"
]
# The kinds of initializer, in the order the registry lists them.
FAMILIES: tuple[Family, ...] = typing.get_args(Family)

# The example shape of the initializers of convolution kernels.
KERNEL_SHAPE = (3, 3, 64, 64)


class NoJaxEquivalent(str):
    """Why a configuration has no ``jax.nn.initializers`` equivalent.

    The text says it (``"mean != 0.0"``); the attributes say it to a
    program, such as the command line, which suggests the setting that has
    one.

    Attributes:
      argument: the argument whose value ``jax.nn.initializers`` cannot
        express.
      needed: the value it would need for there to be one.
      why: what more there is to say, or ``""``.
    """

    argument: str
    needed: object
    why: str

    def __new__(
        cls, argument: str, needed: object, why: str = ""
    ) -> NoJaxEquivalent:
        made = super().__new__(
            cls, f"{argument} != {needed!r}" + (f", as {why}" if why else "")
        )
        made.argument, made.needed, made.why = argument, needed, why
        return made


# jax_equivalent(config): the ``jax.nn.initializers`` initializer meaning the
# same, or why this config has none.
JaxEquivalent = Callable[
    [Mapping[str, Any]], Callable[..., Any] | NoJaxEquivalent
]
# moments(config, shape): the target (mean, std) of the entries at shape.
Moments = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class About:
    """What the registry, catalogue, command line and docs say of a factory.

    Attributes:
      family: its kind, one of :data:`FAMILIES`.
      formula: its law in one line of plain text (``jinit list``, the
        catalogue).
      details: its law as the docs' table of initializers gives it, in
        Markdown (default: ``formula``).
      reference: a short citation (``"He et al. 2015"``), or ``""``.
      keras: whether Keras 3 has it, named the CamelCase of its name.
      example: arguments for its required ones, as the catalogue and the
        command line build it.
      shape: the shape it is drawn at there, where the default 2-D one does
        not fit (``KERNEL_SHAPE`` for convolution kernels).
      fixed: the arguments of the general initializer that this one fixes
        (a preset's ``scale``, ``mode`` and ``distribution``); ``jax`` and
        the command line's fans read ``{**fixed, **config}``.
      jax: ``jax(config)``, the ``jax.nn.initializers`` initializer that
        means the same, or a :class:`NoJaxEquivalent` saying why ``config``
        has none; ``None`` where there is none at all.
      moments: ``moments(config, shape)``, the target mean and standard
        deviation, for the initializers whose law at ``shape`` is not
        elementwise (``init.law`` is ``None``); the others' come from the
        law.
      normal_approximation: whether the entries are approximately normal
        with those moments (orthogonal's), so that ``jinit show`` draws
        that density.
    """

    family: Family
    formula: str
    details: str = ""
    reference: str = ""
    keras: bool = False
    example: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    shape: tuple[int, ...] | None = None
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    jax: JaxEquivalent | None = None
    moments: Moments | None = None
    normal_approximation: bool = False

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"`family` must be one of {', '.join(map(repr, FAMILIES))}; "
                f"got {self.family!r}."
            )
        if "\n" in self.formula:
            raise ValueError(
                f"`formula` must be one line; got {self.formula!r}."
            )


class Described(Protocol):
    """A factory of the registry: one with an :class:`About`."""

    about: About
    __name__: str

    def __call__(self, *args: Any, **kwargs: Any) -> ConfiguredInitializer: ...


def described(value: object) -> Described | None:
    """``value`` if it is a factory with an :class:`About`, else ``None``."""
    about = getattr(value, "about", None)
    return typing.cast(Described, value) if isinstance(about, About) else None

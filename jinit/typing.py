"""Types of jinit's arguments and results, for annotating code that uses it.

The choices an argument takes are ``Literal`` types, so a type checker
refuses a misspelt one, and they can annotate your own code::

    import jinit
    from jinit.typing import Mode

    def kernel_init(mode: Mode = "fan_in") -> jinit.ConfiguredInitializer:
        return jinit.variance_scaling(2.0, mode, "truncated_normal")

The classes are what :meth:`jinit.ConfiguredInitializer.prepare` and
:meth:`jinit.ConfiguredInitializer.law` return, what a factory is, and
what it says of itself (its ``about``).
"""

from jinit._about import About, Family, NoJaxEquivalent
from jinit._choices import (
    Axes,
    Component,
    Distribution,
    Framework,
    HippoPart,
    MimeticDistribution,
    Mode,
    Nonlinearity,
    NplrPart,
    Optimizer,
    OtherAxes,
    Parametrization,
    ResidualDistribution,
    Rounding,
    S4dInit,
    S4dPart,
    Scaling,
    Side,
    Stack,
    UnitGain,
    VoProduct,
)
from jinit._contract import Factory
from jinit._draws import Affine, Unit
from jinit._plan import Call, Fill, Shape

__all__ = [
    "About",
    "Affine",
    "Axes",
    "Call",
    "Component",
    "Distribution",
    "Factory",
    "Family",
    "Fill",
    "Framework",
    "HippoPart",
    "MimeticDistribution",
    "Mode",
    "NoJaxEquivalent",
    "Nonlinearity",
    "NplrPart",
    "Optimizer",
    "OtherAxes",
    "Parametrization",
    "ResidualDistribution",
    "Rounding",
    "S4dInit",
    "S4dPart",
    "Scaling",
    "Shape",
    "Side",
    "Stack",
    "Unit",
    "UnitGain",
    "VoProduct",
]

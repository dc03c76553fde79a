"""Gains of nonlinearities for the orthogonal and variance-scaling laws."""

from __future__ import annotations

import math
import typing

from jinit import _validation
from jinit._choices import Nonlinearity, UnitGain

UNIT_GAIN: tuple[UnitGain, ...] = typing.get_args(UnitGain)
NONLINEARITIES: tuple[Nonlinearity, ...] = typing.get_args(Nonlinearity)


def calculate_gain(
    nonlinearity: Nonlinearity, param: float | None = None
) -> float:
    """The recommended gain for a nonlinearity, as in ``torch.nn.init``.

    ======================  ====================================
    nonlinearity            gain
    ======================  ====================================
    linear, conv*, sigmoid  1
    tanh                    5/3
    relu                    sqrt(2)
    leaky_relu              sqrt(2 / (1 + negative_slope**2))
    selu                    3/4
    ======================  ====================================

    ``leaky_relu``'s negative slope is ``param`` (default 0.01). Use it as
    ``orthogonal(gain=calculate_gain("tanh"))``, or with
    ``variance_scaling(scale=calculate_gain("leaky_relu", 0.2) ** 2)`` for a
    Kaiming initialization for leaky ReLU.

    Args:
      nonlinearity: one of the names in the table.
      param: the negative slope of ``leaky_relu``; must be None otherwise.

    Returns:
      The gain, a float.

    Raises:
      ValueError: an unknown nonlinearity, or ``param`` given for one that
        takes none.
      TypeError: ``param`` is not a real number.

    Examples:
      >>> import jinit
      >>> jinit.calculate_gain("tanh")
      1.6666666666666667
      >>> round(jinit.calculate_gain("leaky_relu", 0.2), 5)
      1.38675

    References:
      PyTorch, ``torch.nn.init.calculate_gain``. SELU: Klambauer et al.
      (2017), https://arxiv.org/abs/1706.02515.
    """
    _validation.check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity == "leaky_relu":
        slope = (
            0.01 if param is None else _validation.check_real("param", param)
        )
        return math.sqrt(2.0 / (1 + slope**2))
    if param is not None:
        raise ValueError(
            f"`param` is only used by 'leaky_relu'; got "
            f"param={param!r} for {nonlinearity!r}."
        )
    if nonlinearity in UNIT_GAIN:
        return 1.0
    return {"tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}[
        nonlinearity
    ]

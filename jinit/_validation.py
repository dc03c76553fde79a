"""Argument checks shared by every factory, run once at factory time.

Each check returns the canonical Python value it accepted, or raises a
``ValueError``/``TypeError`` whose message names the argument, shows the value
received and says what is allowed.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


def check_scalar(name: str, value: Any) -> Any:
    """Returns ``value`` as a plain Python number.

    That is a bool, int, float or complex.

    NumPy scalars and concrete 0-d arrays (NumPy or JAX) are unwrapped with
    ``.item()``; traced values and anything else raise ``TypeError``.
    """
    if isinstance(value, numbers.Number):
        return value.item() if isinstance(value, np.generic) else value
    if getattr(value, "shape", None) == ():
        try:
            return value.item()
        except Exception as error:  # A tracer cannot be made concrete.
            raise TypeError(
                f"`{name}` must be a concrete number known when the "
                f"initializer is built, not a traced value; got {value!r}."
            ) from error
    raise TypeError(
        f"`{name}` must be a number; got {type(value).__name__} {value!r}."
    )


# Counts (layers, widths, groups, members) are dimensions or multiply them:
# XLA's dimensions are int64.
COUNT_LIMIT = 2**63


def shown(value: object) -> str:
    """``repr(value)``, shortening an int of more than 20 digits to its size.

    ``10**400`` would print 401 digits.
    """
    if isinstance(value, numbers.Integral) and abs(int(value)) >= 10**20:
        return f"an int of {len(str(abs(int(value))))} digits"
    return repr(value)


def check_real(name: str, value: Any) -> float:
    """Returns ``value`` as a finite Python float."""
    value = check_scalar(name, value)
    if isinstance(value, (bool, complex)):
        raise TypeError(
            f"`{name}` must be a real number; got "
            f"{type(value).__name__} {value!r}."
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(
            f"`{name}` must be finite; got {shown(value)}. Real arguments "
            f"are at most {sys.float_info.max:.6g} in magnitude (float64)."
        )
    return number


def check_nonnegative(name: str, value: object) -> float:
    """Returns ``value`` as a finite float ``>= 0``."""
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0; got {value!r}.")
    return value


def check_positive(name: str, value: object) -> float:
    """Returns ``value`` as a finite float ``> 0``."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0; got {value!r}.")
    return value


def check_count(name: str, value: object) -> int:
    """Returns ``value`` as a Python int ``>= 1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an int >= 1; got "
            f"{type(value).__name__} {value!r}."
        )
    count = int(value)
    if not 1 <= count < COUNT_LIMIT:
        raise ValueError(
            f"`{name}` must be an int >= 1 and < 2**63; got {shown(value)}."
        )
    return count


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Returns ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"`{name}` must be one of {allowed}; got {value!r}.")
    return value

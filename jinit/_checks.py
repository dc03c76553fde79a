"""Argument checks shared by every factory, run once at factory time.

Each check returns the canonical Python value it accepted, or raises a
``ValueError``/``TypeError`` whose message names the argument, shows the value
received and says what is allowed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np


def check_scalar(name: str, value: object) -> object:
    """Returns ``value`` as a plain Python number (bool, int, float or complex).

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
        f"`{name}` must be a number; got {type(value).__name__} {value!r}.")


def check_real(name: str, value: object) -> float:
    """Returns ``value`` as a finite Python float."""
    value = check_scalar(name, value)
    if isinstance(value, (bool, complex)):
        raise TypeError(f"`{name}` must be a real number; got "
                        f"{type(value).__name__} {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    return float(value)


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
        raise TypeError(f"`{name}` must be an int >= 1; got "
                        f"{type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be an int >= 1; got {value!r}.")
    return int(value)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Returns ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"`{name}` must be one of {allowed}; got {value!r}.")
    return value

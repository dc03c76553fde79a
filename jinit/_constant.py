"""Deterministic initializers: zeros, ones, constant and identity."""

from __future__ import annotations

import cmath

import jax.numpy as jnp
import numpy as np

from jinit import _checks
from jinit._base import factory


def _fill_value(name: str, value: bool | int | float | complex,
                dtype: np.dtype) -> np.ndarray:
    """``value`` in ``dtype``, refusing any cast that would change it.

    Rounding to a floating dtype is the one change allowed; truncating,
    wrapping, overflowing to infinity or dropping an imaginary part raises
    ``ValueError``.
    """
    number = complex(value)
    cast = None
    if jnp.issubdtype(dtype, jnp.inexact):
        if number.imag == 0 or jnp.issubdtype(dtype, jnp.complexfloating):
            with np.errstate(over="ignore", invalid="ignore"):
                cast = np.asarray(value).astype(dtype)
            if not np.isfinite(cast) and cmath.isfinite(number):
                cast = None
    else:
        integer = (int(value) if isinstance(value, int) else
                   int(value) if isinstance(value, float) and value.is_integer()
                   else None)
        low, high = ((0, 1) if dtype == np.bool_ else
                     (int(jnp.iinfo(dtype).min), int(jnp.iinfo(dtype).max)))
        if integer is not None and low <= integer <= high:
            cast = np.asarray(integer).astype(dtype)
    if cast is None:
        raise ValueError(
            f"`{name}` {value!r} cannot be represented in {dtype.name}; choose "
            "a dtype that holds it, or a value within its range.")
    return cast


@factory(random=False)
def zeros(*, dtype=None):
    """Initializer that returns an array of zeros.

    Works for every dtype, integer and bool included. The key is ignored.

    Args:
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Example:
      >>> import jinit
      >>> jinit.zeros()(None, (2, 3), "int8")
      Array([[0, 0, 0],
             [0, 0, 0]], dtype=int8)
    """
    return lambda key, shape, dtype: jnp.zeros(shape, dtype)


@factory(random=False)
def ones(*, dtype=None):
    """Initializer that returns an array of ones.

    Works for every dtype, integer and bool included. The key is ignored.

    Args:
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Example:
      >>> import jinit
      >>> jinit.ones()(None, (3,), "bool")
      Array([ True,  True,  True], dtype=bool)
    """
    return lambda key, shape, dtype: jnp.ones(shape, dtype)


@factory(random=False)
def constant(value=0, *, dtype=None):
    """Initializer that returns an array filled with ``value``.

    Works for every dtype, integer and bool included. A value the dtype cannot
    hold (3.5 or 300 in int8, 1e6 in float16) is an error, never a silent
    truncation. The key is ignored.

    Args:
      value: the scalar to fill with (a Python, NumPy or 0-d array number).
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      TypeError: ``value`` is not a scalar number.
      ValueError: at call time, ``value`` cannot be represented in the dtype.

    Example:
      >>> import jinit
      >>> jinit.constant(-7)(None, (2, 2), "int32")
      Array([[-7, -7],
             [-7, -7]], dtype=int32)
    """
    value = _checks.check_scalar("value", value)

    def draw(key, shape, dtype):
        return jnp.full(shape, _fill_value("value", value, dtype), dtype)

    return draw


@factory(random=False, ndim=(2, 2))
def identity(gain=1.0, *, dtype=None):
    """Initializer that returns ``gain`` times the identity matrix.

    ``W[i, j] = gain if i == j else 0`` for a 2-D shape; a non-square shape
    keeps the leading diagonal and pads the remaining rows or columns with
    zeros. The key is ignored.

    Args:
      gain: multiplicative factor applied to the identity matrix.
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite; at call time, the shape is not 2-D
        or ``gain`` cannot be represented in the dtype.

    Example:
      >>> import jinit
      >>> jinit.identity(gain=2.0)(None, (2, 3))
      Array([[2., 0., 0.],
             [0., 2., 0.]], dtype=float32)
    """
    gain = _checks.check_real("gain", gain)

    def draw(key, shape, dtype):
        diagonal = jnp.eye(*shape, dtype=bool)
        return jnp.where(diagonal, _fill_value("gain", gain, dtype),
                         jnp.zeros((), dtype))

    return draw

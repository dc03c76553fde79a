"""Constant initializers: zeros, ones and constant (any dtype)."""

from __future__ import annotations

import cmath
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from jinit import _validation
from jinit._about import About
from jinit._contract import Deterministic, Elementwise, Fill, factory


def fill_value(
    name: str, value: bool | int | float | complex, dtype: np.dtype
) -> np.ndarray:
    """``value`` in ``dtype``, refusing any cast that would change it.

    Rounding to a floating dtype is the one change allowed; truncating,
    wrapping, overflowing to infinity, rounding a non-zero value to 0 or
    dropping an imaginary part raises ``ValueError``.
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
        integer = (
            int(value)
            if isinstance(value, int)
            else int(value)
            if isinstance(value, float) and value.is_integer()
            else None
        )
        low, high = (
            (0, 1)
            if dtype == np.bool_
            else (int(jnp.iinfo(dtype).min), int(jnp.iinfo(dtype).max))
        )
        if integer is not None and low <= integer <= high:
            cast = np.asarray(integer).astype(dtype)
    if cast is None:
        raise ValueError(
            f"`{name}` {value!r} cannot be represented in {dtype.name}; choose "
            "a dtype that holds it, or a value within its range."
        )
    if number != 0 and complex(np.asarray(cast, np.complex128)) == 0:
        raise ValueError(
            f"`{name}` {value!r} rounds to 0 in {dtype.name} (smallest "
            f"non-zero value {float(jnp.finfo(dtype).smallest_subnormal):.6g})"
            ": every value would be 0. Choose a dtype that holds it, or a "
            "larger value."
        )
    return cast


def _broadcast_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """The mean and std of an array ``value`` broadcast to ``shape``."""
    values = np.broadcast_to(np.asarray(config["value"], np.float64), shape)
    return float(values.mean()), float(values.std())


@factory(
    random=False,
    about=About(
        family="constant",
        formula="0",
        details="0, any dtype (int, bool, complex too)",
        keras=True,
        jax=lambda config: jax.nn.initializers.zeros,
    ),
)
def zeros(*, dtype: DTypeLike | None = None) -> Elementwise:
    """Initializer that returns an array of zeros.

    Works for every dtype, integer and bool included. The key is ignored.

    Args:
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Examples:
      >>> import jinit
      >>> jinit.zeros()(None, (2, 3), "int8")
      Array([[0, 0, 0],
             [0, 0, 0]], dtype=int8)
    """
    return Elementwise(lambda shape, dtype: Fill(np.zeros((), dtype)))


@factory(
    random=False,
    about=About(
        family="constant",
        formula="1",
        details="1, any dtype",
        keras=True,
        jax=lambda config: jax.nn.initializers.ones,
    ),
)
def ones(*, dtype: DTypeLike | None = None) -> Elementwise:
    """Initializer that returns an array of ones.

    The law: ``1``.

    Works for every dtype, integer and bool included. The key is ignored.

    Args:
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Examples:
      >>> import jinit
      >>> jinit.ones()(None, (3,), "bool")
      Array([ True,  True,  True], dtype=bool)
    """
    return Elementwise(lambda shape, dtype: Fill(np.ones((), dtype)))


def _check_constant(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    value_shape = np.shape(config["value"])
    tail = shape[len(shape) - len(value_shape) :] if value_shape else ()
    if len(value_shape) > len(shape) or any(
        dim not in (1, want)
        for dim, want in zip(value_shape, tail, strict=True)
    ):
        raise ValueError(
            f"`value` of shape {value_shape} does not broadcast to `shape` "
            f"{shape}; `{initializer}` fills shapes its value broadcasts to "
            "(NumPy rules)."
        )


@factory(
    random=False,
    check=_check_constant,
    about=About(
        family="constant",
        formula="value",
        details="`value` (a number, or an array broadcast to the shape), any "
        "dtype that holds it exactly (3.5 in int8 is an error, not 3)",
        keras=True,
        moments=_broadcast_moments,
        jax=lambda config: jax.nn.initializers.constant(config["value"]),
    ),
)
def constant(
    value: ArrayLike | Sequence[Any] = 0, *, dtype: DTypeLike | None = None
) -> Elementwise | Deterministic:
    """Initializer that returns an array filled with ``value``.

    ``value`` is a number, or an array broadcast to the shape (NumPy rules),
    as in Keras and ``jax.nn.initializers.constant``. Works for every dtype,
    integer and bool included. A value the dtype cannot hold (3.5 or 300 in
    int8, 1e6 in float16) is an error, never a silent truncation. The key is
    ignored.

    Args:
      value: the number to fill with (a Python, NumPy or 0-d array number),
        or an array of finite numbers (NumPy, JAX or nested lists).
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      TypeError: ``value`` is not a number or an array of numbers.
      ValueError: ``value`` holds NaN or an infinity, or is ragged; at call
        time, ``value`` cannot be represented in the dtype or does not
        broadcast to the shape.

    Examples:
      >>> import jinit
      >>> jinit.constant(-7)(None, (2, 2), "int32")
      Array([[-7, -7],
             [-7, -7]], dtype=int32)
      >>> jinit.constant([1.0, 2.0, 3.0])(None, (2, 3))
      Array([[1., 2., 3.],
             [1., 2., 3.]], dtype=float32)
    """
    numbers = np.asarray(value, dtype=object).ravel()
    for number in numbers:
        if isinstance(number, tuple):  # A ragged nest of sequences.
            raise ValueError(
                f"`value` must be a number or a rectangular "
                f"array; got the ragged {value!r}."
            )
        number = _validation.check_scalar("value", number)
        if not cmath.isfinite(complex(number)):  # type: ignore[arg-type]
            raise ValueError(f"`value` must be finite; got {value!r}.")

    if not isinstance(value, tuple):
        number = _validation.check_scalar("value", value)
        return Elementwise(
            lambda shape, dtype: Fill(fill_value("value", number, dtype))
        )

    def values(xp, shape, dtype):
        filled = np.array(
            [fill_value("value", number, dtype) for number in numbers], dtype
        )
        return xp.broadcast_to(filled.reshape(np.shape(value)), shape)

    return Deterministic(values)

"""Deterministic initializers: zeros, ones, constant, identity and dirac."""

from __future__ import annotations

import cmath
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from jinit import _checks, _shapes
from jinit._about import KERNEL_SHAPE, About
from jinit._base import Draw, Elementwise, Fill, factory
from jinit._shapes import Axes


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


def _broadcast_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                       ) -> tuple[float, float]:
    """The mean and std of an array ``value`` broadcast to ``shape``."""
    values = np.broadcast_to(np.asarray(config["value"], np.float64), shape)
    return float(values.mean()), float(values.std())


def _identity_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                      ) -> tuple[float, float]:
    batch = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"])[
        "batch_axis"]
    rows, cols = [dim for axis, dim in enumerate(shape) if axis not in batch]
    share = min(rows, cols) / (rows * cols)  # The diagonal's share.
    return (config["gain"] * share,
            abs(config["gain"]) * float(np.sqrt(share * (1 - share))))


def _dirac_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                   ) -> tuple[float, float]:
    (inputs, outputs), groups = shape[-2:], config["groups"]
    share = groups * min(inputs, outputs // groups) / float(np.prod(shape))
    return share, float(np.sqrt(share * (1 - share)))


@factory(random=False, about=About(
    family="constant", formula="0",
    details="0, any dtype (int, bool, complex too)", keras=True,
    jax=lambda config: jax.nn.initializers.zeros))
def zeros(*, dtype: DTypeLike | None = None) -> Elementwise:
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
    return Elementwise(lambda shape, dtype: Fill(np.zeros((), dtype)))


@factory(random=False, about=About(
    family="constant", formula="1", details="1, any dtype", keras=True,
    jax=lambda config: jax.nn.initializers.ones))
def ones(*, dtype: DTypeLike | None = None) -> Elementwise:
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
    return Elementwise(lambda shape, dtype: Fill(np.ones((), dtype)))


def _check_constant(shape: tuple[int, ...], config: Mapping[str, Any],
                    initializer: str) -> None:
    value_shape = np.shape(config["value"])
    tail = shape[len(shape) - len(value_shape):] if value_shape else ()
    if len(value_shape) > len(shape) or any(
            dim not in (1, want) for dim, want in zip(value_shape, tail,
                                                      strict=True)):
        raise ValueError(
            f"`value` of shape {value_shape} does not broadcast to `shape` "
            f"{shape}; `{initializer}` fills shapes its value broadcasts to "
            "(NumPy rules).")


@factory(random=False, check=_check_constant, about=About(
    family="constant", formula="value",
    details="`value` (a number, or an array broadcast to the shape), any "
            "dtype that holds it exactly (3.5 in int8 is an error, not 3)",
    keras=True, moments=_broadcast_moments,
    jax=lambda config: jax.nn.initializers.constant(config["value"])))
def constant(value: ArrayLike | Sequence[Any] = 0, *,
             dtype: DTypeLike | None = None) -> Elementwise | Draw:
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

    Example:
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
            raise ValueError(f"`value` must be a number or a rectangular "
                             f"array; got the ragged {value!r}.")
        if not cmath.isfinite(complex(_checks.check_scalar("value", number))):
            raise ValueError(f"`value` must be finite; got {value!r}.")

    if not isinstance(value, tuple):
        number = _checks.check_scalar("value", value)
        return Elementwise(lambda shape, dtype: Fill(
            _fill_value("value", number, dtype)))

    def draw(key, shape, dtype):
        filled = np.array([_fill_value("value", number, dtype)
                           for number in numbers], dtype)
        return jnp.broadcast_to(filled.reshape(np.shape(value)), shape)

    return draw


def _check_identity(shape: tuple[int, ...], config: Mapping[str, Any],
                    initializer: str) -> None:
    axes = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"])
    _shapes.check_rank(shape, 2, 2, initializer,
                       batch=len(axes["batch_axis"]))


@factory(random=False, check=_check_identity, about=About(
    family="structured", formula="gain * I (2-D, zero-padded)",
    details="`gain`·I; 2-D (besides the batch axes, each slice the same "
            "matrix); non-square pads with zeros",
    keras=True, moments=_identity_moments))
def identity(gain: float = 1.0, *, batch_axis: Axes = (),
             dtype: DTypeLike | None = None) -> Draw:
    """Initializer that returns ``gain`` times the identity matrix.

    ``W[i, j] = gain if i == j else 0`` for a 2-D shape; a non-square shape
    keeps the leading diagonal and pads the remaining rows or columns with
    zeros. With ``batch_axis``, every slice along those axes is that matrix
    (stacked layers); without, the shape must be 2-D, as in the spec. The key
    is ignored.

    Args:
      gain: multiplicative factor applied to the identity matrix.
      batch_axis: axes along which identical matrices are stacked.
      dtype: the initializer's default dtype (default float32, or float64
        under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite; at call time, the shape is not 2-D
        besides the batch axes or ``gain`` cannot be represented in the dtype.

    Example:
      >>> import jinit
      >>> jinit.identity(gain=2.0)(None, (2, 3))
      Array([[2., 0., 0.],
             [0., 2., 0.]], dtype=float32)
      >>> jinit.identity(batch_axis=0)(None, (4, 3, 3)).shape
      (4, 3, 3)
    """
    gain = _checks.check_real("gain", gain)
    _shapes.check_axes(batch_axis=batch_axis)

    def draw(key, shape, dtype):
        batch = _shapes.resolve_axes(shape, batch_axis=batch_axis)[
            "batch_axis"]
        matrix = [dim for axis, dim in enumerate(shape) if axis not in batch]
        diagonal = jnp.expand_dims(jnp.eye(*matrix, dtype=bool), batch)
        return jnp.where(jnp.broadcast_to(diagonal, shape),
                         _fill_value("gain", gain, dtype),
                         jnp.zeros((), dtype))

    return draw


def _check_dirac(shape: tuple[int, ...], config: Mapping[str, Any],
                 initializer: str) -> None:
    _shapes.check_rank(shape, 3, 5, initializer)
    if shape[-1] % config["groups"]:
        raise ValueError(
            f"`groups` {config['groups']} must divide the output channels; "
            f"got shape {shape} with {shape[-1]} outputs.")


@factory(random=False, check=_check_dirac, about=About(
    family="structured",
    formula="1 at (centre, d, g * out / groups + d), 0 elsewhere",
    details="(…spatial, in, out) kernel: 1 at (centre, d, g·out/groups + d) "
            "for d < min(in, out/groups), 0 elsewhere; a `SAME` convolution "
            "with it (`feature_group_count=groups`) is the identity map",
    reference="Zagoruyko & Komodakis 2017; `torch.nn.init.dirac_`",
    shape=KERNEL_SHAPE, moments=_dirac_moments))
def dirac(groups: int = 1, *, dtype: DTypeLike | None = None) -> Draw:
    """Initializer for convolution kernels that pass their input through.

    For a ``(*spatial, in, out)`` kernel with 1 to 3 spatial axes (the HWIO
    layout of ``lax.conv_general_dilated``, Flax and Keras), split into
    ``groups`` groups of ``out / groups`` output channels:
    ``W[c, d, g * out / groups + d] = 1`` for every group ``g`` and
    ``d < min(in, out / groups)`` at the centre tap
    ``c = ((k - 1) // 2 for k in spatial)``, and 0 elsewhere. A ``SAME``
    convolution (with ``feature_group_count=groups``) whose output channels
    equal its input channels is then the identity map; with more outputs the
    extra channels are 0. The key is ignored. ``torch.nn.init.dirac_`` for
    the (out, in, *spatial) layout.

    Args:
      groups: number of groups of the convolution.
      dtype: the initializer's default dtype (any dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``groups`` < 1; at call time, a shape that is not 3-, 4- or
        5-D, or output channels that ``groups`` does not divide.

    Example:
      >>> import jax, jax.numpy as jnp, jinit
      >>> w = jinit.dirac()(None, (3, 3, 4, 4))
      >>> x = jax.random.normal(jax.random.key(0), (1, 8, 8, 4))
      >>> y = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
      ...     dimension_numbers=("NHWC", "HWIO", "NHWC"))
      >>> bool((y == x).all())
      True

    References:
      Zagoruyko & Komodakis (2017), DiracNets: Training Very Deep Neural
      Networks Without Skip-Connections, https://arxiv.org/abs/1706.00388.
    """
    groups = _checks.check_count("groups", groups)

    def draw(key, shape, dtype):
        *spatial, inputs, outputs = shape
        per_group = outputs // groups
        diagonal = np.arange(min(inputs, per_group))
        ins = np.tile(diagonal, groups)
        outs = (np.arange(groups)[:, None] * per_group + diagonal).ravel()
        centre = _shapes.centre_tap(spatial)
        return jnp.zeros(shape, dtype).at[(*centre, ins, outs)].set(
            jnp.ones((), dtype))

    return draw

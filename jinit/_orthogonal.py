"""Orthogonal initializers: orthogonal (batched, complex), delta_orthogonal."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _checks, _sampling, _shapes
from jinit._about import KERNEL_SHAPE, About
from jinit._base import Draw, factory
from jinit._shapes import Axes


def haar(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
         batch_axis: Axes = (), column_axis: int = -1) -> jax.Array:
    """Haar-random (semi-)orthogonal matrices of ``shape``, unitary if complex.

    One per slice along ``batch_axis``, each flattened to
    ``(prod(other axes), shape[column_axis])``.
    """
    axes = _shapes.resolve_axes(shape, batch_axis=batch_axis,
                                column_axis=column_axis)
    batch, (column,) = axes["batch_axis"], axes["column_axis"]
    others = [a for a in range(len(shape)) if a not in batch and a != column]
    batch_shape = tuple(shape[a] for a in batch)
    rows, cols = math.prod(shape[a] for a in others), shape[column]
    q = _sampling.orthogonal(key, rows, (math.prod(batch_shape),)
                              if batch else (), dtype, cols)
    q = q.reshape(batch_shape + tuple(shape[a] for a in others) + (cols,))
    return jnp.transpose(q, np.argsort([*batch, *others, column]).tolist())


def _check_orthogonal(shape: tuple[int, ...], config: Mapping[str, Any],
                      initializer: str) -> None:
    axes = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"],
                                column_axis=config["column_axis"])
    _shapes.check_rank(shape, 2, None, initializer,
                       batch=len(axes["batch_axis"]))


def _gain(shape: tuple[int, ...], config: Mapping[str, Any],
          dtype: np.dtype) -> float:
    """The largest magnitude of ``gain`` times an orthonormal draw.

    No entry of a matrix with orthonormal columns (or rows) exceeds 1.
    """
    return abs(config["gain"])


def _orthogonal_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                        ) -> tuple[float, float]:
    """Mean 0 and the variance of the entries of an orthonormal matrix.

    An (rows, cols) matrix with orthonormal columns (rows) has squares summing
    to min(rows, cols), a share 1 / max(rows, cols) each.
    """
    axes = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"],
                                column_axis=config["column_axis"])
    batch, (column,) = axes["batch_axis"], axes["column_axis"]
    cols = shape[column]
    rows = math.prod(d for a, d in enumerate(shape)
                     if a not in batch and a != column)
    return 0.0, abs(config["gain"]) / math.sqrt(max(rows, cols))


def _jax_orthogonal(config: Mapping[str, Any]) -> Any:
    if config["batch_axis"] != ():
        return "batch_axis; drop --set batch_axis"
    return jax.nn.initializers.orthogonal(config["gain"],
                                          config["column_axis"])


@factory(random=True, allow_complex=True, check=_check_orthogonal,
         magnitude=_gain, about=About(
             family="structured",
             formula="gain * Haar-orthogonal Q of (prod(shape[:-1]), "
                     "shape[-1])",
             details="shape flattened to (∏ other axes, shape[column_axis]); "
                     "QR of a standard normal matrix of shape (max, min) "
                     "with each column of Q multiplied by sign(diag R) (the "
                     "phase, for complex: Haar-uniform); transposed when "
                     "rows < cols; times `gain`. ≥ 2-D besides the batch "
                     "axes; each slice along `batch_axis` is an independent "
                     "matrix",
             reference="Saxe et al. 2014", keras=True,
             moments=_orthogonal_moments, normal_approximation=True,
             jax=_jax_orthogonal))
def orthogonal(gain: float = 1.0, seed: int | None = None, *,
               batch_axis: Axes = (), column_axis: int = -1,
               dtype: DTypeLike | None = None) -> Draw:
    """Initializer that draws a Haar-random (semi-)orthogonal matrix.

    The shape is flattened to ``(rows, cols) = (prod(other axes),
    shape[column_axis])``, by default ``(prod(shape[:-1]), shape[-1])``. A
    standard normal matrix of shape ``(max(rows, cols), min(rows, cols))`` is
    factored as ``QR``; multiplying each column of ``Q`` by the sign (the
    phase, for complex dtypes) of the matching diagonal entry of ``R`` makes
    ``Q`` uniform (Haar) on the orthogonal (unitary) group (Mezzadri 2007);
    ``Q`` is transposed when ``rows < cols``, multiplied by ``gain`` and
    reshaped to ``shape``. So ``W^H W = gain**2 I`` when ``rows >= cols`` and
    ``W W^H = gain**2 I`` otherwise. With ``batch_axis``, each slice along
    those axes is an independent such matrix (stacked layers, heads).

    Computed in float32 (float64, complex64, complex128 for those dtypes) and
    cast once, so it works in bfloat16 and float16. For float32 the values
    equal those of ``jax.nn.initializers.orthogonal(gain, column_axis)`` with
    the same key.

    Args:
      gain: multiplicative factor applied to the orthogonal matrix.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      batch_axis: axes along which independent matrices are stacked.
      column_axis: the axis whose entries index the columns.
      dtype: the initializer's default dtype (floating or complex).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite, or axes overlap; at call time,
        fewer than 2 axes besides the batch axes, or axes out of range.
      TypeError: ``seed`` is not an int or an axis is not an int.

    Example:
      >>> import jax, jax.numpy as jnp, jinit
      >>> w = jinit.orthogonal(gain=2.0)(jax.random.key(0), (64, 32))
      >>> bool(jnp.allclose(w.T @ w, 4.0 * jnp.eye(32), atol=1e-4))
      True
      >>> stacked = jinit.orthogonal(batch_axis=0)(jax.random.key(0), (4, 8, 8))
      >>> bool(jnp.allclose(stacked[2].T @ stacked[2], jnp.eye(8), atol=1e-5))
      True

    References:
      Saxe, McClelland & Ganguli (2014), Exact solutions to the nonlinear
      dynamics of learning in deep linear neural networks,
      https://arxiv.org/abs/1312.6120. Mezzadri (2007), How to generate random
      matrices from the classical compact groups,
      https://arxiv.org/abs/math-ph/0609050.
    """
    gain = _checks.check_real("gain", gain)
    if isinstance(column_axis, bool) or not isinstance(column_axis, int):
        raise TypeError(f"`column_axis` must be an int; got "
                        f"{type(column_axis).__name__} {column_axis!r}.")
    _shapes.check_axes(batch_axis=batch_axis, column_axis=column_axis)

    def draw(key, shape, dtype):
        q = haar(key, shape, dtype, batch_axis, column_axis)
        return jnp.array(gain, dtype) * q

    return draw


def _check_delta(shape: tuple[int, ...], config: Mapping[str, Any],
                 initializer: str) -> None:
    _shapes.check_rank(shape, 3, 5, initializer)
    if shape[-2] > shape[-1] and math.prod(shape):  # Empty shapes are fine.
        raise ValueError(
            f"`shape` {shape} has more input channels ({shape[-2]}) than "
            f"output channels ({shape[-1]}); `{initializer}` needs "
            "in <= out so that the centre tap can be orthogonal.")


def _delta_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                   ) -> tuple[float, float]:
    """Mean 0; the centre tap's (in, out) matrix has orthonormal rows."""
    taps, (inputs, outputs) = math.prod(shape[:-2]), shape[-2:]
    return 0.0, abs(config["gain"]) / math.sqrt(max(inputs, outputs) * taps)


@factory(random=True, allow_complex=True, check=_check_delta,
         magnitude=_gain, about=About(
             family="structured",
             formula="gain * Haar (in, out) at the centre tap, 0 elsewhere",
             details="(…spatial, in, out) kernel, 1–3 spatial axes, in ≤ out: "
                     "`gain`·Q (Haar, orthonormal rows) at the centre tap "
                     "((k−1)//2 per spatial axis), 0 elsewhere",
             reference="Xiao et al. 2018", shape=KERNEL_SHAPE,
             moments=_delta_moments,
             jax=lambda config: jax.nn.initializers.delta_orthogonal(
                 config["gain"])))
def delta_orthogonal(gain: float = 1.0, seed: int | None = None, *,
                     dtype: DTypeLike | None = None) -> Draw:
    """Initializer for convolution kernels orthogonal at the centre tap.

    The kernel is zero at every other tap.

    For a ``(*spatial, in, out)`` kernel with 1 to 3 spatial axes and
    ``in <= out``: ``W[c] = gain * Q`` at the centre tap
    ``c = ((k - 1) // 2 for k in spatial)`` (the tap that a ``SAME``-padded
    convolution aligns with its output), with ``Q`` an ``(in, out)``
    Haar-random matrix with orthonormal rows, and ``W = 0`` at every other
    tap. A convolution with it is then norm-preserving (times ``gain``),
    which allows training very deep plain CNNs. For float32 the values equal
    those of ``jax.nn.initializers.delta_orthogonal(gain)`` with the same key.

    Args:
      gain: multiplicative factor applied to the orthogonal matrix.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (floating or complex).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite; at call time, a shape that is not
        3-, 4- or 5-D or has more input than output channels.

    Example:
      >>> import jax, jax.numpy as jnp, jinit
      >>> w = jinit.delta_orthogonal()(jax.random.key(0), (3, 3, 16, 32))
      >>> bool(jnp.allclose(w[1, 1] @ w[1, 1].T, jnp.eye(16), atol=1e-5))
      True
      >>> float(jnp.abs(w[0]).max())
      0.0

    References:
      Xiao et al. (2018), Dynamical Isometry and a Mean Field Theory of CNNs:
      How to Train 10,000-Layer Vanilla Convolutional Neural Networks,
      https://arxiv.org/abs/1806.05393.
    """
    gain = _checks.check_real("gain", gain)

    def draw(key, shape, dtype):
        centre = _shapes.centre_tap(shape[:-2])
        tap = jnp.array(gain, dtype) * haar(key, shape[-2:], dtype)
        return jnp.zeros(shape, dtype).at[centre].set(tap)

    return draw

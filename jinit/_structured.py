"""Structured initializers: the weight as a whole has a required structure.

Orthogonal (batched, complex) and delta-orthogonal matrices, the identity,
Dirac convolution kernels, and Martens' sparse matrices.
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _draws, _dtypes, _shapes, _validation
from jinit._about import KERNEL_SHAPE, About
from jinit._constants import fill_value
from jinit._contract import Deterministic, Draw, factory
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
    q = _draws.orthogonal(key, rows, (math.prod(batch_shape),)
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

    Examples:
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
    gain = _validation.check_real("gain", gain)
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

    Examples:
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
    gain = _validation.check_real("gain", gain)

    def draw(key, shape, dtype):
        centre = _shapes.centre_tap(shape[:-2])
        tap = jnp.array(gain, dtype) * haar(key, shape[-2:], dtype)
        return jnp.zeros(shape, dtype).at[centre].set(tap)

    return draw


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
             dtype: DTypeLike | None = None) -> Deterministic:
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

    Examples:
      >>> import jinit
      >>> jinit.identity(gain=2.0)(None, (2, 3))
      Array([[2., 0., 0.],
             [0., 2., 0.]], dtype=float32)
      >>> jinit.identity(batch_axis=0)(None, (4, 3, 3)).shape
      (4, 3, 3)
    """
    gain = _validation.check_real("gain", gain)
    _shapes.check_axes(batch_axis=batch_axis)

    def values(xp, shape, dtype):
        batch = _shapes.resolve_axes(shape, batch_axis=batch_axis)[
            "batch_axis"]
        matrix = [dim for axis, dim in enumerate(shape) if axis not in batch]
        diagonal = xp.expand_dims(xp.eye(*matrix, dtype=bool), batch)
        return xp.where(xp.broadcast_to(diagonal, shape),
                        fill_value("gain", gain, dtype), np.zeros((), dtype))

    return Deterministic(values)


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
def dirac(groups: int = 1, *,
          dtype: DTypeLike | None = None) -> Deterministic:
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

    Examples:
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
    groups = _validation.check_count("groups", groups)

    def values(xp, shape, dtype):
        *spatial, inputs, outputs = shape

        def along(axis, vector):  # ``vector`` laid along one kernel axis.
            return vector.reshape([-1 if other == axis % len(shape) else 1
                                   for other in range(len(shape))])

        # 1 where out = g * out / groups + in, at the centre tap.
        ones = along(-1, xp.arange(outputs) % (outputs // groups)) == along(
            -2, xp.arange(inputs))
        for axis, (extent, middle) in enumerate(zip(
                spatial, _shapes.centre_tap(spatial), strict=True)):
            ones = ones & along(axis, xp.arange(extent) == middle)
        return xp.where(ones, np.ones((), dtype), np.zeros((), dtype))

    return Deterministic(values)


def sparse_zeros(sparsity: float, rows: int) -> int:
    """``ceil(sparsity * rows)``, exact on the decimal that ``sparsity`` shows.

    0.1 of 10 rows is 1, 0.3 of 10 is 3.
    """
    return math.ceil(fractions.Fraction(repr(float(sparsity))) * rows)


def _check_sparse(shape: tuple[int, ...], config: Mapping[str, Any],
                  initializer: str) -> None:
    _shapes.check_rank(shape, 2, 2, initializer)


def _sparse_magnitude(shape: tuple[int, ...], config: Mapping[str, Any],
                      dtype: np.dtype) -> float:
    return config["stddev"] * _draws.normal_extreme(dtype)


def _sparse_moments(config: Mapping[str, Any], shape: tuple[int, ...]
                    ) -> tuple[float, float]:
    kept = 1 - sparse_zeros(config["sparsity"], shape[0]) / shape[0]
    return 0.0, config["stddev"] * math.sqrt(kept)


@factory(random=True, check=_check_sparse, magnitude=_sparse_magnitude,
         about=About(
             family="structured",
             formula="ceil(sparsity * rows) zeros per column, N(0, stddev^2)",
             details="2-D: exactly ⌈sparsity·rows⌉ zeros per column at "
                     "uniformly random rows, the rest N(0, stddev²)",
             reference="Martens 2010; `torch.nn.init.sparse_`",
             example={"sparsity": 0.1}, moments=_sparse_moments))
def sparse(sparsity: float, stddev: float = 0.01, seed: int | None = None,
           *, dtype: DTypeLike | None = None) -> Draw:
    """Initializer for a sparse 2-D matrix with normal non-zero entries.

    Each column of a ``(rows, cols)`` weight gets exactly
    ``ceil(sparsity * rows)`` zeros, at rows chosen uniformly at random and
    independently per column; every other entry is drawn from
    ``N(0, stddev**2)``. Martens' sparse initialization, as
    ``torch.nn.init.sparse_``, except that the product is taken exactly on
    the decimal ``sparsity`` reads as: ``sparse(0.3)`` zeros 3 of 10 rows,
    where PyTorch's floating-point ``0.3 * 10 = 3.0000000000000004`` zeros 4.

    Args:
      sparsity: the fraction of each column set to zero, in [0, 1].
      stddev: standard deviation of the non-zero entries (>= 0).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``sparsity`` outside [0, 1] or ``stddev`` < 0; at call
        time, a shape that is not 2-D.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.sparse(0.25)(jax.random.key(0), (8, 5))
      >>> (w == 0).sum(axis=0).tolist()
      [2, 2, 2, 2, 2]

    References:
      Martens (2010), Deep learning via Hessian-free optimization, ICML.
    """
    sparsity = _validation.check_real("sparsity", sparsity)
    if not 0 <= sparsity <= 1:
        raise ValueError(f"`sparsity` must be in [0, 1]; got {sparsity!r}.")
    stddev = _validation.check_nonnegative("stddev", stddev)

    def draw(key, shape, dtype):
        zeros = sparse_zeros(sparsity, shape[0])
        key_values, key_rows = jax.random.split(key)
        values = _draws.sample(key_values, shape, dtype, dtype,
                                  _draws.Affine("normal", (), stddev))
        scores = _draws.uniform(key_rows, shape, _dtypes.default_float())
        rank = jnp.argsort(jnp.argsort(scores, axis=0), axis=0)
        return jnp.where(rank < zeros, jnp.zeros((), dtype), values)

    return draw

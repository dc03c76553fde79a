"""Orthogonal initializers: Haar matrices and norm-preserving kernels.

Haar-random (semi-)orthogonal matrices, batched and complex
(:func:`orthogonal`), delta-orthogonal convolution kernels
(:func:`delta_orthogonal`) and Xiao et al.'s block-orthogonal ones
(:func:`convolution_orthogonal`). Every Haar matrix here, and in
:mod:`jinit.schemes`, is drawn by one function,
:func:`jinit._draws.orthogonal`: :func:`haar` lays its matrices out along
an initializer's axes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import KERNEL_SHAPE, About, NoJaxEquivalent
from jinit._contract import Draw, factory
from jinit._shapes import Axes


def haar(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    batch_axis: Axes = (),
    column_axis: int = -1,
) -> jax.Array:
    """Haar-random (semi-)orthogonal matrices of ``shape``, unitary if complex.

    One per slice along ``batch_axis``, each flattened to
    ``(prod(other axes), shape[column_axis])``: the matrices of
    :func:`jinit._draws.orthogonal` laid out along the axes.
    """
    axes = _shapes.resolve_axes(
        shape, batch_axis=batch_axis, column_axis=column_axis
    )
    batch, (column,) = axes["batch_axis"], axes["column_axis"]
    others = [a for a in range(len(shape)) if a not in batch and a != column]
    batch_shape = tuple(shape[a] for a in batch)
    rows, cols = math.prod(shape[a] for a in others), shape[column]
    q = _draws.orthogonal(
        key, rows, (math.prod(batch_shape),) if batch else (), dtype, cols
    )
    q = q.reshape(batch_shape + tuple(shape[a] for a in others) + (cols,))
    return jnp.transpose(q, np.argsort([*batch, *others, column]).tolist())


def _check_orthogonal(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    axes = _shapes.resolve_axes(
        shape,
        batch_axis=config["batch_axis"],
        column_axis=config["column_axis"],
    )
    _shapes.check_rank(
        shape, 2, None, initializer, batch=len(axes["batch_axis"])
    )


def _gain(
    shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
) -> float:
    """The largest magnitude of ``gain`` times an orthonormal draw.

    No entry of a matrix with orthonormal columns (or rows) exceeds 1.
    """
    return abs(config["gain"])


def _orthogonal_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """Mean 0 and the variance of the entries of an orthonormal matrix.

    An (rows, cols) matrix with orthonormal columns (rows) has squares summing
    to min(rows, cols), a share 1 / max(rows, cols) each.
    """
    axes = _shapes.resolve_axes(
        shape,
        batch_axis=config["batch_axis"],
        column_axis=config["column_axis"],
    )
    batch, (column,) = axes["batch_axis"], axes["column_axis"]
    cols = shape[column]
    rows = math.prod(
        d for a, d in enumerate(shape) if a not in batch and a != column
    )
    return 0.0, abs(config["gain"]) / math.sqrt(max(rows, cols))


def _jax_orthogonal(config: Mapping[str, Any]) -> Any:
    if config["batch_axis"] != ():
        return NoJaxEquivalent("batch_axis", ())
    return jax.nn.initializers.orthogonal(config["gain"], config["column_axis"])


@factory(
    random=True,
    allow_complex=True,
    check=_check_orthogonal,
    magnitude=_gain,
    about=About(
        family="structured",
        formula="gain * Haar-orthogonal Q of (prod(shape[:-1]), shape[-1])",
        details="shape flattened to (∏ other axes, shape[column_axis]); "
        "QR of a standard normal matrix of shape (max, min) "
        "with each column of Q multiplied by sign(diag R) (the "
        "phase, for complex: Haar-uniform); transposed when "
        "rows < cols; times `gain`. ≥ 2-D besides the batch "
        "axes; each slice along `batch_axis` is an independent "
        "matrix",
        reference="Saxe et al. 2014",
        keras=True,
        moments=_orthogonal_moments,
        normal_approximation=True,
        jax=_jax_orthogonal,
    ),
)
def orthogonal(
    gain: float = 1.0,
    seed: int | None = None,
    *,
    batch_axis: Axes = (),
    column_axis: int = -1,
    dtype: DTypeLike | None = None,
) -> Draw:
    """Initializer that draws a Haar-random (semi-)orthogonal matrix.

    The law: ``gain * Haar-orthogonal Q of (prod(shape[:-1]), shape[-1])``.

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
        raise TypeError(
            f"`column_axis` must be an int; got "
            f"{type(column_axis).__name__} {column_axis!r}."
        )
    _shapes.check_axes(batch_axis=batch_axis, column_axis=column_axis)

    def draw(key, shape, dtype):
        q = haar(key, shape, dtype, batch_axis, column_axis)
        return jnp.array(gain, dtype) * q

    return draw


def _check_widening_kernel(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    """A (…spatial, in, out) kernel with 1 to 3 spatial axes and in <= out."""
    _shapes.check_rank(shape, 3, 5, initializer)
    if shape[-2] > shape[-1] and math.prod(shape):  # Empty shapes are fine.
        raise ValueError(
            f"`shape` {shape} has more input channels ({shape[-2]}) than "
            f"output channels ({shape[-1]}); `{initializer}` needs "
            "in <= out so that the convolution can preserve norms."
        )


def _delta_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """Mean 0; the centre tap's (in, out) matrix has orthonormal rows."""
    taps, (inputs, outputs) = math.prod(shape[:-2]), shape[-2:]
    return 0.0, abs(config["gain"]) / math.sqrt(max(inputs, outputs) * taps)


@factory(
    random=True,
    allow_complex=True,
    check=_check_widening_kernel,
    magnitude=_gain,
    about=About(
        family="structured",
        formula="gain * Haar (in, out) at the centre tap, 0 elsewhere",
        details="(…spatial, in, out) kernel, 1–3 spatial axes, in ≤ out: "
        "`gain`·Q (Haar, orthonormal rows) at the centre tap "
        "((k−1)//2 per spatial axis), 0 elsewhere",
        reference="Xiao et al. 2018",
        shape=KERNEL_SHAPE,
        moments=_delta_moments,
        jax=lambda config: jax.nn.initializers.delta_orthogonal(config["gain"]),
    ),
)
def delta_orthogonal(
    gain: float = 1.0,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Draw:
    """Initializer for convolution kernels orthogonal at the centre tap.

    The law: ``gain * Haar (in, out) at the centre tap, 0 elsewhere``.

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


def _convolution_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """Mean 0; the squares of the entries sum to ``gain**2 * in`` exactly.

    At every frequency the kernel's transfer matrix has orthonormal rows
    (squares summing to ``in``), so by Parseval's identity the taps' squares
    sum to ``gain**2 * in`` over ``taps * in * out`` entries: a mean square
    of ``gain**2 / (taps * out)``, by symmetry about a mean of 0.
    """
    taps, outputs = math.prod(shape[:-2]), shape[-1]
    return 0.0, abs(config["gain"]) / math.sqrt(taps * outputs)


def _dot(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b`` at full precision, ``b`` (n, n), ``a`` with leading axes."""
    return jnp.einsum(
        "...ij,jk->...ik", a, b, precision=jax.lax.Precision.HIGHEST
    )


def block_orthogonal(
    key: jax.Array, spatial: tuple[int, ...], n: int, dtype: np.dtype
) -> jax.Array:
    """A ``(*spatial, n, n)`` kernel whose circular convolution is orthogonal.

    The product (matrix convolution) of ``k - 1`` two-tap kernels
    ``[P, I - P]`` along each spatial axis of extent ``k``, each ``P`` a
    random symmetric (Hermitian) projection ``V diag(d) V^H`` with ``V``
    Haar and ``d`` independent fair 0/1 draws. Along an axis the transfer
    function of ``[P, I - P]`` is ``P + (I - P) z``, unitary for ``|z| = 1``,
    and a product of unitary transfer functions is unitary. The blocks are
    taken in TensorFlow's order: at each step one along each axis in turn,
    an axis with no taps left taking ``[I, 0]`` (which changes nothing), so
    that one compiled step serves every step.
    """
    steps = max(spatial, default=1) - 1
    origin = (0,) * len(spatial)
    kernel = (
        jnp.zeros((*spatial, n, n), dtype)
        .at[origin]
        .set(jnp.eye(n, dtype=dtype))
    )
    if not steps:
        return kernel
    key_bases, key_ranks = jax.random.split(key)
    # One QR at a time: on CPU, LAPACK's batched QR spreads its batch over
    # XLA's thread pool and waits for it, which deadlocks when the
    # partitions of a sharded program hold every thread of the pool.
    bases = jax.lax.map(
        lambda key: _draws.orthogonal(key, n, (), dtype, n),
        jax.random.split(key_bases, steps * len(spatial)),
    ).reshape(steps, len(spatial), n, n)
    kept = (
        _draws.uniform(
            key_ranks, (steps, len(spatial), 1, n), jnp.finfo(dtype).dtype
        )
        < 0.5
    )
    projections = jnp.einsum(
        "...ij,...kj->...ik",
        jnp.where(kept, bases, jnp.zeros((), dtype)),
        bases.conj(),
        precision=jax.lax.Precision.HIGHEST,
    )
    spent = (np.arange(steps)[:, None] >= np.array(spatial) - 1)[
        ..., None, None
    ]
    projections = jnp.where(
        spent, jnp.eye(n, dtype=dtype)[None, None], projections
    )

    def step(kernel, projections):
        for axis, projection in enumerate(projections):
            first = _dot(kernel, projection)  # Tap t: kernel[t] @ P.
            # Tap t + 1: kernel[t] @ (I - P); the last tap is still 0, so
            # nothing wraps around.
            kernel = first + jnp.roll(kernel - first, 1, axis)
        return kernel, None

    return jax.lax.scan(step, kernel, projections)[0]


@factory(
    random=True,
    allow_complex=True,
    check=_check_widening_kernel,
    magnitude=_gain,
    about=About(
        family="structured",
        formula="gain * Q (in, out) times 1-D blocks [P, I - P], "
        "P random projections",
        details="(…spatial, in, out) kernel, 1–3 spatial axes of any "
        "extents, in ≤ out: `gain`·Q·B₁⋆…⋆B_m, Q Haar "
        "(in, out) with orthonormal rows, each B_j the 2-tap "
        "kernel [P_j, I − P_j] along one spatial axis (k − 1 "
        "of them per axis of extent k), P_j = V·diag(d)·Vᵀ a "
        "projection (V Haar, d fair 0/1 draws); a circularly "
        "padded convolution with it is `gain` times an "
        "isometry",
        reference="Xiao et al. 2018",
        shape=KERNEL_SHAPE,
        moments=_convolution_moments,
    ),
)
def convolution_orthogonal(
    gain: float = 1.0,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Draw:
    """Initializer for convolution kernels that are orthogonal maps.

    The law: ``gain * Q (in, out) times 1-D blocks [P, I - P], P random
    projections``.

    Xiao et al.'s block-orthogonal construction: a convolution with the
    kernel, circularly padded, multiplies every input's norm by ``gain``.

    For a ``(*spatial, in, out)`` kernel (HWIO) with 1 to 3 spatial axes and
    ``in <= out``, write ``n = out``. Each spatial axis of extent ``k``
    gets ``k - 1`` two-tap blocks ``B = [P, I - P]`` laid along it, each
    ``P = V diag(d) V^T`` an ``(n, n)`` symmetric projection (``V``
    Haar-orthogonal, ``d`` independent fair 0/1 draws, so ``P^2 = P``). The
    kernel is::

        W[t] = gain * Q @ (B_1 * B_2 * ... * B_m)[t]

    where ``*`` is matrix convolution (``(A * B)[t] = sum_s A[s] @ B[t -
    s]``, taps indexed over all spatial axes) and ``Q`` is an ``(in, n)``
    Haar matrix with orthonormal rows; the blocks alternate between the
    axes while they have taps left (TensorFlow's order). Along an axis,
    ``[P, I - P]`` has the transfer function ``P + (I - P) z``, unitary on
    ``|z| = 1`` because ``P`` and ``I - P`` are complementary orthogonal
    projections; a product of such is unitary, and ``Q`` times it has
    orthonormal rows at every frequency. So a convolution with circular
    padding (``jnp.pad(x, ..., mode="wrap")`` then ``VALID``) is ``gain``
    times an isometry from ``in`` to ``out`` channels; with zero padding it
    is one up to edge effects. By Parseval's identity the squares of all
    entries sum to ``gain**2 * in``: their standard deviation is
    ``gain / sqrt(out * prod(spatial))``. A ``1 x ... x 1`` kernel is
    ``gain * Q``. Complex dtypes use unitary ``V``, ``Q`` and Hermitian
    ``P``.

    Unlike TensorFlow 1's ``ConvolutionOrthogonal2D`` and ``3D``, the
    spatial extents need not be equal: each axis gets its own blocks (for
    equal extents the law is TensorFlow's). Keras 3 has no such
    initializer.

    Checked against the authors' implementation, TensorFlow's
    ``tensorflow/python/ops/init_ops.py`` (whose docstrings cite Algorithm 1
    of the paper): the ``[P, I - P]`` blocks (``ConvolutionOrthogonal1D.
    _block_orth``; the 2-D and 3-D ``_block_orth`` are products of these
    along each axis), ``k - 2`` blocks convolved onto the first
    (``_orthogonal_kernel``), ``P`` from a Haar matrix with each column kept
    where a normal draw is positive (``ConvolutionOrthogonal.
    _symmetric_projection``, probability 1/2), ``Q`` the first ``in`` rows
    of an ``(out, out)`` Haar matrix (``_orthogonal_kernel``) and the factor
    ``gain`` (``__call__``); the first ``in`` rows of a Haar matrix have the
    law of the Haar ``(in, out)`` matrix drawn here. Not checked against
    the paper's text itself.

    Args:
      gain: multiplicative factor applied to the kernel (the factor by which
        a circular convolution with it scales norms).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (floating or complex).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite; at call time, a shape that is not
        3-, 4- or 5-D or has more input than output channels.
      TypeError: ``gain`` is not a real number or ``seed`` is not an int.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> w = jinit.convolution_orthogonal(gain=2.0)(jax.random.key(0),
      ...                                             (3, 3, 8, 16))
      >>> x = jax.random.normal(jax.random.key(1), (1, 10, 10, 8))
      >>> y = jax.lax.conv_general_dilated(
      ...     jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="wrap"), w,
      ...     (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
      ...     precision="highest")
      >>> y.shape
      (1, 10, 10, 16)
      >>> print(f"{float(jnp.linalg.norm(y) / jnp.linalg.norm(x)):.4f}")
      2.0000
      >>> print(f"{float(jnp.sum(w**2)):.3f}")  # gain**2 * in
      32.000

    References:
      Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), Dynamical
      Isometry and a Mean Field Theory of CNNs: How to Train 10,000-Layer
      Vanilla Convolutional Neural Networks, https://arxiv.org/abs/1806.05393.
    """
    gain = _validation.check_real("gain", gain)

    def draw(key, shape, dtype):
        return _convolution_orthogonal(
            key, np.asarray(gain, dtype), shape, dtype
        )

    return draw


@functools.partial(jax.jit, static_argnums=(2, 3))
def _convolution_orthogonal(
    key: jax.Array, gain: jax.Array, shape: tuple[int, ...], dtype: np.dtype
) -> jax.Array:
    """:func:`convolution_orthogonal`'s kernel, compiled as one program.

    An eager call compiles once per shape and dtype instead of once per
    operation.
    """
    *spatial, inputs, outputs = shape
    key_rows, key_blocks = jax.random.split(key)
    rows = haar(key_rows, (inputs, outputs), dtype)  # Orthonormal rows.
    blocks = block_orthogonal(key_blocks, tuple(spatial), outputs, dtype)
    kernel = jnp.einsum(
        "ij,...jk->...ik", rows, blocks, precision=jax.lax.Precision.HIGHEST
    )
    return gain * _whole(kernel)


def _whole(kernel: jax.Array) -> jax.Array:
    """``kernel`` unchanged, computed whole on each device when sharded.

    It is contracted with the identity over its taps, which is exact (each
    value times 1, plus zeros). Where the kernel is sharded along its
    spatial axes, XLA's SPMD partitioner then splits the constant identity
    and leaves the kernel before it whole, as it leaves the QR before
    :func:`orthogonal`'s reshape; sharding the construction itself would
    move taps between devices at every block (a collective permute), and
    its matrix products need not round as an unsharded draw's do.
    """
    taps = math.prod(kernel.shape[:-2])
    flat = kernel.reshape(taps, *kernel.shape[-2:])
    return jnp.einsum(
        "tf,fij->tij",
        jnp.eye(taps, dtype=kernel.dtype),
        flat,
        precision=jax.lax.Precision.HIGHEST,
    ).reshape(kernel.shape)

"""Structured initializers: the weight as a whole has a required structure.

The identity, Dirac convolution kernels, and Martens' sparse matrices. The
orthogonal ones (orthogonal, delta-orthogonal and block-orthogonal
convolution kernels) are in :mod:`jinit._orthogonal`.
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


def _identity_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    batch = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"])[
        "batch_axis"
    ]
    rows, cols = [dim for axis, dim in enumerate(shape) if axis not in batch]
    share = min(rows, cols) / (rows * cols)  # The diagonal's share.
    return (
        config["gain"] * share,
        abs(config["gain"]) * float(np.sqrt(share * (1 - share))),
    )


def _dirac_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    (inputs, outputs), groups = shape[-2:], config["groups"]
    share = groups * min(inputs, outputs // groups) / float(np.prod(shape))
    return share, float(np.sqrt(share * (1 - share)))


def _check_identity(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    axes = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"])
    _shapes.check_rank(shape, 2, 2, initializer, batch=len(axes["batch_axis"]))


@factory(
    random=False,
    check=_check_identity,
    about=About(
        family="structured",
        formula="gain * I (2-D, zero-padded)",
        details="`gain`·I; 2-D (besides the batch axes, each slice the same "
        "matrix); non-square pads with zeros",
        keras=True,
        moments=_identity_moments,
    ),
)
def identity(
    gain: float = 1.0, *, batch_axis: Axes = (), dtype: DTypeLike | None = None
) -> Deterministic:
    """Initializer that returns ``gain`` times the identity matrix.

    The law: ``gain * I (2-D, zero-padded)``.

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
        batch = _shapes.resolve_axes(shape, batch_axis=batch_axis)["batch_axis"]
        matrix = [dim for axis, dim in enumerate(shape) if axis not in batch]
        diagonal = xp.expand_dims(xp.eye(*matrix, dtype=bool), batch)
        return xp.where(
            xp.broadcast_to(diagonal, shape),
            fill_value("gain", gain, dtype),
            np.zeros((), dtype),
        )

    return Deterministic(values)


def _check_dirac(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 3, 5, initializer)
    if shape[-1] % config["groups"]:
        raise ValueError(
            f"`groups` {config['groups']} must divide the output channels; "
            f"got shape {shape} with {shape[-1]} outputs."
        )


@factory(
    random=False,
    check=_check_dirac,
    about=About(
        family="structured",
        formula="1 at (centre, d, g * out / groups + d), 0 elsewhere",
        details="(…spatial, in, out) kernel: 1 at "
        "(centre, d, g·out/groups + d) "
        "for d < min(in, out/groups), 0 elsewhere; a `SAME` convolution "
        "with it (`feature_group_count=groups`) is the identity map",
        reference="Zagoruyko & Komodakis 2017; `torch.nn.init.dirac_`",
        shape=KERNEL_SHAPE,
        moments=_dirac_moments,
    ),
)
def dirac(groups: int = 1, *, dtype: DTypeLike | None = None) -> Deterministic:
    """Initializer for convolution kernels that pass their input through.

    The law: ``1 at (centre, d, g * out / groups + d), 0 elsewhere``.

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
            return vector.reshape(
                [
                    -1 if other == axis % len(shape) else 1
                    for other in range(len(shape))
                ]
            )

        # 1 where out = g * out / groups + in, at the centre tap.
        ones = along(-1, xp.arange(outputs) % (outputs // groups)) == along(
            -2, xp.arange(inputs)
        )
        for axis, (extent, middle) in enumerate(
            zip(spatial, _shapes.centre_tap(spatial), strict=True)
        ):
            ones = ones & along(axis, xp.arange(extent) == middle)
        return xp.where(ones, np.ones((), dtype), np.zeros((), dtype))

    return Deterministic(values)


def sparse_zeros(sparsity: float, rows: int) -> int:
    """``ceil(sparsity * rows)``, exact on the decimal that ``sparsity`` shows.

    0.1 of 10 rows is 1, 0.3 of 10 is 3.
    """
    return math.ceil(fractions.Fraction(repr(float(sparsity))) * rows)


def _check_sparse(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 2, 2, initializer)


def _sparse_magnitude(
    shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
) -> _dtypes.Bracketed:
    return _draws.normal_magnitude(dtype, config["stddev"], 0.0)


def _sparse_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    kept = 1 - sparse_zeros(config["sparsity"], shape[0]) / shape[0]
    return 0.0, config["stddev"] * math.sqrt(kept)


@factory(
    random=True,
    check=_check_sparse,
    magnitude=_sparse_magnitude,
    about=About(
        family="structured",
        formula="ceil(sparsity * rows) zeros per column, N(0, stddev^2)",
        details="2-D: exactly ⌈sparsity·rows⌉ zeros per column at "
        "uniformly random rows, the rest N(0, stddev²)",
        reference="Martens 2010; `torch.nn.init.sparse_`",
        example={"sparsity": 0.1},
        moments=_sparse_moments,
    ),
)
def sparse(
    sparsity: float,
    stddev: float = 0.01,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Draw:
    """Initializer for a sparse 2-D matrix with normal non-zero entries.

    The law: ``ceil(sparsity * rows) zeros per column, N(0, stddev^2)``.

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
        values = _draws.sample(
            key_values,
            shape,
            dtype,
            dtype,
            _draws.Affine(_draws.NORMAL, (), stddev),
        )
        scores = _draws.uniform(key_rows, shape, _dtypes.default_float())
        rank = jnp.argsort(jnp.argsort(scores, axis=0), axis=0)
        return jnp.where(rank < zeros, jnp.zeros((), dtype), values)

    return draw

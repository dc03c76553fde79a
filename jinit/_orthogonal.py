"""Orthogonal initializer."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jinit import _checks
from jinit._base import factory


@factory(random=True, ndim=(2, None))
def orthogonal(gain=1.0, seed=None, *, dtype=None):
    """Initializer that draws a Haar-random (semi-)orthogonal matrix.

    The shape is flattened to ``(rows, cols) = (prod(shape[:-1]),
    shape[-1])``. A standard normal matrix of shape ``(max(rows, cols),
    min(rows, cols))`` is factored as ``QR``; multiplying each column of ``Q``
    by the sign of the matching diagonal entry of ``R`` makes ``Q`` uniform
    (Haar) on the orthogonal group (Mezzadri 2007); ``Q`` is transposed when
    ``rows < cols``, multiplied by ``gain`` and reshaped to ``shape``. So
    ``W^T W = gain**2 I`` when ``rows >= cols`` and ``W W^T = gain**2 I``
    otherwise. Computed in float32 (float64 for float64) and cast once, so it
    works in bfloat16 and float16. For float32 the values equal those of
    ``jax.nn.initializers.orthogonal(scale=gain)`` with the same key.

    Args:
      gain: multiplicative factor applied to the orthogonal matrix.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``gain`` is not finite; at call time, a shape below 2-D.
      TypeError: ``seed`` is not an int.

    Example:
      >>> import jax, jax.numpy as jnp, jinit
      >>> w = jinit.orthogonal(gain=2.0)(jax.random.key(0), (64, 32))
      >>> bool(jnp.allclose(w.T @ w, 4.0 * jnp.eye(32), atol=1e-4))
      True

    References:
      Saxe, McClelland & Ganguli (2014), Exact solutions to the nonlinear
      dynamics of learning in deep linear neural networks,
      https://arxiv.org/abs/1312.6120. Mezzadri (2007), How to generate random
      matrices from the classical compact groups,
      https://arxiv.org/abs/math-ph/0609050.
    """
    gain = _checks.check_real("gain", gain)

    def draw(key, shape, dtype):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q = jax.random.orthogonal(key, rows, (), dtype, cols)
        return jnp.array(gain, dtype) * q.reshape(shape)

    return draw

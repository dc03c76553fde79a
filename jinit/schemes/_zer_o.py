"""ZerO: deterministic initialization with zeros, ones and Hadamard signs.

Zhao, Schäfer & Anandkumar (2022).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import DTypeLike

from jinit import _shapes
from jinit._about import About
from jinit._contract import Draw, factory


def _check_zer_o(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 2, 5, initializer)


def zer_o_matrix(inputs: int, outputs: int, dtype: np.dtype) -> jax.Array:
    """The ``(inputs, outputs)`` kernel, computed on the device from iotas.

    The transpose of the paper's ``W`` in ``R^{outputs x inputs}``.
    """
    rows = lax.broadcasted_iota(jnp.uint32, (inputs, outputs), 0)
    columns = lax.broadcasted_iota(jnp.uint32, (inputs, outputs), 1)
    if outputs <= inputs:
        return (rows == columns).astype(dtype)
    m = (outputs - 1).bit_length()  # ceil(log2(outputs)), exactly.
    # Sylvester's H_m[i, j] = (-1)^popcount(i & j): the (inputs, outputs)
    # corner that I* H_m I* selects, never the 2^m x 2^m matrix.
    odd = lax.population_count(rows & columns) & 1
    c = np.asarray(2.0 ** (-(m - 1) / 2), dtype)
    return jnp.where(odd == 1, -c, c)


def _zer_o_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """Of the (in, out) matrix at one tap of ``prod(shape[:-2])``."""
    inputs, outputs = shape[-2:]
    matrix = np.asarray(
        zer_o_matrix(inputs, outputs, np.dtype(np.float32)), np.float64
    )
    size = matrix.size * int(np.prod(shape[:-2]))
    mean = matrix.sum() / size
    return float(mean), float(np.sqrt((matrix**2).sum() / size - mean**2))


@factory(
    random=False,
    floating=True,
    check=_check_zer_o,
    about=About(
        family="scheme",
        formula="I, partial I, or 2^(-(m-1)/2) Hadamard signs (out > in)",
        details="deterministic: (in, out) kernel I, eye(in, out) for out < in, "
        "2^(−(m−1)/2)·(−1)^popcount(i & j) with m = ⌈log₂ out⌉ for "
        "out > in; (…spatial, in, out) kernels at the centre tap; "
        "floating dtypes",
        reference="ZerO, Zhao et al. 2022",
        keras=True,
        moments=_zer_o_moments,
    ),
)
def zer_o(*, dtype: DTypeLike | None = None) -> Draw:
    """ZerO initializer: identity, partial identity, or Hadamard signs.

    The law: ``I, partial I, or 2^(-(m-1)/2) Hadamard signs (out > in)``.

    For a dense kernel of shape ``(in, out)``, the transpose of the paper's
    ``W`` in ``R^{out x in}`` (Algorithm 1):

    * ``out == in``: ``W = I``;
    * ``out < in``: ``W = I*``, the partial identity (the first ``out``
      inputs pass through), so ``kernel = eye(in, out)``;
    * ``out > in``: ``W = c I* H_m I*`` with ``m = ceil(log2(out))``,
      ``c = 2^(-(m-1)/2)`` and ``H_m`` the ``2^m x 2^m`` Sylvester Hadamard
      matrix, so ``kernel[i, j] = c (-1)^popcount(i & j)``.

    When ``out = 2^m`` the rows of the kernel are orthogonal and
    ``kernel @ kernel.T = c^2 2^m I = 2 I``: every output is alive and the
    input is kept whole, with a norm gain of ``sqrt(2)``. A zero-padded
    identity would instead leave ``out - in`` outputs at 0.

    For a ``(*spatial, in, out)`` convolution kernel with 1 to 3 spatial axes
    (HWIO, as :func:`jinit.dirac`) the matrix sits at the centre tap
    ``((k - 1) // 2 for k in spatial)`` and every other tap is 0
    (Algorithm 2), so a ``SAME`` convolution with ``in == out`` is the
    identity map. The paper takes odd ``k`` and tap ``floor(k / 2)``, the
    same tap; for even ``k`` this is ``k / 2 - 1``, the tap ``SAME`` padding
    centres. The key is ignored.

    The authors' code (``example_mnist.ipynb`` in
    github.com/jiaweizzhao/ZerO-initialization) divides ``hadamard(p)`` by
    ``2**(clog_m/2)``, i.e. ``c = 2^(-m/2)``, an isometry for ``out = 2^m``;
    this follows the paper's ``c = 2^(-(m-1)/2)``, ``sqrt(2)`` times larger.

    Args:
      dtype: the initializer's default dtype, a real floating one (default
        float32, or float64 under x64).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      TypeError: at call time, a dtype that is not real floating.
      ValueError: at call time, a shape that is not 2-, 3-, 4- or 5-D.

    Examples:
      >>> import jinit
      >>> w = jinit.zer_o()(None, (2, 4))
      >>> print(w)
      [[ 0.70710677  0.70710677  0.70710677  0.70710677]
       [ 0.70710677 -0.70710677  0.70710677 -0.70710677]]
      >>> import jax.numpy as jnp
      >>> bool(jnp.allclose(w @ w.T, 2 * jnp.eye(2), atol=1e-6))  # c^2 2^m I
      True
      >>> print(jinit.zer_o()(None, (4, 2)))
      [[1. 0.]
       [0. 1.]
       [0. 0.]
       [0. 0.]]

    References:
      Zhao, Schäfer & Anandkumar (2022), ZerO Initialization: Initializing
      Neural Networks with only Zeros and Ones, TMLR,
      https://arxiv.org/abs/2110.12661.
    """

    def draw(key, shape, dtype):
        *spatial, inputs, outputs = shape
        matrix = zer_o_matrix(inputs, outputs, dtype)
        if not spatial:
            return matrix
        centre = _shapes.centre_tap(spatial)
        return jnp.zeros(shape, dtype).at[centre].set(matrix)

    return draw

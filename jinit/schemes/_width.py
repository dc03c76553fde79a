"""Width rules: initializers whose scale follows the model's width."""

from __future__ import annotations

import math

from jax.typing import DTypeLike

from jinit import _validation
from jinit._about import About
from jinit._contract import ConfiguredInitializer, factory
from jinit._distributions import random_normal


@factory(
    random=True,
    about=About(
        family="scheme",
        formula="N(0, 2 / (5 dim))",
        details="N(0, 2/(5·dim)), GPT-NeoX's `small_init`",
        example={"dim": 768},
    ),
)
def small_init(
    dim: int, seed: int | None = None, *, dtype: DTypeLike | None = None
) -> ConfiguredInitializer:
    r"""GPT-NeoX's ``small_init``: ``W ~ N(0, 2 / (5 * dim))``.

    The law: ``N(0, 2 / (5 dim))``.

    The Xavier-normal variance ``2 / (fan_in + fan_out)`` of a
    ``dim x 4 dim`` MLP matrix, used for every weight of a transformer of
    width ``dim`` except those :func:`jinit.wang_init` covers.

    Args:
      dim: the model width ``d`` (>= 1).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``random_normal(0.0, sqrt(2 / (5 * dim)))``.

    Raises:
      ValueError: ``dim`` < 1.
      TypeError: ``dim`` or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.small_init(dim=1024)(jax.random.key(0), (1024, 4096))
      >>> round(float(w.std()) ** 2 * 5 * 1024 / 2, 2)
      1.0

    References:
      Nguyen & Salazar (2019), Transformers without Tears,
      https://arxiv.org/abs/1910.05895 (the Xavier std of the MLP matrices,
      used for attention too); Black et al. (2022), GPT-NeoX-20B,
      https://arxiv.org/abs/2204.06745 (``sqrt(2 / (d + 4d))``); GPT-NeoX's
      ``small_init_init_method``, which draws ``torch.nn.init.normal_``.
    """
    dim = _validation.check_count("dim", dim)
    return random_normal(0.0, math.sqrt(2 / (5 * dim)))

"""Frameworks' default initialization of Dense, Conv and Embedding layers.

They are given as jinit initializers in JAX layouts.
"""

from __future__ import annotations

import typing
from typing import NamedTuple

from jinit import _validation
from jinit._choices import Framework
from jinit._constants import zeros
from jinit._contract import Initializer
from jinit._distributions import random_normal, random_uniform, truncated_normal
from jinit._variance_scaling import (
    TRUNCATED_STDDEV,
    glorot_uniform,
    lecun_normal,
    variance_scaling,
)

FRAMEWORKS: tuple[Framework, ...] = typing.get_args(Framework)
# Equinox copies PyTorch's defaults.
ALIASES: dict[Framework, Framework] = {"equinox": "torch"}


class Preset(NamedTuple):
    """A framework's default initializers, in JAX layouts.

    Attributes:
      framework: the framework's name (``"torch"`` for ``"equinox"`` too).
      kernel: the weight of a Dense layer, shape ``(in, out)``, and of a
        convolution, shape ``(*spatial, in / groups, out)``. Every framework
        here derives both from the same fans, those of
        :func:`jinit.compute_fans`.
      embedding: the table of an Embedding layer, shape
        ``(vocab, features)``.
      uniform_bias: whether biases are drawn (PyTorch) rather than zero.
    """

    framework: str
    kernel: Initializer
    embedding: Initializer
    uniform_bias: bool

    def bias(self, fan_in: int) -> Initializer:
        """The initializer of the bias of a layer whose weight has ``fan_in``.

        ``fan_in`` is the weight's, not the bias's: ``in`` for a Dense
        layer, ``prod(spatial) * in / groups`` for a convolution. PyTorch
        (and Equinox) draw ``U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))``; the
        other frameworks start biases at zero and ignore ``fan_in``.

        Args:
          fan_in: the fan-in of the layer's weight (an int >= 1).

        Returns:
          An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

        Raises:
          TypeError: ``fan_in`` is not an int.
          ValueError: ``fan_in`` < 1.

        Examples:
          >>> import jax, jinit
          >>> b = jinit.preset("torch").bias(1024)(jax.random.key(0), (256,))
          >>> bool(abs(b).max() <= 1 / 32)
          True
        """
        fan_in = _validation.check_count("fan_in", fan_in)
        if not self.uniform_bias:
            return zeros()
        limit = fan_in**-0.5
        return random_uniform(-limit, limit)


def preset(framework: Framework) -> Preset:
    r"""The defaults of ``framework``'s Dense, Conv and Embedding layers.

    So that a model ported between frameworks starts from the same
    distribution. With ``fan_in`` and ``fan_out`` those of
    :func:`jinit.compute_fans` (``(in, out)`` for a Dense kernel,
    ``(k * in, k * out)`` for a convolution kernel with ``k`` taps), the
    standard deviation of the kernel times ``sqrt(fan_in)`` is:

    * ``"flax"`` (Linen and NNX): ``lecun_normal()``, a truncated normal of
      standard deviation ``sqrt(1 / fan_in)``: 1. Embeddings:
      ``variance_scaling(1.0, "fan_in", "untruncated_normal", in_axis=-1,
      out_axis=-2)``, ``N(0, 1 / features)``, as Flax's
      ``default_embed_init``. Biases zero.
    * ``"haiku"``: ``hk.initializers.TruncatedNormal(1 / sqrt(fan_in))``,
      whose ``stddev`` is that of the normal before it is cut at +-2, so
      ``variance_scaling(0.87962566103423978**2, "fan_in",
      "truncated_normal")``: 0.8796. Embeddings: ``truncated_normal(stddev=
      1.0)``, standard deviation 0.8796. Biases zero.
    * ``"keras"`` (Keras 3): ``glorot_uniform()``,
      ``U(-sqrt(6 / (fan_in + fan_out)), sqrt(6 / (fan_in + fan_out)))``:
      ``sqrt(2 * fan_in / (fan_in + fan_out))``, 1.265 for a 1024 -> 256
      Dense. Embeddings: ``random_uniform(-0.05, 0.05)``, standard deviation
      ``0.1 / sqrt(12) = 0.0289``. Biases zero.
    * ``"torch"`` and ``"equinox"``: ``kaiming_uniform_(a=sqrt(5))``, that is
      ``U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))``, here
      ``variance_scaling(1 / 3, "fan_in", "uniform")``:
      ``1 / sqrt(3) = 0.577``. Embeddings: ``random_normal(0.0, 1.0)``,
      ``N(0, 1)``. Biases ``U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))`` with the
      weight's ``fan_in`` (see :meth:`Preset.bias`).

    PyTorch's weights are ``(out, in, *spatial)``; the kernels here are in
    JAX's ``(*spatial, in, out)`` layout, with the same law.

    Args:
      framework: one of ``"flax"``, ``"haiku"``, ``"keras"``, ``"torch"``,
        ``"equinox"``.

    Returns:
      A :class:`Preset` with ``kernel``, ``embedding`` and ``bias(fan_in)``.

    Raises:
      ValueError: an unknown ``framework``.

    Examples:
      >>> import jax, jinit
      >>> torch_like = jinit.preset("torch")
      >>> w = torch_like.kernel(jax.random.key(0), (1024, 256))
      >>> b = torch_like.bias(1024)(jax.random.key(1), (256,))
      >>> round(float(w.std() * 1024**0.5), 2)
      0.58
      >>> e = jinit.preset("keras").embedding(jax.random.key(2), (1000, 64))
      >>> round(float(e.std()), 3)
      0.029
    """
    _validation.check_choice("framework", framework, FRAMEWORKS)
    framework = ALIASES.get(framework, framework)
    if framework == "flax":
        return Preset(
            framework,
            lecun_normal(),
            variance_scaling(
                1.0, "fan_in", "untruncated_normal", in_axis=-1, out_axis=-2
            ),
            uniform_bias=False,
        )
    if framework == "haiku":
        return Preset(
            framework,
            variance_scaling(TRUNCATED_STDDEV**2, "fan_in", "truncated_normal"),
            truncated_normal(stddev=1.0),
            uniform_bias=False,
        )
    if framework == "keras":
        return Preset(
            framework,
            glorot_uniform(),
            random_uniform(-0.05, 0.05),
            uniform_bias=False,
        )
    return Preset(
        framework,
        variance_scaling(1 / 3, "fan_in", "uniform"),
        random_normal(0.0, 1.0),
        uniform_bias=True,
    )

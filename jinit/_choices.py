"""The choices jinit's arguments take, as types: published by jinit.typing.

Each is a ``Literal`` of the strings an argument accepts (or, for
:data:`Axes`, the union of the values): a type checker refuses any other
value, and each module checks its values against the ``typing.get_args`` of
these at run time, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

Axes: TypeAlias = int | Sequence[int]
"""An axis, or several, of a weight (negative ones count from the end)."""


Mode: TypeAlias = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
"""``variance_scaling``'s ``mode``: the fan the variance is divided by."""

Distribution: TypeAlias = Literal[
    "truncated_normal", "normal", "untruncated_normal", "uniform"
]
"""``variance_scaling``'s ``distribution``.

``"normal"`` is the truncated normal, as in Keras; ``"untruncated_normal"``
is ``jax.nn.initializers``' ``"normal"``."""

OtherAxes: TypeAlias = Literal["receptive_field", "ignored"]
"""What the axes that are neither input, output nor batch count for.

A receptive field in both fans (``jax.nn.initializers`` and Keras by
default: the spatial axes of a convolution kernel), or nothing (Keras's
``input_axes``/``output_axes``: only the listed axes count)."""


UnitGain: TypeAlias = Literal[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
]
"""The nonlinearities whose ``calculate_gain`` is 1."""

Nonlinearity: TypeAlias = Literal[
    UnitGain, "tanh", "relu", "leaky_relu", "selu"
]
"""``calculate_gain``'s ``nonlinearity``."""


Framework: TypeAlias = Literal["flax", "haiku", "keras", "torch", "equinox"]
"""``preset``'s ``framework``."""


Rounding: TypeAlias = Literal["jax", "keras"]
"""Where the numbers of an elementwise law are rounded.

``"jax"`` computes them in the dtype drawn in, as
``jax.nn.initializers`` does; ``"keras"`` in float64, rounded once to
that dtype, as Keras 3 does."""


Side: TypeAlias = Literal["real", "imag"]
"""``stft``'s ``side``: the real (cosine) or imaginary (sine) part."""

Scaling: TypeAlias = Literal["density", "spectrum"]
"""``stft``'s ``scaling`` of the window."""


Stack: TypeAlias = Literal["encoder", "decoder"]
"""``deepnorm``'s ``stack``."""

ResidualDistribution: TypeAlias = Literal[
    "untruncated_normal", "truncated_normal", "uniform"
]
"""The laws the residual schemes draw from."""


MimeticDistribution: TypeAlias = Literal["uniform", "normal"]
"""``mimetic``'s ``distribution``."""

VoProduct: TypeAlias = Literal["authors_code", "paper"]
"""What ``mimetic`` makes ``W_v W_o``.

The authors' code's ``(R L)^T``, or the paper's ``L R``, for the factors
``L R`` of the target ``alpha_vo Z - beta_vo I``."""


Optimizer: TypeAlias = Literal["adam", "sgd"]
"""``mup_learning_rates``' ``optimizer``."""


HippoPart: TypeAlias = Literal["A", "B", "P"]
"""Which matrix of HiPPO-LegS ``hippo_legs`` makes."""

NplrPart: TypeAlias = Literal["B", "P", "V"]
"""Which matrix of HiPPO-LegS's normal-plus-low-rank form."""

Component: TypeAlias = Literal["real", "imag"]
"""Which component of a complex value."""

S4dInit: TypeAlias = Literal["lin", "inv", "legs", "real"]
"""``s4d``'s initialization of the diagonal state matrix."""

S4dPart: TypeAlias = Literal["real", "imag", "log"]
"""Which part of the S4D state matrix ``s4d`` makes."""

Parametrization: TypeAlias = Literal["log", "softplus"]
"""How ``ssm_step`` parametrizes a step size."""

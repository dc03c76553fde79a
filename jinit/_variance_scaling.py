"""Variance scaling, and the Glorot, He and LeCun initializers built on it."""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import About, NoJaxEquivalent
from jinit._choices import Distribution, Mode, OtherAxes
from jinit._contract import ConfiguredInitializer, Elementwise, factory
from jinit._distributions import TRUNCATION
from jinit._shapes import Axes

MODES: tuple[Mode, ...] = typing.get_args(Mode)
DISTRIBUTIONS: tuple[Distribution, ...] = typing.get_args(Distribution)
OTHER_AXES: tuple[OtherAxes, ...] = typing.get_args(OtherAxes)

# Standard deviation of N(0, 1) truncated to (-2, 2):
# sqrt(1 - 4 * phi(2) / (2 * Phi(2) - 1)).
TRUNCATED_STDDEV = 0.87962566103423978
# Root mean square of a complex standard normal (E|z|^2 = 1) whose modulus
# is truncated to 2: |z|^2 ~ Exp(1) conditioned on |z|^2 < 4, whose mean is
# (1 - 5 e^-4) / (1 - e^-4).
COMPLEX_TRUNCATED_STDDEV = math.sqrt(
    (1 - 5 * math.exp(-(TRUNCATION**2))) / (1 - math.exp(-(TRUNCATION**2)))
)


def denominator(mode: str, fan_in: float, fan_out: float) -> float:
    """The ``n`` of ``stddev = sqrt(scale / n)`` for ``mode``."""
    return {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": (fan_in * fan_out) ** 0.5,
    }[mode]


def _complex_polar(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    radius: Callable[[jax.Array], jax.Array],
) -> jax.Array:
    """``radius(u) * exp(i * theta)`` in complex ``dtype``.

    ``u`` and ``theta / 2pi`` are independent U[0, 1) draws.
    """
    key_radius, key_angle = jax.random.split(key)
    real = jnp.finfo(dtype).dtype
    r = radius(_draws.uniform(key_radius, shape, real)).astype(dtype)
    theta = 2 * np.pi * _draws.uniform(key_angle, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)


def _complex_unit(
    key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, distribution: str
) -> jax.Array:
    """A complex draw with E|z|^2 = 1 from ``distribution``."""
    if distribution == "untruncated_normal":
        return _draws.normal(key, shape, dtype)
    if distribution == "uniform":  # The unit disk scaled to E|z|^2 = 1.
        return _complex_polar(key, shape, dtype, lambda u: jnp.sqrt(2 * u))
    cut = 1 - math.exp(-(TRUNCATION**2))  # P(|z| < 2) for E|z|^2 = 1.
    z = _complex_polar(
        key, shape, dtype, lambda u: jnp.sqrt(-jnp.log1p(-cut * u))
    )
    return z / jnp.array(COMPLEX_TRUNCATED_STDDEV, dtype)


def fans(
    shape: Sequence[int],
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    other_axes: str = "receptive_field",
) -> tuple[int, int]:
    """:func:`jinit.compute_fans`, with a choice for the other axes.

    The axes that are neither input, output nor batch are a receptive field
    (``other_axes="receptive_field"``) or in neither fan (``"ignored"``,
    Keras's ``input_axes``/``output_axes``): those are then batch axes, known
    once the rank is. 0-D and 1-D shapes have no such axes with the default
    ``in_axis`` and ``out_axis``.
    """
    if other_axes == "ignored" and len(shape) >= 2:
        axes = _shapes.resolve_axes(
            shape, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
        )
        listed = set().union(*axes.values())
        in_axis, out_axis = axes["in_axis"], axes["out_axis"]
        batch_axis = (
            *axes["batch_axis"],
            *(a for a in range(len(shape)) if a not in listed),
        )
    return _shapes.compute_fans(shape, in_axis, out_axis, batch_axis, groups)


def config_fans(
    shape: Sequence[int], config: Mapping[str, Any]
) -> tuple[float, float]:
    """The fans of ``shape`` for a factory's axis arguments.

    Its ``in_axis``, ``out_axis``, ``batch_axis`` and (where it has them)
    ``groups`` and ``other_axes``.
    """
    return fans(
        shape,
        config["in_axis"],
        config["out_axis"],
        config["batch_axis"],
        config.get("groups", 1),
        config.get("other_axes", "receptive_field"),
    )


def check_fans(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    config_fans(shape, config)


# jinit's distributions as jax.nn.initializers.variance_scaling spells them.
JaxDistribution = Literal["truncated_normal", "normal", "uniform"]
JAX_DISTRIBUTIONS: dict[str, JaxDistribution] = {
    "truncated_normal": "truncated_normal",
    "normal": "truncated_normal",
    "untruncated_normal": "normal",
    "uniform": "uniform",
}


def jax_variance_scaling(config: Mapping[str, Any]) -> Any:
    """``jax.nn.initializers.variance_scaling`` with ``config``'s law.

    Or why there is none: it has no groups, and its fans count every axis
    that is not an input, output or batch axis as a receptive field.
    """
    if config["groups"] != 1:
        return NoJaxEquivalent("groups", 1)
    if config["other_axes"] != "receptive_field":
        return NoJaxEquivalent("other_axes", "receptive_field")
    return jax.nn.initializers.variance_scaling(
        config["scale"],
        config["mode"],
        JAX_DISTRIBUTIONS[config["distribution"]],
        config["in_axis"],
        config["out_axis"],
        config["batch_axis"],
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=About(
        family="variance scaling",
        formula="std sqrt(scale / n(mode)), chosen distribution",
        details="mean 0, std exactly √(scale/n) with n = fan_in, fan_out, "
        "(fan_in+fan_out)/2 or √(fan_in·fan_out) for `mode` = `fan_in`, "
        "`fan_out`, `fan_avg`, `fan_geo_avg`; `distribution`: "
        '`"truncated_normal"` = `"normal"`: '
        "z·√(scale/n)/0.87962566103423978, z ~ N(0,1) cut at ±2; "
        '`"untruncated_normal"`: N(0, scale/n); `"uniform"`: '
        "U(−√(3·scale/n), √(3·scale/n))",
        keras=True,
        jax=jax_variance_scaling,
    ),
)
def variance_scaling(
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "truncated_normal",
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> Elementwise:
    r"""Initializer whose standard deviation adapts to the weight's fans.

    The law: ``std sqrt(scale / n(mode)), chosen distribution``.

    Samples have mean 0 and standard deviation exactly ``sqrt(scale / n)``,
    where ``n`` is, for each ``mode``: ``fan_in``; ``fan_out``;
    ``(fan_in + fan_out) / 2`` (``"fan_avg"``); ``sqrt(fan_in * fan_out)``
    (``"fan_geo_avg"``). Fans follow :func:`jinit.compute_fans`: the axes
    that are neither ``in_axis``, ``out_axis`` nor ``batch_axis`` are a
    receptive field counted in both fans, or, with
    ``other_axes="ignored"``, in neither (as Keras counts its ``input_axes``
    and ``output_axes``).

    * ``"truncated_normal"`` and ``"normal"`` (the same, as in the spec and
      Keras 3): a normal truncated to +-2 of its standard deviations, drawn as
      ``z * sqrt(scale / n) / 0.87962566103423978`` with ``z`` a standard
      normal truncated to (-2, 2), so the samples' standard deviation is the
      stated one. Note that ``jax.nn.initializers`` reads ``"normal"`` as
      untruncated.
    * ``"untruncated_normal"``: ``N(0, scale / n)``.
    * ``"uniform"``: ``U(-limit, limit)`` with ``limit = sqrt(3 * scale / n)``.

    Complex dtypes get ``E|W|^2 = scale / n`` exactly too: ``"uniform"`` is
    uniform on the disk of radius ``sqrt(2 * scale / n)``,
    ``"untruncated_normal"`` has independent real and imaginary parts of
    variance ``scale / (2 n)``, and the truncated normal cuts the modulus of
    a complex standard normal at 2 and divides by the root mean square left,
    ``sqrt((1 - 5 e^-4) / (1 - e^-4)) = 0.96196`` (``jax.nn.initializers``
    divides by 0.95311, which makes the variance 1.9 % too high).

    For float32 and float64 the values equal those of
    ``jax.nn.initializers.variance_scaling`` with the same key (with its
    ``"normal"`` spelled ``"untruncated_normal"`` here).

    Args:
      scale: scaling factor (> 0).
      mode: one of ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``,
        ``"fan_geo_avg"``.
      distribution: one of ``"truncated_normal"``, ``"normal"``,
        ``"untruncated_normal"``, ``"uniform"``.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``scale`` <= 0, an unknown ``mode``, ``distribution`` or
        ``other_axes``, overlapping axes or ``groups`` < 1; at call time,
        axes out of range for the shape or outputs that ``groups`` does not
        divide.
      TypeError: ``seed`` is not an int or an axis is not an int.

    Examples:
      >>> import jax, jinit
      >>> init = jinit.variance_scaling(2.0, "fan_in", "truncated_normal")
      >>> w = init(jax.random.key(0), (1024, 512))
      >>> round(float(w.std() * (1024 / 2) ** 0.5), 2)
      1.0
      >>> per_head = jinit.variance_scaling(in_axis=1, out_axis=2,
      ...                                   other_axes="ignored")
      >>> jinit.compute_fans((4, 64, 16), 1, 2)  # axis 0: receptive field
      (256, 64)
      >>> w = per_head(jax.random.key(0), (4, 64, 16))  # fan_in 64
      >>> round(float(w.std() * 64 ** 0.5), 1)
      1.0

    References:
      Glorot & Bengio (2010), He et al. (2015), LeCun et al. (1998); see the
      named initializers.
    """
    scale = _validation.check_positive("scale", scale)
    _validation.check_choice("mode", mode, MODES)
    _validation.check_choice("distribution", distribution, DISTRIBUTIONS)
    _validation.check_choice("other_axes", other_axes, OTHER_AXES)
    _shapes.check_axes(
        in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )
    groups = _validation.check_count("groups", groups)

    def law(shape, dtype):
        if jnp.issubdtype(dtype, jnp.complexfloating):
            return None
        # In ``dtype``, as jax.nn.initializers computes them.
        variance = np.asarray(
            scale / denominator(mode, *weight_fans(shape)), dtype
        )
        if distribution == "untruncated_normal":
            return _draws.Affine(_draws.NORMAL, (), float(np.sqrt(variance)))
        if distribution == "uniform":
            return _draws.Affine(
                _draws.UNIFORM, (-1.0, 1.0), float(np.sqrt(3 * variance))
            )
        stddev = np.sqrt(variance) / np.asarray(TRUNCATED_STDDEV, dtype)
        return _draws.Affine(
            _draws.TRUNCATED_NORMAL, (-TRUNCATION, TRUNCATION), float(stddev)
        )

    def complex_draw(key, shape, dtype):
        variance = jnp.array(
            scale / denominator(mode, *weight_fans(shape)), dtype
        )
        return _complex_unit(key, shape, dtype, distribution) * jnp.sqrt(
            variance
        )

    def weight_fans(shape):
        return fans(shape, in_axis, out_axis, batch_axis, groups, other_axes)

    return Elementwise(law, complex_draw)


def _preset_about(
    formula: str,
    reference: str,
    scale: float,
    mode: Mode,
    distribution: Distribution,
) -> About:
    """What is said of a named special case of :func:`variance_scaling`."""
    return About(
        family="variance scaling",
        formula=formula,
        details=f"variance_scaling({scale:g}, {mode}, {distribution}): "
        f"{formula}",
        reference=reference,
        keras=True,
        fixed={"scale": scale, "mode": mode, "distribution": distribution},
        jax=jax_variance_scaling,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "U(-limit, limit), limit = sqrt(3 / fan_in)",
        "LeCun, Bottou, Orr & Mueller 1998",
        1.0,
        "fan_in",
        "uniform",
    ),
)
def lecun_uniform(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """Lecun uniform initializer: U(-limit, limit), limit = sqrt(3 / fan_in).

    The same as ``variance_scaling(1.0, 'fan_in', 'uniform')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.lecun_uniform`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.lecun_uniform(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.lecun_uniform()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      LeCun, Bottou, Orr & Mueller (1998), Efficient BackProp.
    """
    return variance_scaling(
        1.0,
        "fan_in",
        "uniform",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "truncated normal, stddev = sqrt(1 / fan_in)",
        "Klambauer et al. 2017",
        1.0,
        "fan_in",
        "truncated_normal",
    ),
)
def lecun_normal(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """Lecun normal initializer: truncated normal, stddev = sqrt(1 / fan_in).

    The same as ``variance_scaling(1.0, 'fan_in', 'truncated_normal')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.lecun_normal`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.lecun_normal(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.lecun_normal()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      Klambauer et al. (2017), Self-Normalizing Neural Networks,
      https://arxiv.org/abs/1706.02515.
    """
    return variance_scaling(
        1.0,
        "fan_in",
        "truncated_normal",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))",
        "Glorot & Bengio 2010",
        1.0,
        "fan_avg",
        "uniform",
    ),
)
def glorot_uniform(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """Glorot uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).

    The same as ``variance_scaling(1.0, 'fan_avg', 'uniform')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.glorot_uniform`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.glorot_uniform(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.glorot_uniform()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      Glorot & Bengio (2010), Understanding the difficulty of training deep
      feedforward neural networks.
    """
    return variance_scaling(
        1.0,
        "fan_avg",
        "uniform",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "truncated normal, stddev = sqrt(2 / (fan_in + fan_out))",
        "Glorot & Bengio 2010",
        1.0,
        "fan_avg",
        "truncated_normal",
    ),
)
def glorot_normal(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """Glorot normal: truncated normal, stddev = sqrt(2 / (fan_in + fan_out)).

    The same as ``variance_scaling(1.0, 'fan_avg', 'truncated_normal')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.glorot_normal`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.glorot_normal(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.glorot_normal()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      Glorot & Bengio (2010), Understanding the difficulty of training deep
      feedforward neural networks.
    """
    return variance_scaling(
        1.0,
        "fan_avg",
        "truncated_normal",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "U(-limit, limit), limit = sqrt(6 / fan_in)",
        "He et al. 2015",
        2.0,
        "fan_in",
        "uniform",
    ),
)
def he_uniform(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """He uniform initializer: U(-limit, limit), limit = sqrt(6 / fan_in).

    The same as ``variance_scaling(2.0, 'fan_in', 'uniform')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.he_uniform`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.he_uniform(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.he_uniform()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      He et al. (2015), Delving Deep into Rectifiers,
      https://arxiv.org/abs/1502.01852.
    """
    return variance_scaling(
        2.0,
        "fan_in",
        "uniform",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )


@factory(
    random=True,
    allow_complex=True,
    check=check_fans,
    about=_preset_about(
        "truncated normal, stddev = sqrt(2 / fan_in)",
        "He et al. 2015",
        2.0,
        "fan_in",
        "truncated_normal",
    ),
)
def he_normal(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """He normal initializer: truncated normal, stddev = sqrt(2 / fan_in).

    The same as ``variance_scaling(2.0, 'fan_in', 'truncated_normal')``. A
    truncated normal is cut at +-2 standard deviations and rescaled by
    1 / 0.87962566103423978 so the samples' standard deviation is the stated
    one. For float32 and float64 the values equal those of
    ``jax.nn.initializers.he_normal`` with the same key.

    Args:
      seed: optional int in [0, 2**32). ``init(None, shape)`` then draws with
        ``jax.random.key(seed)``; ``init(key, shape)`` draws with
        ``jax.random.fold_in(key, seed)``.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (floating or complex).
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (both fans) or ``"ignored"``
        (neither fan).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes, ``groups`` < 1 or an unknown
        ``other_axes``; at call time, axes out of range or outputs that
        ``groups`` does not divide.
      TypeError: ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.he_normal(seed=0)(None, (256, 128))
      >>> w.shape, w.dtype
      ((256, 128), dtype('float32'))
      >>> same = jinit.he_normal()(jax.random.key(0), (256, 128))
      >>> bool((w == same).all())
      True

    References:
      He et al. (2015), Delving Deep into Rectifiers,
      https://arxiv.org/abs/1502.01852.
    """
    return variance_scaling(
        2.0,
        "fan_in",
        "truncated_normal",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
        dtype=dtype,
        other_axes=other_axes,
    )

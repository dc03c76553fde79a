"""Random initializers with a fixed law.

Normal, uniform and truncated normal, each an elementwise law.

For float32 and float64 each draws exactly what ``jax.random`` draws for the
same key (and what ``jax.nn.initializers.normal``, ``uniform`` and
``truncated_normal`` return when the mean or lower bound is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _draws, _dtypes, _validation
from jinit._about import About, NoJaxEquivalent
from jinit._contract import Elementwise, factory

TRUNCATION = 2.0  # truncated draws are cut at mean +- TRUNCATION * stddev


def _normal_magnitude(
    shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
) -> _dtypes.Bracketed:
    """The largest part of a complex normal draw.

    Each part has variance ``stddev**2 / 2``.
    """
    return _draws.normal_magnitude(
        jnp.finfo(dtype).dtype,
        config["stddev"] / np.sqrt(2),
        abs(config["mean"]),
    )


def _jax_normal(config: Mapping[str, Any]) -> Any:
    """``jax.nn.initializers.normal``, which has no mean."""
    if config["mean"] != 0:
        return NoJaxEquivalent("mean", 0.0)
    return jax.nn.initializers.normal(config["stddev"])


def _jax_uniform(config: Mapping[str, Any]) -> Any:
    """``jax.nn.initializers.uniform(scale)``, which draws U[0, scale)."""
    if config["minval"] != 0:
        return NoJaxEquivalent(
            "minval", 0.0, "jax's uniform(scale) draws U[0, scale)"
        )
    return jax.nn.initializers.uniform(config["maxval"])


def _jax_truncated_normal(config: Mapping[str, Any]) -> Any:
    """``jax.nn.initializers.truncated_normal``, which has no mean."""
    if config["mean"] != 0:
        return NoJaxEquivalent("mean", 0.0)
    return jax.nn.initializers.truncated_normal(config["stddev"])


@factory(
    random=True,
    allow_complex=True,
    magnitude=_normal_magnitude,
    about=About(
        family="distribution",
        formula="N(mean, stddev^2)",
        details="N(mean, stddev²)",
        keras=True,
        jax=_jax_normal,
    ),
)
def random_normal(
    mean: float = 0.0,
    stddev: float = 0.05,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Elementwise:
    """Initializer that draws from a normal distribution.

    The law: ``N(mean, stddev^2)``.

    ``W ~ N(mean, stddev**2)``, computed as ``z * stddev + mean`` with
    ``z = jax.random.normal(key, shape)``, rounded after the product and
    after the sum as those two JAX operations round. A complex dtype gets
    JAX's complex normal: independent real and imaginary parts of variance
    ``stddev**2 / 2`` each (``E|W - mean|^2 = stddev**2``).

    Args:
      mean: mean of the distribution.
      stddev: standard deviation of the distribution (>= 0).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a floating or complex dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``stddev`` < 0 or an argument is not finite; at call time,
        values that would overflow the dtype.
      TypeError: an argument is not a real number, or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.random_normal(stddev=0.02)(jax.random.key(0), (512, 512))
      >>> round(float(w.std()), 3)
      0.02
    """
    mean = _validation.check_real("mean", mean)
    stddev = _validation.check_nonnegative("stddev", stddev)

    # No shift for mean 0: adding 0.0 turns -0.0 into +0.0, unlike jax.
    law = _draws.Affine(_draws.NORMAL, (), stddev, mean or None)

    def complex_draw(key, shape, dtype):
        values = _draws.normal(key, shape, dtype) * np.asarray(stddev, dtype)
        return values + np.asarray(mean, dtype) if mean else values

    return Elementwise(
        lambda shape, dtype: (
            None if jnp.issubdtype(dtype, jnp.complexfloating) else law
        ),
        complex_draw,
    )


@factory(
    random=True,
    about=About(
        family="distribution",
        formula="U[minval, maxval)",
        keras=True,
        jax=_jax_uniform,
    ),
)
def random_uniform(
    minval: float = -0.05,
    maxval: float = 0.05,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Elementwise:
    """Initializer that draws from a uniform distribution.

    ``W ~ U[minval, maxval)``, exactly ``jax.random.uniform(key, shape, dtype,
    minval, maxval)``; standard deviation ``(maxval - minval) / sqrt(12)``.

    Args:
      minval: lower bound of the range.
      maxval: upper bound of the range (>= ``minval``).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``minval`` > ``maxval`` or a bound is not finite.
      TypeError: a bound is not a real number, or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.random_uniform(-1.0, 1.0)(jax.random.key(0), (512, 512))
      >>> bool(w.min() >= -1.0), bool(w.max() < 1.0)
      (True, True)
    """
    minval = _validation.check_real("minval", minval)
    maxval = _validation.check_real("maxval", maxval)
    if minval > maxval:
        raise ValueError(
            f"`minval` must be <= `maxval`; got minval={minval!r}"
            f", maxval={maxval!r}."
        )

    law = _draws.Affine(_draws.UNIFORM, (minval, maxval))
    return Elementwise(lambda shape, dtype: law)


@factory(
    random=True,
    about=About(
        family="distribution",
        formula="N(mean, stddev^2) cut at mean +- 2 stddev",
        details="N(mean, stddev²) with values beyond mean ± 2·stddev redrawn "
        "(inverse-CDF sampling); `stddev` is the underlying normal's, so "
        "the samples' std is 0.8796·stddev",
        keras=True,
        jax=_jax_truncated_normal,
    ),
)
def truncated_normal(
    mean: float = 0.0,
    stddev: float = 0.05,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Elementwise:
    """Initializer that draws from a truncated normal distribution.

    The law: ``N(mean, stddev^2) cut at mean +- 2 stddev``.

    ``W ~ N(mean, stddev**2)`` conditioned on ``|W - mean| < 2 * stddev``:
    values further than two standard deviations from the mean are redrawn
    (here by inverse-CDF sampling, as ``jax.random.truncated_normal`` does).
    ``stddev`` is that of the underlying normal, as in Keras; the samples'
    own standard deviation is ``0.87962566 * stddev``. Use
    :func:`jinit.variance_scaling` for a truncated normal with an exact
    standard deviation.

    Args:
      mean: mean of the distribution.
      stddev: standard deviation of the normal before truncation (>= 0).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``stddev`` < 0 or an argument is not finite.
      TypeError: an argument is not a real number, or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.truncated_normal(stddev=1.0)(jax.random.key(0), (512, 512))
      >>> bool(abs(w).max() <= 2.0)
      True
    """
    mean = _validation.check_real("mean", mean)
    stddev = _validation.check_nonnegative("stddev", stddev)

    law = _draws.Affine(
        _draws.TRUNCATED_NORMAL, (-TRUNCATION, TRUNCATION), stddev, mean or None
    )
    return Elementwise(lambda shape, dtype: law)

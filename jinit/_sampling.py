"""The unit draws every random initializer is built from: ``uniform``,
``normal``, ``truncated_normal`` and ``orthogonal``.

Each returns exactly what the ``jax.random`` function of the same name
returns for the same key, shape and dtype. Where that is certain, the values
come from a fused kernel (:mod:`jinit._threefry`): the Threefry hash and the
transform to floats in one elementwise loop, several times faster on CPU than
``jax.random``, whose CPU lowering runs the hash as a rolled loop over whole
arrays. The kernel is used when all of these hold, and ``jax.random`` is
called otherwise:

* the key is a ``threefry2x32`` key (JAX's default; typed or raw);
* ``jax_threefry_partitionable`` is on (JAX's default since 0.5.0);
* the dtype is float32 or float64 (16-bit draws are made in float32 by the
  dtype policy, then cast);
* the installed JAX is one whose stream was checked against the kernel
  (:data:`VERIFIED_JAX`);
* the computation is lowered for CPU. On GPU and TPU, JAX already unrolls the
  hash and fuses it; the kernel has not been measured there, so those
  backends use ``jax.random`` (chosen at lowering time with
  ``jax.lax.platform_dependent``, so one traced function serves every
  backend).

Scalars such as ``minval`` are traced arguments here, as in ``jax.random``,
so eager calls compute them at run time exactly as JAX does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jinit import _threefry

# Oldest and newest JAX releases whose threefry stream, in partitionable mode,
# was checked bit for bit against the kernel (every release in between too).
VERIFIED_JAX = ((0, 8, 2), (0, 10, 2))
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def uses_kernel(key: jax.Array, dtype: np.dtype) -> bool:
    """Whether draws for ``key`` in ``dtype`` come from the fused kernel on
    CPU (anything else draws with ``jax.random``)."""
    return (str(jax.random.key_impl(key)) == "threefry2x32"
            and bool(jax.config.jax_threefry_partitionable)
            and VERIFIED_JAX[0] <= jax.__version_info__ <= VERIFIED_JAX[1]
            and np.dtype(dtype) in KERNEL_DTYPES)


def _select(kernel: Callable[..., jax.Array],
            reference: Callable[..., jax.Array], key: jax.Array,
            dtype: np.dtype, *args: jax.Array) -> jax.Array:
    """``kernel(key, *args)`` when lowered for CPU and exact, else
    ``reference(key, *args)``; both compute the same values."""
    if not uses_kernel(key, dtype):
        return reference(key, *args)
    return lax.platform_dependent(key, *args, cpu=kernel, default=reference)


def _unit_interval(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
                   minval: jax.Array, maxval: jax.Array) -> jax.Array:
    """``jax.random.uniform``'s arithmetic on kernel bits: the top mantissa
    bits of each word give a float in [1, 2), shifted to [0, 1) and scaled to
    [minval, maxval)."""
    info = jnp.finfo(dtype)
    bits = _threefry.random_bits(jax.random.key_data(key), info.bits, shape)
    unsigned = bits.dtype
    mantissa = (lax.shift_right_logical(
        bits, np.array(info.bits - info.nmant, unsigned))
        | np.array(1.0, dtype).view(unsigned))
    floats = lax.bitcast_convert_type(mantissa, dtype) - np.array(1.0, dtype)
    return jnp.maximum(minval, floats * (maxval - minval) + minval)


@functools.partial(jax.jit, static_argnums=(1, 2))
def uniform(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
            minval: float | jax.Array = 0.0,
            maxval: float | jax.Array = 1.0) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``."""
    minval = lax.convert_element_type(minval, dtype)
    maxval = lax.convert_element_type(maxval, dtype)
    return _select(
        lambda key, low, high: _unit_interval(key, shape, dtype, low, high),
        lambda key, low, high: jax.random.uniform(key, shape, dtype, low,
                                                  high),
        key, dtype, minval, maxval)


def _normal_kernel(key: jax.Array, shape: tuple[int, ...],
                   dtype: np.dtype) -> jax.Array:
    low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype),
                       dtype=dtype)
    u = _unit_interval(key, shape, dtype, low, np.array(1.0, dtype))
    return lax.mul(np.array(np.sqrt(2), dtype), lax.erf_inv(u))


@functools.partial(jax.jit, static_argnums=(1, 2))
def normal(key: jax.Array, shape: tuple[int, ...],
           dtype: np.dtype) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``, real or complex (a complex
    draw has independent real and imaginary parts, each of variance 1/2)."""
    if jnp.issubdtype(dtype, jnp.complexfloating):
        real = jnp.finfo(dtype).dtype
        key_real, key_imag = jax.random.split(key)
        re = normal(key_real, shape, real).astype(dtype)
        im = normal(key_imag, shape, real).astype(dtype)
        return (re + 1j * im) / np.array(np.sqrt(2), dtype)
    return _select(
        lambda key: _normal_kernel(key, shape, dtype),
        lambda key: jax.random.normal(key, shape, dtype), key, dtype)


def _truncated_normal_kernel(key: jax.Array, lower: jax.Array,
                             upper: jax.Array, shape: tuple[int, ...],
                             dtype: np.dtype) -> jax.Array:
    sqrt2 = np.array(np.sqrt(2), dtype)
    a, b = lax.erf(lower / sqrt2), lax.erf(upper / sqrt2)
    u = _unit_interval(key, shape, dtype, a, b)
    values = sqrt2 * lax.erf_inv(u)
    return jnp.clip(values,
                    lax.nextafter(lower, np.array(np.inf, dtype)),
                    lax.nextafter(upper, np.array(-np.inf, dtype)))


@functools.partial(jax.jit, static_argnums=(3, 4))
def truncated_normal(key: jax.Array, lower: float | jax.Array,
                     upper: float | jax.Array, shape: tuple[int, ...],
                     dtype: np.dtype) -> jax.Array:
    """``jax.random.truncated_normal(key, lower, upper, shape, dtype)``: a
    standard normal restricted to (lower, upper), by the inverse CDF."""
    lower = lax.convert_element_type(lower, dtype)
    upper = lax.convert_element_type(upper, dtype)
    return _select(
        lambda key, low, high: _truncated_normal_kernel(key, low, high, shape,
                                                        dtype),
        lambda key, low, high: jax.random.truncated_normal(key, low, high,
                                                           shape, dtype),
        key, dtype, lower, upper)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def orthogonal(key: jax.Array, n: int, shape: tuple[int, ...],
               dtype: np.dtype, m: int) -> jax.Array:
    """``jax.random.orthogonal(key, n, shape, dtype, m)``: Haar-random
    ``(*shape, n, m)`` matrices with orthonormal columns (rows when
    ``n < m``), by the sign-corrected QR of a normal draw (Mezzadri 2007)."""
    z = normal(key, (*shape, max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(z)
    signs = jnp.sign(jnp.diagonal(r, axis1=-2, axis2=-1))
    x = q * jnp.expand_dims(signs, -2)
    return x.mT if n < m else x

"""Keys and seeds: the one place where an initializer gets its randomness.

An initializer is called with a JAX PRNG key: a typed key
(``jax.random.key``, any implementation, ``rbg`` included) or a raw ``uint32``
key (``jax.random.PRNGKey``) of the default implementation. A factory's
``seed=s`` stands for the key ``jax.random.key(s)`` when the call passes no
key, and is folded into the key (``jax.random.fold_in(key, s)``) when it
passes one, so neither silently overrides the other.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

SEED_LIMIT = 2**32  # jax.random.fold_in takes uint32 data.


def check_seed(seed: object) -> int | None:
    """Factory-time check of ``seed``: ``None`` or an int in [0, 2**32)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"`seed` must be None or an int in [0, 2**32); got "
            f"{type(seed).__name__} {seed!r}. To use a JAX key, pass it when "
            "calling the initializer instead.")
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"`seed` must be in [0, 2**32); got {seed!r}.")
    return int(seed)


def resolve(key: object, seed: int | None, initializer: str) -> jax.Array:
    """The typed key an initializer draws from, given its call key and seed.

    Raises:
      ValueError: neither a key nor a seed, or a batch of keys.
      TypeError: ``key`` is not a PRNG key.
    """
    if key is None:
        if seed is None:
            raise ValueError(
                f"`{initializer}` needs randomness: call it with a key, "
                "init(jax.random.key(0), shape), or build it with a seed, "
                f"{initializer}(seed=0), and call init(None, shape).")
        return jax.random.key(seed)
    key = _typed(key)
    if key.shape != ():
        raise ValueError(
            f"`key` must be a single PRNG key; got a batch of shape "
            f"{key.shape}. Use jax.vmap over the keys to draw an ensemble.")
    return key if seed is None else jax.random.fold_in(key, seed)


def _typed(key: object) -> jax.Array:
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return key
    if dtype == jnp.uint32 and getattr(key, "ndim", 0) >= 1:
        try:
            return jax.random.wrap_key_data(key)
        except (TypeError, ValueError):
            pass
    default = jax.random.key_data(jax.random.key(0))
    shown = (f"{dtype}{list(key.shape)}" if dtype is not None
             else f"{type(key).__name__} {key!r}")
    raise TypeError(
        "`key` must be a PRNG key: jax.random.key(seed) or a raw "
        f"jax.random.PRNGKey(seed) ({default.dtype}{list(default.shape)}); "
        f"got {shown}.")

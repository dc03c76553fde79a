"""Keys and seeds: the one place where an initializer gets its randomness.

An initializer is called with a JAX PRNG key: a typed key
(``jax.random.key``, any implementation, ``rbg`` included) or a raw ``uint32``
key (``jax.random.PRNGKey``) of the default implementation. A factory's
``seed=s`` stands for the key ``jax.random.key(s)`` when the call passes no
key, and is folded into the key (``jax.random.fold_in(key, s)``) when it
passes one, so neither silently overrides the other.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit import _threefry

SEED_LIMIT = 2**32  # jax.random.fold_in takes uint32 data.


def check_seed(seed: object) -> int | None:
    """Factory-time check of ``seed``: ``None`` or an int in [0, 2**32)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"`seed` must be None or an int in [0, 2**32); got "
            f"{type(seed).__name__} {seed!r}. To use a JAX key, pass it when "
            "calling the initializer instead."
        )
    if not 0 <= int(seed) < SEED_LIMIT:
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
                f"{initializer}(seed=0), and call init(None, shape)."
            )
        return seed_key(seed)
    key = _typed(key)
    if key.shape != ():
        raise ValueError(
            f"`key` must be a single PRNG key; got a batch of shape "
            f"{key.shape}. Use jax.vmap over the keys to draw an ensemble."
        )
    return key if seed is None else jax.random.fold_in(key, seed)


def seed_key(seed: int) -> jax.Array:
    """``jax.random.key(seed)`` for a seed in [0, 2**32).

    With the default ``threefry2x32`` implementation its data is
    ``(0, seed)``, wrapped here without the compilation that
    ``jax.random.key`` costs in a fresh process (about 30 ms).
    """
    config: Any = jax.config  # Its flags are not typed.
    if config.jax_default_prng_impl == "threefry2x32":
        return jax.random.wrap_key_data(
            jnp.asarray(np.array([0, seed], np.uint32)), impl="threefry2x32"
        )
    return jax.random.key(seed)


def required(key: object, caller: str) -> jax.Array:
    """The typed key for ``caller``, which has no seed to fall back on.

    Raises:
      TypeError: ``key`` is None or not a PRNG key.
      ValueError: a batch of keys.
    """
    if key is None:
        raise TypeError(
            "`key` must be a PRNG key such as jax.random.key(0); got None."
        )
    return resolve(key, None, caller)


def path_hash(path: str) -> tuple[int, int]:
    """The 64-bit hash of ``path`` as (high, low) 32-bit words.

    BLAKE2b with an 8-byte digest of the UTF-8 text, read big-endian.
    """
    digest = hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest()
    return (
        int.from_bytes(digest[:4], "big"),
        int.from_bytes(digest[4:], "big"),
    )


def path_key(key: jax.Array, path: str) -> jax.Array:
    """The key of the parameter at ``path`` in a tree of parameters.

    ``path`` names the parameter by its dict keys and sequence indices joined
    by ``/``, such as ``"layers/1/w"``. The key is ``key`` folded with a
    64-bit hash of the path (BLAKE2b, 8-byte digest of the UTF-8 text): first
    its high 32-bit word, then its low word, each with
    ``jax.random.fold_in``. The hash depends only on the path's text, so a
    parameter's key is the same in every process, Python version and machine,
    and does not change when other parameters are added, removed or
    reordered (Flax NNX and Haiku count creation order; Flax linen hashes
    paths to 32 bits). Two paths share a key only if their 64-bit hashes
    collide.

    Args:
      key: a PRNG key, typed or raw, of any implementation.
      path: the parameter's path.

    Returns:
      A typed PRNG key.

    Raises:
      TypeError: ``key`` is not a PRNG key or ``path`` is not a str.
      ValueError: ``key`` is a batch of keys (use ``jax.vmap``).

    Examples:
      >>> import jax, jinit
      >>> data = lambda path: jax.random.key_data(
      ...     jinit.path_key(jax.random.key(0), path)).tolist()
      >>> data("layers/1/w") == data("layers/1/w")
      True
      >>> data("layers/1/w") == data("layers/1/b")
      False
    """
    if not isinstance(path, str):
        raise TypeError(
            f"`path` must be a str such as 'layers/1/w'; got "
            f"{type(path).__name__} {path!r}."
        )
    key = required(key, "path_key")
    high, low = path_hash(path)
    return jax.random.fold_in(jax.random.fold_in(key, high), low)


@jax.jit
def _fold_paths(key: jax.Array, hashes: jax.Array) -> jax.Array:
    return jax.random.key_data(
        jax.vmap(
            lambda words: jax.random.fold_in(
                jax.random.fold_in(key, words[0]), words[1]
            )
        )(hashes)
    )


def path_key_data(key: jax.Array, paths: Sequence[str]) -> np.ndarray:
    """The key data of ``path_key(key, path)`` for every path, one row each.

    ``key`` must be concrete (not under ``jit``).

    For the default ``threefry2x32`` keys the folds are hashed on the host:
    ``fold_in(key, d)`` is Threefry-2x32 of the words ``(0, d)`` under the
    key, so the rows cost no compilation and no device work. Other key
    implementations fold with ``jax.random.fold_in``.
    """
    key = required(key, "path_key")
    hashes = np.array([path_hash(path) for path in paths], np.uint32).reshape(
        len(paths), 2
    )
    if str(jax.random.key_impl(key)) != "threefry2x32":
        return np.asarray(_fold_paths(key, hashes))
    high, low = np.asarray(jax.random.key_data(key)).reshape(2, 1)
    zero = np.zeros(len(paths), np.uint32)
    for column in range(2):
        high, low = _threefry.hash2x32(high, low, zero, hashes[:, column])
    return np.stack([high, low], axis=1)


def _typed(key: Any) -> jax.Array:
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return key
    if dtype == jnp.uint32 and getattr(key, "ndim", 0) >= 1:
        try:
            return jax.random.wrap_key_data(key)
        except (TypeError, ValueError):
            pass
    default = jax.random.key_data(jax.random.key(0))
    shown = (
        f"{dtype}{list(key.shape)}"
        if dtype is not None
        else f"{type(key).__name__} {key!r}"
    )
    raise TypeError(
        "`key` must be a PRNG key: jax.random.key(seed) or a raw "
        f"jax.random.PRNGKey(seed) ({default.dtype}{list(default.shape)}); "
        f"got {shown}."
    )


def path_string(path: Sequence[Any]) -> str:
    """A pytree key path as ``"layers/1/w"``.

    Dict keys, sequence indices and attribute names joined by ``/``.
    """
    parts = []
    for entry in path:
        for attribute in ("key", "idx", "name"):
            if hasattr(entry, attribute):
                parts.append(str(getattr(entry, attribute)))
                break
        else:
            parts.append(str(entry))
    return "/".join(parts)


def variable_path(path: Sequence[Any]) -> Sequence[Any]:
    """``path`` without the trailing ``.value`` of a Flax NNX variable.

    An ``nnx.Variable``'s array sits at (*the variable's path, ``value``):
    jinit names it by the variable's path (``"layers/0/kernel"``).
    """
    if path and getattr(path[-1], "name", None) == "value":
        return path[:-1]
    return path


# Paths listed in an error about a path that is not in a tree.
SHOWN_PATHS = 30


def shown_paths(names: Sequence[str]) -> str:
    """The first :data:`SHOWN_PATHS` of ``names`` for an error message."""
    shown = ", ".join(repr(name) for name in names[:SHOWN_PATHS])
    more = len(names) - SHOWN_PATHS
    if more > 0:
        shown += f" and {more} more"
    return shown or "none (params has no leaves)"


def unique_path_strings(paths: Sequence[Sequence[Any]]) -> list[str]:
    """:func:`path_string` of every path, checking that no two are equal.

    Two leaves whose paths print the same, such as ``{"a/b": x, "a": {"b":
    y}}`` or ``{"layers": [x], "layers/0": y}``, would get the same path key
    and so the same values.

    Raises:
      ValueError: two paths print the same (both are named, as
        ``jax.tree_util.keystr`` writes them).
    """
    names: list[str] = []
    seen: dict[str, Sequence[Any]] = {}
    for path in paths:
        name = path_string(path)
        if name in seen:
            raise ValueError(
                f"the leaves at {jax.tree_util.keystr(tuple(seen[name]))} "
                f"and {jax.tree_util.keystr(tuple(path))} have the same "
                f"path {name!r} (keys, indices and attributes joined by "
                "'/'), so they would get the same key and the same values; "
                "rename one of them."
            )
        seen[name] = path
        names.append(name)
    return names

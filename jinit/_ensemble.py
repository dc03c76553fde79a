"""Ensembles: ``n`` independent draws of one initializer, stacked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from jinit import _checks, _keys, _shapes
from jinit._base import place


def ensemble(init: Callable[..., jax.Array], n: int
             ) -> Callable[..., jax.Array]:
    """An initializer drawing ``n`` independent members of ``init``, stacked
    on a new leading axis.

    ``ensemble(init, n)(key, shape, dtype)`` has shape ``(n, *shape)``, and
    its member ``i`` equals ``init(jax.random.split(key, n)[i], shape,
    dtype)`` bit for bit: each member is a whole ``shape`` parameter, so fans
    are computed per member, never from the stacked array. The members are
    drawn together with ``jax.vmap``, one computation for all of them.

    Args:
      init: any initializer ``init(key, shape, dtype)`` (jinit's,
        ``jax.nn.initializers``' or your own).
      n: the number of members, an int >= 1.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``
      returning ``(n, *shape)``; ``out_sharding`` applies to the stacked
      array (shard the member axis to spread the members over devices).

    Raises:
      TypeError: ``init`` is not callable or ``n`` is not an int; at call
        time, ``key`` is not a single PRNG key.
      ValueError: ``n`` < 1.

    Example:
      >>> import jax, jinit
      >>> key = jax.random.key(0)
      >>> w = jinit.ensemble(jinit.he_normal(), 4)(key, (256, 128))
      >>> w.shape
      (4, 256, 128)
      >>> member = jinit.he_normal()(jax.random.split(key, 4)[2], (256, 128))
      >>> bool((w[2] == member).all())
      True
    """
    if not callable(init):
        raise TypeError(f"`init` must be an initializer init(key, shape, "
                        f"dtype); got {type(init).__name__} {init!r}.")
    n = _checks.check_count("n", n)

    def ensemble_init(key: jax.Array, shape: Any, dtype: Any = None, *,
                      out_sharding: Any = None) -> jax.Array:
        keys = jax.random.split(_keys.required(key, "ensemble"), n)
        shape = _shapes.canonical(shape)
        members = jax.vmap(lambda member: init(member, shape, dtype))(keys)
        return place(members, out_sharding)

    ensemble_init.__name__ = ensemble_init.__qualname__ = "ensemble"
    return ensemble_init

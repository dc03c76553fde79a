"""Ensembles: ``n`` independent draws of one initializer, stacked."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec, Sharding

from jinit import _dtypes, _host_draws, _keys, _plan, _shapes, _validation
from jinit._contract import ConfiguredInitializer
from jinit._plan import Call, Deterministic, Elementwise
from jinit._sharding import place

# Ensembles of at most this many members are drawn member by member on the
# host rows (about 0.3 ms of Python per member: 256 cost what compiling a
# vmapped draw costs, ~0.1 s); larger ones by one vmapped program.
HOST_MEMBERS = 256


def ensemble(init: Callable[..., jax.Array], n: int) -> ConfiguredInitializer:
    """An initializer drawing ``n`` independent members of ``init``, stacked.

    The members are stacked on a new leading axis.

    ``ensemble(init, n)(key, shape, dtype)`` has shape ``(n, *shape)``, and
    its member ``i`` equals ``init(jax.random.split(key, n)[i], shape,
    dtype)`` bit for bit: each member is a whole ``shape`` parameter, so fans
    are computed per member, never from the stacked array. The members are
    drawn together with ``jax.vmap``, one computation for all of them.

    With ``key=None`` the seed ``s`` of a jinit ``init`` stands for the key,
    as it does for ``init`` itself: ``ensemble(init, n)(None, shape)`` equals
    ``ensemble(init, n)(jax.random.key(s), shape)``, so member ``i`` is
    ``init(jax.random.split(jax.random.key(s), n)[i], shape)`` (``init``
    folds ``s`` into that key, as with any key); the members differ from one
    another and from ``init(None, shape)``. A deterministic ``init``
    (``zeros``, ``constant``, ...) called with ``key=None`` gives ``n``
    copies of ``init(None, shape, dtype)``.

    The result is a jinit initializer like any other: its ``repr`` reads
    like the call, equal arguments give equal, equally hashed initializers,
    and it pickles (and serializes) when ``init`` does.

    Args:
      init: any initializer ``init(key, shape, dtype)`` (jinit's,
        ``jax.nn.initializers``' or your own).
      n: the number of members, an int >= 1.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``
      returning ``(n, *shape)``; ``out_sharding`` applies to the stacked
      array (shard the member axis to spread the members over devices).
      ``dtype=None`` leaves the dtype to ``init`` (its own ``dtype``
      argument, else the default float).

    Raises:
      TypeError: ``init`` is not callable or ``n`` is not an int; at call
        time, ``key`` is not a single PRNG key.
      ValueError: ``n`` < 1; at call time, the stacked shape ``(n, *shape)``
        is too large to build (checked before anything is drawn), ``key``
        is None and ``init`` is random with no seed, or ``init`` refuses
        ``shape`` or ``dtype``.

    Examples:
      >>> import jax, jinit
      >>> key = jax.random.key(0)
      >>> init = jinit.ensemble(jinit.he_normal(), 4)
      >>> init
      ensemble(he_normal(), n=4)
      >>> w = init(key, (256, 128))
      >>> w.shape
      (4, 256, 128)
      >>> member = jinit.he_normal()(jax.random.split(key, 4)[2], (256, 128))
      >>> bool((w[2] == member).all())
      True
    """
    if not callable(init):
        raise TypeError(
            f"`init` must be an initializer init(key, shape, "
            f"dtype); got {type(init).__name__} {init!r}."
        )
    n = _validation.check_count("n", n)
    return Ensemble(
        ensemble,
        {"init": init, "n": n},
        _draw(init, n),
        random=getattr(init, "random", True),
        # The dtype and the values are init's to check.
        floating=False,
        allow_complex=True,
        check=None,
        magnitude=None,
    )


def _draw(
    init: Callable[..., jax.Array], n: int
) -> Callable[[jax.Array | None, tuple[int, ...], Any], jax.Array]:
    """The members of ``init`` for ``key``, stacked.

    With ``key`` ``None``: ``n`` copies of a deterministic ``init(None, ...)``.
    """

    def draw(
        key: jax.Array | None, shape: tuple[int, ...], dtype: Any
    ) -> jax.Array:
        if key is None:
            member = init(None, shape, dtype)
            return jnp.broadcast_to(member, (n, *member.shape))
        return jax.vmap(lambda member: init(member, shape, dtype))(
            jax.random.split(key, n)
        )

    return draw


class Ensemble(ConfiguredInitializer):
    """The initializer :func:`ensemble` returns.

    A :class:`ConfiguredInitializer` whose call leaves the key's seed and
    the dtype to the inner initializer, member by member, and returns the
    stacked shape ``(n, *shape)``.
    """

    __slots__ = ()

    def _inner(self) -> tuple[Callable[..., jax.Array], int]:
        return self._config["init"], self._config["n"]

    def prepare(
        self, key: jax.Array | None, shape: Any, dtype: Any = None
    ) -> Call:
        """Checks a call's arguments as the call does, without drawing.

        It checks the stacked shape, the key (or the inner initializer's seed)
        and the inner initializer's own checks of ``shape`` and ``dtype``.

        ``Call.key`` is the key split into the members (``None`` for a
        deterministic inner initializer called without a key), and
        ``Call.shape`` the stacked shape.
        """
        init, n = self._inner()
        shape = _shapes.canonical(shape)
        stacked = _shapes.canonical((n, *shape))
        if key is not None:
            key = _keys.required(key, self.name)
        elif getattr(init, "random", True):
            seed = (
                init.get_config().get("seed")
                if isinstance(init, ConfiguredInitializer)
                else None
            )
            if seed is None:
                raise ValueError(
                    f"`ensemble` of {init!r} needs randomness: call it with "
                    "a key, init(jax.random.key(0), shape), or give its "
                    "initializer a seed, ensemble(he_normal(seed=0), n), "
                    "and call init(None, shape)."
                )
            key = _keys.seed_key(seed)
        if isinstance(init, ConfiguredInitializer):
            # The key only resolves init's seed here; the members get theirs
            # from the split.
            member = init.prepare(key, shape, dtype)
            dtype, work_dtype = member.dtype, member.work_dtype
        else:
            dtype = _dtypes.as_dtype("dtype", dtype)
            dtype = work_dtype = (
                _dtypes.default_float() if dtype is None else dtype
            )
        try:  # The members, and their keys (at most 4 words each).
            _shapes.check_size(stacked, dtype, work_dtype)
            _shapes.check_size((n, 4), np.dtype(np.uint32))
        except ValueError as error:
            raise ValueError(
                f"{n} members of `shape` {shape} are too many to stack: {error}"
            ) from None
        return Call(key, stacked, dtype, work_dtype, None)

    def __call__(
        self,
        key: jax.Array | None,
        shape: Any,
        dtype: Any = None,
        *,
        out_sharding: Sharding | PartitionSpec | None = None,
    ) -> jax.Array:
        call = self.prepare(key, shape, dtype)
        if out_sharding is None:
            stacked = self._on_host(call, dtype)
            if stacked is not None:
                return stacked
        # Made by _draw.
        assert not isinstance(self._draw, (Elementwise, Deterministic))
        return place(self._draw(call.key, call.shape[1:], dtype), out_sharding)

    def _plan_call(
        self,
        call: Call,
        sharding: Sharding | PartitionSpec | None = None,
        key_data: np.ndarray | None = None,
        eager: bool | None = None,
    ) -> _plan.Plan | None:
        """``None``: the stack is made by calling the ensemble."""
        return None

    def _on_host(self, call: Call, dtype: Any) -> jax.Array | None:
        """The members made and stacked in host memory, eagerly.

        With nothing compiled per shape: the copies of a deterministic
        initializer, or at most :data:`HOST_MEMBERS` random members whose
        plans (:func:`jinit._plan.plan`) fill a constant or draw host rows;
        ``None`` otherwise, and under ``jit`` or ``vmap``.
        """
        init, n = self._inner()
        if not _host_draws.eager() or isinstance(call.key, jax.core.Tracer):
            return None
        if call.key is None:  # n copies of a deterministic initializer's.
            member = np.asarray(init(None, call.shape[1:], dtype))
            return jax.device_put(np.broadcast_to(member, call.shape))
        if not isinstance(init, ConfiguredInitializer) or n > HOST_MEMBERS:
            return None
        plans = []
        for key in jax.random.split(call.key, n):
            planned = init._plan_call(init.prepare(key, call.shape[1:], dtype))
            if planned is not None and planned.way == "fill":
                # A constant, whose key is not used: filled stacked.
                stacked = planned.call._replace(shape=call.shape)
                return _plan.run(dataclasses.replace(planned, call=stacked))
            if planned is None or planned.way != "host_rows":
                return None  # The first member's way is every member's.
            plans.append(planned)
        drawn = _plan.run_many(plans)
        return jax.device_put(np.stack([np.asarray(array) for array in drawn]))

    def __repr__(self) -> str:
        init, n = self._inner()
        return f"{self.name}({init!r}, n={n})"

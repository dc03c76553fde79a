"""How one array is made: the call planner.

Every array jinit makes, whether by a call ``init(key, shape, dtype)``, as a
member of :func:`jinit.ensemble` or as a leaf of :func:`jinit.materialize`,
is made the way :func:`plan` decides, from the checked call
(:class:`Call`), what the factory returned (a draw, an :class:`Elementwise`
law or :class:`Deterministic` values) and the sharding asked for:

============== ======================================================
``empty``      a zero-size shape: no elements, nothing compiled.
``fill``       a constant, eagerly: filled in host memory (each process
               only its own shards).
``full``       a constant under ``jit``: ``jnp.full`` in the program.
``host_rows``  an affine law drawn eagerly on the CPU, unsharded: the
               packed rows of :func:`jinit._host_draws.sample_many`
               (nothing compiled per shape).
``compiled``   an affine law drawn by :func:`jinit._draws.sample`, the
               program compiled for its shape (and sharded, where asked).
``host``       deterministic values computed with NumPy, eagerly.
``traced``     deterministic values computed with ``jax.numpy`` in the
               traced program.
``draw``       any other law: the factory's own draw.
============== ======================================================

Every way gives the same bits for the same call: that is what makes an
eager, a ``jit``, a ``vmap``, a sharded and a materialized draw agree. A
process with ``JINIT_ACCELERATOR_PATH=1`` plans as a GPU or TPU process
does (never ``host_rows``; see :data:`jinit._draws.ACCELERATOR_PATH`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec, Sharding

from jinit import _draws, _host_draws
from jinit._sharding import from_host, place

Shape = tuple[int, ...]
"""A canonical shape: a tuple of non-negative ints."""
Draw = Callable[[jax.Array | None, Shape, np.dtype], jax.Array]


class Fill(NamedTuple):
    """The values of a constant: every element is ``value``.

    ``value`` is a 0-d NumPy array of the dtype.
    """

    value: np.ndarray


class Elementwise(NamedTuple):
    """What a factory returns instead of a draw when all elements have one law.

    ``law(shape, dtype)`` gives that law, an affine law
    ``scale * unit + shift`` (a :class:`jinit._draws.Affine`) or a
    :class:`Fill`, or ``None`` where the values have no such form, and then
    ``otherwise(key, shape, dtype)`` makes them.

    Affine laws are compiled whole with their scale (so eager, ``jit`` and
    ``vmap`` draws are the same bits) and created directly sharded;
    :func:`jinit.materialize` makes both kinds of law on the host of a CPU
    without compiling anything per shape.
    """

    law: Callable[[Shape, np.dtype], _draws.Affine | Fill | None]
    otherwise: Draw | None = None


class Deterministic(NamedTuple):
    """What a factory returns whose values depend on the shape only.

    ``values(xp, shape, dtype)`` computes them for the array module ``xp``:
    NumPy for an eager call (:func:`plan`'s ``host``), which makes them in
    host memory with no compilation per shape, and ``jax.numpy`` under
    ``jit`` (``traced``), where they are computed when the program runs
    (in it, or by a host callback it makes) rather than embedded in it as a
    constant. The two give the same values.
    """

    values: Callable[[Any, Shape, np.dtype], Any]


class Call(NamedTuple):
    """The checked arguments of one call of an initializer.

    ``key`` has the seed folded in (``None`` for a deterministic
    initializer); ``work_dtype`` is the dtype drawn in before the cast to
    ``dtype``; ``law`` is the law of every element (see
    :class:`Elementwise`), or ``None`` (always for a zero-size shape, which
    has no elements).
    """

    key: jax.Array | None
    shape: Shape
    dtype: np.dtype
    work_dtype: np.dtype
    law: _draws.Affine | Fill | None


Way = Literal[
    "empty", "fill", "full", "host_rows", "compiled", "host", "traced", "draw"
]


@dataclasses.dataclass(frozen=True)
class Plan:
    """How the array of one call is made (see the module's table).

    ``host_draw``: the call as a row of
    :func:`jinit._host_draws.sample_many`, for ``host_rows``.
    """

    way: Way
    call: Call
    made: Draw | Elementwise | Deterministic
    sharding: Sharding | PartitionSpec | None
    host_draw: _host_draws.HostDraw | None = None


def eager() -> bool:
    """Whether no ``jit`` traces the caller.

    :func:`jinit._host_draws.eager`, for the callers of :func:`plan`.
    """
    return _host_draws.eager()


def plan(
    call: Call,
    made: Draw | Elementwise | Deterministic,
    sharding: Sharding | PartitionSpec | None = None,
    key_data: np.ndarray | None = None,
    eager: bool | None = None,
) -> Plan:
    """How to make the array of ``call``, whose factory returned ``made``.

    ``key_data``, the words of ``call.key`` where the caller has them on the
    host already, saves reading them back from the device. ``eager``,
    whether no ``jit`` traces the call (:func:`jinit._host_draws.eager`),
    where the caller has asked already: :func:`jinit.materialize` asks once
    for all its leaves (a dispatch of about 60 us each time).
    """

    def way(name: Way, row: _host_draws.HostDraw | None = None) -> Plan:
        return Plan(name, call, made, sharding, row)

    if math.prod(call.shape) == 0:
        return way("empty")
    law = call.law
    if not (
        isinstance(law, (Fill, _draws.Affine))
        or isinstance(made, Deterministic)
    ):
        return way("draw")
    # Whether no jit traces the call: an array made on the host is then its
    # result (under jit it would become a constant of the program).
    if eager is None:
        eager = _host_draws.eager()
    if isinstance(law, Fill):
        return way("fill" if eager else "full")
    if isinstance(law, _draws.Affine):
        row = _host_row(call, key_data) if eager and sharding is None else None
        return way("compiled") if row is None else way("host_rows", row)
    return way("host" if eager else "traced")


def _host_row(
    call: Call, key_data: np.ndarray | None
) -> _host_draws.HostDraw | None:
    """An eager ``call`` of an affine law as a row of the host draws.

    A draw of :func:`jinit._host_draws.sample_many`, where the host rows
    draw it (its key not batched by ``vmap``,
    :func:`jinit._host_draws.packs`); ``None`` otherwise.
    """
    assert isinstance(call.law, _draws.Affine)
    if (
        call.key is None
        or isinstance(call.key, jax.core.Tracer)
        or not _host_draws.packs(call.key, call.shape, call.work_dtype)
    ):
        return None
    if key_data is None:
        key_data = np.asarray(jax.random.key_data(call.key))
    return _host_draws.HostDraw(
        key_data, call.shape, call.work_dtype, call.dtype, call.law
    )


def run(planned: Plan) -> jax.Array:
    """The array of one plan."""
    return run_many([planned])[0]


def run_many(plans: Sequence[Plan]) -> list[jax.Array]:
    """The arrays of ``plans``, in order.

    The ``host_rows`` are drawn together, one kernel for each kind of law
    (:func:`jinit._host_draws.sample_many`); the others one by one, each
    started once the one before is done, so that at most one is in flight.
    """
    arrays: list[jax.Array | None] = [None] * len(plans)
    rows = {
        index: planned.host_draw
        for index, planned in enumerate(plans)
        if planned.host_draw is not None
    }
    previous = None
    for index, planned in enumerate(plans):
        if index in rows:
            continue
        arrays[index] = value = _make(planned)
        jax.block_until_ready(previous)
        previous = value
    drawn = _host_draws.sample_many(list(rows.values())) if rows else []
    for index, value in zip(rows, drawn, strict=True):
        arrays[index] = value
    made = [array for array in arrays if array is not None]
    assert len(made) == len(plans)  # Every plan made its array.
    return made


def _make(planned: Plan) -> jax.Array:
    """The array of a plan that is not ``host_rows``."""
    call, sharding = planned.call, planned.sharding
    if planned.way == "empty":
        return place(jax.device_put(np.zeros(call.shape, call.dtype)), sharding)
    if planned.way == "full":
        assert isinstance(call.law, Fill)
        return place(jnp.full(call.shape, call.law.value, call.dtype), sharding)
    if planned.way == "fill":
        assert isinstance(call.law, Fill)
        value = call.law.value
        if sharding is None:
            return _host_draws.filled(call.shape, value)
        # Each process fills only its own shards.
        return from_host(
            call.shape, sharding, np.broadcast_to(value, call.shape).__getitem__
        )
    if planned.way == "compiled":
        assert call.key is not None and isinstance(call.law, _draws.Affine)
        return _draws.sample(
            call.key,
            call.shape,
            call.work_dtype,
            call.dtype,
            call.law,
            sharding,
        )
    if planned.way in ("host", "traced"):
        assert isinstance(planned.made, Deterministic)
        host = planned.way == "host"
        values = planned.made.values(
            np if host else jnp, call.shape, call.work_dtype
        )
        if host and sharding is not None:
            return from_host(
                call.shape, sharding, np.asarray(values, call.dtype).__getitem__
            )
        return place(jnp.asarray(values, call.dtype), sharding)
    # "draw": the factory's own.
    made = planned.made
    draw = made.otherwise if isinstance(made, Elementwise) else made
    assert callable(draw)  # An Elementwise without a law has one.
    return place(
        draw(call.key, call.shape, call.work_dtype).astype(call.dtype), sharding
    )

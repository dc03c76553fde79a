"""Arrays made together in host memory on the CPU, with no per-shape compile.

The elementwise laws of :mod:`jinit._draws` drawn in packed rows by one
kernel per kind of law, and constant fills.

This is how :func:`jinit.materialize` makes a whole model fast: XLA on CPU
spends ~0.1 s compiling a draw for each new shape, and ~10 ms per output of
one big ``jit``, where these cost one memory copy.
"""

from __future__ import annotations

import functools
import itertools
import math
import mmap
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax

from jinit import _draws, _threefry

# sample_many draws in calls of ROWS rows of ROW elements: each row is a run
# of consecutive elements of one parameter, with its own key and scale.
ROW = 2**12
ROWS = 2**6
# out_in moves the axes of this many input rows at a time.
TRANSPOSE_BLOCK = 64


@functools.partial(jax.jit, static_argnames=("dtype", "out_dtype", "unit"))
def _rows(
    key_data: jax.Array,
    starts: jax.Array,
    bounds: tuple[jax.Array, ...],
    scales: jax.Array | None,
    shifts: jax.Array | None,
    clamps: tuple[jax.Array, jax.Array] | None,
    *,
    dtype: np.dtype,
    out_dtype: np.dtype,
    unit: _draws.Unit,
) -> jax.Array:
    """The packed rows of a draw, scaled, shifted and clamped.

    Row ``r`` holds elements ``starts[r], ..., starts[r] + ROW - 1`` of the
    row-major draw for the key with data ``key_data[r]``, scaled by
    ``scales[r]``, shifted by ``shifts[r]`` and cast within
    ``clamps[0][r], clamps[1][r]``.
    """
    low = starts[:, None] + lax.broadcasted_iota(np.uint32, (ROWS, ROW), 1)
    bits = _threefry.bits_at(
        key_data.T[..., None], jnp.finfo(dtype).bits, lax.full_like(low, 0), low
    )
    values = _draws.from_bits(unit, bits, dtype, bounds)
    scales, shifts = (
        None if per_row is None else per_row[:, None]
        for per_row in (scales, shifts)
    )
    clamps = (
        None if clamps is None else (clamps[0][:, None], clamps[1][:, None])
    )
    return _draws.cast(
        _draws.rescale(values, scales, shifts), out_dtype, clamps
    )


def packs(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Whether :func:`sample_many` can draw ``shape`` in ``dtype`` for ``key``.

    It can under the kernel's conditions (:func:`jinit._draws.uses_kernel`),
    on the CPU, for at most 2**32 elements (indices of one word).
    """
    return (
        _draws.uses_kernel(key, dtype)
        and on_host()
        and 0 < math.prod(shape) <= _threefry.WORD
    )


def eager() -> bool:
    """Whether the caller runs eagerly, with no ``jit`` tracing it.

    There an array made on the host is the call's result; under ``jit`` it
    would become a constant of the traced program instead of a draw in it.
    (Under ``vmap`` a call whose key is not batched is computed eagerly, as
    JAX computes any unbatched value.)
    """
    return not isinstance(lax.full((), 0, np.int8), jax.core.Tracer)


def on_host() -> bool:
    """Whether arrays made without a sharding live on the CPU.

    There :func:`sample_many` and :func:`filled` make them in host memory.
    Never with ``JINIT_ACCELERATOR_PATH=1`` (:data:`_draws.ACCELERATOR_PATH`),
    which makes a CPU process take an accelerator's branches.
    """
    return jax.default_backend() == "cpu" and not _draws.ACCELERATOR_PATH


def _host_array(
    size: int, dtype: np.dtype, *, populate: bool = True
) -> np.ndarray:
    """A zeroed host array on fresh, page-aligned memory.

    The CPU client takes it without a copy. With ``populate`` its pages are
    faulted in by the kernel in one go (``MAP_POPULATE``), 8x faster here than
    page by page on first write; otherwise they stay unmapped until read.
    """
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if populate:
        flags |= getattr(mmap, "MAP_POPULATE", 0)
    pages = mmap.mmap(-1, max(1, size * np.dtype(dtype).itemsize), flags=flags)
    return np.frombuffer(pages, dtype, count=size)


def filled(shape: tuple[int, ...], value: np.ndarray) -> jax.Array:
    """``jnp.full(shape, value)`` for a 0-d ``value``, made on the host.

    No compilation per shape (zeros need no writing at all).
    """
    out = _host_array(math.prod(shape), value.dtype, populate=bool(value))
    if value:
        out[...] = value
    return jax.device_put(out.reshape(shape))


def out_in(array: jax.Array) -> jax.Array:
    """A ``(*spatial, in, out)`` array as ``(out, in, *spatial)``, on the host.

    ``jnp.transpose`` would compile a program per shape; NumPy moves the
    axes in blocks of :data:`TRANSPOSE_BLOCK` input rows, whose writes stay
    in cache: about 1.2 ns an element here for the copy (2.2-2.8 ns with
    fresh memory faulted in), against 6-7 ns for NumPy's plain strided copy
    and 2 ns for XLA's.
    """
    values = np.asarray(array)
    *spatial, inputs, outputs = values.shape
    source = values.reshape(-1, inputs, outputs)  # (spatial, in, out)
    moved = _host_array(values.size, values.dtype).reshape(
        outputs, inputs, source.shape[0]
    )
    for tap, plane in enumerate(source):  # Each (in, out) matrix.
        for row in range(0, inputs, TRANSPOSE_BLOCK):
            block = slice(row, row + TRANSPOSE_BLOCK)
            moved[:, block, tap] = plane[block].T
    return jax.device_put(moved.reshape(outputs, inputs, *spatial))


class HostDraw(typing.NamedTuple):
    """One array for :func:`sample_many`.

    ``law`` drawn in ``dtype`` for the ``threefry2x32`` key with data
    ``key_data``, cast to ``out_dtype``.
    """

    key_data: np.ndarray
    shape: tuple[int, ...]
    dtype: np.dtype
    out_dtype: np.dtype
    law: _draws.Affine


def sample_many(draws: Sequence[HostDraw]) -> list[jax.Array]:
    """The arrays of ``draws``, as :func:`jinit._draws.sample` draws them.

    No compilation per shape: the arrays of each kind (unit, bounds, dtypes)
    are drawn together by one kernel compiled once per kind, over their
    concatenated rows, each element hashed with its own array's key and
    row-major index, so the values are the same bits.

    The rows are copied into host arrays that become the results without a
    copy. Only where :func:`packs` holds.
    """
    kinds: dict[tuple[Any, ...], list[int]] = {}
    for index, draw in enumerate(draws):
        law = draw.law
        kinds.setdefault(
            (
                law.unit,
                law.bounds,
                draw.dtype,
                draw.out_dtype,
                law.scale is None,
                law.shift is None,
            ),
            [],
        ).append(index)
    results: dict[int, jax.Array] = {}
    for indices in kinds.values():
        for index, array in _sample_kind([draws[i] for i in indices]):
            results[indices[index]] = array
    return [results[index] for index in range(len(draws))]


def _sample_kind(draws: Sequence[HostDraw]) -> Iterator[tuple[int, jax.Array]]:
    """(index, array) for draws of one kind, each as soon as it is done."""
    first = draws[0]
    sizes = [math.prod(draw.shape) for draw in draws]
    counts = [-(-size // ROW) for size in sizes]
    # Per row, in draw order (the last row repeated to fill the last call):
    # its draw, the index of its first element, its key, scale and shift.
    owner = np.repeat(np.arange(len(draws)), counts)
    owner = np.concatenate([owner, np.full(-len(owner) % ROWS, owner[-1])])
    start = np.concatenate(
        [np.arange(count, dtype=np.uint32) * ROW for count in counts]
    )
    start = np.concatenate([start, np.full(len(owner) - len(start), start[-1])])
    bounds = first.law.arguments(first.dtype)[0]
    keys = np.stack([draw.key_data for draw in draws])[owner]
    per_draw = [draw.law.arguments(draw.dtype)[1:] for draw in draws]
    scale, shift = (
        None if values[0] is None else np.stack(values)[owner]
        for values in zip(*per_draw, strict=True)
    )
    ranges = [
        draw.law.output_range(draw.dtype, draw.out_dtype) for draw in draws
    ]
    clamp = (
        None
        if ranges[0] is None
        else tuple(
            np.stack(bound)[owner] for bound in zip(*ranges, strict=True)
        )
    )
    buffers: dict[int, np.ndarray] = {}

    def copy(begin: int, values: jax.Array) -> Iterator[tuple[int, jax.Array]]:
        """Copies the rows of the call from row ``begin``, one draw at a time.

        It yields each draw it completes.
        """
        flat = np.asarray(values).reshape(-1)
        cuts = [
            0,
            *np.flatnonzero(np.diff(owner[begin : begin + ROWS])) + 1,
            ROWS,
        ]
        for low, high in itertools.pairwise(cuts):
            # Padding rows only ever follow the last row of the last draw,
            # in its run, past its end: never copied.
            index, first_element = int(owner[begin + low]), start[begin + low]
            if first_element == 0:
                buffers[index] = _host_array(sizes[index], first.out_dtype)
            stop = min(sizes[index], first_element + (high - low) * ROW)
            buffers[index][first_element:stop] = flat[
                low * ROW : low * ROW + stop - first_element
            ]
            if stop == sizes[index]:
                done = buffers.pop(index).reshape(draws[index].shape)
                yield index, jax.device_put(done)

    # The last call, copied while the next one draws.
    drawn: tuple[int, jax.Array] | None = None
    for begin in range(0, len(owner), ROWS):
        rows = slice(begin, begin + ROWS)
        values = _rows(
            keys[rows],
            start[rows],
            bounds,
            None if scale is None else scale[rows],
            None if shift is None else shift[rows],
            None if clamp is None else tuple(bound[rows] for bound in clamp),
            dtype=first.dtype,
            out_dtype=first.out_dtype,
            unit=first.law.unit,
        )
        if drawn is not None:
            yield from copy(*drawn)
        drawn = begin, values
    assert drawn is not None  # Every draw has at least one row.
    yield from copy(*drawn)

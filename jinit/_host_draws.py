"""Arrays made together in host memory on the CPU, with no per-shape compile.

The elementwise laws of :mod:`jinit._draws` drawn in packed rows by one
kernel per kind of law, and constant fills.

This is how :func:`jinit.materialize` makes a whole model fast: XLA on CPU
spends ~0.1 s compiling a draw for each new shape, and ~10 ms per output of
one big ``jit``, where these cost one memory copy.
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import mmap
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax

from jinit import _cores, _draws, _threefry

# sample_many draws in calls of ROWS rows of ROW elements: each row is a run
# of consecutive elements of one parameter, with its own key and scale.
ROW = 2**12
ROWS = 2**6
# Calls computing while the oldest is copied.
IN_FLIGHT = 3
# Copies of fewer elements stay on the calling thread.
SHARED_COPY = 2**16
# out_in moves the axes of this many input rows at a time.
TRANSPOSE_BLOCK = 64


@functools.partial(jax.jit, static_argnames=("dtype", "out_dtype", "unit"))
def _rows(
    key_data: jax.Array,
    starts: jax.Array,
    bounds: tuple[jax.Array, ...],
    scales: jax.Array,
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
    shifts = None if shifts is None else shifts[:, None]
    clamps = (
        None if clamps is None else (clamps[0][:, None], clamps[1][:, None])
    )
    return _draws.cast(
        _draws.rescale(values, scales[:, None], shifts), out_dtype, clamps
    )


def packs(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Whether :func:`sample_many` can draw ``shape`` in ``dtype`` for ``key``.

    It can under the kernel's conditions (:func:`jinit._draws.may_use_kernel`:
    its self-check may still be running, :func:`sample_many` waits for it),
    on the CPU, for at most 2**32 elements (indices of one word).
    """
    return (
        _draws.may_use_kernel(key, dtype)
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
    faulted in by the kernel in one go (``MAP_POPULATE``, 1.0-1.15 ns an
    element here, on the calling thread); otherwise they stay unmapped until
    written, and the threads writing them fault them in as they go: a fresh
    64M-element float32 array faulted and copied in 1.0 ns an element on 2
    threads, against 1.41 populated first and then copied on one.
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
    and 2 ns for XLA's. The output rows are shared among the
    :func:`jinit._cores.count` threads, which fault the fresh pages in.
    """
    values = np.asarray(array)
    *spatial, inputs, outputs = values.shape
    source = values.reshape(-1, inputs, outputs)  # (spatial, in, out)
    moved = _host_array(values.size, values.dtype, populate=False).reshape(
        outputs, inputs, source.shape[0]
    )
    threads = _cores.count()

    def move(thread: int) -> Callable[[], None]:
        # Each thread writes its own range of output rows: its own pages.
        rows = slice(
            thread * outputs // threads, (thread + 1) * outputs // threads
        )

        def move_share() -> None:
            for tap, plane in enumerate(source):  # Each (in, out) matrix.
                for row in range(0, inputs, TRANSPOSE_BLOCK):
                    block = slice(row, row + TRANSPOSE_BLOCK)
                    moved[rows, block, tap] = plane[block, rows].T

        return move_share

    _cores.run_all([move(thread) for thread in range(threads)])
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
    copy. Only where :func:`packs` holds; the kernel's self-check, which
    may still be running, is waited for before the arrays are returned.
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
                law.shift is None,
            ),
            [],
        ).append(index)
    groups = [[draws[i] for i in indices] for indices in kinds.values()]
    packed = [_pack(group) for group in groups]
    uncompiled = {
        rows.signature: rows
        for rows in packed
        if rows.signature not in _COMPILED
    }
    if len(uncompiled) > 1:
        # Compiled at once, each on a thread (about 50-70 ms each, here).
        _cores.run_all(
            [functools.partial(_compile, rows) for rows in uncompiled.values()]
        )
    results: dict[int, jax.Array] = {}
    for indices, group, rows in zip(
        kinds.values(), groups, packed, strict=True
    ):
        for index, array in _sample_kind(group, rows):
            results[indices[index]] = array
        _COMPILED.add(rows.signature)
    # The kernel's self-check may have run while these were drawn: where it
    # failed (one verdict per dtype), jax.random draws them again.
    for indices, group in zip(kinds.values(), groups, strict=True):
        if _draws.kernel_agrees(group[0].dtype):
            continue
        for index, draw in zip(indices, group, strict=True):
            key = jax.random.wrap_key_data(
                jnp.asarray(draw.key_data), impl="threefry2x32"
            )
            results[index] = _draws.sample(
                key, draw.shape, draw.dtype, draw.out_dtype, draw.law
            )
    return [results[index] for index in range(len(draws))]


class _Packed(typing.NamedTuple):
    """The rows of draws of one kind, as :func:`_rows` takes them.

    Per row, in draw order (the last row repeated to fill the last call):
    its draw (``owner``), the index of its first element, its key data,
    scale, shift and clamp; and the kind's bounds and static arguments.
    """

    owner: np.ndarray
    start: np.ndarray
    keys: np.ndarray
    bounds: tuple[np.ndarray, ...]
    scale: np.ndarray
    shift: np.ndarray | None
    clamp: tuple[np.ndarray, ...] | None
    static: dict[str, Any]

    def arguments(self, begin: int) -> tuple[Any, ...]:
        """The positional arguments of the call drawing rows from ``begin``."""
        rows = slice(begin, begin + ROWS)
        return (
            self.keys[rows],
            self.start[rows],
            self.bounds,
            self.scale[rows],
            None if self.shift is None else self.shift[rows],
            None
            if self.clamp is None
            else tuple(bound[rows] for bound in self.clamp),
        )

    @property
    def signature(self) -> tuple[Any, ...]:
        """What :func:`_rows` is compiled for."""
        return (
            *self.static.values(),
            len(self.bounds),
            self.shift is None,
            self.clamp is None,
        )


# The signatures (_Packed.signature) drawn or compiled in this process.
_COMPILED: set[tuple[Any, ...]] = set()


def _compile(rows: _Packed) -> None:
    _rows.lower(*rows.arguments(0), **rows.static).compile()


def _pack(draws: Sequence[HostDraw]) -> _Packed:
    """The rows of ``draws``, of one kind."""
    first = draws[0]
    counts = [-(-math.prod(draw.shape) // ROW) for draw in draws]
    owner = np.repeat(np.arange(len(draws)), counts)
    owner = np.concatenate([owner, np.full(-len(owner) % ROWS, owner[-1])])
    start = np.concatenate(
        [np.arange(count, dtype=np.uint32) * ROW for count in counts]
    )
    start = np.concatenate([start, np.full(len(owner) - len(start), start[-1])])
    # Every row scaled: a law without a scale by 1, which is exact for
    # every value (-0.0 included), so that one kernel serves both.
    scales, shifts = zip(
        *(draw.law.arguments(draw.dtype)[1:] for draw in draws), strict=True
    )
    scale = np.stack(
        [
            np.ones((), draw.dtype) if value is None else value
            for draw, value in zip(draws, scales, strict=True)
        ]
    )[owner]
    shift = None if shifts[0] is None else np.stack(shifts)[owner]
    ranges = [
        draw.law.output_range(draw.dtype, draw.out_dtype) for draw in draws
    ]
    return _Packed(
        owner=owner,
        start=start,
        keys=np.stack([draw.key_data for draw in draws])[owner],
        bounds=first.law.arguments(first.dtype)[0],
        scale=scale,
        shift=shift,
        clamp=None
        if ranges[0] is None
        else tuple(
            np.stack(bound)[owner] for bound in zip(*ranges, strict=True)
        ),
        static={
            "dtype": first.dtype,
            "out_dtype": first.out_dtype,
            "unit": first.law.unit,
        },
    )


def _sample_kind(
    draws: Sequence[HostDraw], rows: _Packed
) -> Iterator[tuple[int, jax.Array]]:
    """(index, array) for draws of one kind, each as soon as it is done."""
    first = draws[0]
    sizes = [math.prod(draw.shape) for draw in draws]
    owner, start = rows.owner, rows.start
    buffers: dict[int, np.ndarray] = {}

    def copy(begin: int, values: jax.Array) -> Iterator[tuple[int, jax.Array]]:
        """Copies the rows of the call from row ``begin``, one draw at a time.

        Each run of rows of one draw is cut into one share per thread, the
        threads copying at once; it yields each draw it completes.
        """
        flat = np.asarray(values).reshape(-1)
        cuts = [
            0,
            *np.flatnonzero(np.diff(owner[begin : begin + ROWS])) + 1,
            ROWS,
        ]
        # (draw, first element, stop, first element of the call's values)
        runs = []
        for low, high in itertools.pairwise(cuts):
            # Padding rows only ever follow the last row of the last draw,
            # in its run, past its end: never copied.
            index, first_element = (
                int(owner[begin + low]),
                int(start[begin + low]),
            )
            if first_element == 0:
                # Faulted in by the threads copying into it, at once.
                buffers[index] = _host_array(
                    sizes[index], first.out_dtype, populate=False
                )
            stop = min(sizes[index], first_element + (high - low) * ROW)
            runs.append((index, first_element, stop, low * ROW))
        total = sum(stop - first_element for _, first_element, stop, _ in runs)
        # One thread below SHARED_COPY elements, where handing the copy to
        # another thread costs more than it saves (~0.1 ms).
        threads = 1 if total < SHARED_COPY else _cores.count()
        share = -(-total // threads)

        def task(thread: int) -> Callable[[], None]:
            def copy_share() -> None:
                done = 0  # Elements of the runs before this one.
                for index, first_element, stop, source in runs:
                    low = max(thread * share - done, 0)
                    high = min(
                        (thread + 1) * share - done, stop - first_element
                    )
                    if low < high:
                        buffers[index][
                            first_element + low : first_element + high
                        ] = flat[source + low : source + high]
                    done += stop - first_element

            return copy_share

        _cores.run_all([task(thread) for thread in range(threads)])
        for index, _, stop, _ in runs:
            if stop == sizes[index]:
                done = buffers.pop(index).reshape(draws[index].shape)
                yield index, jax.device_put(done)

    # Up to IN_FLIGHT calls computing while the oldest is copied.
    computing: collections.deque[tuple[int, jax.Array]] = collections.deque()
    for begin in range(0, len(owner), ROWS):
        computing.append(
            (
                begin,
                _rows(*rows.arguments(begin), **rows.static),
            )
        )
        if len(computing) > IN_FLIGHT:
            yield from copy(*computing.popleft())
    while computing:
        yield from copy(*computing.popleft())

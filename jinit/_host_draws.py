"""Arrays made together in host memory on the CPU, with no per-shape compile.

The elementwise laws of :mod:`jinit._draws` drawn in packed rows by one
kernel per kind of law, and constant fills.

This is how :func:`jinit.materialize` makes a whole model fast: XLA on CPU
spends ~0.1 s compiling a draw for each new shape, and ~10 ms per output of
one big ``jit``, where these cost one memory copy.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import itertools
import json
import math
import mmap
import os
import threading
import typing
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import serialize_executable

from jinit import _cache, _cores, _draws, _threefry

# sample_many draws in calls of ROWS rows of ROW elements: each row is a run
# of consecutive elements of one parameter, with its own key and scale.
ROW = 2**12
ROWS = 2**6
# Where BIG_ROWS rows are left, in calls of that many (2M elements), by a
# second kernel: a call's fixed cost per element is an eighth of a small
# one's (GPT-2 small's 124M values, drawn warm: 0.51 -> 0.40 s here). With
# the record on (JINIT_CACHE_DIR), which keeps it for later processes, it is
# compiled with the small one; otherwise in the background once a kind has
# drawn BIG_AFTER rows in the process (32M elements), where it pays for its
# compilation, and used once ready.
BIG_ROWS = 2**9
BIG_AFTER = 2**13
# Calls computing while the oldest is copied.
IN_FLIGHT = 3
# The pages of drawn arrays freed by their last user, kept (this many bytes
# at most, the oldest let go first) to back later draws' arrays: already
# faulted in, as malloc reuses freed memory for XLA's own results. An eager
# 2.36M-element draw repeated took 5.9-6.7 ms with them, against 8.1-8.5
# ms on fresh pages (4.3-4.7 ms jitted), here.
FREED_BYTES = 2**26
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
    low = starts[:, None] + lax.broadcasted_iota(
        np.uint32, (len(starts), ROW), 1
    )
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
    JAX computes any unbatched value.) Asked by putting a scalar on a
    device, which a trace records and eager JAX does without compiling
    (``lax.full`` compiled a program, 12 ms once per process).
    """
    return not isinstance(jax.device_put(np.int8(0)), jax.core.Tracer)


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


def _drawn_array(size: int, dtype: np.dtype) -> np.ndarray:
    """A host array for the caller to fill whole; the CPU client takes it.

    Without a copy. On freed pages (:data:`FREED_BYTES`) where some hold it
    in at most twice its size; otherwise on fresh ones, left unmapped until
    written (see :func:`_host_array`). Its pages are kept when it is freed,
    where they fit in :data:`FREED_BYTES`. Fresh pages are mapped for up to
    1/8 more than it needs (never touched, they cost no memory), so that an
    array a little larger can take them later.
    """
    size_bytes = max(1, size * np.dtype(dtype).itemsize)
    step = 2 ** max(size_bytes.bit_length() - 4, 12)
    with _FREED_LOCK:
        fitting = [
            pages
            for pages in _FREED
            if size_bytes <= len(pages) <= 2 * size_bytes
        ]
        pages = min(fitting, key=len) if fitting else None
        if pages is not None:
            _FREED.remove(pages)
    if pages is None:
        pages = mmap.mmap(
            -1,
            -(-size_bytes // step) * step,
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
        )
    array = np.frombuffer(pages, dtype, count=size)
    if len(pages) <= FREED_BYTES:
        weakref.finalize(array, _keep, pages).atexit = False
    return array


def _keep(pages: mmap.mmap) -> None:
    """Keeps the pages of a freed array for :func:`_drawn_array`."""
    with _FREED_LOCK:
        _FREED.append(pages)
        while sum(len(kept) for kept in _FREED) > FREED_BYTES:
            del _FREED[0]


# The pages of freed arrays, oldest first (_drawn_array, _keep).
_FREED: list[mmap.mmap] = []
_FREED_LOCK = threading.Lock()


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
    are drawn together by one kernel compiled once per kind (and one for
    big calls, :data:`BIG_ROWS`), over their concatenated rows, each
    element hashed with its own array's key and row-major index, so the
    values are the same bits.

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
    # The kernels missing, loaded or compiled at once, each on a thread
    # (compiling takes 70-100 ms each, here).
    missing = {
        (rows.signature, count): functools.partial(_prepare_kernel, rows, count)
        for rows in packed
        for count in (ROWS, BIG_ROWS)
        if (rows.signature, count) not in _KERNELS
        and (rows.signature, count) not in _COMPILING
        and (count == ROWS or len(rows.owner) >= BIG_ROWS)
    }
    _cores.run_all(list(missing.values()))
    results: dict[int, jax.Array] = {}
    for indices, group, rows in zip(
        kinds.values(), groups, packed, strict=True
    ):
        for index, array in _sample_kind(group, rows):
            results[indices[index]] = array
        _ROWS_DRAWN[rows.signature] += len(rows.owner)
    # The kernel's self-check may have run while these were drawn: where it
    # failed (one verdict per dtype), jax.random draws them again.
    for indices, group, rows in zip(
        kinds.values(), groups, packed, strict=True
    ):
        if _draws.kernel_agrees(group[0].dtype):
            _store_kernels(rows)
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

    def arguments(self, begin: int, count: int) -> tuple[Any, ...]:
        """The arguments of the call drawing ``count`` rows from ``begin``."""
        rows = slice(begin, begin + count)
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
        """What :func:`_rows` is compiled for.

        ``jax_enable_x64`` included, which a trace reads.
        """
        return (
            *self.static.values(),
            len(self.bounds),
            self.shift is None,
            self.clamp is None,
            bool(_draws._config().jax_enable_x64),
        )


# This process's kernels, by _Packed.signature and rows a call: ready, and
# compiling in the background; those that are in the record
# (JINIT_CACHE_DIR), loaded from it or stored; and the rows drawn of each
# signature.
_KERNELS: dict[tuple[tuple[Any, ...], int], jax.stages.Compiled] = {}
_COMPILING: dict[
    tuple[tuple[Any, ...], int], concurrent.futures.Future[jax.stages.Compiled]
] = {}
_RECORDED: set[tuple[tuple[Any, ...], int]] = set()
_ROWS_DRAWN: collections.Counter[tuple[Any, ...]] = collections.Counter()


def _prepare_kernel(rows: _Packed, count: int) -> None:
    """Makes the kernel drawing ``count`` of ``rows`` a call this process's.

    It is loaded where the record holds it (:mod:`jinit._cache`).
    Otherwise it is compiled now, a kernel for :data:`ROWS` rows or, with
    the record on, one for :data:`BIG_ROWS`; with the record off, one for
    :data:`BIG_ROWS` is compiled in the background (:data:`_COMPILING`)
    once :data:`BIG_AFTER` rows of its kind have been drawn, and not before.
    """
    name = (rows.signature, count)
    stored = (
        _cache.stored(_record_key(rows, count))
        if _cache.directory() is not None
        else None
    )
    if stored is not None:
        try:
            kernel = serialize_executable.deserialize_and_load(
                stored,
                jax.tree.structure((rows.arguments(0, count), {})),
                jax.tree.structure(0),
                backend="cpu",
                # A program of one device, as compiled (not all of them).
                execution_devices=jax.local_devices(backend="cpu")[:1],
            )
        except Exception:  # A stale or damaged file: compiled instead.
            pass
        else:
            _KERNELS[name] = kernel
            _RECORDED.add(name)
            return
    if count == ROWS or _cache.directory() is not None:
        _KERNELS[name] = _compile(rows, count)
    elif _ROWS_DRAWN[rows.signature] + len(rows.owner) >= BIG_AFTER:
        _COMPILING[name] = _compiler().submit(_compile, rows, count)


def _compile(rows: _Packed, count: int) -> jax.stages.Compiled:
    return _rows.lower(*rows.arguments(0, count), **rows.static).compile()


@functools.cache
def _compiler() -> concurrent.futures.ThreadPoolExecutor:
    """The thread compiling kernels in the background."""
    return concurrent.futures.ThreadPoolExecutor(
        1, thread_name_prefix="jinit-compile"
    )


def _big_kernel(signature: tuple[Any, ...]) -> jax.stages.Compiled | None:
    """The kernel drawing :data:`BIG_ROWS` rows a call, if it is ready."""
    name = (signature, BIG_ROWS)
    compiling = _COMPILING.get(name)
    if compiling is not None and compiling.done():
        _KERNELS[name] = compiling.result()
        del _COMPILING[name]
    return _KERNELS.get(name)


def _store_kernels(rows: _Packed) -> None:
    """Stores the kernels drawing ``rows`` in the record, if not there yet.

    Where the record is on; called once their draws passed the self-check.
    """
    if _cache.directory() is None:
        return
    for count in (ROWS, BIG_ROWS):
        name = (rows.signature, count)
        if name in _KERNELS and name not in _RECORDED:
            serialized, _, _ = serialize_executable.serialize(_KERNELS[name])
            _cache.store(_record_key(rows, count), serialized)
            _RECORDED.add(name)


def _record_key(rows: _Packed, count: int) -> str:
    """What the kernel drawing ``count`` of ``rows`` is compiled from.

    As one string: the self-check's key (JAX and jaxlib, their configuration,
    ``XLA_FLAGS``, JAX's and the kernel's sources:
    :func:`jinit._draws.check_key`), every source file of jinit, the
    processor (:func:`jinit._cache.processor`), the rows a call and the
    kernel's arguments.
    """
    config = _draws._config()
    folder = os.path.dirname(__file__)
    sources = sorted(
        entry.path for entry in os.scandir(folder) if entry.name.endswith(".py")
    )
    return json.dumps(
        [
            _draws.check_key(
                rows.static["dtype"],
                x64=bool(config.jax_enable_x64),
                partitionable=bool(config.jax_threefry_partitionable),
            ),
            _cache.stamps(sources),
            _cache.processor(),
            repr(rows.signature),
            count,
            str(jax.tree.structure(rows.arguments(0, count))),
            [
                [list(np.shape(leaf)), np.asarray(leaf).dtype.name]
                for leaf in jax.tree.leaves(rows.arguments(0, count))
            ],
        ]
    )


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

    def copy(
        begin: int, count: int, values: jax.Array
    ) -> Iterator[tuple[int, jax.Array]]:
        """Copies the ``count`` rows of a call from row ``begin``.

        One draw at a time: each run of rows of one draw is cut into one
        share per thread, the threads copying at once; it yields each draw
        it completes.
        """
        flat = np.asarray(values).reshape(-1)
        cuts = [
            0,
            *np.flatnonzero(np.diff(owner[begin : begin + count])) + 1,
            count,
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
                # Faulted in (where fresh) by the threads copying into it.
                buffers[index] = _drawn_array(sizes[index], first.out_dtype)
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
    small = _KERNELS[(rows.signature, ROWS)]
    computing: collections.deque[tuple[int, int, jax.Array]] = (
        collections.deque()
    )
    begin = 0
    while begin < len(owner):
        big = (
            _big_kernel(rows.signature)
            if len(owner) - begin >= BIG_ROWS
            else None
        )
        count, kernel = (ROWS, small) if big is None else (BIG_ROWS, big)
        computing.append((begin, count, kernel(*rows.arguments(begin, count))))
        begin += count
        if len(computing) > IN_FLIGHT:
            yield from copy(*computing.popleft())
    while computing:
        yield from copy(*computing.popleft())

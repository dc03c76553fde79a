"""The draws every random initializer is built from: the unit draws
``uniform``, ``normal``, ``truncated_normal`` and ``orthogonal``, and the
elementwise laws ``scale * unit + shift`` (:class:`Affine`) that most
initializers are.

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

An :class:`Affine` law is drawn in one compiled function, unit draw, scale,
shift and cast together, with the unit values passed through an opaque
identity first: XLA would otherwise fold ``sqrt(2) * erf_inv(u) * scale``
into ``erf_inv(u) * (sqrt(2) * scale)``, which rounds differently from JAX's
eager ``normal(key) * scale``. So a draw is the same bits eagerly, under
``jit``, under ``vmap``, sharded, and in the packed rows of :func:`sample_many`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import mmap
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any

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


def _unit_interval(bits: jax.Array, dtype: np.dtype, minval: jax.Array,
                   maxval: jax.Array) -> jax.Array:
    """``jax.random.uniform``'s arithmetic on random words: the top mantissa
    bits of each word give a float in [1, 2), shifted to [0, 1) and scaled to
    [minval, maxval)."""
    info = jnp.finfo(dtype)
    unsigned = bits.dtype
    mantissa = (lax.shift_right_logical(
        bits, np.array(info.bits - info.nmant, unsigned))
        | np.array(1.0, dtype).view(unsigned))
    floats = lax.bitcast_convert_type(mantissa, dtype) - np.array(1.0, dtype)
    return jnp.maximum(minval, floats * (maxval - minval) + minval)


def _from_bits(unit: str, bits: jax.Array, dtype: np.dtype,
               bounds: tuple[jax.Array, ...]) -> jax.Array:
    """The ``unit`` draw (see :data:`UNITS`) that ``jax.random`` makes from
    the random words ``bits``."""
    if unit == "uniform":
        return _unit_interval(bits, dtype, *bounds)
    sqrt2 = np.array(np.sqrt(2), dtype)
    if unit == "normal":
        low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype),
                           dtype=dtype)
        u = _unit_interval(bits, dtype, low, np.array(1.0, dtype))
        return lax.mul(sqrt2, lax.erf_inv(u))
    lower, upper = bounds
    u = _unit_interval(bits, dtype, lax.erf(lower / sqrt2),
                       lax.erf(upper / sqrt2))
    return jnp.clip(sqrt2 * lax.erf_inv(u),
                    lax.nextafter(lower, np.array(np.inf, dtype)),
                    lax.nextafter(upper, np.array(-np.inf, dtype)))


# unit: (jax.random's function of (key, shape, dtype, *bounds), bound names)
UNITS = {
    "uniform": (lambda key, shape, dtype, low, high: jax.random.uniform(
        key, shape, dtype, low, high), ("minval", "maxval")),
    "normal": (jax.random.normal, ()),
    "truncated_normal": (lambda key, shape, dtype, lower, upper:
                         jax.random.truncated_normal(key, lower, upper, shape,
                                                     dtype),
                         ("lower", "upper")),
}


def _unit(unit: str, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
          bounds: tuple[float | jax.Array, ...]) -> jax.Array:
    """The ``unit`` draw for ``key``, from the kernel or ``jax.random``."""
    bounds = tuple(lax.convert_element_type(bound, dtype) for bound in bounds)
    width = jnp.finfo(dtype).bits
    return _select(
        lambda key, *bounds: _from_bits(unit, _threefry.random_bits(
            jax.random.key_data(key), width, shape), dtype, bounds),
        lambda key, *bounds: UNITS[unit][0](key, shape, dtype, *bounds),
        key, dtype, *bounds)


@functools.partial(jax.jit, static_argnums=(1, 2))
def uniform(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
            minval: float | jax.Array = 0.0,
            maxval: float | jax.Array = 1.0) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``."""
    return _unit("uniform", key, shape, dtype, (minval, maxval))


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
    return _unit("normal", key, shape, dtype, ())


@functools.partial(jax.jit, static_argnums=(3, 4))
def truncated_normal(key: jax.Array, lower: float | jax.Array,
                     upper: float | jax.Array, shape: tuple[int, ...],
                     dtype: np.dtype) -> jax.Array:
    """``jax.random.truncated_normal(key, lower, upper, shape, dtype)``: a
    standard normal restricted to (lower, upper), by the inverse CDF."""
    return _unit("truncated_normal", key, shape, dtype, (lower, upper))


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


@dataclasses.dataclass(frozen=True)
class Affine:
    """The elementwise law ``scale * unit + shift``.

    ``unit`` is one of :data:`UNITS` with its ``bounds`` (``minval, maxval``
    of a uniform, ``lower, upper`` of a truncated normal). ``scale`` and
    ``shift`` are numbers exact in the dtype drawn in, or ``None`` for no
    multiplication or addition (not the same as 1 or 0: adding 0.0 turns
    -0.0 into +0.0).
    """
    unit: str
    bounds: tuple[float, ...] = ()
    scale: float | None = None
    shift: float | None = None

    def arguments(self, dtype: np.dtype) -> tuple[Any, ...]:
        """The law's numbers as ``dtype`` scalars: (bounds, scale, shift)."""
        def cast(value):
            return None if value is None else np.asarray(value, dtype)
        return (tuple(cast(bound) for bound in self.bounds),
                cast(self.scale), cast(self.shift))


def _opaque(x: jax.Array) -> jax.Array:
    """``x``, bit for bit, through an xor with a zero that XLA cannot see,
    so no multiplication is reassociated across it."""
    unsigned = np.dtype(f"uint{x.dtype.itemsize * 8}")
    zero = lax.optimization_barrier(np.zeros((), unsigned))
    return lax.bitcast_convert_type(
        lax.bitcast_convert_type(x, unsigned) ^ zero, x.dtype)


def _rescale(values: jax.Array, scale: jax.Array | None,
             shift: jax.Array | None) -> jax.Array:
    if scale is not None:
        values = _opaque(values) * scale
    if shift is not None:
        values = _opaque(values) + shift
    return values


def _sample(key: jax.Array, bounds: tuple[jax.Array, ...],
            scale: jax.Array | None, shift: jax.Array | None, *,
            shape: tuple[int, ...], dtype: np.dtype, out_dtype: np.dtype,
            unit: str) -> jax.Array:
    values = _rescale(_unit(unit, key, shape, dtype, bounds), scale, shift)
    return values.astype(out_dtype)


@functools.lru_cache(maxsize=64)
def _sampler(out_sharding: Any) -> Callable[..., jax.Array]:
    return jax.jit(_sample, out_shardings=out_sharding,
                   static_argnames=("shape", "dtype", "out_dtype", "unit"))


def sample(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype,
           out_dtype: np.dtype, law: Affine,
           out_sharding: Any = None) -> jax.Array:
    """``law`` drawn in ``dtype`` for ``key`` and cast to ``out_dtype``, in
    one compiled function per shape.

    With ``out_sharding`` (a ``Sharding``, or a ``PartitionSpec`` under
    ``jax.set_mesh``) the function is compiled for that sharding: each device
    computes only the elements of its own shard, from their row-major
    indices, so the values are those of the unsharded draw.
    """
    bounds, scale, shift = law.arguments(dtype)
    return _sampler(out_sharding)(key, bounds, scale, shift, shape=shape,
                                  dtype=dtype, out_dtype=out_dtype,
                                  unit=law.unit)


# sample_many draws in calls of ROWS rows of ROW elements: each row is a run
# of consecutive elements of one parameter, with its own key and scale.
ROW = 2**12
ROWS = 2**6


@functools.partial(jax.jit, static_argnames=("dtype", "out_dtype", "unit"))
def _rows(key_data: jax.Array, starts: jax.Array,
          bounds: tuple[jax.Array, ...], scales: jax.Array | None,
          shifts: jax.Array | None, *, dtype: np.dtype, out_dtype: np.dtype,
          unit: str) -> jax.Array:
    """Row ``r`` holds elements ``starts[r], ..., starts[r] + ROW - 1`` of
    the row-major draw for the key with data ``key_data[r]``, scaled by
    ``scales[r]`` and shifted by ``shifts[r]``."""
    low = starts[:, None] + lax.broadcasted_iota(np.uint32, (ROWS, ROW), 1)
    bits = _threefry.bits_at(key_data.T[..., None], jnp.finfo(dtype).bits,
                             lax.full_like(low, 0), low)
    values = _from_bits(unit, bits, dtype, bounds)
    scales, shifts = (None if per_row is None else per_row[:, None]
                      for per_row in (scales, shifts))
    return _rescale(values, scales, shifts).astype(out_dtype)


def packs(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Whether :func:`sample_many` can draw ``shape`` in ``dtype`` for
    ``key``: the kernel's conditions (:func:`uses_kernel`), the CPU, and at
    most 2**32 elements (indices of one word)."""
    return (uses_kernel(key, dtype) and on_host()
            and 0 < math.prod(shape) <= _threefry.WORD)


def on_host() -> bool:
    """Whether arrays made without a sharding live on the CPU, where
    :func:`sample_many` and :func:`filled` make them in host memory."""
    return jax.default_backend() == "cpu"


def _host_array(size: int, dtype: np.dtype, *,
                populate: bool = True) -> np.ndarray:
    """A zeroed host array on fresh, page-aligned memory, which the CPU
    client takes without a copy. With ``populate`` its pages are faulted in
    by the kernel in one go (``MAP_POPULATE``), 8x faster here than page by
    page on first write; otherwise they stay unmapped until read."""
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if populate:
        flags |= getattr(mmap, "MAP_POPULATE", 0)
    pages = mmap.mmap(-1, max(1, size * np.dtype(dtype).itemsize),
                      flags=flags)
    return np.frombuffer(pages, dtype, count=size)


def filled(shape: tuple[int, ...], value: np.ndarray) -> jax.Array:
    """``jnp.full(shape, value)`` for a 0-d ``value``, made on the host with
    no compilation per shape (zeros need no writing at all)."""
    out = _host_array(math.prod(shape), value.dtype, populate=bool(value))
    if value:
        out[...] = value
    return jax.device_put(out.reshape(shape))


class Draw(typing.NamedTuple):
    """One array for :func:`sample_many`: ``law`` drawn in ``dtype`` for
    the ``threefry2x32`` key with data ``key_data``, cast to ``out_dtype``."""
    key_data: np.ndarray
    shape: tuple[int, ...]
    dtype: np.dtype
    out_dtype: np.dtype
    law: Affine


def sample_many(draws: Sequence[Draw]) -> list[jax.Array]:
    """``[sample(...) for draw in draws]`` on the CPU, with no compilation
    per shape: the arrays of each kind (unit, bounds, dtypes) are drawn
    together by one kernel compiled once per kind, over their concatenated
    rows, each element hashed with its own array's key and row-major index,
    so the values are those of :func:`sample`.

    The rows are copied into host arrays that become the results without a
    copy. Compiling a draw for each new shape costs ~0.1 s, and a
    whole-tree ``jit`` ~10 ms per output; this costs one memory copy. Only
    where :func:`packs` holds.
    """
    kinds: dict[tuple[Any, ...], list[int]] = {}
    for index, draw in enumerate(draws):
        law = draw.law
        kinds.setdefault((law.unit, law.bounds, draw.dtype, draw.out_dtype,
                          law.scale is None, law.shift is None),
                         []).append(index)
    results: list[jax.Array | None] = [None] * len(draws)
    for indices in kinds.values():
        for index, array in _sample_kind([draws[i] for i in indices]):
            results[indices[index]] = array
    return results


def _sample_kind(draws: Sequence[Draw]
                 ) -> Iterator[tuple[int, jax.Array]]:
    """(index, array) for draws of one kind, each as soon as it is done."""
    first = draws[0]
    sizes = [math.prod(draw.shape) for draw in draws]
    counts = [-(-size // ROW) for size in sizes]
    # Per row, in draw order (the last row repeated to fill the last call):
    # its draw, the index of its first element, its key, scale and shift.
    owner = np.repeat(np.arange(len(draws)), counts)
    owner = np.concatenate([owner, np.full(-len(owner) % ROWS, owner[-1])])
    start = np.concatenate([np.arange(count, dtype=np.uint32) * ROW
                            for count in counts])
    start = np.concatenate([start, np.full(len(owner) - len(start),
                                           start[-1])])
    bounds = first.law.arguments(first.dtype)[0]
    keys = np.stack([draw.key_data for draw in draws])[owner]
    per_draw = [draw.law.arguments(draw.dtype)[1:] for draw in draws]
    scale, shift = (None if values[0] is None else np.stack(values)[owner]
                    for values in zip(*per_draw, strict=True))
    buffers: dict[int, np.ndarray] = {}

    def copy(begin: int, values: jax.Array
             ) -> Iterator[tuple[int, jax.Array]]:
        """Copies the rows of the call from row ``begin``, a run of rows of
        one draw at a time, and yields each draw it completes."""
        values = np.asarray(values).reshape(-1)
        cuts = [0, *np.flatnonzero(np.diff(owner[begin:begin + ROWS])) + 1,
                ROWS]
        for low, high in itertools.pairwise(cuts):
            # Padding rows only ever follow the last row of the last draw,
            # in its run, past its end: never copied.
            index, first_element = owner[begin + low], start[begin + low]
            if first_element == 0:
                buffers[index] = _host_array(sizes[index], first.out_dtype)
            stop = min(sizes[index], first_element + (high - low) * ROW)
            buffers[index][first_element:stop] = values[
                low * ROW:low * ROW + stop - first_element]
            if stop == sizes[index]:
                done = buffers.pop(index).reshape(draws[index].shape)
                yield index, jax.device_put(done)

    drawn = None  # The last call, copied while the next one draws.
    for begin in range(0, len(owner), ROWS):
        rows = slice(begin, begin + ROWS)
        values = _rows(keys[rows], start[rows], bounds,
                       None if scale is None else scale[rows],
                       None if shift is None else shift[rows],
                       dtype=first.dtype, out_dtype=first.out_dtype,
                       unit=first.law.unit)
        if drawn is not None:
            yield from copy(*drawn)
        drawn = begin, values
    yield from copy(*drawn)

"""The draws every random initializer is built from.

The unit draws ``uniform``, ``normal``, ``truncated_normal`` and
``orthogonal``, and the elementwise laws ``scale * unit + shift``
(:class:`Affine`) that most initializers are.

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
* the kernel gives ``jax.random``'s bits in this process: checked once per
  dtype and configuration on a small draw of each unit
  (:func:`kernel_agrees`); where they differ (a JAX release that changed
  its stream), one ``RuntimeWarning`` says so and ``jax.random`` is used;
* the computation is lowered for CPU. On GPU and TPU, JAX already unrolls the
  hash and fuses it; the kernel has not been measured there, so those
  backends use ``jax.random`` (chosen at lowering time with
  ``jax.lax.platform_dependent``, so one traced function serves every
  backend). With ``JINIT_ACCELERATOR_PATH=1`` in the environment
  (:data:`ACCELERATOR_PATH`) a CPU process takes that branch too, and
  makes no array on the host (:func:`jinit._host_draws.on_host`): how the
  suite tests what GPU and TPU processes run.

Scalars such as ``minval`` are traced arguments here, as in ``jax.random``,
so eager calls compute them at run time exactly as JAX does.

An :class:`Affine` law is drawn in one compiled function, unit draw, scale,
shift and cast together, with the unit values passed through an opaque
identity first: XLA would otherwise fold ``sqrt(2) * erf_inv(u) * scale``
into ``erf_inv(u) * (sqrt(2) * scale)``, which rounds differently from JAX's
eager ``normal(key) * scale``. So a draw is the same bits eagerly, under
``jit``, under ``vmap``, sharded, and in the packed rows of
:func:`jinit._host_draws.sample_many`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jinit import _cache, _dtypes, _threefry
from jinit._sharding import place

KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# JINIT_ACCELERATOR_PATH=1 (read once, at import): a CPU process takes the
# branches a GPU or TPU process takes (no fused kernel, no host rows:
# jax.random in programs compiled per shape), so that the suite tests them
# without an accelerator. The values are the same bits either way.
ACCELERATOR_PATH = os.environ.get("JINIT_ACCELERATOR_PATH", "") not in (
    "",
    "0",
)
# The shape of the self-check's draws (:data:`CHECKED_UNITS`): three axes
# (row-major strides, several rows).
CHECKED_SHAPE = (3, 4, 5)


def _config() -> Any:
    """``jax.config``, whose flags type checkers do not know."""
    return jax.config


def uses_kernel(key: jax.Array, dtype: np.dtype) -> bool:
    """Whether draws for ``key`` in ``dtype`` come from the kernel on CPU.

    Anything else draws with ``jax.random``.
    """
    return may_use_kernel(key, dtype) and kernel_agrees(np.dtype(dtype))


def may_use_kernel(key: jax.Array, dtype: np.dtype) -> bool:
    """:func:`uses_kernel`, without waiting for the self-check's verdict.

    True where the kernel's conditions hold and its self-check has not
    failed yet; the check is started if it has not been. A caller that
    draws on this must ask :func:`kernel_agrees` before it returns the
    values (:func:`jinit._host_draws.sample_many` does), which waits.
    """
    return (
        str(jax.random.key_impl(key)) == "threefry2x32"
        and bool(_config().jax_threefry_partitionable)
        and np.dtype(dtype) in KERNEL_DTYPES
        and not kernel_verdict(np.dtype(dtype)).failed()
    )


def kernel_agrees(dtype: np.dtype) -> bool:
    """Whether the kernel draws ``jax.random``'s bits in ``dtype`` here.

    Each unit of :data:`CHECKED_UNITS` is drawn by the kernel and by
    ``jax.random`` for one key in :data:`CHECKED_SHAPE`, on the CPU, once
    per process, dtype and configuration (``jax_enable_x64``,
    ``jax_threefry_partitionable``), and cached: about 0.25 s on CPU. With
    ``JINIT_CACHE_DIR`` set, a check that passed is remembered between
    processes (:mod:`jinit._cache`) until JAX, its configuration or its
    flags change. Where the bits differ (a JAX release that changed its
    stream), a ``RuntimeWarning`` says so, once, and draws fall back to
    ``jax.random``. float64 is checked only under x64 (without it
    ``jax.random`` has no float64 draws, and neither has the kernel). Works
    when first asked inside a trace or under a mesh set with
    ``jax.set_mesh``.
    """
    return bool(kernel_verdict(dtype))


def kernel_verdict(dtype: np.dtype) -> Verdict:
    """The self-check of :func:`kernel_agrees` for ``dtype``, maybe pending.

    Started (on a thread of its own) when first asked for; its truth value
    waits for it.
    """
    x64 = bool(_config().jax_enable_x64)
    if np.dtype(dtype).itemsize > 4 and not x64:
        return Verdict.settled(False)
    return _self_check(
        np.dtype(dtype),
        x64=x64,
        partitionable=bool(_config().jax_threefry_partitionable),
    )


def check_key(dtype: np.dtype, *, x64: bool, partitionable: bool) -> str:
    """Everything the self-check's verdict depends on, as one string.

    The JAX and jaxlib releases, the configuration, ``XLA_FLAGS``, and the
    size and modification time of every Python file beside the one defining
    ``jax.random.normal`` (``jax.random``'s stream and its Threefry) and of
    the kernel's own (jinit's ``_draws.py`` and ``_threefry.py``), so that an
    edited JAX changes the key too.
    """
    module = sys.modules[jax.random.normal.__module__].__file__
    assert module is not None  # A module read from a file.
    folder = os.path.dirname(module)
    sources = sorted(
        entry.path for entry in os.scandir(folder) if entry.name.endswith(".py")
    )
    return json.dumps(
        [
            jax.__version__,
            getattr(jax.lib, "__version__", None),
            dtype.name,
            x64,
            partitionable,
            os.environ.get("XLA_FLAGS", ""),
            _cache.stamps([*sources, __file__, _threefry.__file__]),
        ]
    )


@functools.cache
def _self_check(dtype: np.dtype, *, x64: bool, partitionable: bool) -> Verdict:
    """:func:`kernel_verdict` for the configuration of the arguments.

    With the record on (``JINIT_CACHE_DIR``, :mod:`jinit._cache`), a check
    that passed in an earlier process under the same :func:`check_key` is
    not run again. The check runs in a thread of its own, with the caller's
    configuration but none of its context: not inside the caller's trace,
    and not under a mesh set with ``jax.set_mesh`` (whose devices the CPU
    check's program would otherwise have to use). It is started here and
    not waited for: the first host draws of a process are made while it
    runs (its verdict is asked before they are returned).
    """
    record = (  # None: the record is off (the default).
        check_key(dtype, x64=x64, partitionable=partitionable)
        if _cache.directory() is not None
        else None
    )
    if record is not None and _cache.passed(record):
        return Verdict.settled(True)

    def isolated() -> list[str] | None:
        with jax.enable_x64(x64), jax.threefry_partitionable(partitionable):
            return _units_that_differ(dtype)

    return Verdict(dtype, _checker().submit(isolated), record)


@functools.cache
def _checker() -> concurrent.futures.ThreadPoolExecutor:
    """The thread the self-checks run on, one after another."""
    return concurrent.futures.ThreadPoolExecutor(
        1, thread_name_prefix="jinit-self-check"
    )


class Verdict:
    """Whether the kernel's bits are ``jax.random``'s, for one configuration.

    Its truth value waits for the check. Decided once: a pass is then
    recorded (where the record is on); a failure, or a check that raised,
    is reported by one ``RuntimeWarning`` and draws fall back to
    ``jax.random``. The check never fails the caller's call.
    """

    def __init__(
        self,
        dtype: np.dtype | None,
        check: concurrent.futures.Future[list[str] | None] | None,
        record: str | None,
    ) -> None:
        self._dtype, self._check, self._record = dtype, check, record
        self._value: bool | None = None  # Until decided.
        self._lock = threading.Lock()

    @classmethod
    def settled(cls, value: bool) -> Verdict:
        """A verdict known already."""
        verdict = cls(None, None, None)
        verdict._value = value
        return verdict

    def failed(self) -> bool:
        """Whether the check is done and failed (without waiting)."""
        if self._value is None:
            assert self._check is not None  # Only a settled one has none.
            if not self._check.done():
                return False
        return not self

    def __bool__(self) -> bool:
        with self._lock:
            if self._value is None:
                self._value = self._decide()
            return self._value

    def _decide(self) -> bool:
        assert self._check is not None and self._dtype is not None
        dtype = self._dtype
        try:
            differ = self._check.result()
        except Exception as error:  # Reported below, never raised.
            reason = f"the check failed ({type(error).__name__}: {error})"
            differ = None
        else:
            if differ is None:  # No CPU backend: the kernel never runs.
                return False
            reason = (
                f"the fused threefry kernel's {dtype.name} "
                f"{', '.join(differ)} draws differ from jax.random's"
            )
        if differ == []:
            if self._record is not None:
                _cache.record(self._record)
            return True
        warnings.warn(
            f"jinit: on JAX {jax.__version__}, {reason}; {dtype.name} draws "
            "fall back to jax.random (the same values, 2.5-4x slower on "
            "CPU). Please report this to jinit with your JAX version.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False


def _units_that_differ(dtype: np.dtype) -> list[str] | None:
    """The units whose kernel draws in ``dtype`` differ from JAX's on CPU.

    Those of :data:`CHECKED_UNITS` whose bits differ from ``jax.random``'s;
    ``None`` without a CPU backend.
    """
    try:
        cpu = jax.local_devices(backend="cpu")[0]
    except RuntimeError:
        return None
    units = [unit for unit, _ in CHECKED_UNITS]

    def both(key, bounds):
        return [
            (
                _kernel(unit, key, CHECKED_SHAPE, dtype, numbers),
                unit.draw(key, CHECKED_SHAPE, dtype, *numbers),
            )
            for unit, numbers in zip(units, bounds, strict=True)
        ]

    # One program, with traced bounds as the draws compile them, compiled
    # ahead of time without XLA's backend optimizations: 0.16 s on CPU
    # instead of 0.45 s, most of it jax.random's hash. They change no value
    # here: XLA keeps IEEE arithmetic at every level (no fast math), and the
    # hash is integer.
    key = jax.random.key(20250101, impl="threefry2x32")
    bounds = [
        tuple(np.asarray(number, dtype) for number in numbers)
        for _, numbers in CHECKED_UNITS
    ]
    inputs = jax.device_put((key, bounds), cpu)
    draws = (
        jax.jit(both)
        .lower(*inputs)
        .compile(compiler_options={"xla_backend_optimization_level": "0"})(
            *inputs
        )
    )
    return [
        unit.name
        for unit, (ours, theirs) in zip(units, draws, strict=True)
        if not _same_bits(np.asarray(ours), np.asarray(theirs))
    ]


def _same_bits(ours: np.ndarray, theirs: np.ndarray) -> bool:
    return (
        ours.dtype == theirs.dtype
        and ours.shape == theirs.shape
        and ours.tobytes() == theirs.tobytes()
    )


def _kernel(
    unit: Unit,
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    bounds: tuple[jax.Array, ...],
) -> jax.Array:
    """The ``unit`` draw for ``key``, computed by the fused kernel."""
    bits = _threefry.random_bits(
        jax.random.key_data(key), jnp.finfo(dtype).bits, shape
    )
    return unit.from_bits(bits, dtype, bounds)


def _select(
    kernel: Callable[..., jax.Array],
    reference: Callable[..., jax.Array],
    key: jax.Array,
    dtype: np.dtype,
    *args: jax.Array,
) -> jax.Array:
    """``kernel(key, *args)`` on CPU where exact, else ``reference``.

    Both compute the same values.
    """
    if not uses_kernel(key, dtype) or ACCELERATOR_PATH:
        return reference(key, *args)
    return lax.platform_dependent(key, *args, cpu=kernel, default=reference)


def _unit_interval(
    bits: jax.Array,
    dtype: np.dtype,
    minval: jax.Array | np.ndarray,
    maxval: jax.Array | np.ndarray,
) -> jax.Array:
    """``jax.random.uniform``'s arithmetic on random words.

    The top mantissa bits of each word give a float in [1, 2), shifted to
    [0, 1) and scaled to [minval, maxval).
    """
    info = jnp.finfo(dtype)
    unsigned = bits.dtype
    mantissa = lax.shift_right_logical(
        bits, np.array(info.bits - info.nmant, unsigned)
    ) | np.array(1.0, dtype).view(unsigned)
    floats = lax.bitcast_convert_type(mantissa, dtype) - np.array(1.0, dtype)
    return jnp.maximum(minval, floats * (maxval - minval) + minval)


def _uniform_from_bits(
    bits: jax.Array, dtype: np.dtype, bounds: tuple[jax.Array, ...]
) -> jax.Array:
    return _unit_interval(bits, dtype, *bounds)


def _normal_from_bits(
    bits: jax.Array, dtype: np.dtype, bounds: tuple[jax.Array, ...]
) -> jax.Array:
    sqrt2 = np.array(np.sqrt(2), dtype)
    low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _unit_interval(bits, dtype, low, np.array(1.0, dtype))
    return lax.mul(sqrt2, lax.erf_inv(u))


def _truncated_normal_from_bits(
    bits: jax.Array, dtype: np.dtype, bounds: tuple[jax.Array, ...]
) -> jax.Array:
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower, upper = bounds
    u = _unit_interval(
        bits, dtype, lax.erf(lower / sqrt2), lax.erf(upper / sqrt2)
    )
    return jnp.clip(
        sqrt2 * lax.erf_inv(u),
        lax.nextafter(lower, np.array(np.inf, dtype)),
        lax.nextafter(upper, np.array(-np.inf, dtype)),
    )


def _phi(x: Any) -> Any:
    """The standard normal density, of a float or a NumPy array."""
    return np.exp(-np.square(x) / 2) / math.sqrt(2 * math.pi)


def _normal_mass(lower: float, upper: float) -> float:
    """The probability that a standard normal lies in (lower, upper)."""
    return (math.erf(upper / math.sqrt(2)) - math.erf(lower / math.sqrt(2))) / 2


def _truncated_normal_moments(
    bounds: tuple[float, ...],
) -> tuple[float, float]:
    lower, upper = bounds
    mass = _normal_mass(lower, upper)
    mean = float(_phi(lower) - _phi(upper)) / mass
    variance = (
        1 + float(lower * _phi(lower) - upper * _phi(upper)) / mass - mean**2
    )
    return mean, variance


def _truncated_normal_words(
    bounds: tuple[float, ...], scale: float, shift: float
) -> str:
    lower, upper = bounds
    sigma = abs(scale)
    cut = (
        f"at {shift:.4g} +- {upper * sigma:.4g}"
        if lower == -upper
        else f"to [{shift + lower * sigma:.4g}, {shift + upper * sigma:.4g}]"
    )
    return f"N({shift:.4g}, {sigma:.4g}^2) cut {cut}"


def _within_bounds(
    bounds: tuple[float, ...], dtype: np.dtype
) -> tuple[float, float]:
    low, high = bounds
    return low, high


def _no_numbers(bounds: tuple[float, ...]) -> tuple[float, ...]:
    return ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unit:
    """A unit draw: the law that an :class:`Affine` scales and shifts.

    What is said of the draw is kept here, so that the draws, the range
    checks of :class:`Affine` and the command line read it rather than
    compare names. A unit is drawn with numbers for its bounds (floats, or
    ``dtype`` scalars where it is drawn).

    Attributes:
      name: its name, that of its ``jax.random`` function.
      bound_names: the names of its bounds, in order (``()`` for none).
      draw: ``draw(key, shape, dtype, *bounds)``, ``jax.random``'s draw.
      from_bits: ``from_bits(bits, dtype, bounds)``, the same values made
        from the random words ``bits`` (the fused kernel's transform).
      moments: ``moments(bounds)``, its mean and variance.
      pdf: ``pdf(x, bounds)``, its density at the points of the NumPy
        array ``x``.
      words: ``words(bounds, scale, shift)``, the law
        ``scale * unit + shift`` in words, as ``jinit show`` prints it.
      extremes: ``extremes(bounds, dtype)``, the smallest and largest value
        drawn in ``dtype``.
      bounded: whether its values lie within its bounds, where a narrowing
        cast keeps them (:meth:`Affine.output_range`).
      open_high: whether its upper bound is never drawn (``[low, high)``).
      derived: ``derived(bounds)``, the numbers the draw computes from its
        bounds in the dtype it is drawn in (a uniform's width), checked for
        overflow as the bounds are.
    """

    name: str
    bound_names: tuple[str, ...]
    draw: Callable[..., jax.Array] = dataclasses.field(repr=False)
    from_bits: Callable[
        [jax.Array, np.dtype, tuple[jax.Array, ...]], jax.Array
    ] = dataclasses.field(repr=False)
    moments: Callable[[tuple[float, ...]], tuple[float, float]] = (
        dataclasses.field(repr=False)
    )
    pdf: Callable[[np.ndarray, tuple[float, ...]], np.ndarray] = (
        dataclasses.field(repr=False)
    )
    words: Callable[[tuple[float, ...], float, float], str] = dataclasses.field(
        repr=False
    )
    extremes: Callable[[tuple[float, ...], np.dtype], tuple[float, float]] = (
        dataclasses.field(repr=False)
    )
    bounded: bool = True
    open_high: bool = False
    derived: Callable[[tuple[float, ...]], tuple[float, ...]] = (
        dataclasses.field(default=_no_numbers, repr=False)
    )


UNIFORM = Unit(
    name="uniform",
    bound_names=("minval", "maxval"),
    draw=lambda key, shape, dtype, low, high: jax.random.uniform(
        key, shape, dtype, low, high
    ),
    from_bits=_uniform_from_bits,
    moments=lambda bounds: (
        (bounds[0] + bounds[1]) / 2,
        (bounds[1] - bounds[0]) ** 2 / 12,
    ),
    pdf=lambda x, bounds: (
        ((bounds[0] <= x) & (x <= bounds[1])) / (bounds[1] - bounds[0])
    ),
    words=lambda bounds, scale, shift: "U({:.4g}, {:.4g})".format(
        *sorted(bound * scale + shift for bound in bounds)
    ),
    extremes=_within_bounds,
    open_high=True,
    derived=lambda bounds: (bounds[1] - bounds[0],),
)
NORMAL = Unit(
    name="normal",
    bound_names=(),
    draw=jax.random.normal,
    from_bits=_normal_from_bits,
    moments=lambda bounds: (0.0, 1.0),
    pdf=lambda x, bounds: _phi(x),
    words=lambda bounds, scale, shift: f"N({shift:.4g}, {abs(scale):.4g}^2)",
    extremes=lambda bounds, dtype: (
        -normal_extreme(dtype),
        normal_extreme(dtype),
    ),
    bounded=False,
)
# A standard normal restricted to (lower, upper), by the inverse CDF.
TRUNCATED_NORMAL = Unit(
    name="truncated_normal",
    bound_names=("lower", "upper"),
    draw=lambda key, shape, dtype, lower, upper: jax.random.truncated_normal(
        key, lower, upper, shape, dtype
    ),
    from_bits=_truncated_normal_from_bits,
    moments=_truncated_normal_moments,
    pdf=lambda x, bounds: (
        ((bounds[0] <= x) & (x <= bounds[1])) * _phi(x) / _normal_mass(*bounds)
    ),
    words=_truncated_normal_words,
    extremes=_within_bounds,
)
# Every unit, by name.
UNITS = {unit.name: unit for unit in (UNIFORM, NORMAL, TRUNCATED_NORMAL)}
# The self-check's draws (:func:`kernel_agrees`): each unit with its bounds,
# in a shape of three axes (row-major strides, several rows).
CHECKED_UNITS = (
    (UNIFORM, (-0.5, 2.0)),
    (NORMAL, ()),
    (TRUNCATED_NORMAL, (-1.0, 3.0)),
)


def from_bits(
    unit: Unit | str,
    bits: jax.Array,
    dtype: np.dtype,
    bounds: tuple[jax.Array, ...],
) -> jax.Array:
    """The ``unit`` draw ``jax.random`` makes from the random words ``bits``.

    ``unit`` is a :class:`Unit` or the name of one of :data:`UNITS`.
    """
    unit = UNITS[unit] if isinstance(unit, str) else unit
    return unit.from_bits(bits, dtype, bounds)


def _unit(
    unit: Unit,
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    bounds: tuple[float | jax.Array, ...],
) -> jax.Array:
    """The ``unit`` draw for ``key``, from the kernel or ``jax.random``."""
    # Opaque, so that under a caller's jit XLA does not fold constant bounds
    # into the arithmetic (eager calls pass them at run time, as JAX does).
    bounds = tuple(
        _opaque(lax.convert_element_type(bound, dtype)) for bound in bounds
    )
    if max(shape, default=0) >= _threefry.WORD:
        # The kernel counts along each axis in one 32-bit word; JAX counts
        # in 64 bits, exact for any dimension.
        return unit.draw(key, shape, dtype, *bounds)
    return _select(
        lambda key, *bounds: _kernel(unit, key, shape, dtype, bounds),
        lambda key, *bounds: unit.draw(key, shape, dtype, *bounds),
        key,
        dtype,
        *bounds,
    )


@functools.partial(jax.jit, static_argnums=(1, 2))
def uniform(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    minval: float | jax.Array = 0.0,
    maxval: float | jax.Array = 1.0,
) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``."""
    return _unit(UNIFORM, key, shape, dtype, (minval, maxval))


@functools.partial(jax.jit, static_argnums=(1, 2))
def normal(
    key: jax.Array, shape: tuple[int, ...], dtype: np.dtype
) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``, real or complex.

    A complex draw has independent real and imaginary parts, each of variance
    1/2.
    """
    if jnp.issubdtype(dtype, jnp.complexfloating):
        real = jnp.finfo(dtype).dtype
        key_real, key_imag = jax.random.split(key)
        re = normal(key_real, shape, real).astype(dtype)
        im = normal(key_imag, shape, real).astype(dtype)
        return (re + 1j * im) / np.array(np.sqrt(2), dtype)
    return _unit(NORMAL, key, shape, dtype, ())


@functools.partial(jax.jit, static_argnums=(3, 4))
def truncated_normal(
    key: jax.Array,
    lower: float | jax.Array,
    upper: float | jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
) -> jax.Array:
    """``jax.random.truncated_normal(key, lower, upper, shape, dtype)``.

    A standard normal restricted to (lower, upper), by the inverse CDF.
    """
    return _unit(TRUNCATED_NORMAL, key, shape, dtype, (lower, upper))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def orthogonal(
    key: jax.Array, n: int, shape: tuple[int, ...], dtype: np.dtype, m: int
) -> jax.Array:
    """``jax.random.orthogonal(key, n, shape, dtype, m)``.

    Haar-random ``(*shape, n, m)`` matrices with orthonormal columns (rows when
    ``n < m``), by the sign-corrected QR of a normal draw (Mezzadri 2007).
    jinit's one Haar sampler: every orthogonal initializer and scheme draws
    its Haar matrices here.
    """
    z = normal(key, (*shape, max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(z)
    signs = jnp.sign(jnp.diagonal(r, axis1=-2, axis2=-1))
    x = q * jnp.expand_dims(signs, -2)
    return x.mT if n < m else x


@dataclasses.dataclass(frozen=True)
class Affine:
    """The elementwise law ``scale * unit + shift``.

    ``unit`` is a :class:`Unit` (one of :data:`UNITS`) with its ``bounds``
    (``minval, maxval`` of a uniform, ``lower, upper`` of a truncated
    normal). ``scale`` and
    ``shift`` are numbers exact in the dtype drawn in, or ``None`` for no
    multiplication or addition (not the same as 1 or 0: adding 0.0 turns
    -0.0 into +0.0).
    """

    unit: Unit
    bounds: tuple[float, ...] = ()
    scale: float | None = None
    shift: float | None = None

    def arguments(self, dtype: np.dtype) -> tuple[Any, ...]:
        """The law's numbers as ``dtype`` scalars: (bounds, scale, shift)."""

        def cast(value):
            return None if value is None else np.asarray(value, dtype)

        return (
            tuple(cast(bound) for bound in self.bounds),
            cast(self.scale),
            cast(self.shift),
        )

    def support(self, dtype: np.dtype) -> tuple[float, float]:
        """The smallest and largest value drawn in ``dtype``, as exact floats.

        The unit's :attr:`Unit.extremes`: a normal's unit draw reaches
        :func:`normal_extreme`.
        """
        bounds, scale, shift = self.arguments(dtype)
        low, high = self.unit.extremes(tuple(map(float, bounds)), dtype)
        if scale is not None:
            low, high = sorted((low * float(scale), high * float(scale)))
        if shift is not None:
            low, high = low + float(shift), high + float(shift)
        return low, high

    def magnitude(self, dtype: np.dtype) -> float | _dtypes.Bracketed:
        """The largest magnitude drawn in ``dtype``, from :meth:`support`.

        Bracketed for a normal law (:func:`normal_magnitude`).
        """
        if self.unit is NORMAL:
            _, scale, shift = self.arguments(dtype)
            return normal_magnitude(
                dtype,
                1.0 if scale is None else float(scale),
                0.0 if shift is None else float(shift),
            )
        low, high = self.support(dtype)
        return max(-low, high)

    def check_range(
        self, dtype: np.dtype, out_dtype: np.dtype, initializer: str
    ) -> None:
        """Raises ``ValueError`` if the law's values cannot be drawn and cast.

        That is if drawing the law in ``dtype`` and casting it to ``out_dtype``
        would give an infinity or NaN, round a non-zero scale to 0, or make
        every value 0 where the law has non-zero values; see
        :func:`jinit._dtypes.check_range` and :meth:`output_range`.
        """
        if self.scale and not float(np.asarray(self.scale, dtype)):
            raise ValueError(
                f"`{initializer}` scales its values by {self.scale:.6g}, "
                f"which rounds to 0 in {dtype.name} (smallest positive value "
                f"{jnp.finfo(dtype).smallest_subnormal:.6g}): every value "
                "would be 0. Use a larger scale or a wider dtype."
            )
        numbers = [
            *self.bounds,
            *(value for value in (self.scale, self.shift) if value is not None),
        ]
        numbers.extend(self.unit.derived(self.bounds))  # Drawn in dtype.
        _dtypes.check_range(max(map(abs, numbers)), (dtype,), initializer)
        _dtypes.check_range(
            self.magnitude(dtype), (dtype, out_dtype), initializer
        )
        try:
            self.output_range(dtype, out_dtype)
        except ValueError as error:
            raise ValueError(f"`{initializer}`: {error}") from None

    def output_range(
        self, dtype: np.dtype, out_dtype: np.dtype
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Where a bounded law's values are clamped before a narrowing cast.

        The values, drawn in ``dtype``, are clamped before the cast to a
        narrower ``out_dtype``; ``None`` where they are not.

        Rounding to nearest can carry a value drawn in ``dtype`` onto or
        past the bound of its support: a uniform draw in [-1, 1) onto 1 in
        bfloat16. The values are kept within the ``out_dtype`` values of
        the support: ``[low, high)`` for a uniform law, ``[low, high]`` for
        a truncated normal. The values rounded past a bound take the
        nearest value inside; the law is otherwise the rounded one. The
        clamp is to the ``dtype`` values that round onto those two
        (:func:`jinit._dtypes.rounding_into`), so it runs in ``dtype``,
        fused with the draw, rather than on the narrow values.

        A support whose only ``out_dtype`` value is 0 is refused rather than
        clamped to 0 (unless it is [0, 0]): its values would all be 0, the
        ones that round past a bound included. ``he_normal()`` of a 64 x 64
        kernel is cut at +-0.402; in float4_e2m1fn (values 0, +-0.5, +-1,
        ...) rounding to nearest would carry 18 % of its values to +-0.5,
        beyond the cut, and the clamp all of them to 0.

        Raises:
          ValueError: no ``out_dtype`` value lies in the support, or only 0
            does where the law has non-zero values.
        """
        if not self.unit.bounded or out_dtype == dtype:  # No narrowing.
            return None
        low, high = self.support(dtype)
        open_high = self.unit.open_high and low < high
        clamp = _dtypes.values_within(out_dtype, low, high, open_high=open_high)
        support = f"[{low:.6g}, {high:.6g}{')' if open_high else ']'}"
        if clamp is None:
            raise ValueError(
                f"no {out_dtype.name} value lies in the support {support} of "
                "the law; use a wider dtype or a wider range."
            )
        if (low or high) and not (float(clamp[0]) or float(clamp[1])):
            raise ValueError(
                f"the only {out_dtype.name} value in the support {support} "
                f"of the law is 0 (the smallest non-zero {out_dtype.name} "
                f"value is {float(jnp.finfo(out_dtype).smallest_subnormal):.6g}"
                "): every value would be 0. Request a wider dtype or larger "
                "arguments."
            )
        return _dtypes.rounding_into(dtype, out_dtype, *clamp)


# Every dtype drawn in has its normal_extreme within these (5.42 in float32,
# 8.29 in float64; tests/test_draws.py checks).
NORMAL_EXTREME_WITHIN = (4.0, 10.0)


def normal_magnitude(
    dtype: np.dtype, scale: float, shift: float
) -> _dtypes.Bracketed:
    """``|shift| + |scale| * normal_extreme(dtype)``, bracketed.

    Within the magnitudes at the ends of :data:`NORMAL_EXTREME_WITHIN`:
    the range checks compute :func:`normal_extreme` (a compilation, about
    40 ms in a fresh process) only where one fails at either end.
    """

    def at(extreme: float) -> float:
        return abs(shift) + abs(scale) * extreme

    low, high = NORMAL_EXTREME_WITHIN
    return _dtypes.Bracketed(
        at(low), at(high), lambda: at(normal_extreme(dtype))
    )


@functools.cache
def normal_extreme(dtype: np.dtype) -> float:
    """The largest magnitude of a standard normal draw in ``dtype``.

    The inverse CDF at the extreme random words (5.42 in float32, 8.29 in
    float64).
    """
    unsigned = np.dtype(f"uint{jnp.finfo(dtype).bits}")
    words = np.array([0, np.iinfo(unsigned).max], unsigned)
    with jax.ensure_compile_time_eval():  # Also when first asked in a trace.
        # One compilation, not one per operation.
        values = jax.jit(from_bits, static_argnums=(0, 2, 3))(
            NORMAL, words, dtype, ()
        )
        return float(np.max(np.abs(np.asarray(values))))


def _opaque(x: jax.Array) -> jax.Array:
    """``x``, bit for bit, through an xor with a zero that XLA cannot see.

    So no multiplication is reassociated across it.
    """
    unsigned = np.dtype(f"uint{x.dtype.itemsize * 8}")
    zero = lax.optimization_barrier(np.zeros((), unsigned))
    return lax.bitcast_convert_type(
        lax.bitcast_convert_type(x, unsigned) ^ zero, x.dtype
    )


def rounded(x: jax.Array) -> jax.Array:
    """``x``, bit for bit, as an operand no compiler fuses into a multiply-add.

    ``min(x, largest finite)`` is ``x`` for every value a law that passed the
    range checks draws, but not provably so, which keeps ``x * scale + shift``
    two roundings, as JAX's eager ``x * scale`` then ``+ shift`` (a fused
    multiply-add rounds once).
    """
    return lax.min(_opaque(x), np.array(jnp.finfo(x.dtype).max, x.dtype))


def rescale(
    values: jax.Array, scale: ArrayLike | None, shift: ArrayLike | None
) -> jax.Array:
    if scale is not None:
        values = _opaque(values) * scale
    if shift is not None:
        values = rounded(values) + shift
    return values


def cast(
    values: jax.Array,
    out_dtype: np.dtype,
    clamp: tuple[ArrayLike, ArrayLike] | None,
) -> jax.Array:
    """``values`` in ``out_dtype``, clamped first to ``clamp`` where given.

    See :meth:`Affine.output_range`.
    """
    values = values if clamp is None else jnp.clip(values, *clamp)
    return values.astype(out_dtype)


def _sample(
    key: jax.Array,
    bounds: tuple[jax.Array, ...],
    scale: jax.Array | None,
    shift: jax.Array | None,
    clamp: tuple[jax.Array, jax.Array] | None,
    *,
    shape: tuple[int, ...],
    dtype: np.dtype,
    out_dtype: np.dtype,
    unit: Unit,
) -> jax.Array:
    values = rescale(_unit(unit, key, shape, dtype, bounds), scale, shift)
    return cast(values, out_dtype, clamp)


@functools.lru_cache(maxsize=64)
def _sampler(out_sharding: Any) -> Callable[..., jax.Array]:
    return jax.jit(
        _sample,
        out_shardings=out_sharding,
        static_argnames=("shape", "dtype", "out_dtype", "unit"),
    )


def sample(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    out_dtype: np.dtype,
    law: Affine,
    out_sharding: Any = None,
) -> jax.Array:
    """``law`` drawn in ``dtype`` for ``key`` and cast to ``out_dtype``.

    In one compiled function per shape.

    With ``out_sharding`` (a ``Sharding``, or a ``PartitionSpec`` under
    ``jax.set_mesh``) the function is compiled for that sharding: each device
    computes only the elements of its own shard, from their row-major
    indices, so the values are those of the unsharded draw. Under a caller's
    ``jit`` the result has that sharding too, on Explicit and Auto axes.
    """
    bounds, scale, shift = law.arguments(dtype)
    drawn = _sampler(out_sharding)(
        key,
        bounds,
        scale,
        shift,
        law.output_range(dtype, out_dtype),
        shape=shape,
        dtype=dtype,
        out_dtype=out_dtype,
        unit=law.unit,
    )
    # Inside a caller's jit, the nested jit's out_shardings are dropped on
    # Explicit mesh axes (the result's type keeps the inferred sharding):
    # placed again, the caller's program computes the shards in place.
    return (
        place(drawn, out_sharding)
        if isinstance(drawn, jax.core.Tracer)
        else drawn
    )

"""The one dtype policy of jinit.

* The default dtype is JAX's default float: float32, or float64 when
  ``jax_enable_x64`` is on.
* Random values are drawn in float32 (float64 for float64) and cast once to the
  requested dtype, so bfloat16, float16 and the float8 types get the law of the
  float32 draw rounded to nearest rather than the coarse law of a draw made in
  the low-precision type itself.
* The array returned always has exactly the requested dtype; a dtype that JAX
  cannot represent in the current configuration (float64 without x64) is an
  error, never a silent downcast.
* Nothing overflows or vanishes in a narrow dtype: a law whose values would
  be infinite or NaN in it is an error, and so is one whose values would all
  be 0 in it although the law has non-zero values (``he_normal()`` of a
  256 x 128 kernel in float4_e2m1fn, whose smallest non-zero value is 0.5).
* The floating dtypes that cannot hold an initializer's values are refused
  for every initializer (:data:`REFUSED`): float8_e8m0fnu, which has no zero
  and no negative value, and float6_e2m3fn and float6_e3m2fn, of which XLA
  makes no arrays. Every other floating dtype JAX names is drawn exactly as
  above: bfloat16, float16, float8_e4m3fn, float8_e4m3fnuz,
  float8_e4m3b11fnuz, float8_e5m2, float8_e5m2fnuz, float8_e3m4, float8_e4m3
  and float4_e2m1fn.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def as_dtype(name: str, value: Any) -> np.dtype | None:
    """Parses a dtype argument (``None``, a string, a type or a dtype)."""
    if value is None:
        return None
    try:
        return jnp.dtype(value)
    except TypeError as error:
        raise TypeError(
            f"`{name}` must be a dtype such as 'float32' or jnp.bfloat16; got "
            f"{value!r}."
        ) from error


def default_float() -> np.dtype:
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(float))


def resolve(
    requested: object,
    default: np.dtype | None,
    *,
    floating: bool,
    allow_complex: bool,
    initializer: str,
) -> np.dtype:
    """The dtype an initializer returns: the requested one, else its default.

    Args:
      requested: the ``dtype`` passed to the call, or ``None``.
      default: the initializer's own default dtype, or ``None``.
      floating: whether the initializer needs a floating dtype (every random
        one does, and deterministic ones with non-integer values).
      allow_complex: whether such an initializer also takes complex dtypes.
      initializer: the initializer's name, for error messages.

    Raises:
      TypeError: the dtype is not a dtype, or not floating for a random
        initializer.
      ValueError: the dtype needs ``jax_enable_x64``, which is off.
    """
    dtype = as_dtype("dtype", requested)
    if dtype is None:
        dtype = default if default is not None else default_float()
    check_kind(
        dtype,
        floating=floating,
        allow_complex=allow_complex,
        initializer=initializer,
    )
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:
        raise ValueError(
            f"`dtype` {dtype.name} needs 64-bit types, which are off: call "
            "jax.config.update('jax_enable_x64', True) first, or request a "
            "32-bit dtype."
        )
    return dtype


# The floating dtypes JAX names that no initializer takes, and why.
REFUSED = {
    "float8_e8m0fnu": "it holds only powers of two, with no zero and no "
    "negative value (a format for block scales): zeros "
    "would be 2**-127 and negative values NaN. Make the "
    "values in float32 and cast them",
    **{
        name: 'XLA makes no arrays of it ("Invalid XLA PrimitiveType"). '
        "Request float8_e4m3fn or float4_e2m1fn, for example"
        for name in ("float6_e2m3fn", "float6_e3m2fn")
    },
}


def check_kind(
    dtype: np.dtype, *, floating: bool, allow_complex: bool, initializer: str
) -> None:
    """Raises ``TypeError`` if ``dtype`` does not suit the initializer.

    That is if it is not floating where that is needed (complex dtypes are
    accepted where the initializer allows them), or is one of the dtypes no
    initializer takes (:data:`REFUSED`).
    """
    if dtype.name in REFUSED:
        raise TypeError(
            f"`dtype` {dtype.name} is refused by `{initializer}` and every "
            f"jinit initializer: {REFUSED[dtype.name]}."
        )
    kinds = (
        (jnp.floating, jnp.complexfloating)
        if allow_complex
        else (jnp.floating,)
    )
    if floating and not any(jnp.issubdtype(dtype, kind) for kind in kinds):
        wanted = (
            "a floating or complex dtype"
            if allow_complex
            else "a real floating dtype"
        )
        raise TypeError(
            f"`dtype` must be {wanted} for `{initializer}`; got "
            f"{dtype.name}. Every dtype is accepted by the deterministic "
            "initializers zeros, ones, constant, identity, dirac and "
            "skip_init."
        )


def sampling(dtype: np.dtype) -> np.dtype:
    """The dtype computations for ``dtype`` run in.

    float32 for 16- and 8-bit floats, ``dtype`` itself otherwise (random draws,
    before the cast to ``dtype``; LSUV's variances and rescaling).
    """
    return dtype if dtype.itemsize >= 4 else jnp.dtype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class Bracketed:
    """A magnitude known to lie within ``[low, high]``, exactly ``exact()``.

    :func:`check_range` computes ``exact()`` only where a check fails at
    either end: its checks are monotone, so passing at both ends they pass
    at every magnitude between.
    """

    low: float
    high: float
    exact: Callable[[], float]


def check_range(
    magnitude: float | Bracketed,
    dtypes: tuple[np.dtype, ...],
    initializer: str,
) -> None:
    """Raises ``ValueError`` if values up to ``magnitude`` do not fit a dtype.

    That is if ``magnitude`` overflows one of ``dtypes`` (an infinity, or
    NaN in the float8 types without one), or is not 0 yet rounds to 0 in
    one of them: then every value would be 0.

    ``initializer`` names the initializer with its arguments.
    """
    if isinstance(magnitude, Bracketed):
        try:
            for end in (magnitude.low, magnitude.high):
                check_range(end, dtypes, initializer)
        except ValueError:
            check_range(magnitude.exact(), dtypes, initializer)
        return
    for dtype in dtypes:
        info = jnp.finfo(dtype)
        largest = float(info.max)
        if magnitude > largest:
            raise ValueError(
                f"`{initializer}` computes values up to {magnitude:.6g} in "
                f"magnitude, beyond the largest finite {dtype.name} value "
                f"{largest:.6g}: request a wider dtype or smaller arguments."
            )
        if magnitude and not float(np.asarray(magnitude, info.dtype)):
            raise ValueError(
                f"`{initializer}` computes values up to {magnitude:.6g} in "
                f"magnitude, which round to 0 in {dtype.name} (smallest "
                f"non-zero value {float(info.smallest_subnormal):.6g}): every "
                "value would be 0. Request a wider dtype or larger "
                "arguments."
            )


@functools.cache
def _finite_values(dtype: np.dtype) -> np.ndarray:
    """Every finite value of a dtype of at most 16 bits, sorted, as float64."""
    unsigned = np.dtype(f"uint{dtype.itemsize * 8}")
    with np.errstate(invalid="ignore"):  # NaN bit patterns.
        values = (
            np.arange(2 ** (dtype.itemsize * 8), dtype=np.uint64)
            .astype(unsigned)
            .view(dtype)
            .astype(np.float64)
        )
    return np.unique(values[np.isfinite(values)])


def _neighbour(
    dtype: np.dtype, value: np.ndarray, up: bool
) -> np.ndarray | None:
    """The value of an 8- or 16-bit float ``dtype`` next to ``value``.

    ``value`` is one of the dtype's values; ``None`` past the largest finite
    one.
    """
    grid = _finite_values(dtype)
    index = np.searchsorted(
        grid, float(value), side="right" if up else "left"
    ) - (not up)
    return np.asarray(grid[index], dtype) if 0 <= index < len(grid) else None


def values_within(
    dtype: np.dtype, low: float, high: float, *, open_high: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The extreme values of an 8- or 16-bit float ``dtype`` in a range.

    The smallest and largest in ``[low, high]`` (``[low, high)`` with
    ``open_high``), as 0-d arrays, or ``None`` if there is none.
    """
    grid = _finite_values(dtype)
    first = np.searchsorted(grid, low, side="left")
    last = (
        np.searchsorted(grid, high, side="left" if open_high else "right") - 1
    )
    if first > last:
        return None
    return np.asarray(grid[first], dtype), np.asarray(grid[last], dtype)


def rounding_into(
    dtype: np.dtype,
    out_dtype: np.dtype,
    lowest: np.ndarray,
    highest: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``dtype`` values that round into ``[lowest, highest]``.

    The smallest and largest values of the 32- or 64-bit ``dtype`` drawn in
    that round to nearest (ties to even, as XLA's and NumPy's casts do) into
    ``[lowest, highest]``, two values of an 8- or 16-bit float ``out_dtype``.

    Clamping to them before the cast gives the values clamping to
    ``lowest`` and ``highest`` after it would, at the cost of a clamp in
    the wider dtype, fused with the draw.
    """

    def rounded(value: np.ndarray) -> float:
        return float(value.astype(out_dtype))

    bounds = []
    for bound, up in ((lowest, False), (highest, True)):
        beyond = _neighbour(out_dtype, bound, up)
        if beyond is None:  # No out_dtype value beyond: nothing to clamp.
            limit = jnp.finfo(dtype).max
            bounds.append(np.asarray(limit if up else -limit, dtype))
            continue
        # The midpoint of two out_dtype values is exact in dtype.
        edge = np.asarray((float(bound) + float(beyond)) / 2, dtype)
        if (
            (rounded(edge) > float(bound))
            if up
            else (rounded(edge) < float(bound))
        ):
            edge = np.nextafter(
                edge, np.asarray(-np.inf if up else np.inf, dtype)
            )
        bounds.append(edge)
    return bounds[0], bounds[1]

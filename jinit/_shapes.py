"""Shapes and axes: validation, and the one fan computation.

The fan computation is used by every initializer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from typing import Any

import jax
import jax.core
import numpy as np

from jinit import _validation
from jinit._choices import Axes

# XLA's dimensions and byte counts are int64: an array of 2**63 bytes or
# more cannot be described to it (it aborts the process).
SIZE_LIMIT = 2**63
JIT_RECIPE = (
    "under jax.jit, pass the shape and dtype as static arguments, "
    "jax.jit(init, static_argnums=(1, 2))(key, (256, 128)), or "
    "call init with a tuple of ints inside the jitted function"
)


def canonical(shape: object) -> tuple[int, ...]:
    """Returns ``shape`` as a tuple of Python ints, checking every dimension.

    An int ``n`` is read as ``(n,)``, as ``jnp.zeros`` does.

    Raises:
      TypeError: ``shape`` is not a sequence of ints (a dict or a set is
        not one: their order is not the user's), or holds traced values.
      ValueError: a dimension is negative or not below 2**63.
    """
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if isinstance(dims, (Mapping, Set, str, bytes)):
        dims = None
    try:
        dims = tuple(dims)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            "`shape` must be a sequence of non-negative ints such as "
            f"(256, 128); got {type(shape).__name__} {shape!r}."
        ) from None
    for dim in dims:
        if isinstance(dim, jax.core.Tracer):
            raise TypeError(
                f"`shape` must hold concrete ints; got the traced "
                f"{shape!r}: {JIT_RECIPE}."
            )
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(
                f"`shape` must contain only ints; got {shape!r} with "
                f"{type(dim).__name__} {dim!r}."
            )
        if dim < 0:
            raise ValueError(
                f"`shape` must contain only non-negative dimensions; got "
                f"{shape!r}."
            )
        if dim >= SIZE_LIMIT:
            raise ValueError(
                f"`shape` must contain only dimensions below 2**63 (XLA's "
                f"int64); got {shape!r}."
            )
    return tuple(int(dim) for dim in dims)


def check_size(shape: tuple[int, ...], *dtypes: np.dtype) -> None:
    """Raises ``ValueError`` if an array of ``shape`` is too large to address.

    That is if in one of ``dtypes`` it would take 2**63 bytes or more, which
    XLA cannot address (it aborts the process rather than raise). Sizes below
    that are left to the allocator, so abstract evaluation of any real model
    keeps working.
    """
    size = math.prod(shape)
    for dtype in dtypes:
        if size * dtype.itemsize >= SIZE_LIMIT:
            raise ValueError(
                f"`shape` {shape} has {size:.4g} elements, "
                f"{size * dtype.itemsize:.4g} bytes in {dtype.name}: more "
                "than XLA can address (2**63 bytes). Use smaller "
                "dimensions."
            )


def as_axes(name: str, value: Any) -> tuple[int, ...]:
    """Parses an axis argument (an int or a sequence of ints) into a tuple."""
    items = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or any(
        isinstance(a, bool) or not isinstance(a, (int, np.integer))
        for a in items
    ):
        raise TypeError(
            f"`{name}` must be an int or a sequence of ints; got {value!r}."
        )
    return tuple(int(a) for a in items)


def check_axes(**named: Axes) -> None:
    """Factory-time check of axis arguments.

    Their types, and no axis given twice with the same sign
    (``in_axis=-1, out_axis=-1``).
    """
    _check_disjoint(
        {name: as_axes(name, value) for name, value in named.items()}, ""
    )


def _check_disjoint(named: Mapping[str, tuple[int, ...]], context: str) -> None:
    seen: dict[int, str] = {}
    for name, axes in named.items():
        for axis in axes:
            if axis in seen:
                other = seen[axis]
                where = (
                    f"`{other}` and `{name}` both contain axis {axis}"
                    if other != name
                    else f"`{name}` repeats axis {axis}"
                )
                raise ValueError(
                    f"Axes must not overlap; {where}{context}. Each axis of a "
                    "weight plays one role: input, output, batch or "
                    "receptive field."
                )
            seen[axis] = name


def resolve_axes(
    shape: Sequence[int], **named: Axes
) -> dict[str, tuple[int, ...]]:
    """Each axis argument as non-negative axes of ``shape``.

    Raises:
      ValueError: an axis is out of range for ``shape``, or two arguments
        (or one argument twice) name the same axis.
    """
    ndim = len(shape)
    resolved = {}
    for name, value in named.items():
        axes = as_axes(name, value)
        for axis in axes:
            if not -ndim <= axis < ndim:
                raise ValueError(
                    f"`{name}` {axis} is out of range for shape "
                    f"{tuple(shape)} ({ndim}-D); allowed axes are "
                    f"{-ndim}..{ndim - 1}."
                )
        resolved[name] = tuple(axis % ndim for axis in axes)
    _check_disjoint(
        resolved, f" for shape {tuple(shape)} (axes counted from 0)"
    )
    return resolved


def centre_tap(spatial: Sequence[int]) -> tuple[int, ...]:
    """The centre tap of a kernel with ``spatial`` extents.

    ``(k - 1) // 2`` on each axis, the tap a ``SAME``-padded convolution
    centres.
    """
    return tuple((k - 1) // 2 for k in spatial)


def check_rank(
    shape: Sequence[int],
    low: int,
    high: int | None,
    initializer: str,
    batch: int = 0,
) -> None:
    """Checks that ``shape`` has ``low``..``high`` axes besides its batch axes.

    ``batch`` counts the batch axes; ``high=None``: no upper bound.
    """
    rank = len(shape) - batch
    if rank < low or (high is not None and rank > high):
        wanted = (
            f"exactly {low}"
            if low == high
            else f"at least {low}"
            if high is None
            else f"{low} to {high}"
        )
        besides = f" besides the {batch} batch axes" if batch else ""
        raise ValueError(
            f"`shape` must have {wanted} dimensions{besides} for "
            f"`{initializer}`; got {tuple(shape)} ({len(shape)}-D)."
        )


def compute_fans(
    shape: Sequence[int],
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
) -> tuple[int, int]:
    """The fan-in and fan-out of a weight of ``shape``.

    ``fan_in = prod(shape[in_axis]) * receptive_field`` and
    ``fan_out = prod(shape[out_axis]) * receptive_field / groups``, where the
    receptive field is the product of the axes that are neither input, output
    nor batch (the spatial axes of a convolution kernel). With the default
    axes a 2-D shape is ``(fan_in, fan_out)``, a ``(..., spatial, in, out)``
    kernel has the spatial axes as receptive field, a 1-D shape ``(n,)`` has
    ``fan_in = fan_out = n`` and a 0-D shape has fans of 1. A grouped
    convolution's kernel is ``(..., spatial, in / groups, out)``: each output
    sees ``in / groups`` inputs, each input feeds ``out / groups`` outputs.

    Args:
      shape: the weight's shape.
      in_axis: the axis or axes of the inputs.
      out_axis: the axis or axes of the outputs.
      batch_axis: axes of independent weights stacked together, left out.
      groups: the number of groups of a grouped convolution (``groups`` =
        input channels for a depthwise one).

    Returns:
      ``(fan_in, fan_out)`` as ints.

    Raises:
      ValueError: an axis is out of range for ``shape``, two arguments name
        the same axis, or the outputs do not split into ``groups``.

    Examples:
      >>> import jinit
      >>> jinit.compute_fans((3, 3, 64, 128))
      (576, 1152)
      >>> jinit.compute_fans((12, 1024, 1024), batch_axis=0)
      (1024, 1024)
    """
    shape = canonical(shape)
    groups = _validation.check_count("groups", groups)
    if len(shape) < 2 and (
        as_axes("in_axis", in_axis),
        as_axes("out_axis", out_axis),
        as_axes("batch_axis", batch_axis),
    ) == ((-2,), (-1,), ()):
        size = shape[0] if shape else 1
        fan_in, fan_out, outputs = size, size, size
    else:
        axes = resolve_axes(
            shape, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
        )
        used = set().union(*axes.values())
        receptive = math.prod(d for a, d in enumerate(shape) if a not in used)
        outputs = math.prod(shape[a] for a in axes["out_axis"])
        fan_in = math.prod(shape[a] for a in axes["in_axis"]) * receptive
        fan_out = outputs * receptive
    if outputs % groups:
        raise ValueError(
            f"`groups` {groups} must divide the number of outputs; got "
            f"{outputs} outputs for shape {shape}."
        )
    return fan_in, fan_out // groups

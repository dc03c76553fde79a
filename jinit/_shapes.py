"""Shapes: validation, and the one fan computation used by every initializer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Axes = int | Sequence[int]


def canonical(shape: object) -> tuple[int, ...]:
    """Returns ``shape`` as a tuple of Python ints, checking every dimension.

    An int ``n`` is read as ``(n,)``, as ``jnp.zeros`` does.
    """
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(
            "`shape` must be a sequence of non-negative ints such as "
            f"(256, 128); got {type(shape).__name__} {shape!r}.") from None
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(
                f"`shape` must contain only ints; got {shape!r} with "
                f"{type(dim).__name__} {dim!r}.")
        if dim < 0:
            raise ValueError(
                f"`shape` must contain only non-negative dimensions; got "
                f"{shape!r}.")
    return tuple(int(dim) for dim in dims)


def as_axes(name: str, value: object) -> tuple[int, ...]:
    """Parses an axis argument (an int or a sequence of ints) into a tuple."""
    items = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or any(
            isinstance(a, bool) or not isinstance(a, (int, np.integer))
            for a in items):
        raise TypeError(
            f"`{name}` must be an int or a sequence of ints; got {value!r}.")
    return tuple(int(a) for a in items)


def check_axes(in_axis: Axes, out_axis: Axes, batch_axis: Axes) -> None:
    """Factory-time check: types, and axes given twice with the same sign."""
    named = {"in_axis": as_axes("in_axis", in_axis),
             "out_axis": as_axes("out_axis", out_axis),
             "batch_axis": as_axes("batch_axis", batch_axis)}
    _check_disjoint(named, "")


def _check_disjoint(named: dict[str, tuple[int, ...]], context: str) -> None:
    seen: dict[int, str] = {}
    for name, axes in named.items():
        for axis in axes:
            if axis in seen:
                other = seen[axis]
                where = (f"`{other}` and `{name}` both contain axis {axis}"
                         if other != name else f"`{name}` repeats axis {axis}")
                raise ValueError(
                    f"Fan axes must not overlap; {where}{context}. Each axis "
                    "of a weight is either input, output, batch or receptive "
                    "field.")
            seen[axis] = name


def compute_fans(shape: Sequence[int], in_axis: Axes = -2,
                 out_axis: Axes = -1, batch_axis: Axes = ()) -> tuple[int, int]:
    """The fan-in and fan-out of a weight of ``shape``.

    ``fan_in = prod(shape[in_axis]) * receptive_field`` and
    ``fan_out = prod(shape[out_axis]) * receptive_field``, where the receptive
    field is the product of the axes that are neither input, output nor batch
    (the spatial axes of a convolution kernel). With the default axes a 2-D
    shape is ``(fan_in, fan_out)``, a ``(..., spatial, in, out)`` kernel has the
    spatial axes as receptive field, a 1-D shape ``(n,)`` has
    ``fan_in = fan_out = n`` and a 0-D shape has fans of 1.

    Args:
      shape: the weight's shape.
      in_axis: the axis or axes of the inputs.
      out_axis: the axis or axes of the outputs.
      batch_axis: axes of independent weights stacked together, ignored.

    Returns:
      ``(fan_in, fan_out)`` as ints.

    Raises:
      ValueError: an axis is out of range for ``shape``, or two arguments name
        the same axis.

    Example:
      >>> import jinit
      >>> jinit.compute_fans((3, 3, 64, 128))
      (576, 1152)
    """
    shape = canonical(shape)
    ndim = len(shape)
    axes = {"in_axis": as_axes("in_axis", in_axis),
            "out_axis": as_axes("out_axis", out_axis),
            "batch_axis": as_axes("batch_axis", batch_axis)}
    if ndim < 2 and tuple(axes.values()) == ((-2,), (-1,), ()):
        size = shape[0] if ndim == 1 else 1
        return size, size
    for name, values in axes.items():
        for axis in values:
            if not -ndim <= axis < ndim:
                raise ValueError(
                    f"`{name}` {axis} is out of range for shape {shape} "
                    f"({ndim}-D); allowed axes are {-ndim}..{ndim - 1}.")
    positive = {name: tuple(a % ndim for a in values)
                for name, values in axes.items()}
    _check_disjoint(positive, f" for shape {shape} (axes counted from 0)")
    used = set().union(*positive.values())
    receptive = math.prod(d for a, d in enumerate(shape) if a not in used)
    fan_in = math.prod(shape[a] for a in positive["in_axis"]) * receptive
    fan_out = math.prod(shape[a] for a in positive["out_axis"]) * receptive
    return fan_in, fan_out

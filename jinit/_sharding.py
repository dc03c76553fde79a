"""Placement: ``out_sharding`` checked and applied, eagerly and under jit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.core
import numpy as np
from jax.sharding import (
    AbstractMesh,
    AxisType,
    Mesh,
    NamedSharding,
    PartitionSpec,
    Sharding,
)


def mesh_and_spec(
    out_sharding: object,
) -> tuple[Any, PartitionSpec] | Sharding | None:
    """Checks ``out_sharding``: ``None``, a ``Sharding`` or ``PartitionSpec``.

    A ``PartitionSpec`` needs a mesh set with ``jax.set_mesh``. A
    ``NamedSharding`` or ``PartitionSpec`` comes back as (mesh, spec), another
    ``Sharding`` as itself.
    """
    if out_sharding is None:
        return None
    if isinstance(out_sharding, PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            raise ValueError(
                f"`out_sharding` {out_sharding} is a PartitionSpec, which "
                "needs a mesh: call under `with jax.set_mesh(mesh):` or pass "
                "NamedSharding(mesh, spec)."
            )
        return mesh, out_sharding
    if isinstance(out_sharding, NamedSharding):
        return _concrete(out_sharding.mesh), out_sharding.spec
    if isinstance(out_sharding, Sharding):
        return out_sharding
    raise TypeError(
        "`out_sharding` must be None, a jax.sharding.Sharding or a "
        f"PartitionSpec; got {type(out_sharding).__name__} "
        f"{out_sharding!r}."
    )


def check_fits(out_sharding: object, shape: tuple[int, ...]) -> None:
    """Raises if ``out_sharding`` cannot place an array of ``shape``.

    Raises:
      TypeError: ``out_sharding`` is not a sharding (see
        :func:`mesh_and_spec`).
      ValueError: its spec has more entries than ``shape`` has axes, or
        does not divide an axis evenly.
    """
    if out_sharding is None:
        return
    sharding = as_sharding(out_sharding, over_devices=False)
    spec = getattr(sharding, "spec", None)
    if spec is not None and len(spec) > len(shape):
        raise ValueError(
            f"`out_sharding` {out_sharding} has {len(spec)} entries, more "
            f"than the {len(shape)} axes of shape {shape}: give at most one "
            "entry per axis (None for an axis kept whole)."
        )
    try:
        sharding.shard_shape(shape)
    except ValueError as error:
        raise ValueError(
            f"`out_sharding` {out_sharding} cannot place shape {shape}: {error}"
        ) from None


def from_host(
    shape: tuple[int, ...],
    out_sharding: object,
    shard: Callable[[Any], np.ndarray],
) -> jax.Array:
    """An array of ``shape`` placed with ``out_sharding``, made on the host.

    ``shard(index)`` gives the values at ``index`` (a tuple of slices of
    ``shape``); it is asked only for this process's addressable shards, so
    with a constant (a broadcast view) no process ever holds more than its
    own shards, and nothing is compiled.
    """
    return jax.make_array_from_callback(
        shape, as_sharding(out_sharding, over_devices=True), shard
    )


def as_sharding(out_sharding: object, *, over_devices: bool) -> Sharding:
    """``out_sharding`` (not ``None``) as a ``Sharding``.

    A ``PartitionSpec`` is laid on the mesh set with ``jax.set_mesh``. With
    ``over_devices`` an ``AbstractMesh`` is replaced by the concrete mesh it
    describes (see :func:`_concrete`); without, it is kept (enough for
    shard shapes, and all there is under ``jax.sharding.use_abstract_mesh``).
    """
    checked = mesh_and_spec(out_sharding)
    assert checked is not None, "out_sharding is None"
    if isinstance(checked, Sharding):
        return checked
    mesh, spec = checked
    return NamedSharding(_concrete(mesh) if over_devices else mesh, spec)


def _concrete(mesh: Any) -> Any:
    """``mesh``, or the concrete mesh an ``AbstractMesh`` describes.

    Keras 3 passes an ``AbstractMesh`` under ``jax.set_mesh``; placing eagerly
    needs the concrete mesh set with ``jax.set_mesh`` that it describes.
    """
    if not isinstance(mesh, AbstractMesh):
        return mesh
    current = jax.sharding.get_mesh()
    # Axis types may differ: Keras calls initializers under explicit_axes.
    if not current.empty and current.shape_tuple == mesh.shape_tuple:
        return current
    raise ValueError(
        f"`out_sharding` is over the AbstractMesh {mesh}, which names no "
        "devices: call under `with jax.set_mesh(mesh):` of a mesh of that "
        "shape, or pass NamedSharding(mesh, spec) with a concrete Mesh."
    )


def place(x: jax.Array, out_sharding: object) -> jax.Array:
    """Places ``x`` with ``out_sharding``.

    ``out_sharding`` is a ``Sharding``, or a ``PartitionSpec`` under a mesh set
    with ``jax.set_mesh``; ``None`` leaves ``x`` as it is.

    Eagerly and under ``jit`` alike: on mesh axes of type ``Explicit`` the
    sharding is part of the array's type and ``jax.device_put`` sets it; on
    ``Auto`` axes (the classic ``Mesh``) ``device_put`` inside ``jit`` would be
    dropped, so a sharding constraint is used there instead.
    """
    checked = mesh_and_spec(out_sharding)
    if checked is None:
        return x
    if isinstance(checked, Sharding):
        return jax.device_put(x, checked)
    mesh, spec = checked
    sharding = (
        NamedSharding(mesh, spec) if isinstance(mesh, Mesh) else out_sharding
    )
    axis_types = dict(zip(mesh.axis_names, mesh.axis_types, strict=True))
    used = [
        name
        for entry in spec
        for name in (entry if isinstance(entry, tuple) else (entry,))
        if isinstance(name, str)
    ]
    if any(
        axis_types[name] == AxisType.Explicit for name in used
    ) or not isinstance(x, jax.core.Tracer):
        return jax.device_put(x, sharding)
    return jax.lax.with_sharding_constraint(x, sharding)

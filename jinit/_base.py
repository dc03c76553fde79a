"""The initializer contract and the machinery every factory shares.

A factory validates its arguments and returns a closure ``init(key, shape,
dtype)`` holding only the mathematics of its law. The :func:`factory`
decorator wraps that closure in a :class:`ConfiguredInitializer`, which owns
the contract common to every initializer: key and seed resolution, shape and
dtype checks, drawing in the sampling dtype and casting once, zero-size
shapes, ``out_sharding`` placement, and a repr, equality, hash and pickling
that follow the arguments the factory was built from.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec, Sharding

from jinit import _checks, _dtypes, _keys, _shapes

Shape = tuple[int, ...]
Draw = Callable[[jax.Array | None, Shape, np.dtype], jax.Array]
# check(shape, config, initializer) raises if the shape does not fit the
# factory's arguments (rank, axes in range, groups).
Check = Callable[[Shape, Mapping[str, Any], str], None]


@typing.runtime_checkable
class Initializer(Protocol):
    """An initializer: ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Every jinit factory returns one, and so does any function with this
    signature (``jax.nn.initializers`` ones included).
    """

    def __call__(self, key: jax.Array | None, shape: Any, dtype: Any = None,
                 *, out_sharding: Sharding | PartitionSpec | None = None
                 ) -> jax.Array:
        ...


def place(x: jax.Array, out_sharding: object) -> jax.Array:
    """Places ``x`` with ``out_sharding``: a ``Sharding``, or a
    ``PartitionSpec`` under a mesh set with ``jax.set_mesh``; ``None`` leaves
    ``x`` as it is.

    Eagerly and under ``jit`` alike: on mesh axes of type ``Explicit`` the
    sharding is part of the array's type and ``jax.device_put`` sets it; on
    ``Auto`` axes (the classic ``Mesh``) ``device_put`` inside ``jit`` would be
    dropped, so a sharding constraint is used instead.
    """
    if out_sharding is None:
        return x
    if isinstance(out_sharding, PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            raise ValueError(
                f"`out_sharding` {out_sharding} is a PartitionSpec, which "
                "needs a mesh: call under `with jax.set_mesh(mesh):` or pass "
                "NamedSharding(mesh, spec).")
        spec = out_sharding
    elif isinstance(out_sharding, NamedSharding):
        mesh, spec = out_sharding.mesh, out_sharding.spec
    elif isinstance(out_sharding, Sharding):
        return jax.device_put(x, out_sharding)
    else:
        raise TypeError(
            "`out_sharding` must be None, a jax.sharding.Sharding or a "
            f"PartitionSpec; got {type(out_sharding).__name__} "
            f"{out_sharding!r}.")
    axis_types = dict(zip(mesh.axis_names, mesh.axis_types, strict=True))
    used = [name for entry in spec
            for name in (entry if isinstance(entry, tuple) else (entry,))
            if isinstance(name, str)]
    if any(axis_types[name] == AxisType.Explicit for name in used):
        return jax.device_put(x, out_sharding)
    return jax.lax.with_sharding_constraint(x, out_sharding)


class ConfiguredInitializer:
    """An initializer built by a jinit factory, with the arguments it was
    built from.

    Calling it draws values; ``repr`` reads like the factory call; two built
    from equal arguments are equal, hash alike and draw the same values; it
    pickles by rebuilding from its factory and arguments.
    """

    __slots__ = ("_build", "_config", "_draw", "_random", "_allow_complex",
                 "_check", "__name__", "__weakref__")

    def __init__(self, build: Callable[..., ConfiguredInitializer],
                 config: Mapping[str, Any], draw: Draw, *, random: bool,
                 allow_complex: bool, check: Check | None):
        self._build = build
        self._config = dict(config)
        self._draw = draw
        self._random = random
        self._allow_complex = allow_complex
        self._check = check
        self.__name__ = build.__name__

    @property
    def name(self) -> str:
        """The name of the factory that built this initializer."""
        return self.__name__

    def get_config(self) -> dict[str, Any]:
        """The factory's arguments, defaults included (a fresh dict)."""
        return dict(self._config)

    def __call__(self, key: jax.Array | None, shape: Any, dtype: Any = None,
                 *, out_sharding: Sharding | PartitionSpec | None = None
                 ) -> jax.Array:
        shape = _shapes.canonical(shape)
        if self._check is not None:
            self._check(shape, self._config, self.name)
        dtype = _dtypes.resolve(dtype, self._config.get("dtype"),
                                random=self._random,
                                allow_complex=self._allow_complex,
                                initializer=self.name)
        if self._random:
            key = _keys.resolve(key, self._config.get("seed"), self.name)
            work_dtype = _dtypes.sampling(dtype)
        else:
            work_dtype = dtype
        if math.prod(shape) == 0:
            values = jnp.zeros(shape, dtype)
        else:
            values = self._draw(key, shape, work_dtype).astype(dtype)
        return place(values, out_sharding)

    def __repr__(self) -> str:
        defaults = _defaults(self._build)
        shown = [f"{name}={_show(value)}"
                 for name, value in self._config.items()
                 if value != defaults[name]]
        return f"{self.name}({', '.join(shown)})"

    def _identity(self) -> tuple[Any, ...]:
        return (self.name, tuple(self._config.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfiguredInitializer):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __reduce__(self):
        return _rebuild, (self._build, self._config)


def _rebuild(build: Callable[..., ConfiguredInitializer],
             config: Mapping[str, Any]) -> ConfiguredInitializer:
    return build(**config)


def _show(value: object) -> str:
    return repr(value.name) if isinstance(value, np.dtype) else repr(value)


@functools.cache
def _defaults(build: Callable[..., Any]) -> dict[str, Any]:
    return {name: parameter.default for name, parameter
            in inspect.signature(build).parameters.items()}


def _freeze(name: str, value: object) -> object:
    """Canonical, hashable form of one factory argument."""
    if name == "dtype":
        return _dtypes.as_dtype(name, value)
    if name == "seed":
        return _keys.check_seed(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(name, item) for item in value)
    if isinstance(value, np.generic) or getattr(value, "shape", None) == ():
        return _checks.check_scalar(name, value)
    return value


def factory(*, random: bool, allow_complex: bool = False,
            check: Check | None = None):
    """Turns a function returning a draw closure into a jinit factory.

    Args:
      random: whether the initializer draws random values (it then takes a
        key or a seed, and needs a floating dtype).
      allow_complex: whether a random initializer also draws complex values.
      check: ``check(shape, config, name)``, run on every call before any
        work (zero-size shapes included), raising if the shape does not fit
        the factory's arguments.

    The decorated function receives its arguments in canonical form (dtype as
    ``np.dtype``, seed checked, sequences as tuples, NumPy and 0-d array
    scalars as Python numbers) and returns ``draw(key, shape, dtype)``, or
    another jinit initializer whose draw it reuses.
    """

    def decorate(fn: Callable[..., Any]
                 ) -> Callable[..., ConfiguredInitializer]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> ConfiguredInitializer:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                allowed = ", ".join(signature.parameters)
                raise TypeError(f"{fn.__name__}(): {error}; its arguments are "
                                f"{allowed}.") from None
            bound.apply_defaults()
            config = {name: _freeze(name, value)
                      for name, value in bound.arguments.items()}
            draw = fn(**config)
            if isinstance(draw, ConfiguredInitializer):
                draw = draw._draw  # A named special case of another factory.
            return ConfiguredInitializer(build, config, draw, random=random,
                                         allow_complex=allow_complex,
                                         check=check)

        return build

    return decorate

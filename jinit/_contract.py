"""The initializer contract and the machinery every factory shares.

A factory validates its arguments and returns a closure ``init(key, shape,
dtype)`` holding only the mathematics of its law. The :func:`factory`
decorator wraps that closure in a :class:`ConfiguredInitializer`, which owns
the contract common to every initializer: key and seed resolution, shape and
dtype checks (:meth:`ConfiguredInitializer.prepare`), and a repr, equality,
hash and pickling that follow the arguments the factory was built from. How
the array of a checked call is made (zero-size shapes, constants, host rows,
compiled and sharded draws) is the call planner's, :mod:`jinit._plan`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.sharding import (
    PartitionSpec,
    Sharding,
)

from jinit import _draws, _dtypes, _keys, _plan, _shapes, _validation
from jinit._about import About
from jinit._choices import Rounding
from jinit._plan import (
    Call,
    Deterministic,
    Draw,
    Elementwise,
    Fill,
    Shape,
)
from jinit._sharding import check_fits

# check(shape, config, initializer) raises if the shape does not fit the
# factory's arguments (rank, axes in range, groups).
Check = Callable[[Shape, Mapping[str, Any], str], None]
# magnitude(shape, config, dtype): the largest absolute value (of each part,
# for a complex dtype) that an initializer without an elementwise law draws
# in dtype.
Magnitude = Callable[
    [Shape, Mapping[str, Any], np.dtype], float | _dtypes.Bracketed
]
ROUNDINGS: tuple[Rounding, ...] = typing.get_args(Rounding)
# The shape of a call that gave none (Keras's init(shape, dtype=dtype)).
_NO_SHAPE: Any = object()


@typing.runtime_checkable
class Initializer(Protocol):
    """An initializer: ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Every jinit factory returns one, and so does any function with this
    signature (``jax.nn.initializers`` ones included).
    """

    def __call__(
        self,
        key: jax.Array | None,
        shape: Any,
        dtype: Any = None,
        *,
        out_sharding: Sharding | PartitionSpec | None = None,
    ) -> jax.Array: ...


class ConfiguredInitializer:
    """An initializer built by a jinit factory, with its arguments.

    Calling it draws values; ``repr`` reads like the factory call; two built
    from equal arguments are equal, hash alike and draw the same values; it
    pickles by rebuilding from its factory and arguments.
    """

    __slots__ = (
        "_build",
        "_config",
        "_draw",
        "_random",
        "_floating",
        "_allow_complex",
        "_check",
        "_magnitude",
        "_rounding",
        "__name__",
        "__weakref__",
    )
    # The factory's name, as on a function (``functools.wraps`` and Flax read
    # it); set once in __init__.
    __name__: str

    def __init__(
        self,
        build: Callable[..., ConfiguredInitializer],
        config: Mapping[str, Any],
        draw: Draw | Elementwise | Deterministic,
        *,
        random: bool,
        floating: bool,
        allow_complex: bool,
        check: Check | None,
        magnitude: Magnitude | None,
        rounding: Rounding = "jax",
    ):
        if rounding not in ROUNDINGS:
            raise ValueError(
                f"`rounding` must be one of {', '.join(map(repr, ROUNDINGS))};"
                f" got {rounding!r}."
            )
        # Immutable (see __setattr__): the slots are set once, here.
        for name, value in (
            ("_build", build),
            ("_config", dict(config)),
            ("_draw", draw),
            ("_random", random),
            ("_floating", floating),
            ("_allow_complex", allow_complex),
            ("_check", check),
            ("_magnitude", magnitude),
            ("_rounding", rounding),
            ("__name__", build.__name__),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        """Refuses: an initializer is immutable; ``clone`` changes arguments.

        Raises:
          AttributeError: always, saying how to get the changed initializer.
        """
        config = self._config
        if name in config:
            raise AttributeError(
                f"initializers are immutable: `{name}` of {self!r} cannot be "
                f"set. Build a new one with it changed: "
                f"init.clone({name}={value!r})."
            )
        raise AttributeError(
            f"initializers are immutable: {self!r} has no attribute {name!r} "
            f"to set; its arguments are {', '.join(config) or 'none'}, which "
            f"init.clone(argument=value) changes in a new initializer."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(
            f"initializers are immutable: {name!r} of {self!r} cannot be "
            "deleted."
        )

    if not TYPE_CHECKING:
        # Hidden from type checkers, so that a misspelt attribute
        # (``init.nmae``) is a type error; typed code reads the arguments
        # with get_config().

        def __getattr__(self, name: str) -> object:
            """The factory's arguments read as attributes, as on Keras objects.

            For example ``random_normal(stddev=0.02).stddev``.
            """
            try:
                config = object.__getattribute__(self, "_config")
            except AttributeError:  # Not built yet (unpickling, copying).
                config = {}
            if name in config:
                return config[name]
            raise AttributeError(
                f"the initializer has no attribute {name!r}; its arguments "
                f"are {', '.join(config) or 'none'}."
            )

    @property
    def name(self) -> str:
        """The name of the factory that built this initializer."""
        return self.__name__

    @property
    def random(self) -> bool:
        """Whether the initializer draws random values from its key."""
        return self._random

    @property
    def rounding(self) -> Rounding:
        """Where the numbers of its law are rounded: ``"jax"`` or ``"keras"``.

        ``"jax"`` (every factory's) computes a law's scale in the dtype drawn
        in, as ``jax.nn.initializers`` does, and draws its bits;
        ``"keras"`` computes it in float64 and rounds it once to that dtype,
        as Keras 3 does, and draws Keras's bits. They differ by an ulp or two
        in the variance-scaling family, where the scale is computed from the
        fans; see :meth:`with_rounding`.
        """
        return self._rounding

    def with_rounding(self, rounding: Rounding) -> ConfiguredInitializer:
        """This initializer with its law's numbers rounded as ``rounding``.

        :func:`jinit.get` gives ``"keras"`` to what it loads from a dict
        Keras wrote, and so does :func:`jinit.keras.initializer`.

        Args:
          rounding: ``"jax"`` or ``"keras"``; see :attr:`rounding`.

        Returns:
          An initializer with the same arguments, equal to this one only if
          ``rounding`` is its own. An initializer without a random
          elementwise law (a constant, ``orthogonal``, ``identity``) rounds
          no scale: it is returned as it is, with :attr:`rounding` ``"jax"``.

        Raises:
          ValueError: ``rounding`` is neither.
        """
        if rounding not in ROUNDINGS:
            raise ValueError(
                f"`rounding` must be one of {', '.join(map(repr, ROUNDINGS))};"
                f" got {rounding!r}."
            )
        if not (self._random and isinstance(self._draw, Elementwise)):
            return self
        return ConfiguredInitializer(
            self._build,
            self._config,
            self._draw,
            random=self._random,
            floating=self._floating,
            allow_complex=self._allow_complex,
            check=self._check,
            magnitude=self._magnitude,
            rounding=rounding,
        )

    def law(
        self, shape: Shape, work_dtype: np.dtype
    ) -> _draws.Affine | Fill | None:
        """The law of every element at ``shape``, drawn in ``work_dtype``.

        See :class:`Elementwise`; ``None`` where the values have no such law.
        With :attr:`rounding` ``"keras"``, an affine law's scale and shift
        are computed in float64 and rounded once to ``work_dtype``.
        """
        if not isinstance(self._draw, Elementwise):
            return None
        law = self._draw.law(shape, work_dtype)
        if (
            self._rounding == "keras"
            and isinstance(law, _draws.Affine)
            and work_dtype != np.float64
        ):
            exact = self._draw.law(shape, np.dtype(np.float64))
            assert isinstance(exact, _draws.Affine)  # The same law.

            def rounded(value: float | None) -> float | None:
                return (
                    None
                    if value is None
                    else float(np.asarray(value, work_dtype))
                )

            law = dataclasses.replace(
                law, scale=rounded(exact.scale), shift=rounded(exact.shift)
            )
        return law

    def get_config(self) -> dict[str, Any]:
        """The factory's arguments, defaults included (a fresh dict)."""
        return dict(self._config)

    def from_config(self, config: Mapping[str, Any]) -> ConfiguredInitializer:
        """An initializer built by the same factory from ``config``.

        ``config`` holds the arguments, as :meth:`get_config` returns them;
        the :attr:`rounding` is this one's.
        """
        built = self._build(**config)
        return (
            built
            if self._rounding == built.rounding
            else built.with_rounding(self._rounding)
        )

    def clone(self, **changes: Any) -> ConfiguredInitializer:
        """An initializer built anew from the same arguments, or some changed.

        Initializers are immutable: ``init.clone(seed=3)`` is ``init`` with
        its seed changed. Without ``changes`` it is equal to this one, as
        Keras's ``clone`` returns.

        Args:
          **changes: arguments of the factory, replacing this one's.

        Returns:
          The new initializer.

        Raises:
          TypeError: an argument the factory does not take.
          ValueError: as the factory, for a bad value.
        """
        return self.from_config({**self._config, **changes})

    def prepare(
        self, key: jax.Array | None, shape: Any, dtype: Any = None
    ) -> Call:
        """Checks a call's arguments and resolves its key and dtypes.

        It draws nothing: :func:`jinit.materialize` uses it to draw many
        initializers together.

        Raises:
          TypeError: as a call with the same arguments.
          ValueError: as a call with the same arguments.
        """
        if _is_shape(key) and (shape is _NO_SHAPE or _is_dtype(shape)):
            raise TypeError(
                f"`{self.name}` was called as init(shape, dtype), as Keras "
                "and Haiku call their initializers; a jinit initializer "
                "takes a PRNG key first: init(key, shape, dtype). In Keras, "
                "pass kernel_initializer=jinit.keras.initializer(init); in "
                "Haiku, w_init=jinit.haiku.initializer(init)."
            )
        if shape is _NO_SHAPE:
            raise TypeError(
                f"`{self.name}` takes (key, shape, dtype=None); "
                f"got no `shape` (key {key!r})."
            )
        shape = _shapes.canonical(shape)
        if self._check is not None:
            self._check(shape, self._config, self.name)
        dtype = _dtypes.resolve(
            dtype,
            self._config.get("dtype"),
            floating=self._floating,
            allow_complex=self._allow_complex,
            initializer=self.name,
        )
        work_dtype = _dtypes.sampling(dtype) if self._random else dtype
        _shapes.check_size(shape, dtype, work_dtype)
        key = (
            _keys.resolve(key, self._config.get("seed"), self.name)
            if self._random
            else None
        )
        law = None
        if math.prod(shape):
            law = self.law(shape, work_dtype)
            if isinstance(law, _draws.Affine):
                law.check_range(work_dtype, dtype, repr(self))
            elif law is None and self._magnitude is not None:
                _dtypes.check_range(
                    self._magnitude(shape, self._config, work_dtype),
                    (work_dtype, dtype),
                    repr(self),
                )
        return Call(key, shape, dtype, work_dtype, law)

    def __call__(
        self,
        key: jax.Array | None,
        shape: Any = _NO_SHAPE,
        dtype: Any = None,
        *,
        out_sharding: Sharding | PartitionSpec | None = None,
    ) -> jax.Array:
        """The initializer's values for ``key`` at ``shape`` in ``dtype``.

        The call is checked (:meth:`prepare`), then made as the call
        planner, :func:`jinit._plan.plan`, decides for every array jinit
        makes. Called eagerly, nothing is compiled per shape: constants and
        deterministic initializers are made in host memory, and on the CPU
        the elementwise laws are drawn by :func:`jinit._host_draws.sample_many`
        (one program per kind of law, compiled once per process), the same
        bits as the draw compiled for the shape. Under ``jit`` the values are
        computed in the traced program. With ``out_sharding`` random values
        are computed shard by shard on their devices.
        """
        call = self.prepare(key, shape, dtype)
        check_fits(out_sharding, call.shape)
        planned = self._plan_call(call, out_sharding)
        assert planned is not None  # Only an ensemble plans no single array.
        return _plan.run(planned)

    def _plan_call(
        self,
        call: Call,
        sharding: Sharding | PartitionSpec | None = None,
        key_data: np.ndarray | None = None,
        eager: bool | None = None,
    ) -> _plan.Plan | None:
        """How the array of ``call`` (from :meth:`prepare`) is made.

        See :func:`jinit._plan.plan`; ``None`` where it is not one array of
        this law (an ensemble stacks its members' arrays).
        """
        return _plan.plan(call, self._draw, sharding, key_data, eager)

    if TYPE_CHECKING:  # `shape` is required; only a mistaken call omits it.

        def __call__(
            self,
            key: jax.Array | None,
            shape: Any,
            dtype: Any = None,
            *,
            out_sharding: Sharding | PartitionSpec | None = None,
        ) -> jax.Array: ...

    def __repr__(self) -> str:
        defaults = _defaults(self._build)
        shown = [
            f"{name}={_show(value)}"
            for name, value in self._config.items()
            if value != defaults[name]
        ]
        made = f"{self.name}({', '.join(shown)})"
        if self._rounding != "jax":
            made += f".with_rounding({self._rounding!r})"
        return made

    def _identity(self) -> tuple[Any, ...]:
        return (self.name, tuple(self._config.items()), self._rounding)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfiguredInitializer):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __reduce__(
        self,
    ) -> tuple[
        Callable[..., ConfiguredInitializer],
        tuple[Callable[..., ConfiguredInitializer], dict[str, Any], Rounding],
    ]:
        return _rebuild, (self._build, self._config, self._rounding)


def _rebuild(
    build: Callable[..., ConfiguredInitializer],
    config: Mapping[str, Any],
    rounding: Rounding = "jax",
) -> ConfiguredInitializer:
    return build(**config).with_rounding(rounding)


def _show(value: object) -> str:
    return repr(value.name) if isinstance(value, np.dtype) else repr(value)


@functools.cache
def _defaults(build: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(build).parameters.items()
    }


def _freeze(name: str, value: object) -> object:
    """Canonical, hashable form of one factory argument."""
    if name == "dtype":
        return _dtypes.as_dtype(name, value)
    if name == "seed":
        return _keys.check_seed(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(name, item) for item in value)
    if isinstance(value, np.generic) or getattr(value, "shape", None) == ():
        return _validation.check_scalar(name, value)
    if isinstance(value, (np.ndarray, jax.Array)):  # Nested tuples.
        return _freeze(name, np.asarray(value).tolist())
    return value


def _is_key(value: object) -> bool:
    """Whether ``value`` is a PRNG key, typed or raw (``uint32[2]``)."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return False
    if jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return True
    return dtype == np.uint32 and getattr(value, "shape", None) == (2,)


def _is_shape(value: object) -> bool:
    return isinstance(value, (tuple, list)) and all(
        isinstance(dim, (int, np.integer)) for dim in value
    )


def _is_dtype(value: object) -> bool:
    if isinstance(value, (np.dtype, type)):
        return True
    try:
        return isinstance(value, str) and bool(jnp.dtype(value))
    except TypeError:
        return False


P = ParamSpec("P")


class Factory(Protocol[P]):
    """A jinit factory, returning a :class:`ConfiguredInitializer`.

    It is called with the parameters ``P`` of the function it was made from.
    """

    __name__: str
    __signature__: inspect.Signature
    about: About | None

    def __call__(
        self, *args: P.args, **kwargs: P.kwargs
    ) -> ConfiguredInitializer: ...


def factory(
    *,
    random: bool,
    allow_complex: bool = False,
    check: Check | None = None,
    floating: bool | None = None,
    magnitude: Magnitude | None = None,
    about: About | None = None,
) -> Callable[[Callable[P, Any]], Factory[P]]:
    """Turns a function returning a draw closure into a jinit factory.

    Args:
      random: whether the initializer draws random values (it then takes a
        key or a seed, and needs a floating dtype).
      allow_complex: whether the initializer also makes complex values.
      check: ``check(shape, config, name)``, run on every call before any
        work (zero-size shapes included), raising if the shape does not fit
        the factory's arguments.
      floating: whether the initializer needs a floating dtype (default:
        ``random``; deterministic initializers with non-integer values set
        it).
      magnitude: ``magnitude(shape, config, dtype)``, the largest absolute
        value drawn in ``dtype`` by an initializer without an elementwise
        law, so that a call whose values would overflow its dtype is
        refused (the elementwise laws are checked from their numbers).
      about: what the registry, the catalogue, the command line and the
        docs say of the initializer (its family, formula, reference,
        example and JAX equivalent), kept as the factory's ``about``.

    The decorated function receives its arguments in canonical form (dtype as
    ``np.dtype``, seed checked, sequences as tuples, NumPy and 0-d array
    scalars as Python numbers) and returns ``draw(key, shape, dtype)``, an
    :class:`Elementwise` law, or another jinit initializer whose draw it
    reuses.
    """

    def decorate(fn: Callable[P, Any]) -> Factory[P]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> ConfiguredInitializer:
            if any(map(_is_key, args)):
                raise TypeError(
                    f"`{fn.__name__}` is a factory: build the initializer "
                    f"first, then call it: {fn.__name__}()(key, shape, "
                    f"dtype). In a framework pass kernel_init="
                    f"jinit.{fn.__name__}(), not jinit.{fn.__name__}."
                )
            try:
                return built(args, kwargs)
            except (TypeError, ValueError) as error:
                if not (
                    args and _is_shape(args[0]) or any(map(_is_dtype, args[1:]))
                ):
                    raise
                # Called as the initializer it builds: Keras calls
                # init(shape, dtype=dtype), Haiku init(shape, dtype).
                name = fn.__name__
                raise TypeError(
                    f"`{name}` is a factory, called here as an initializer "
                    f"with {', '.join(map(repr, args))}: build the "
                    f"initializer first, jinit.{name}(), and call that as "
                    f"init(key, shape, dtype). In Keras pass kernel_"
                    f"initializer=jinit.keras.initializer(jinit.{name}()); "
                    f"in Haiku w_init=jinit.haiku.initializer(jinit.{name}())"
                    f"; in Flax kernel_init=jinit.{name}(). (The call as a "
                    f"factory failed: {error})"
                ) from error

        def built(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> ConfiguredInitializer:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                allowed = ", ".join(signature.parameters)
                raise TypeError(
                    f"{fn.__name__}(): {error}; its arguments are {allowed}."
                ) from None
            bound.apply_defaults()
            config: dict[str, Any] = {
                name: _freeze(name, value)
                for name, value in bound.arguments.items()
            }
            needs_floating = random if floating is None else floating
            if config.get("dtype") is not None:
                _dtypes.check_kind(
                    config["dtype"],
                    floating=needs_floating,
                    allow_complex=allow_complex,
                    initializer=fn.__name__,
                )
            # The arguments, bound above, are fn's in canonical form.
            draw = typing.cast("Callable[..., Any]", fn)(**config)
            if isinstance(draw, ConfiguredInitializer):
                draw = draw._draw  # A named special case of another factory.
            return ConfiguredInitializer(
                build,
                config,
                draw,
                random=random,
                floating=needs_floating,
                allow_complex=allow_complex,
                check=check,
                magnitude=magnitude,
            )

        made = typing.cast("Factory[P]", build)
        made.about = about
        # fn's parameters; fn returns a draw, the factory an initializer.
        made.__signature__ = signature.replace(
            return_annotation="ConfiguredInitializer"
        )
        return made

    return decorate

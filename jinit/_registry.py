"""Lookup by name, and (de)serialization of initializers."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from jinit import (
    _constants,
    _distributions,
    _fourier,
    _orthogonal,
    _structured,
    _variance_scaling,
)
from jinit._about import FAMILIES, Described, described
from jinit._contract import ConfiguredInitializer
from jinit._ensemble import ensemble
from jinit.schemes import _residual, _siren, _state_space, _width, _zer_o

# The modules that define the initializers.
MODULES = (
    _constants,
    _distributions,
    _variance_scaling,
    _orthogonal,
    _structured,
    _fourier,
    _residual,
    _width,
    _zer_o,
    _state_space,
    _siren,
)


def _factories() -> list[Described]:
    """Every factory the modules define (not import) with an ``about``.

    By family (``FAMILIES``), then by module name, then in the order each
    module defines them: an order the command line, which builds on the
    public API, finds again from the factories alone.
    """
    found = []
    for module in MODULES:
        for name, value in vars(module).items():
            factory = described(value)
            if (
                factory is not None
                and factory.__name__ == name
                and getattr(factory, "__module__", None) == module.__name__
            ):
                found.append(factory)
    return sorted(
        found, key=lambda f: (FAMILIES.index(f.about.family), f.__module__)
    )


# Every initializer factory, by name.
FACTORIES: dict[str, Described] = {f.__name__: f for f in _factories()}


def camel_case(name: str) -> str:
    """The spec's (Keras) class name of a factory.

    ``he_normal`` -> ``HeNormal``.
    """
    return "".join(part.capitalize() for part in name.split("_"))


# The names Keras 3 accepts besides its class names and their snake_case
# forms (keras/src/initializers/__init__.py, ALL_OBJECTS_DICT), and the
# factory each stands for.
KERAS_ALIASES = {
    "zero": "zeros",
    "one": "ones",
    "normal": "random_normal",
    "uniform": "random_uniform",
    "IdentityInitializer": "identity",
    "OrthogonalInitializer": "orthogonal",
    "STFT": "stft",
    "STFTInitializer": "stft",
}

_BASE = (
    "Keras's abstract base class keras.initializers.Initializer, which "
    "draws nothing"
)
# Names Keras 3 accepts for which jinit has no initializer, and what they are.
NOT_PROVIDED = {"Initializer": _BASE, "initializer": _BASE}

# What Keras 3 writes for jinit.keras.initializer (registered_name
# "jinit>JinitInitializer").
ADAPTER = "JinitInitializer"

# Every name get() and deserialize() accept, matched exactly: the factories'
# names, their CamelCase class names, then Keras's aliases.
NAMES: dict[str, Callable[..., ConfiguredInitializer]] = {
    **FACTORIES,
    **{camel_case(name): f for name, f in FACTORIES.items()},
    **{alias: FACTORIES[name] for alias, name in KERAS_ALIASES.items()},
    # Built from another initializer, so it has no defaults to list.
    "ensemble": ensemble,
}


def _suggestions(name: str) -> list[str]:
    """Up to three known names closest to ``name``, ignoring case."""
    lowered = name.lower()
    scored = [
        (difflib.SequenceMatcher(None, lowered, known.lower()).ratio(), known)
        for known in NAMES
    ]
    ranked = sorted(scored, key=lambda pair: -pair[0])  # Stable: NAMES order.
    return [known for ratio, known in ranked if ratio >= 0.6][:3]


def _factory(
    name: str, argument: str = "identifier"
) -> Callable[..., ConfiguredInitializer]:
    """The factory ``name`` stands for, by exact name.

    ``argument`` is how the errors call the name.
    """
    found = NAMES.get(name)
    if found is not None:
        return found
    if name in NOT_PROVIDED:
        raise ValueError(
            f"`{argument}` {name!r} is {NOT_PROVIDED[name]}; jinit does not "
            f"provide it. Its initializers are: {', '.join(FACTORIES)}."
        )
    close = _suggestions(name)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown initializer {name!r}.{hint} Known names: "
        f"{', '.join(FACTORIES)} (or their CamelCase class names, or Keras's "
        f"aliases {', '.join(map(repr, KERAS_ALIASES))}); `{argument}` must "
        "be one of them exactly (case and underscores included)."
    )


def get(identifier: Any) -> Callable[..., Any] | None:
    """Returns the initializer an identifier stands for.

    Names are matched exactly, never folded: ``"zero"`` is Keras's alias of
    ``zeros``, not ``zer_o``.

    Args:
      identifier: ``None`` (returned as is); a name, giving the factory's
        defaults: snake_case (``"he_normal"``), the spec's CamelCase
        (``"HeNormal"``) or one of Keras 3's aliases (``"zero"``, ``"one"``,
        ``"normal"``, ``"uniform"``, ``"IdentityInitializer"``,
        ``"OrthogonalInitializer"``, ``"STFT"``, ``"STFTInitializer"``); a
        dict, read by :func:`deserialize` (Keras's, for its initializers and
        for :func:`jinit.keras.initializer`, included); an array (NumPy,
        JAX or a NumPy scalar), giving ``constant(identifier)`` as Keras's
        ``initializers.get`` does (broadcast to the shape, NumPy rules,
        where Keras requires that shape exactly); or any callable, returned
        unchanged so that a custom ``(key, shape, dtype)`` function works
        wherever an initializer is expected.

    Returns:
      An initializer, or ``None`` for ``None``.

    Raises:
      ValueError: an unknown name (with close matches suggested), a name of
        Keras's abstract base class (``"Initializer"``), or a bad dict (see
        :func:`deserialize`).
      TypeError: an identifier of any other type, or a config naming an
        argument the factory does not take.

    Examples:
      >>> import jinit, numpy as np
      >>> jinit.get("HeNormal") == jinit.he_normal()
      True
      >>> jinit.get("zero")
      zeros()
      >>> jinit.get({"name": "random_normal", "config": {"stddev": 0.02}})
      random_normal(stddev=0.02)
      >>> jinit.get(np.array([0.5, 1.5]))
      constant(value=(0.5, 1.5))
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _factory(identifier)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if isinstance(identifier, (np.ndarray, np.generic, jax.Array)):
        return _constants.constant(np.asarray(identifier))
    if callable(identifier):
        return identifier
    raise TypeError(
        "`identifier` must be a name, a dict, an array, a callable or None; "
        f"got {type(identifier).__name__} {identifier!r}."
    )


def _jsonable(value: object) -> object:
    if isinstance(value, ConfiguredInitializer):  # ensemble's initializer.
        return serialize(value)
    if callable(value):
        raise TypeError(
            f"only initializers built from jinit factories can be "
            f"serialized; this one holds the function {value!r}."
        )
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value


def serialize(init: ConfiguredInitializer) -> dict[str, Any]:
    """A JSON-compatible dict that :func:`deserialize` turns back to ``init``.

    ``{"name": ..., "config": {...}}``; an initializer with Keras's rounding
    also has the ``"class_name"`` of Keras, which gives it back.

    Examples:
      >>> import jinit
      >>> jinit.serialize(jinit.glorot_normal(seed=3))["config"]["seed"]
      3
    """
    if not isinstance(init, ConfiguredInitializer):
        raise TypeError(
            "`init` must be an initializer built by a jinit factory; got "
            f"{init!r}. A custom function cannot be serialized, but "
            "jinit.get() accepts it as it is."
        )
    config = {
        name: _jsonable(value) for name, value in init.get_config().items()
    }
    if init.rounding == "keras":
        return {
            "name": init.name,
            "class_name": camel_case(init.name),
            "config": config,
        }
    return {"name": init.name, "config": config}


def _identified(
    config: Mapping[str, Any],
) -> Callable[..., ConfiguredInitializer]:
    """The factory a dict names by its 'name' and/or Keras 'class_name'."""
    named = {
        field: config[field]
        for field in ("name", "class_name")
        if field in config
    }
    if not named or not all(isinstance(value, str) for value in named.values()):
        raise ValueError(
            "`config` must have a 'name' (or Keras 'class_name') string; got "
            f"{dict(config)!r}."
        )
    found = {
        field: _factory(value, f"config[{field!r}]")
        for field, value in named.items()
    }
    if len(set(found.values())) > 1:
        raise ValueError(
            f"`config` names two initializers: 'name' {named['name']!r} and "
            f"'class_name' {named['class_name']!r}; give one of them, or two "
            "names of the same initializer."
        )
    return next(iter(found.values()))


def _keras_seed(seed: Mapping[str, Any]) -> object:
    """The int (or None) seed of a serialized ``keras.random.SeedGenerator``.

    Its first key is that of the same int seed.
    """
    inner = seed.get("config")
    if seed.get("class_name") != "SeedGenerator" or not isinstance(
        inner, Mapping
    ):
        raise TypeError(
            "`config['config']['seed']` must be None, an int or a serialized "
            f"keras.random.SeedGenerator; got {dict(seed)!r}."
        )
    return inner.get("seed")


def _keras_arguments(
    factory: Callable[..., ConfiguredInitializer], arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """A config's arguments with what Keras 3 writes in jinit's terms.

    Keras's ``input_axes`` and ``output_axes``, both given, are the only axes
    in the fans (``in_axis``, ``out_axis`` and ``other_axes="ignored"``);
    Keras ignores them unless both are given, and so does this. A serialized
    ``SeedGenerator`` seed is its int seed, a serialized NumPy or tensor
    scalar ``value`` that scalar.
    """
    arguments = dict(arguments)
    if {
        "input_axes",
        "output_axes",
    } & arguments.keys() and "other_axes" in inspect.signature(
        factory
    ).parameters:
        inputs = arguments.pop("input_axes", None)
        outputs = arguments.pop("output_axes", None)
        if inputs is not None and outputs is not None:
            clash = sorted(
                {"in_axis", "out_axis", "other_axes"} & arguments.keys()
            )
            if clash:
                raise ValueError(
                    "`config['config']` must give Keras's 'input_axes' and "
                    "'output_axes' or jinit's 'in_axis', 'out_axis' and "
                    f"'other_axes', not both; got {dict(arguments)!r} with "
                    f"input_axes={inputs!r}, output_axes={outputs!r}."
                )
            arguments.update(
                in_axis=inputs, out_axis=outputs, other_axes="ignored"
            )
    if isinstance(arguments.get("seed"), Mapping):
        arguments["seed"] = _keras_seed(arguments["seed"])
    value = arguments.get("value")
    if (
        isinstance(value, Mapping)
        and value.get("class_name") in ("__numpy__", "__tensor__")
        and isinstance(value.get("config"), Mapping)
    ):
        arguments["value"] = value["config"].get("value")
    return arguments


def deserialize(config: Mapping[str, Any]) -> ConfiguredInitializer:
    """Rebuilds an initializer from :func:`serialize`'s dict or a Keras one.

    Every dict ``keras.initializers.serialize`` writes for a Keras 3
    initializer loads as the same law: its ``class_name`` (or an alias)
    names the factory, its ``config`` the arguments, read as Keras means
    them (``input_axes``/``output_axes`` are the only axes in the fans; a
    ``SeedGenerator`` seed is its int seed). Other keys (``module``,
    ``registered_name``) are ignored. A dict with a ``class_name`` loads
    with Keras's rounding (``init.rounding == "keras"``): from the same key,
    Keras's bits, where jinit's factories draw ``jax.nn.initializers``'
    (they differ by an ulp or two in the variance-scaling family). A seed
    gives the same law as in Keras, not the same values (Keras's int seed
    ``s`` is the raw key ``[s, 0]``; :func:`jinit.keras.initializer` draws
    with it).

    The dict Keras writes for :func:`jinit.keras.initializer`
    (``class_name`` ``"JinitInitializer"``) loads as its jinit initializer,
    with Keras's rounding, and the adapter's int (or ``SeedGenerator``) seed
    as its seed where it has none, again the same law, not the same values.

    Args:
      config: a dict with a ``"name"`` or Keras ``"class_name"`` (or both,
        naming the same initializer) and an optional ``"config"`` dict of
        arguments, or Keras's dict of a ``jinit.keras.initializer``.

    Returns:
      The initializer.

    Raises:
      TypeError: ``config`` is not a dict (use :func:`get` for a name or
        ``None``), or its ``"config"`` is not a dict or names an argument the
        factory does not take.
      ValueError: no name, an unknown name, a name of an initializer jinit
        does not provide, or a ``"name"`` and a ``"class_name"`` naming two
        initializers.

    Examples:
      >>> import jinit
      >>> init = jinit.deserialize({"module": "keras.initializers",
      ...                           "class_name": "HeNormal",
      ...                           "config": {"seed": 1, "input_axes": [0],
      ...                                      "output_axes": [1, 2]},
      ...                           "registered_name": None})
      >>> init == jinit.he_normal(1, in_axis=(0,), out_axis=(1, 2),
      ...                         other_axes="ignored"
      ...                         ).with_rounding("keras")
      True
    """
    if not isinstance(config, Mapping):
        raise TypeError(
            "`config` must be a dict from jinit.serialize or "
            "keras.initializers.serialize; got "
            f"{type(config).__name__} {config!r}. Use jinit.get for a name "
            "or None."
        )
    arguments = config.get("config") or {}
    if not isinstance(arguments, Mapping):
        raise TypeError(
            f"`config['config']` must be a dict of arguments; got "
            f"{arguments!r}."
        )
    if config.get("class_name") == ADAPTER:
        return _adapted(arguments)
    factory = _identified(config)
    arguments = _keras_arguments(factory, arguments)
    if isinstance(arguments.get("init"), Mapping):  # ensemble's initializer.
        arguments["init"] = deserialize(arguments["init"])
    init = factory(**arguments)
    return init.with_rounding("keras") if "class_name" in config else init


def _adapted(arguments: Mapping[str, Any]) -> ConfiguredInitializer:
    """The jinit initializer of a ``jinit.keras.initializer``'s config."""
    inner = arguments.get("init")
    if not isinstance(inner, (str, Mapping)):
        raise ValueError(
            "`config['config']['init']` of a JinitInitializer must be the "
            f"name or dict of a jinit initializer; got {inner!r}."
        )
    init = _factory(inner)() if isinstance(inner, str) else deserialize(inner)
    seed = arguments.get("seed")
    if isinstance(seed, Mapping):
        seed = _keras_seed(seed)
    if (
        seed is not None
        and init.random
        and init.get_config().get("seed") is None
    ):
        init = init.clone(seed=seed)
    return init.with_rounding("keras")

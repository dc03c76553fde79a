"""Lookup by name, and (de)serialization of initializers."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jinit._base import ConfiguredInitializer
from jinit._constant import constant, dirac, identity, ones, zeros
from jinit._orthogonal import delta_orthogonal, orthogonal
from jinit._random import (
    random_normal,
    random_uniform,
    sparse,
    truncated_normal,
)
from jinit._residual import (
    deepnorm,
    depth_scaled_normal,
    fixup,
    skip_init,
    small_init,
    t_fixup,
    t_fixup_embedding,
    wang_init,
)
from jinit._variance import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)
from jinit._zer_o import zer_o

# Every factory: the spec's, in the spec's order, then jinit's own.
FACTORIES: dict[str, Callable[..., ConfiguredInitializer]] = {
    f.__name__: f for f in (
        zeros, ones, constant, random_normal, random_uniform,
        truncated_normal, variance_scaling, orthogonal, identity,
        lecun_uniform, glorot_normal, glorot_uniform, he_normal,
        lecun_normal, he_uniform, delta_orthogonal, dirac, sparse,
        depth_scaled_normal, small_init, wang_init, deepnorm, t_fixup,
        t_fixup_embedding, fixup, skip_init, zer_o)
}


def camel_case(name: str) -> str:
    """The spec's (Keras) class name of a factory: ``he_normal`` ->
    ``HeNormal``."""
    return "".join(part.capitalize() for part in name.split("_"))


def _folded(name: str) -> str:
    return name.replace("_", "").lower()


_BY_FOLDED = {_folded(name): f for name, f in FACTORIES.items()}
_KNOWN = [*FACTORIES, *map(camel_case, FACTORIES)]


def _factory(name: str) -> Callable[..., ConfiguredInitializer]:
    found = _BY_FOLDED.get(_folded(name))
    if found is None:
        close = difflib.get_close_matches(name, _KNOWN, n=3, cutoff=0.6)
        hint = (f" Did you mean {' or '.join(map(repr, close))}?" if close
                else "")
        raise ValueError(
            f"Unknown initializer {name!r}.{hint} Known names: "
            f"{', '.join(FACTORIES)} (or their CamelCase class names).")
    return found


def get(identifier: Any) -> Callable[..., Any] | None:
    """Returns the initializer an identifier stands for.

    Args:
      identifier: ``None`` (returned as is); a name, snake_case
        (``"he_normal"``) or the spec's CamelCase (``"HeNormal"``), giving the
        factory's defaults; a dict from :func:`serialize`; a Keras-style dict
        ``{"class_name": "VarianceScaling", "config": {...}}``; or any
        callable, returned unchanged so that a custom ``(key, shape, dtype)``
        function works wherever an initializer is expected.

    Returns:
      An initializer, or ``None`` for ``None``.

    Raises:
      ValueError: an unknown name (with close matches suggested), or a dict
        without a name.
      TypeError: an identifier of any other type, or a config naming an
        argument the factory does not take.

    Example:
      >>> import jinit
      >>> jinit.get("HeNormal") == jinit.he_normal()
      True
      >>> jinit.get({"class_name": "RandomNormal", "config": {"stddev": 0.02}})
      random_normal(stddev=0.02)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _factory(identifier)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "`identifier` must be a name, a dict, a callable or None; got "
        f"{type(identifier).__name__} {identifier!r}.")


def _jsonable(value: object) -> object:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value


def serialize(init: ConfiguredInitializer) -> dict[str, Any]:
    """A JSON-compatible dict that :func:`deserialize` turns back into ``init``.

    Example:
      >>> import jinit
      >>> jinit.serialize(jinit.glorot_normal(seed=3))["config"]["seed"]
      3
    """
    if not isinstance(init, ConfiguredInitializer):
        raise TypeError(
            "`init` must be an initializer built by a jinit factory; got "
            f"{init!r}. A custom function cannot be serialized, but "
            "jinit.get() accepts it as it is.")
    config = {name: _jsonable(value)
              for name, value in init.get_config().items()}
    return {"name": init.name, "config": config}


def deserialize(config: Mapping[str, Any]) -> ConfiguredInitializer:
    """Rebuilds an initializer from :func:`serialize`'s dict or a Keras-style
    ``{"class_name": ..., "config": {...}}`` dict (other keys are ignored)."""
    name = config.get("name", config.get("class_name"))
    if not isinstance(name, str):
        raise ValueError(
            "`config` must have a 'name' (or Keras 'class_name') string; got "
            f"{dict(config)!r}.")
    arguments = config.get("config") or {}
    if not isinstance(arguments, Mapping):
        raise TypeError(f"`config['config']` must be a dict of arguments; got "
                        f"{arguments!r}.")
    return _factory(name)(**arguments)

"""Re-initializing Equinox models by path rules.

Equinox layers take no initializer arguments, and store their weights as
``(out, in, *spatial)``, where jinit's initializers read ``(*spatial, in,
out)``. :func:`reinit` replaces the arrays of a built model by rules over
their paths, drawing each such weight in jinit's layout and moving its axes
to Equinox's. Import it as ``import jinit.equinox`` (``import jinit`` does not
import Equinox).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.core
import jax.numpy as jnp

from jinit import _keys
from jinit._host_draws import on_host, out_in
from jinit._keys import path_string, unique_path_strings
from jinit._rules import compile_rules
from jinit._trees import redraw

__all__ = ["reinit"]

Model = TypeVar("Model")

# The Equinox layers whose named weights are ``(out, in, *spatial)``.
OUT_IN_WEIGHTS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (eqx.nn.Linear, ("weight",)),
    (eqx.nn.Conv, ("weight",)),
    (eqx.nn.ConvTranspose, ("weight",)),
    (eqx.nn.GRUCell, ("weight_ih", "weight_hh")),
    (eqx.nn.LSTMCell, ("weight_ih", "weight_hh")),
)
_LAYERS = tuple(layer for layer, _ in OUT_IN_WEIGHTS)


def reinit(
    model: Model,
    key: jax.Array,
    rules: Sequence[tuple[str, Callable[..., jax.Array]]],
    *,
    strict: bool = False,
) -> Model:
    """A copy of an Equinox model with its arrays re-drawn by path rules.

    Each array leaf of ``model`` gets the initializer of the first rule whose
    regular expression matches its path (``re.search``, on paths joined by
    ``/`` as in :func:`jinit.path_key`, such as ``"layers/0/weight"`` for an
    ``eqx.nn.MLP``) and is replaced, with ``eqx.tree_at``, by a new array of
    its shape and dtype. Leaves that are not arrays (activations, static
    fields) are kept, and so are arrays that no rule matches unless
    ``strict``.

    The weights Equinox stores as ``(out, in, *spatial)`` (``weight`` of
    ``eqx.nn.Linear``, of every ``eqx.nn.Conv`` and ``eqx.nn.ConvTranspose``,
    and ``weight_ih``/``weight_hh`` of ``eqx.nn.GRUCell`` and
    ``eqx.nn.LSTMCell``, found by the type of the layer holding them) are
    drawn in jinit's layout ``(*spatial, in, out)`` and their axes moved:
    the new weight at path ``p`` of shape ``(out, in, *spatial)`` is
    ``init(jinit.path_key(key, p), (*spatial, in, out), dtype)`` with axes
    ``(out, in, *spatial)``, so every initializer, ``orthogonal`` and
    ``delta_orthogonal`` included, sees the layout and fans it was written
    for (``in_channels / groups`` inputs for a grouped convolution). Give
    such weights initializers with their default ``in_axis``/``out_axis``.
    Every other array (biases, ``eqx.nn.Embedding``'s ``(vocabulary, size)``
    weight, normalization scales) is ``init(jinit.path_key(key, p), shape,
    dtype)``. Each value depends on its own path and ``key`` only, bit for
    bit, and is computed by :func:`jinit.materialize`; the new arrays are on
    the default device, not the old arrays' sharding.

    Args:
      model: an Equinox module, or any pytree of them.
      key: a PRNG key.
      rules: ``(pattern, init)`` tuples, ``init(key, shape, dtype)`` a
        callable such as ``jinit.he_normal()``.
      strict: raise if an array matches no rule, instead of keeping it.

    Returns:
      ``model`` with the matched arrays replaced; ``model`` itself is not
      changed.

    Raises:
      ValueError: a pattern is not a regular expression, or with ``strict``
        an array matches no rule (its path is named); an initializer
        returned another shape or dtype than asked (the path is named).
      TypeError: a rule is not a ``(pattern, init)`` tuple, an ``init`` is
        not callable, or ``key`` is not a PRNG key.

    Examples:
      >>> import equinox as eqx, jax, jinit, jinit.equinox
      >>> mlp = eqx.nn.MLP(512, 10, 64, 1, key=jax.random.key(0))
      >>> mlp = jinit.equinox.reinit(mlp, jax.random.key(1), [
      ...     (r"weight$", jinit.he_normal()), (r"bias$", jinit.zeros())])
      >>> mlp.layers[0].weight.shape, float(mlp.layers[0].bias.sum())
      ((64, 512), 0.0)
    """
    key = _keys.required(key, "reinit")
    compiled = compile_rules(
        rules, without_sharding="Equinox keeps no sharding to set"
    )
    out_in = _out_in_paths(model)
    flat = jax.tree_util.tree_flatten_with_path(model)[0]
    arrays = [index for index, (_, leaf) in enumerate(flat) if _is_array(leaf)]
    names = unique_path_strings([flat[index][0] for index in arrays])
    drawn_shapes = {}  # (out, in, *spatial) weights, drawn (*spatial, in, out).
    for name, index in zip(names, arrays, strict=True):
        if name in out_in:
            outputs, inputs, *spatial = flat[index][1].shape
            drawn_shapes[name] = (*spatial, inputs, outputs)
    drawn = redraw(
        [
            (name, flat[index][1])
            for name, index in zip(names, arrays, strict=True)
        ],
        key,
        compiled,
        strict=strict,
        drawn_shapes=drawn_shapes,
    )
    indices = [arrays[position] for position in drawn]
    values = [
        _equinox_layout(value) if names[position] in out_in else value
        for position, value in drawn.items()
    ]

    def replaced(tree: Any) -> list[Any]:
        leaves = jax.tree_util.tree_leaves(tree)  # Once: linear in leaves.
        return [leaves[index] for index in indices]

    return eqx.tree_at(replaced, model, values)


def _is_array(leaf: Any) -> bool:
    """Whether ``leaf`` is an array, concrete or abstract."""
    return eqx.is_array(leaf) or isinstance(leaf, jax.ShapeDtypeStruct)


def _out_in_paths(model: Any) -> set[str]:
    """The paths of the ``(out, in, *spatial)`` weights in ``model``."""
    paths = set()
    for path, node in jax.tree_util.tree_flatten_with_path(
        model, is_leaf=lambda node: isinstance(node, _LAYERS)
    )[0]:
        for layer, fields in OUT_IN_WEIGHTS:
            if isinstance(node, layer):
                paths.update(
                    path_string((*path, jax.tree_util.GetAttrKey(field)))
                    for field in fields
                )
    return paths


def _equinox_layout(value: jax.Array) -> jax.Array:
    """A ``(*spatial, in, out)`` weight as ``(out, in, *spatial)``.

    Moved in host memory where the arrays live there (nothing compiled per
    shape), else (or under a transformation) by ``jnp.transpose``.
    """
    if on_host() and not isinstance(value, jax.core.Tracer):
        return out_in(value)
    ndim = value.ndim
    return jnp.transpose(value, (ndim - 1, ndim - 2, *range(ndim - 2)))

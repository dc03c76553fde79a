"""Flax NNX: parameters created directly sharded, and models filled by rules.

Every jinit initializer already works as a Flax ``kernel_init``,
``bias_init``, ``embedding_init`` or ``recurrent_kernel_init``, in linen and
in NNX, since Flax calls ``init(key, shape, dtype)``. What Flax does not do
(0.12) is pass a sharding to the initializer: ``nnx.with_partitioning(init,
spec)`` records ``spec`` as the ``Variable``'s ``out_sharding`` metadata, and
the ``Variable`` constructor reshards the finished array, so outside ``jit``
every parameter is first drawn whole on one device. :func:`sharded` is
``nnx.with_partitioning`` with the same metadata that also hands the sharding
to the jinit initializer as ``out_sharding``, so elementwise initializers
draw each device's shard on that device.

:func:`reinit` fills a model's variables by rules over their paths; given the
abstract model of ``nnx.eval_shape``, it builds the model without drawing
anything twice.

Importing this module imports Flax; ``import jinit`` does not.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
from flax import nnx
from flax.core import spmd
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jinit import _keys
from jinit._contract import Initializer
from jinit._keys import unique_path_strings, variable_path
from jinit._rules import compile_rules
from jinit._trees import redraw

__all__ = ["reinit", "sharded"]

Model = TypeVar("Model")


def sharded(
    init: Initializer,
    sharding: PartitionSpec | tuple[Any, ...],
    mesh: Mesh | None = None,
    **metadata: Any,
) -> Any:
    """``nnx.with_partitioning(init, sharding, mesh, **metadata)``.

    The parameter is drawn directly sharded.

    The returned initializer takes ``(key, shape, dtype=None)`` as Flax calls
    it, and gives the ``nnx.VariableMetadata`` that ``nnx.with_partitioning``
    gives (so ``nnx.get_partition_spec`` and the ``Variable``'s
    ``out_sharding`` are the same), its value drawn as
    ``init(key, shape, dtype, out_sharding=...)``. The sharding is resolved as
    the ``Variable`` resolves it: logical axis names are renamed by the
    ``sharding_rules`` in ``metadata`` and those set with
    ``nnx.logical_axis_rules``, and laid on ``mesh``, or else on the mesh set
    with ``jax.set_mesh``. When the ``Variable`` will not shard (eager sharding
    switched off with ``nnx.use_eager_sharding(False)`` or
    ``eager_sharding=False`` in ``metadata``) the value is drawn unsharded,
    as ``nnx.with_partitioning`` draws it. The values are those of
    ``init(key, shape, dtype)``, bit for bit.

    Args:
      init: the initializer, called with the keyword ``out_sharding``: any
        jinit initializer (or another that takes it).
      sharding: the partitioning, a ``PartitionSpec`` or a tuple of mesh or
        logical axis names (``None`` for a replicated axis), one per axis of
        the parameter.
      mesh: the mesh to shard on; ``None`` uses the one set with
        ``jax.set_mesh``.
      **metadata: further ``Variable`` metadata, as for
        ``nnx.with_partitioning`` (``sharding_rules`` among them).

    Returns:
      An initializer ``(key, shape, dtype=None) -> nnx.VariableMetadata``.

    Raises:
      TypeError: if ``init`` is not callable or ``sharding`` is not a
        ``PartitionSpec`` or tuple.

    Examples:
      >>> import jax, jinit, jinit.flax
      >>> from flax import nnx
      >>> mesh = jax.make_mesh((1,), ("model",),
      ...                      axis_types=(jax.sharding.AxisType.Explicit,))
      >>> with jax.set_mesh(mesh):
      ...     layer = nnx.Linear(4, 8, rngs=nnx.Rngs(0), kernel_init=(
      ...         jinit.flax.sharded(jinit.he_normal(), (None, "model"))))
      >>> layer.kernel.out_sharding
      (None, 'model')
    """
    if not callable(init):
        raise TypeError(
            f"`init` must be an initializer (a callable); got "
            f"{type(init).__name__} {init!r}."
        )
    if not isinstance(sharding, (PartitionSpec, tuple)):
        raise TypeError(
            "`sharding` must be a PartitionSpec or a tuple of axis names "
            f"(None for a replicated axis); got {type(sharding).__name__} "
            f"{sharding!r}."
        )

    def draw(key: jax.Array, shape: Any, dtype: Any = None) -> jax.Array:
        if not metadata.get("eager_sharding", nnx.using_eager_sharding()):
            return init(key, shape, dtype)
        spec = spmd.apply_rules(sharding, metadata.get("sharding_rules"))
        out_sharding = spec if mesh is None else NamedSharding(mesh, spec)
        return init(key, shape, dtype, out_sharding=out_sharding)

    # Flax annotates `sharding` as a tuple, and takes a PartitionSpec too.
    return nnx.with_partitioning(
        draw, typing.cast(Any, sharding), mesh, **metadata
    )


def reinit(
    model: Model,
    key: jax.Array,
    rules: Sequence[tuple[str, Callable[..., jax.Array]]],
    *,
    strict: bool = False,
) -> Model:
    """A copy of a Flax NNX model with its variables drawn by path rules.

    Each variable of ``model`` (``nnx.Param``, ``nnx.BatchStat``, any
    ``nnx.Variable`` holding an array) gets the initializer of the first
    rule whose regular expression matches its path (``re.search``, on paths
    joined by ``/`` as in :func:`jinit.path_key`, such as
    ``"blocks/0/attn/kernel"``), and the value ``init(jinit.path_key(key,
    p), shape, dtype)`` of its own shape and dtype, computed by
    :func:`jinit.materialize`: on CPU the elementwise laws of every
    variable are drawn together, with nothing compiled per shape.

    ``model`` may be abstract, as ``nnx.eval_shape`` returns it: the model
    is then built without drawing any value twice (nor compiling its
    initializers), and every abstract variable must match a rule::

        abstract = nnx.eval_shape(lambda: Model(rngs=nnx.Rngs(0)))
        model = jinit.flax.reinit(abstract, jax.random.key(0), rules)

    The variables keep their metadata (``out_sharding`` among it); the new
    arrays are on the default device.

    Args:
      model: an NNX module (or a graph of them), concrete or abstract.
      key: a PRNG key.
      rules: ``(pattern, init)`` tuples, ``init(key, shape, dtype)`` a
        callable such as ``jinit.he_normal()``.
      strict: raise if a concrete array matches no rule, instead of keeping
        it.

    Returns:
      A new model with the matched variables replaced; ``model`` is not
      changed.

    Raises:
      ValueError: a pattern is not a regular expression; an abstract
        variable, or with ``strict`` any array, matches no rule (its path is
        named); an initializer returned another shape or dtype than asked.
      TypeError: a rule is not a ``(pattern, init)`` tuple, an ``init`` is
        not callable, or ``key`` is not a PRNG key.

    Examples:
      >>> import jax, jinit, jinit.flax
      >>> from flax import nnx
      >>> abstract = nnx.eval_shape(lambda: nnx.Linear(4, 8,
      ...                                              rngs=nnx.Rngs(0)))
      >>> layer = jinit.flax.reinit(abstract, jax.random.key(0), [
      ...     (r"kernel$", jinit.he_normal()), (r"bias$", jinit.zeros())])
      >>> layer.kernel.shape, float(layer.bias.sum())
      ((4, 8), 0.0)
    """
    key = _keys.required(key, "reinit")
    compiled = compile_rules(
        rules, without_sharding="NNX variables keep their own sharding"
    )
    graphdef, state = nnx.split(model)
    flat, treedef = jax.tree_util.tree_flatten_with_path(state)
    names = unique_path_strings([variable_path(path) for path, _ in flat])
    drawn = redraw(
        list(zip(names, (leaf for _, leaf in flat), strict=True)),
        key,
        compiled,
        strict=strict,
    )
    leaves = [drawn.get(index, leaf) for index, (_, leaf) in enumerate(flat)]
    return nnx.merge(graphdef, jax.tree_util.tree_unflatten(treedef, leaves))

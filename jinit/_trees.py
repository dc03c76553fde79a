"""Whole trees of parameters.

``Param`` specs, ``assign`` from abstract trees, and ``materialize`` with
path-stable keys.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec, Sharding

from jinit import _dtypes, _keys, _plan, _shapes
from jinit._contract import ConfiguredInitializer
from jinit._keys import path_string, unique_path_strings
from jinit._rules import (
    CompiledRule,
    Rule,
    compile_rules,
    first_match,
    matching,
)
from jinit._sharding import as_sharding, check_fits, place


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter to create: its shape, initializer, dtype and sharding.

    A pytree leaf (not a node), so a tree of ``Param`` has the structure of
    the tree of arrays :func:`jinit.materialize` makes from it.

    Args:
      shape: the parameter's shape.
      init: its initializer, ``init(key, shape, dtype)``.
      dtype: its dtype (default float32).
      sharding: where to place it: a ``jax.sharding.Sharding``, a
        ``PartitionSpec`` (under ``jax.set_mesh``) or ``None``.

    Raises:
      TypeError: ``init`` is not callable, ``sharding`` is not a sharding, or
        ``shape``/``dtype`` is not one.
      ValueError: a negative dimension, or an array too large for XLA to
        address (2**63 bytes or more), refused here so that
        :func:`jinit.materialize` never hands it to XLA.

    Examples:
      >>> import jinit
      >>> jinit.Param((512, 256), jinit.he_normal()).shape
      (512, 256)
    """

    shape: tuple[int, ...]
    init: Callable[..., jax.Array]
    dtype: Any = jnp.float32
    sharding: Sharding | PartitionSpec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _shapes.canonical(self.shape))
        if not callable(self.init):
            raise TypeError(
                f"`init` must be an initializer init(key, shape, "
                f"dtype); got {type(self.init).__name__} "
                f"{self.init!r}."
            )
        object.__setattr__(self, "dtype", _dtypes.as_dtype("dtype", self.dtype))
        if self.dtype is not None:
            _shapes.check_size(self.shape, self.dtype)
        if self.sharding is not None and not isinstance(
            self.sharding, (Sharding, PartitionSpec)
        ):
            raise TypeError(
                "`sharding` must be None, a jax.sharding.Sharding or a "
                f"PartitionSpec; got {type(self.sharding).__name__} "
                f"{self.sharding!r}."
            )


def is_param(node: object) -> bool:
    return isinstance(node, Param)


def materialize(key: jax.Array, specs: Any) -> Any:
    """The tree of arrays described by a tree of :class:`Param`.

    The leaf at path ``p`` equals, bit for bit,
    ``spec.init(jinit.path_key(key, p), spec.shape, spec.dtype)`` placed with
    ``spec.sharding``: its key depends on its own path only, so adding,
    removing or reordering other parameters changes no value.

    How it is computed:

    * On CPU, the elementwise laws (normal, uniform, truncated normal and
      everything built on them: the variance-scaling family, Glorot, He,
      LeCun) are drawn together: one kernel per kind of law, compiled once
      per process (and, for large draws, a second that draws eight times as
      many rows a call), draws the concatenated rows of every parameter of
      that kind, each element hashed with its own parameter's key and row-major
      index, and the rows are copied into host buffers that become the
      arrays without another copy. Compiling a draw per parameter shape
      instead costs ~0.1 s a shape, which is where whole-model
      initialization in JAX spends its time. The path keys are folded on
      the host.
    * A parameter with a ``sharding`` is created directly sharded: each
      device computes only the elements of its own shard (the values are
      those of the unsharded draw), and on a multi-host mesh each process
      only its addressable shards; so is a sharded constant. Initializers
      that are not elementwise (``orthogonal``, ``sparse``, complex draws,
      other libraries') are computed whole, one at a time, and placed; on
      a mesh of several processes, a ``RuntimeWarning`` says so when such a
      leaf is larger than the process's share of the tree.
    * Constants (``zeros``, ``ones``, ...) draw nothing; any other
      initializer, jinit's or not, is called as ``init(key, shape, dtype)``,
      each waiting for the one before.
    * Memory beyond the parameters themselves: the rows of the kernel's
      calls in flight (up to four calls of 8 MB each) and the parameters
      being filled.
    * Under ``jax.jit`` or ``jax.vmap`` (a traced ``key``) nothing can be
      done on the host: each leaf is ``spec.init(jinit.path_key(key, p),
      ...)``, the same bits, so ``jax.vmap(lambda k: materialize(k,
      specs))(keys)`` gives member ``i`` equal to ``materialize(keys[i],
      specs)``.

    Paths are dict keys, sequence indices and attribute names joined by
    ``/``, so ``{"a/b": x, "a": {"b": y}}`` would give ``x`` and ``y`` the
    same key: two leaves whose paths print the same are an error.

    Args:
      key: a PRNG key.
      specs: a pytree (dicts, lists, tuples, any registered node) whose
        leaves are all :class:`Param`.

    Returns:
      The same tree with each ``Param`` replaced by its array.

    Warns:
      RuntimeWarning: on a mesh of several processes, when a sharded leaf
        computed whole on every process is larger than this process's share
        of the tree (see above).

    Raises:
      TypeError: a leaf is not a ``Param`` (its path is named), or ``key`` is
        not a PRNG key.
      ValueError: two leaves have the same path (both are named); a
        ``Param``'s sharding cannot split its shape, or is a
        ``PartitionSpec`` with no mesh set (checked before anything is
        drawn); an initializer returned another shape or dtype than its
        ``Param`` (the path is named).

    Examples:
      >>> import jax, jinit
      >>> specs = {"dense": {"w": jinit.Param((4, 3), jinit.he_normal()),
      ...                    "b": jinit.Param((3,), jinit.zeros())}}
      >>> params = jinit.materialize(jax.random.key(0), specs)
      >>> params["dense"]["w"].shape, params["dense"]["b"].tolist()
      ((4, 3), [0.0, 0.0, 0.0])
    """
    key = _keys.required(key, "materialize")
    leaves, treedef = jax.tree_util.tree_flatten_with_path(
        specs, is_leaf=is_param
    )
    names = unique_path_strings([path for path, _ in leaves])
    for name, (_, spec) in zip(names, leaves, strict=True):
        if not isinstance(spec, Param):
            raise TypeError(
                f"every leaf of `specs` must be a jinit.Param; the leaf at "
                f"{name!r} is {type(spec).__name__} {spec!r}."
            )
        _check_sharding(name, spec)
    if isinstance(key, jax.core.Tracer):
        # Under jit or vmap the keys cannot be folded on the host: each leaf
        # is its initializer's call, which gives the same bits.
        return jax.tree_util.tree_unflatten(
            treedef,
            [
                _call(name, spec, _keys.path_key(key, name))
                for name, (_, spec) in zip(names, leaves, strict=True)
            ],
        )
    words = _keys.path_key_data(key, names)
    impl = jax.random.key_impl(key)
    if jax.process_count() > 1:
        _warn_whole_leaves(names, [spec for _, spec in leaves], words, impl)
    eager = _plan.eager()  # The same for every leaf.
    plans = [
        _leaf_plan(spec, jax.random.wrap_key_data(row, impl=impl), row, eager)
        for (_, spec), row in zip(leaves, words, strict=True)
    ]
    made = iter(_plan.run_many([p for p in plans if p is not None]))
    arrays = [
        next(made)
        if planned is not None
        else _call(name, spec, jax.random.wrap_key_data(row, impl=impl))
        for name, (_, spec), row, planned in zip(
            names, leaves, words, plans, strict=True
        )
    ]
    return jax.tree_util.tree_unflatten(treedef, arrays)


def _call(name: str, spec: Param, key: jax.Array) -> jax.Array:
    """The array of ``spec``, placed with ``spec.sharding``.

    That is ``spec.init(key, spec.shape, spec.dtype)``.

    Raises:
      ValueError: the initializer returned another shape or dtype (``name``,
        the path, is named).
    """
    value = (
        spec.init(key, spec.shape, spec.dtype, out_sharding=spec.sharding)
        if isinstance(spec.init, ConfiguredInitializer)
        else place(spec.init(key, spec.shape, spec.dtype), spec.sharding)
    )
    if value.shape != spec.shape or value.dtype != spec.dtype:
        raise ValueError(
            f"the initializer of {name!r} returned "
            f"{value.dtype}{list(value.shape)}; its Param asks for "
            f"{spec.dtype}{list(spec.shape)}."
        )
    return value


def _shard_wise(spec: Param, key: jax.Array) -> bool:
    """Whether ``spec`` is made shard by shard when sharded.

    That is a jinit elementwise law or a constant; other initializers are
    computed whole, then placed.
    """
    return (
        isinstance(spec.init, ConfiguredInitializer)
        and spec.init.prepare(key, spec.shape, spec.dtype).law is not None
    )


def _warn_whole_leaves(
    names: Sequence[str], specs: Sequence[Param], words: np.ndarray, impl: Any
) -> None:
    """Warns if a leaf computed whole is larger than this process's share.

    Called on a mesh of several processes, where each computes the whole of
    such a sharded leaf and then keeps its shards; the share is the bytes of
    all the shards this process holds of the tree. Sharded elementwise
    laws and constants are made shard by shard, so a process holds only its
    share; a leaf of another initializer is computed whole, one at a time,
    so the peak is the share plus the largest such leaf (and its
    initializer's working memory): past the share, that leaf and not the
    shards sets what each host needs.
    """
    share, whole = 0, []
    for name, spec, row in zip(names, specs, words, strict=True):
        itemsize = np.dtype(spec.dtype).itemsize
        size = math.prod(spec.shape) * itemsize
        if spec.sharding is None:
            share += size
            continue
        sharding = as_sharding(spec.sharding, over_devices=True)
        share += (
            len(sharding.addressable_devices)
            * itemsize
            * math.prod(sharding.shard_shape(spec.shape))
        )
        if not _shard_wise(spec, jax.random.wrap_key_data(row, impl=impl)):
            whole.append((size, name, spec))
    if whole and max(whole)[0] > share:
        size, name, spec = max(whole)
        warnings.warn(
            f"jinit.materialize: {name!r} ({spec.dtype}{list(spec.shape)}, "
            f"{size / 2**20:.1f} MiB, {spec.init!r}) is computed whole on "
            f"every process, then sharded: more than this process's share "
            f"of the tree ({share / 2**20:.1f} MiB). Each process's peak "
            "memory is about its share plus that leaf. An elementwise law "
            "or a constant there is made shard by shard.",
            RuntimeWarning,
            stacklevel=3,
        )


def _check_sharding(name: str, spec: Param) -> None:
    """Raises ``ValueError`` if ``spec.sharding`` cannot place ``spec.shape``.

    The error names the path.
    """
    try:
        check_fits(spec.sharding, spec.shape)
    except ValueError as error:
        raise ValueError(
            f"the Param at {name!r} ({spec.dtype}{list(spec.shape)}) cannot "
            f"be placed with its sharding {spec.sharding}: {error}"
        ) from None


def _leaf_plan(
    spec: Param, key: jax.Array, key_data: np.ndarray, eager: bool
) -> _plan.Plan | None:
    """How the leaf ``spec`` is made (see :func:`jinit._plan.plan`).

    ``None`` where it is made by calling its initializer (not a jinit one,
    or an ensemble). ``key`` is its path key, whose words are ``key_data``;
    ``eager``, whether no ``jit`` traces the call.
    """
    if not isinstance(spec.init, ConfiguredInitializer):
        return None
    call = spec.init.prepare(key, spec.shape, spec.dtype)
    # The path key's words, unless the initializer's seed was folded in.
    return spec.init._plan_call(
        call, spec.sharding, key_data if call.key is key else None, eager
    )


def assign(abstract: Any, rules: Sequence[Rule]) -> Any:
    """Turns a tree of abstract arrays into a tree of :class:`Param` by rules.

    The rules are matched against each leaf's path.

    Args:
      abstract: a pytree whose leaves have ``shape`` and ``dtype``, such as
        the ``jax.ShapeDtypeStruct`` tree ``jax.eval_shape`` returns for a
        Flax, Haiku or Equinox init, or one written by hand.
      rules: ``(pattern, init)`` or ``(pattern, init, sharding)`` tuples. The
        first rule whose regular expression matches the leaf's path
        (``re.search``, on paths such as ``"params/Dense_0/kernel"``) gives
        its initializer, and its sharding when the rule has one; otherwise
        the sharding is the abstract leaf's own (``None`` if it has none).

    Returns:
      The same tree with a ``Param`` at every leaf.

    Raises:
      ValueError: a leaf matches no rule (its path and the patterns are
        named), a leaf is too large to build (its path is named), or a
        pattern is not a valid regular expression.
      TypeError: a rule is not such a tuple, or a leaf has no shape or dtype.

    Examples:
      >>> import jax, jinit
      >>> abstract = {"dense": {"kernel": jax.ShapeDtypeStruct((4, 3),
      ...                                                      "float32"),
      ...                       "bias": jax.ShapeDtypeStruct((3,),
      ...                                                    "float32")}}
      >>> specs = jinit.assign(abstract, [(r"kernel$", jinit.he_normal()),
      ...                                 (r"bias$", jinit.zeros())])
      >>> specs["dense"]["bias"].init
      zeros()
    """
    compiled = compile_rules(rules)

    def to_param(path: Sequence[Any], leaf: Any) -> Param:
        name = path_string(path)
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(
                f"the leaf at {name!r} has no shape and dtype: "
                f"{type(leaf).__name__} {leaf!r}."
            )
        rule = first_match(compiled, name, leaf)
        placed = (
            getattr(leaf, "sharding", None)
            if rule.sharding is ...
            else rule.sharding
        )
        try:
            return Param(
                tuple(leaf.shape), rule.init, np.dtype(leaf.dtype), placed
            )
        except ValueError as error:
            raise ValueError(
                f"the parameter at {name!r} cannot be made: {error}"
            ) from None

    return jax.tree_util.tree_map_with_path(to_param, abstract)


def redraw(
    leaves: Sequence[tuple[str, Any]],
    key: jax.Array,
    rules: Sequence[CompiledRule],
    *,
    strict: bool,
    drawn_shapes: dict[str, tuple[int, ...]] | None = None,
) -> dict[int, jax.Array]:
    """New arrays for the leaves of a framework's model that rules match.

    What the framework adapters' ``reinit`` share.

    Args:
      leaves: ``(path, leaf)`` of every leaf, paths as :func:`path_string`
        writes them. Arrays and abstract arrays (``jax.ShapeDtypeStruct``,
        as ``jax.eval_shape`` and its framework versions give) are redrawn
        where a rule matches; other leaves are skipped.
      key: the PRNG key; the leaf at path ``p`` gets ``path_key(key, p)``.
      rules: the compiled rules; the first whose pattern matches a path
        gives its initializer.
      strict: raise if an array matches no rule, instead of keeping it.
      drawn_shapes: the shape to draw at, by path, where it is not the
        leaf's own (the caller rearranges such arrays).

    Returns:
      ``{index in leaves: array}``, drawn by :func:`materialize`.

    Raises:
      ValueError: an array matches no rule with ``strict``, or an abstract
        one matches none (it has no values to keep); the path is named.
    """
    drawn_shapes = drawn_shapes or {}
    specs: dict[str, Param] = {}
    indices: dict[int, str] = {}
    for index, (name, leaf) in enumerate(leaves):
        abstract = isinstance(leaf, jax.ShapeDtypeStruct)
        if not (abstract or isinstance(leaf, (jax.Array, np.ndarray))):
            continue
        rule = (
            first_match(rules, name, leaf)
            if strict or abstract
            else matching(rules, name)
        )
        if rule is None:
            continue
        specs[name] = Param(
            drawn_shapes.get(name, tuple(leaf.shape)), rule.init, leaf.dtype
        )
        indices[index] = name
    drawn = materialize(key, specs)
    return {index: drawn[name] for index, name in indices.items()}

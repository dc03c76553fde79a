"""The weight operations of any JAX function, found in its jaxpr and measured.

JAX has no forward hooks, but every model, whatever its framework, is a
function that traces to a jaxpr. A **weight operation** is an equation of
that jaxpr that multiplies the data by a weight: a ``dot_general`` or a
``conv_general_dilated`` one of whose operands derives from the parameters
alone (from a floating-point leaf with at least 2 axes among them) and the
other from the data. :func:`trace` finds them, in execution order, and
:func:`evaluate` runs the jaxpr again, equation by equation, measuring each
one's output and adding a zero probe to it, so that the gradient at that
output is the gradient with respect to its probe.

How the interpreter treats what it meets:

- ``jit`` (``pjit``), ``closed_call``, ``core_call`` and ``checkpoint``
  (``remat``) are followed into: their weight operations are found and
  measured (a ``checkpoint`` is inlined, so the diagnosis keeps its values,
  not its memory saving).
- ``scan`` is followed into with one record per iteration: the body runs in a
  ``jax.lax.scan`` again, its probes sliced from stacked ones and its
  statistics stacked as outputs.
- ``custom_jvp`` and ``custom_vjp`` functions, ``while`` loops, ``cond``
  branches, ``shard_map`` and ``pallas_call`` kernels that contain a weight
  operation, and foreign calls (``ffi_call``, callbacks) that take a weight
  and data, are run as they are and named in a :class:`UserWarning`: their
  weight operations are not recorded.
- Everything else is bound as it is, so the function's outputs are its own.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jinit import _dtypes
from jinit._keys import unique_path_strings, variable_path

# The primitives a weight multiplies the data in.
WEIGHT_PRIMITIVES = ("dot_general", "conv_general_dilated")
# Call primitives followed into, and the parameter holding their jaxpr (the
# names across the JAX versions jinit supports).
CALLS = {
    "pjit": "jaxpr",
    "jit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "remat": "jaxpr",
    "remat2": "jaxpr",
    "checkpoint": "jaxpr",
}
# Primitives with no jaxpr of their own that run code jinit cannot see.
FOREIGN = ("ffi_call", "custom_call", "pure_callback", "io_callback")


def core() -> Any:
    """``jax.extend.core``, imported at first use.

    The ``jax.extend`` package imports Pallas, 15 ms that ``import jinit``
    would otherwise spend for every user.
    """
    from jax.extend import core as extend_core

    return extend_core


class Taint(NamedTuple):
    """Where a value of the jaxpr comes from."""

    params: frozenset[int]  # the parameter leaves it derives from
    data: bool  # whether it derives from the data arguments


CLEAN = Taint(frozenset(), False)


def _join(taints: Sequence[Taint]) -> Taint:
    return Taint(
        frozenset().union(*(t.params for t in taints)),
        any(t.data for t in taints),
    )


@dataclasses.dataclass(frozen=True)
class Site:
    """One weight operation of the jaxpr (repeated by the scans around it).

    Attributes:
      index: its place among the sites, in execution order.
      path: the path of the parameter leaf its weight operand comes from.
      leaf: that leaf's place among the array leaves of ``params``.
      primitive: ``"dot_general"`` or ``"conv_general_dilated"``.
      output: the shape and dtype of its output.
      weight: the shape and dtype of its weight operand.
      lengths: the lengths of the scans around it, outermost first.
    """

    index: int
    path: str
    leaf: int
    primitive: str
    output: jax.ShapeDtypeStruct
    weight: jax.ShapeDtypeStruct
    lengths: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Inline:
    """A call followed into."""

    param: str
    plan: Plan


@dataclasses.dataclass(frozen=True)
class Scan:
    """A scan followed into; ``sites`` are every site within it."""

    plan: Plan
    sites: tuple[int, ...]
    length: int
    reverse: bool


Step = Site | Inline | Scan | None


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to do at each equation of one jaxpr (``None``: bind it)."""

    steps: tuple[Step, ...]

    def sites(self) -> tuple[int, ...]:
        found: list[int] = []
        for step in self.steps:
            if isinstance(step, Site):
                found.append(step.index)
            elif isinstance(step, Inline):
                found.extend(step.plan.sites())
            elif isinstance(step, Scan):
                found.extend(step.sites)
        return tuple(found)


def _subjaxprs(params: Mapping[str, Any]) -> list[Any]:
    found = []
    for value in params.values():
        values = value if isinstance(value, (tuple, list)) else (value,)
        found.extend(
            v
            for v in values
            if isinstance(v, (core().Jaxpr, core().ClosedJaxpr))
        )
    return found


def _open(jaxpr: Any) -> tuple[Any, Sequence[Any]]:
    """A (Jaxpr, consts) pair from a Jaxpr or a ClosedJaxpr."""
    if isinstance(jaxpr, core().ClosedJaxpr):
        return jaxpr.jaxpr, jaxpr.consts
    return jaxpr, ()


def _multiplies(jaxpr: Any) -> bool:
    """Whether ``jaxpr`` or one inside it has a dot or a convolution."""
    inner, _ = _open(jaxpr)
    return any(
        eqn.primitive.name in WEIGHT_PRIMITIVES
        or any(_multiplies(sub) for sub in _subjaxprs(eqn.params))
        for eqn in inner.eqns
    )


class _Planner:
    """Builds the :class:`Plan` of a jaxpr and numbers its sites."""

    def __init__(self, paths: Sequence[str], leaves: Sequence[Any]):
        self.paths = paths
        self.eligible = [
            jnp.issubdtype(leaf.dtype, jnp.floating) and leaf.ndim >= 2
            for leaf in leaves
        ]
        self.sizes = [math.prod(leaf.shape) for leaf in leaves]
        self.sites: list[Site] = []
        self.warnings: list[str] = []

    def weight_leaf(self, taint: Taint, aval: Any) -> int | None:
        """The parameter leaf a weight operand is named for, if any."""
        if taint.data or not taint.params:
            return None
        candidates = sorted(i for i in taint.params if self.eligible[i])
        if not candidates:
            return None
        size = math.prod(aval.shape)
        same = [i for i in candidates if self.sizes[i] == size]
        return (same or candidates)[0]

    def plan(
        self,
        jaxpr: Any,
        taints: Sequence[Taint],
        lengths: tuple[int, ...],
        record: bool,
    ) -> tuple[Plan, list[Taint]]:
        inner, _ = _open(jaxpr)
        env: dict[Any, Taint] = {}
        for var in inner.constvars:
            env[var] = CLEAN
        for var, taint in zip(inner.invars, taints, strict=True):
            env[var] = taint

        literal = core().Literal

        def read(atom: Any) -> Taint:
            return CLEAN if isinstance(atom, literal) else env[atom]

        steps: list[Step] = []
        for eqn in inner.eqns:
            ins = [read(atom) for atom in eqn.invars]
            step, outs = self.equation(eqn, ins, lengths, record)
            steps.append(step)
            for var, taint in zip(eqn.outvars, outs, strict=True):
                env[var] = taint
        return Plan(tuple(steps)), [read(atom) for atom in inner.outvars]

    def equation(
        self, eqn: Any, ins: list[Taint], lengths: tuple[int, ...], record: bool
    ) -> tuple[Step, list[Taint]]:
        name = eqn.primitive.name
        joined = [_join(ins)] * len(eqn.outvars)
        if name in WEIGHT_PRIMITIVES:
            for operand in (1, 0):  # x @ W (and a convolution's kernel) first
                aval = eqn.invars[operand].aval
                leaf = (
                    self.weight_leaf(ins[operand], aval)
                    if ins[1 - operand].data
                    else None
                )
                if leaf is None:
                    continue
                if not record:
                    return None, joined
                out = eqn.outvars[0].aval
                site = Site(
                    len(self.sites),
                    self.paths[leaf],
                    leaf,
                    name,
                    jax.ShapeDtypeStruct(out.shape, out.dtype),
                    jax.ShapeDtypeStruct(aval.shape, aval.dtype),
                    lengths,
                )
                self.sites.append(site)
                return site, joined
            return None, joined
        if name in CALLS and CALLS[name] in eqn.params:
            plan, outs = self.plan(
                eqn.params[CALLS[name]], ins, lengths, record
            )
            return (Inline(CALLS[name], plan) if plan.sites() else None), outs
        if name == "scan":
            return self.scan(eqn, ins, lengths, record)
        self.check_hidden(eqn, ins, record)
        return None, joined

    def scan(
        self, eqn: Any, ins: list[Taint], lengths: tuple[int, ...], record: bool
    ) -> tuple[Step, list[Taint]]:
        params = eqn.params
        consts, carry = params["num_consts"], params["num_carry"]
        body = params["jaxpr"]
        inner_lengths = (*lengths, params["length"])
        # The carry's taint is a fixed point: what it starts from joined with
        # what the body makes of it.
        carry_taints = list(ins[consts : consts + carry])
        while True:
            body_ins = [*ins[:consts], *carry_taints, *ins[consts + carry :]]
            _, outs = self.plan(body, body_ins, inner_lengths, record=False)
            joined = [
                _join([a, b])
                for a, b in zip(carry_taints, outs[:carry], strict=True)
            ]
            if joined == carry_taints:
                break
            carry_taints = joined
        first = len(self.sites)
        plan, outs = self.plan(body, body_ins, inner_lengths, record)
        sites = tuple(range(first, len(self.sites)))
        step = (
            Scan(plan, sites, params["length"], bool(params["reverse"]))
            if sites
            else None
        )
        return step, [*carry_taints, *outs[carry:]]

    def check_hidden(self, eqn: Any, ins: list[Taint], record: bool) -> None:
        """Warns of weight operations run by a primitive not followed."""
        if not record:
            return
        weights = sorted(
            {
                self.paths[leaf]
                for taint, atom in zip(ins, eqn.invars, strict=True)
                if (leaf := self.weight_leaf(taint, atom.aval)) is not None
            }
        )
        if not weights:
            return
        subjaxprs = _subjaxprs(eqn.params)
        hidden = (
            any(_multiplies(sub) for sub in subjaxprs)
            if subjaxprs
            else eqn.primitive.name in FOREIGN
            and any(taint.data for taint in ins)
        )
        if hidden:
            self.warnings.append(
                f"the weight operations of {', '.join(map(repr, weights))} "
                f"inside a {eqn.primitive.name!r} are not recorded: jinit "
                "follows jit, closed_call, checkpoint and scan, not "
                f"{eqn.primitive.name} (see the docs' 'Is my initialization "
                "right?')."
            )


class Traced(NamedTuple):
    """A function traced for :func:`evaluate`.

    Attributes:
      jaxpr: the closed jaxpr of ``fn(params, *args)``, over the array
        leaves of ``params`` then those of ``args``.
      plan: what :func:`evaluate` does at each equation.
      sites: the weight operations, in execution order.
      paths: the path of every array leaf of ``params``.
      out_tree: the tree structure of ``fn``'s output.
      out_shapes: ``fn``'s output as ``jax.ShapeDtypeStruct``.
      unflatten: rebuilds ``(params, args)`` from their array leaves.
      param_arrays: the leaves of a tree shaped as ``params`` (such as an
        optimizer's updates) at the places of its arrays.
    """

    jaxpr: Any
    plan: Plan
    sites: tuple[Site, ...]
    paths: tuple[str, ...]
    out_tree: Any
    out_shapes: Any
    unflatten: Callable[[Sequence[Any], Sequence[Any]], tuple[Any, Any]]
    param_arrays: Callable[[Any], list[Any]]


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic))


def split(
    params: Any, args: Sequence[Any]
) -> tuple[
    list[Any],
    list[Any],
    list[str],
    Callable[[Sequence[Any], Sequence[Any]], tuple[Any, Any]],
    Callable[[Any], list[Any]],
]:
    """The array leaves of ``params`` and ``args``, and how to rebuild them.

    Returns the array leaves of both; the paths of those of ``params``; a
    function rebuilding both from new array leaves (other leaves, such as
    an Equinox module's activation functions, are kept as they are); and
    one taking the leaves at the arrays' places from a tree shaped as
    ``params``.
    """
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    leaves = [leaf for _, leaf in flat]
    where = [i for i, leaf in enumerate(leaves) if _is_array(leaf)]
    if not where:
        kinds = sorted({type(leaf).__name__ for leaf in leaves})
        shown = (
            f"{type(params).__name__} with no leaves"
            if not leaves
            else f"{type(params).__name__} whose leaves are {', '.join(kinds)}"
        )
        raise TypeError(
            "`params` must be a pytree of arrays (jax.Array or numpy "
            f"arrays), such as a Flax variables dict; got {shown}."
        )
    paths = unique_path_strings([variable_path(flat[i][0]) for i in where])
    arg_flat, arg_def = jax.tree_util.tree_flatten(tuple(args))
    arg_where = [i for i, leaf in enumerate(arg_flat) if _is_array(leaf)]

    def unflatten(
        param_arrays: Sequence[Any], arg_arrays: Sequence[Any]
    ) -> tuple[Any, Any]:
        new = list(leaves)
        for i, value in zip(where, param_arrays, strict=True):
            new[i] = value
        new_args = list(arg_flat)
        for i, value in zip(arg_where, arg_arrays, strict=True):
            new_args[i] = value
        return (
            jax.tree_util.tree_unflatten(treedef, new),
            jax.tree_util.tree_unflatten(arg_def, new_args),
        )

    def param_arrays(tree: Any) -> list[Any]:
        same = treedef.flatten_up_to(tree)
        return [same[i] for i in where]

    return (
        [jnp.asarray(leaves[i]) for i in where],
        [jnp.asarray(arg_flat[i]) for i in arg_where],
        paths,
        unflatten,
        param_arrays,
    )


def trace(
    fn: Callable[..., Any], params: Any, args: Sequence[Any]
) -> tuple[Traced, list[Any], list[Any], list[str]]:
    """Traces ``fn(params, *args)`` and finds its weight operations.

    Returns:
      The :class:`Traced` function, the array leaves of ``params`` and of
      ``args``, and the warnings about weight operations not followed.

    Raises:
      TypeError: ``fn`` is not callable or does not trace (Python control
        flow on array values); ``params`` has no array leaves.
    """
    if not callable(fn):
        raise TypeError(
            "`fn` must be a function fn(params, *args), such as a Flax "
            f"module's apply; got {type(fn).__name__} {fn!r}."
        )
    param_arrays, arg_arrays, paths, unflatten, arrays_of = split(params, args)

    def flat_fn(param_arrays: Sequence[Any], arg_arrays: Sequence[Any]) -> Any:
        params, args = unflatten(param_arrays, arg_arrays)
        return fn(params, *args)

    try:
        jaxpr, out_shapes = jax.make_jaxpr(flat_fn, return_shape=True)(
            param_arrays, arg_arrays
        )
    except (
        jax.errors.ConcretizationTypeError,
        jax.errors.TracerBoolConversionError,
        jax.errors.TracerIntegerConversionError,
        jax.errors.TracerArrayConversionError,
    ) as error:
        first = str(error).strip().splitlines()[0]
        raise TypeError(
            "`fn` must trace with jax.make_jaxpr: no Python `if`, `while` or "
            "int() on array values (use jax.lax.cond, jnp.where or a static "
            f"argument); fn(params, *args) raised {type(error).__name__}: "
            f"{first}"
        ) from error
    planner = _Planner(paths, param_arrays)
    taints = [Taint(frozenset({i}), False) for i in range(len(paths))] + [
        Taint(frozenset(), True)
    ] * len(arg_arrays)
    plan, _ = planner.plan(jaxpr, taints, (), record=True)
    traced = Traced(
        jaxpr,
        plan,
        tuple(planner.sites),
        tuple(paths),
        jax.tree_util.tree_structure(out_shapes),
        out_shapes,
        unflatten,
        arrays_of,
    )
    return traced, param_arrays, arg_arrays, planner.warnings


def warn(messages: Sequence[str]) -> None:
    """Each message of :func:`trace` as a :class:`UserWarning`."""
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=3)


# What :func:`measure` keeps of each weight operation.
Stats = dict[str, jax.Array]


def measure(output: jax.Array) -> Stats:
    """The statistics of one weight operation's output.

    Computed in float32 (float64 under x64) as a user computes them by hand.
    """
    out = output.astype(_dtypes.sampling(output.dtype))
    mean = jnp.mean(out)
    variance = jnp.mean(jnp.square(out - mean))
    return {
        "mean": mean,
        "variance": variance,
        "std": jnp.sqrt(variance),
        "rms": jnp.sqrt(jnp.mean(jnp.square(out))),
        "mean_abs": jnp.mean(jnp.abs(out)),
    }


def _bind(eqn: Any, invals: Sequence[Any]) -> list[Any]:
    # (subfuns, params) before JAX 0.9; the params alone since.
    bind_params = eqn.primitive.get_bind_params(eqn.params)
    subfuns, params = (
        bind_params if isinstance(bind_params, tuple) else ((), bind_params)
    )
    manager = getattr(getattr(eqn, "ctx", None), "manager", None)
    if manager is not None:
        with manager:
            out = eqn.primitive.bind(*subfuns, *invals, **params)
    else:
        out = eqn.primitive.bind(*subfuns, *invals, **params)
    return list(out) if eqn.primitive.multiple_results else [out]


# Zeros added to the output of some sites (stacked over their scans).
Probes = Mapping[int, jax.Array]


def _run(
    jaxpr: Any,
    invals: Sequence[Any],
    plan: Plan,
    probes: Probes,
    stats: dict[int, Stats],
) -> list[Any]:
    inner, consts = _open(jaxpr)
    env: dict[Any, Any] = {}
    for var, value in zip(inner.constvars, consts, strict=True):
        env[var] = value
    for var, value in zip(inner.invars, invals, strict=True):
        env[var] = value

    literal = core().Literal

    def read(atom: Any) -> Any:
        return atom.val if isinstance(atom, literal) else env[atom]

    for eqn, step in zip(inner.eqns, plan.steps, strict=True):
        ins = [read(atom) for atom in eqn.invars]
        if step is None:
            outs = _bind(eqn, ins)
        elif isinstance(step, Site):
            probe = probes.get(step.index)
            (out,) = _bind(eqn, ins)
            stats[step.index] = measure(out)
            outs = [out if probe is None else jax.lax.add(out, probe)]
        elif isinstance(step, Inline):
            outs = _run(eqn.params[step.param], ins, step.plan, probes, stats)
        else:
            outs = _scan(eqn, ins, step, probes, stats)
        for var, value in zip(eqn.outvars, outs, strict=True):
            env[var] = value  # A dropped output is written and never read.
    return [read(atom) for atom in inner.outvars]


def _scan(
    eqn: Any,
    ins: list[Any],
    step: Scan,
    probes: Probes,
    stats: dict[int, Stats],
) -> list[Any]:
    params = eqn.params
    consts, carry = params["num_consts"], params["num_carry"]
    body = params["jaxpr"]
    constants = ins[:consts]
    inner_probes = {i: probes[i] for i in step.sites if i in probes}

    def body_fn(
        carried: list[Any], sliced: tuple[list[Any], Probes]
    ) -> tuple[list[Any], tuple[list[Any], dict[int, Stats]]]:
        xs, sliced_probes = sliced
        inner_stats: dict[int, Stats] = {}
        outs = _run(
            body,
            [*constants, *carried, *xs],
            step.plan,
            sliced_probes,
            inner_stats,
        )
        return outs[:carry], (outs[carry:], inner_stats)

    final, (ys, stacked) = jax.lax.scan(
        body_fn,
        ins[consts : consts + carry],
        (ins[consts + carry :], inner_probes),
        length=params["length"],
        reverse=params["reverse"],
        unroll=params["unroll"],
    )
    stats.update(stacked)
    return [*final, *ys]


def evaluate(
    traced: Traced,
    param_arrays: Sequence[Any],
    arg_arrays: Sequence[Any],
    probes: Probes | None = None,
) -> tuple[list[Any], dict[int, Stats]]:
    """Runs the traced function, measuring every weight operation.

    Args:
      traced: from :func:`trace`.
      param_arrays, arg_arrays: the array leaves of ``params`` and ``args``
        (those of the trace, or others of the same shapes and dtypes).
      probes: for some sites, the zeros to add to the output, stacked over
        the site's scan lengths.

    Returns:
      The flat outputs of ``fn`` and, for every site, its :func:`measure`
      statistics stacked over its scan lengths.
    """
    stats: dict[int, Stats] = {}
    outs = _run(
        traced.jaxpr,
        [*param_arrays, *arg_arrays],
        traced.plan,
        probes or {},
        stats,
    )
    return outs, stats


def zero_probes(sites: Sequence[Site]) -> dict[int, jax.Array]:
    """Zeros for the output of every site."""
    return {
        site.index: jnp.zeros(
            (*site.lengths, *site.output.shape), site.output.dtype
        )
        for site in sites
    }


def stacked(site: Site, leaf_shape: Sequence[int]) -> bool:
    """Whether a leaf of ``leaf_shape`` is stacked over ``site``'s scans.

    Stacked: its leading axes their lengths and the rest the weight
    operand's size, one slice per iteration (``jax.lax.scan`` over stacked
    layers). Any other leaf is used whole at every iteration.
    """
    depth = len(site.lengths)
    return bool(depth) and (
        tuple(leaf_shape[:depth]) == site.lengths
        and math.prod(leaf_shape[depth:]) == math.prod(site.weight.shape)
    )


def records(
    plan: Plan, index: tuple[int, ...] = ()
) -> list[tuple[Site, tuple[int, ...], str]]:
    """Every record, in execution order: its site, scan index and name.

    A site inside scans gives one record per iteration, named with its
    index: ``"blocks/kernel[3]"`` (``"[2][5]"`` inside two scans).
    """
    found = []
    for step in plan.steps:
        if isinstance(step, Site):
            name = step.path + "".join(f"[{i}]" for i in index)
            found.append((step, index, name))
        elif isinstance(step, Inline):
            found.extend(records(step.plan, index))
        elif isinstance(step, Scan):
            order = (
                range(step.length - 1, -1, -1)
                if step.reverse
                else range(step.length)
            )
            for i in order:
                found.extend(records(step.plan, (*index, i)))
    return found

"""Layer-sequential unit-variance (LSUV) initialization.

Weights are rescaled on a batch of data until each listed layer's output has
unit variance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jinit import _dtypes, _keys, _validation
from jinit._keys import unique_path_strings, variable_path
from jinit._orthogonal import orthogonal
from jinit.diagnostics import _weight_ops

# Tol_var and T_max of Algorithm 1 of Mishkin & Matas (2016), with the
# defaults of github.com/yobibyte/torch-lsuv (lsuv.lua).
DEFAULT_TOL = 0.1
DEFAULT_MAX_ITERS = 10


class LsuvResult(NamedTuple):
    """What :func:`jinit.lsuv` returns.

    Attributes:
      params: the parameters with every listed weight rescaled (same tree
        structure, shapes and dtypes as the input).
      variances: float array ``(len(layers),)``: each layer's output
        variance measured at its last check, with the returned weight.
      iterations: int32 array ``(len(layers),)``: the rescalings done on
        each layer (0 if its output variance was already within ``tol``).
    """

    params: Any
    variances: jax.Array
    iterations: jax.Array


def _check_layers(layers: object) -> tuple[str, ...]:
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise TypeError(
            "`layers` must be a sequence of parameter paths such as "
            f"['layers/0/w', 'layers/1/w']; got {type(layers).__name__} "
            f"{layers!r}."
        )
    if not layers:
        raise ValueError(
            "`layers` must name at least one weight, such as "
            "['layers/0/w']; got an empty sequence."
        )
    for path in layers:
        if not isinstance(path, str):
            raise TypeError(
                f"`layers` entries must be path strings such as "
                f"'layers/0/w'; got {type(path).__name__} {path!r}."
            )
    repeated = sorted({path for path in layers if layers.count(path) > 1})
    if repeated:
        raise ValueError(
            f"`layers` must name each weight once; got "
            f"{', '.join(map(repr, repeated))} more than once."
        )
    return tuple(layers)


def _locate(
    layers: tuple[str, ...], names: list[str], leaves: list[Any], pre_init: bool
) -> list[int]:
    """The index in ``leaves`` of each path of ``layers``."""
    index = {name: i for i, name in enumerate(names)}
    found = []
    for path in layers:
        if path not in index:
            raise ValueError(
                f"`layers` entry {path!r} is not a path of `params`; the "
                f"paths are: {_keys.shown_paths(names)}."
            )
        leaf = leaves[index[path]]
        dtype = getattr(leaf, "dtype", None)
        if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
            shown = dtype if dtype is not None else type(leaf).__name__
            raise TypeError(
                f"`layers` entry {path!r} must name a floating-point array "
                f"(float16, bfloat16, float32, float64); got {shown}."
            )
        if pre_init and jnp.ndim(leaf) < 2:
            raise ValueError(
                f"`layers` entry {path!r} has shape {jnp.shape(leaf)}; the "
                "orthonormal pre-initialization done when `key` is given "
                "needs a weight with at least 2 axes (pass key=None to "
                "rescale it as it is)."
            )
        found.append(index[path])
    return found


def _returns_outputs(outputs: Any, layers: tuple[str, ...]) -> bool:
    """Whether ``apply_fn``'s outputs have the form of the layers' outputs.

    A Mapping with every path of ``layers``, or a sequence of as many.
    """
    if isinstance(outputs, Mapping):
        return all(path in outputs for path in layers)
    return (
        isinstance(outputs, Sequence)
        and not isinstance(outputs, str)
        and len(outputs) == len(layers)
    )


def _found_sites(
    traced: _weight_ops.Traced, layers: tuple[str, ...]
) -> list[_weight_ops.Site]:
    """The weight operation of each path of ``layers``, found in the jaxpr."""
    records = _weight_ops.records(traced.plan)
    found = []
    for path in layers:
        uses = [(site, name) for site, _, name in records if site.path == path]
        if not uses:
            names = [name for _, _, name in records]
            raise ValueError(
                f"`layers` entry {path!r} is the weight of no weight "
                "operation of `apply_fn` (a dot_general or convolution of "
                "the data by it); the weight operations are those of: "
                f"{_keys.shown_paths(names)}."
            )
        if len(uses) > 1:
            raise ValueError(
                f"`layers` entry {path!r} is the weight of "
                f"{len(uses)} weight operations of `apply_fn` "
                f"({', '.join(name for _, name in uses)}); LSUV rescales a "
                "weight for one output, so list weights used once."
            )
        found.append(uses[0][0])
    return found


# The variance of layer n's output: variance(params, batch, n).
Variance = Callable[[Any, Any, int], jax.Array]


def _found_variances(
    apply_fn: Callable[[Any, Any], Any],
    params: Any,
    batch: Any,
    layers: tuple[str, ...],
) -> tuple[Variance, list[Any]]:
    """The variance of each layer's output found in the jaxpr; the dtypes."""
    # Traced on arrays, as lsuv's jax.jit passes every leaf.
    traced, _, _, messages = _weight_ops.trace(
        apply_fn,
        jax.tree.map(jnp.asarray, params),
        (jax.tree.map(jnp.asarray, batch),),
    )
    sites = _found_sites(traced, layers)
    _weight_ops.warn(messages)

    def variance(params: Any, batch: Any, n: int) -> jax.Array:
        _, stats = _weight_ops.evaluate(
            traced, traced.param_arrays(params), jax.tree.leaves((batch,))
        )
        return stats[sites[n].index]["variance"]

    return variance, [site.output.dtype for site in sites]


def _returned_variances(
    apply_fn: Callable[[Any, Any], Any], shapes: Any, layers: tuple[str, ...]
) -> tuple[Variance, list[Any]]:
    """The variance of each layer's output ``apply_fn`` returns; the dtypes."""
    _check_outputs(shapes, layers)
    by_path = isinstance(shapes, Mapping)

    def variance(params: Any, batch: Any, n: int) -> jax.Array:
        outputs = apply_fn(params, batch)
        output = outputs[layers[n]] if by_path else outputs[n]
        return jnp.var(output.astype(_dtypes.sampling(output.dtype)))

    return variance, [
        out.dtype
        for out in ([shapes[path] for path in layers] if by_path else shapes)
    ]


def _check_outputs(outputs: Any, layers: tuple[str, ...]) -> None:
    """Checks the shapes and dtypes returned by ``apply_fn``."""
    if isinstance(outputs, Mapping):
        missing = [path for path in layers if path not in outputs]
        if missing:
            raise ValueError(
                f"`apply_fn` must return one output per entry of `layers`; "
                f"its Mapping lacks the keys "
                f"{', '.join(map(repr, missing))} (it has "
                f"{', '.join(map(repr, outputs)) or 'none'})."
            )
        chosen = [outputs[path] for path in layers]
    elif isinstance(outputs, Sequence) and not isinstance(outputs, str):
        if len(outputs) != len(layers):
            raise ValueError(
                f"`apply_fn` must return one output per entry of `layers` "
                f"({len(layers)}); got a {type(outputs).__name__} of "
                f"{len(outputs)}."
            )
        chosen = list(outputs)
    else:
        shape = getattr(outputs, "shape", None)
        shown = (
            f"a single array of shape {shape}"
            if shape is not None
            else type(outputs).__name__
        )
        raise TypeError(
            "`apply_fn` must return a sequence of outputs aligned with "
            f"`layers` or a Mapping keyed by its paths; got {shown}."
        )
    for path, output in zip(layers, chosen, strict=True):
        dtype = getattr(output, "dtype", None)
        if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
            shown = dtype.name if dtype is not None else repr(output)
            raise TypeError(
                f"`apply_fn` must return floating-point arrays; its output "
                f"for {path!r} is {shown}."
            )


def lsuv(
    apply_fn: Callable[[Any, Any], Any],
    params: Any,
    batch: Any,
    layers: Sequence[str],
    *,
    key: jax.Array | None = None,
    target: float = 1.0,
    tol: float = DEFAULT_TOL,
    max_iters: int = DEFAULT_MAX_ITERS,
    find_layers: bool | None = None,
) -> LsuvResult:
    r"""Rescales weights layer by layer until each output has unit variance.

    Layer-sequential unit-variance initialization (Algorithm 1 of Mishkin &
    Matas): for each weight ``W`` of ``layers``, in order, with ``B`` its
    layer's output on ``batch`` (``jnp.var`` over all of its elements),
    ``W <- W / sqrt(Var(B) / target)`` until ``|Var(B) - target| < tol`` or
    ``max_iters`` rescalings were done. Each rescaling is followed by a new
    forward pass, so the variance reported is that of the returned weight.
    With ``key``, each listed weight is first replaced by the orthonormal
    pre-initialization of the paper, ``jinit.orthogonal()(jinit.path_key(
    key, path), shape, dtype)``; without it, the weights are rescaled as
    they are.

    ``apply_fn`` is either the model itself (``model.apply``, any
    ``fn(params, batch)``), whose layers' outputs are found in its jaxpr as
    :func:`jinit.diagnose` finds them (``B`` is then the output of the
    ``dot_general`` or convolution that consumes the weight: before the
    bias), or a function returning the layers' outputs themselves (a
    sequence aligned with ``layers`` or a Mapping keyed by its paths).
    Outputs of that form are read as the layers' outputs; pass
    ``find_layers=True`` for a model that happens to return a sequence of
    ``len(layers)`` arrays.

    ``layers`` must be in forward order: rescaling a weight changes the
    outputs of the layers after it, not before. A layer that misses the
    tolerance (a bias larger than ``target``, ``max_iters`` too small) is
    not an error, since none can be raised under ``jax.jit``: it is
    reported by ``variances`` (``|variances - target| >= tol``) and
    ``iterations`` (``== max_iters``), on which a caller can assert. A layer
    whose output variance is 0 or not finite is left unchanged (0
    iterations) rather than divided by 0.

    Runs eagerly, under ``jax.jit`` (with ``apply_fn``, ``layers``,
    ``target``, ``tol`` and ``max_iters`` static) and under ``jax.vmap``:
    each layer is one ``jax.lax.while_loop``, with no host round trip, and
    an eager call compiles all of them as one ``jax.jit`` (so the leaves of
    ``params`` and ``batch`` must be JAX types). The arguments and the
    shapes of ``apply_fn``'s outputs (``jax.eval_shape``) are checked
    before anything runs.

    Args:
      apply_fn: the model, ``apply_fn(params, batch)`` returning anything;
        or a function returning the outputs (before the activation) of the
        layers of ``layers``: a sequence aligned with ``layers`` or a
        Mapping keyed by its paths.
      params: a pytree of parameters.
      batch: the data passed to ``apply_fn`` (any pytree).
      layers: paths of the weights to rescale, in forward order, as
        rendered by ``jax.tree_util`` key paths joined by ``/``
        (``"layers/0/w"``, ``"params/Dense_0/kernel"``); each names a
        floating-point array of ``params``.
      key: optional PRNG key for the orthonormal pre-initialization.
      target: the output variance sought (> 0).
      tol: the tolerance on ``|Var(B) - target|`` (> 0); default 0.1.
      max_iters: the most rescalings per layer (int >= 1); default 10.
      find_layers: find the layers' outputs in ``apply_fn``'s jaxpr (True)
        or take them from its outputs (False); by default, found unless the
        outputs have the form of the layers' outputs.

    Returns:
      ``LsuvResult(params, variances, iterations)``: the rescaled
      parameters (same structure and dtypes), the float variance of each
      layer's output at its last check and the int32 rescalings done on
      each layer.

    Raises:
      ValueError: ``layers`` is empty, repeats a path or names a path not in
        ``params``; a weight with fewer than 2 axes when ``key`` is given;
        ``apply_fn`` returns the wrong number of outputs or lacks a key; a
        path is the weight of no weight operation of the model, or of more
        than one;
        ``target`` or ``tol`` <= 0; ``max_iters`` < 1.
      TypeError: ``apply_fn`` is not callable or does not trace; ``layers``
        is not a sequence of str; a listed weight or an output is not
        floating-point; ``key`` is not a PRNG key; ``find_layers`` is not a
        bool or None.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> params = {"w0": jnp.ones((16, 32)), "w1": jnp.ones((32, 8))}
      >>> def apply(params, x):
      ...     h = x @ params["w0"]
      ...     return [h, jnp.tanh(h) @ params["w1"]]
      >>> x = jax.random.normal(jax.random.key(0), (128, 16))
      >>> result = jinit.lsuv(apply, params, x, ["w0", "w1"],
      ...                     key=jax.random.key(1))
      >>> bool(jnp.all(jnp.abs(result.variances - 1.0) < 0.1))
      True
      >>> result.iterations.dtype, result.params["w1"].shape
      (dtype('int32'), (32, 8))

      The model as it is: its layers' outputs are found in its jaxpr.

      >>> def model(params, x):
      ...     return jnp.tanh(x @ params["w0"]) @ params["w1"]
      >>> result = jinit.lsuv(model, params, x, ["w0", "w1"],
      ...                     key=jax.random.key(1))
      >>> bool(jnp.all(jnp.abs(result.variances - 1.0) < 0.1))
      True

    References:
      Mishkin & Matas (2016), All you need is a good init, ICLR,
      https://arxiv.org/abs/1511.06422 (Algorithm 1; ``tol`` and
      ``max_iters`` are its Tol_var and T_max). Defaults 0.1 and 10:
      github.com/yobibyte/torch-lsuv (``lsuv.lua``). Saxe, McClelland &
      Ganguli (2014) for the orthonormal pre-initialization.
    """
    if not callable(apply_fn):
        raise TypeError(
            "`apply_fn` must be a function apply_fn(params, batch): the "
            "model, or one returning the layers' outputs; got "
            f"{type(apply_fn).__name__} {apply_fn!r}."
        )
    layers = _check_layers(layers)
    target = _validation.check_positive("target", target)
    tol = _validation.check_positive("tol", tol)
    max_iters = _validation.check_count("max_iters", max_iters)
    if key is not None:
        key = _keys.required(key, "lsuv")

    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    names = unique_path_strings([variable_path(path) for path, _ in flat])
    leaves = [leaf for _, leaf in flat]
    where = _locate(layers, names, leaves, pre_init=key is not None)
    # The pre-initialization keeps shapes and dtypes, so this checks the
    # outputs it will give too.
    shapes = jax.eval_shape(apply_fn, params, batch)
    if find_layers is None:
        find_layers = not _returns_outputs(shapes, layers)
    elif not isinstance(find_layers, bool):
        raise TypeError(
            f"`find_layers` must be True, False or None; got "
            f"{type(find_layers).__name__} {find_layers!r}."
        )
    if find_layers:
        output_variance, out_dtypes = _found_variances(
            apply_fn, params, batch, layers
        )
    else:
        output_variance, out_dtypes = _returned_variances(
            apply_fn, shapes, layers
        )
    variance_dtype = max(
        (_dtypes.sampling(dtype) for dtype in out_dtypes),
        key=lambda dtype: dtype.itemsize,
    )

    def run(leaves, batch, key):
        leaves = list(leaves)
        if key is not None:
            init = orthogonal()
            for path, i in zip(layers, where, strict=True):
                leaves[i] = init(
                    _keys.path_key(key, path),
                    jnp.shape(leaves[i]),
                    leaves[i].dtype,
                )
        variances, iterations = [], []
        for n, i in enumerate(where):

            def measure(weight, n=n, i=i):
                trial = list(leaves)
                trial[i] = weight
                return output_variance(treedef.unflatten(trial), batch, n)

            def cond(state):
                _, variance, count = state
                return (
                    (jnp.abs(variance - target) >= tol)
                    & (count < max_iters)
                    & (variance > 0)
                    & jnp.isfinite(variance)
                )

            def body(state, measure=measure):
                weight, variance, count = state
                compute = _dtypes.sampling(weight.dtype)
                scale = jnp.sqrt(variance / target).astype(compute)
                weight = (weight.astype(compute) / scale).astype(weight.dtype)
                return weight, measure(weight), count + 1

            weight = jnp.asarray(leaves[i])
            weight, variance, count = jax.lax.while_loop(
                cond, body, (weight, measure(weight), jnp.int32(0))
            )
            leaves[i] = weight
            variances.append(variance.astype(variance_dtype))
            iterations.append(count)
        return (
            treedef.unflatten(leaves),
            jnp.stack(variances),
            jnp.stack(iterations),
        )

    # One compilation for every layer's loop (eagerly, each while_loop and
    # each pre-initialization would otherwise be compiled on its own); under
    # an outer jit this is inlined.
    return LsuvResult(*jax.jit(run)(leaves, batch, key))

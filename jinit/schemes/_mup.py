"""muP, the Maximal Update Parametrization (Tensor Programs V).

Width-aware initialization and the per-parameter learning-rate multipliers that
go with it, given the shapes of a base-width model.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.typing import DTypeLike

from jinit import _shapes, _validation
from jinit._choices import Optimizer
from jinit._contract import ConfiguredInitializer, Elementwise, Fill, factory
from jinit._keys import path_string, unique_path_strings
from jinit._trees import Param, is_param

OPTIMIZERS: tuple[Optimizer, ...] = typing.get_args(Optimizer)


class MupScaling(NamedTuple):
    """How muP scales one parameter, relative to the base model.

    Attributes:
      role: ``"input"`` (fan-in fixed, fan-out grows: input weights and
        every bias or gain that grows), ``"hidden"`` (both grow),
        ``"output"`` (fan-in grows, fan-out fixed) or ``"fixed"``.
      fan_in_ratio: ``fan_in / base fan_in``.
      fan_out_ratio: ``fan_out / base fan_out``.
      init: the factor on the standard deviation the base initializer has
        at the base shape: 1, ``fan_in_ratio^(-1/2)``, ``fan_in_ratio^(-1)``
        and 1 for the four roles.
      adam: the factor on Adam's (or any Adam-like optimizer's) learning
        rate: 1, ``1 / fan_in_ratio``, ``1 / fan_in_ratio``, 1.
      sgd: the factor on SGD's learning rate: ``fan_out_ratio``, 1,
        ``1 / fan_in_ratio``, 1.
    """

    role: str
    fan_in_ratio: float
    fan_out_ratio: float
    init: float
    adam: float
    sgd: float


def _scaling(name: str, leaf: Any, base: Any) -> MupScaling:
    """The muP role and factors of the parameter at ``name``."""
    shape = tuple(leaf.shape)
    base_shape = tuple(getattr(base, "shape", ()))
    if len(shape) != len(base_shape):
        raise ValueError(
            f"the parameter at {name!r} has shape {shape} but its base has "
            f"shape {base_shape}: muP needs the same rank, with only the "
            "widths different."
        )
    if len(shape) < 2:  # A scalar, or a vector: a bias, gain or gate.
        in_axes, out_axes = (), tuple(range(len(shape)))
        others = ()
    else:
        config = (
            leaf.init.get_config()
            if isinstance(leaf, Param)
            and isinstance(leaf.init, ConfiguredInitializer)
            else {}
        )
        axes = _shapes.resolve_axes(
            shape,
            in_axis=config.get("in_axis", -2),
            out_axis=config.get("out_axis", -1),
            batch_axis=config.get("batch_axis", ()),
        )
        in_axes, out_axes = axes["in_axis"], axes["out_axis"]
        others = [
            a
            for a in range(len(shape))
            if a not in in_axes + out_axes + axes["batch_axis"]
        ]
    for argument, dims in (("specs", shape), ("base", base_shape)):
        empty = [a for a in (*in_axes, *out_axes) if dims[a] == 0]
        if empty:
            raise ValueError(
                f"`{argument}` has shape {dims} at {name!r}: its fan axes "
                f"{empty} have size 0, and muP scales by the ratio of each "
                "width to the base's, so every width must be >= 1."
            )
    changed = [a for a in others if shape[a] != base_shape[a]]
    if changed:
        raise ValueError(
            f"the parameter at {name!r} has shape {shape} and its base "
            f"{base_shape}: axes {changed} are neither inputs, outputs nor "
            "batch axes (a receptive field), and muP scales widths only."
        )

    def ratio(axes: tuple[int, ...]) -> float:
        return math.prod(shape[a] for a in axes) / math.prod(
            base_shape[a] for a in axes
        )

    fan_in, fan_out = ratio(in_axes), ratio(out_axes)
    # Table 3 of the paper has three kinds of parameter; "fixed" is a fourth
    # for those with no width at all (a scalar gate, a readout bias of
    # vocabulary size), which muP leaves as they are.
    if fan_in == 1:
        role = "fixed" if fan_out == 1 else "input"
    else:
        role = "output" if fan_out == 1 else "hidden"
    init, adam, sgd = {
        "input": (1.0, 1.0, fan_out),
        "hidden": (fan_in**-0.5, 1 / fan_in, 1.0),
        "output": (1 / fan_in, 1 / fan_in, 1 / fan_in),
        "fixed": (1.0, 1.0, 1.0),
    }[role]
    return MupScaling(role, fan_in, fan_out, init, adam, sgd)


def _map(fn: Callable[[str, Any, Any], Any], specs: Any, base: Any) -> Any:
    """``fn(path, leaf, base_leaf)`` over the leaves of ``specs``.

    ``base_leaf`` is the leaf of ``base`` at the same path.
    """
    flat_base = jax.tree_util.tree_leaves_with_path(base, is_leaf=is_param)
    base_leaves = dict(
        zip(
            unique_path_strings([path for path, _ in flat_base]),
            (leaf for _, leaf in flat_base),
            strict=True,
        )
    )

    def one(path: Any, leaf: Any) -> Any:
        name = path_string(path)
        if not hasattr(leaf, "shape"):
            raise TypeError(
                f"the leaf at {name!r} has no shape: "
                f"{type(leaf).__name__} {leaf!r}."
            )
        if name not in base_leaves:
            known = ", ".join(map(repr, list(base_leaves)[:8]))
            raise ValueError(
                f"`base` has no parameter at {name!r}; it must have the "
                f"structure of the model (its paths start {known})."
            )
        return fn(name, leaf, base_leaves[name])

    return jax.tree_util.tree_map_with_path(one, specs, is_leaf=is_param)


def mup_scaling(specs: Any, base: Any) -> Any:
    r"""The muP role, init factor and learning-rate factor of every parameter.

    The factors are relative to the base model.

    A parameter's fans are those of its initializer's ``in_axis`` and
    ``out_axis`` (``-2`` and ``-1`` by default, and for leaves that are not
    :class:`jinit.Param`); a vector (a bias, gain or gate) is all outputs.
    Comparing them with the same parameter of the base model gives its role
    in Table 3 of the paper:

    ========  ========  ========  ===========  ==============  =============
    role      fan_in    fan_out   init std     Adam LR         SGD LR
    ========  ========  ========  ===========  ==============  =============
    input     fixed     grows     1            1               r_out
    hidden    grows     grows     r_in^(-1/2)  1 / r_in        1
    output    grows     fixed     1 / r_in     1 / r_in        1 / r_in
    fixed     fixed     fixed     1            1               1
    ========  ========  ========  ===========  ==============  =============

    with ``r_in = fan_in / base fan_in`` and ``r_out = fan_out / base
    fan_out``: Table 3's ``Var = 1/fan_in`` (input, biases, hidden) and
    ``1/fan_in^2`` (output), and its learning rates ``fan_out``, 1,
    ``1/fan_in`` (SGD) and 1, ``1/fan_in``, ``1/fan_in`` (Adam), each taken
    relative to the base model, whose hyperparameters were tuned.

    Args:
      specs: a tree of :class:`jinit.Param` (or of anything with a
        ``shape``) at the target width.
      base: the same tree at the base width: ``jax.eval_shape`` of the
        base model's init, or a tree of :class:`jinit.Param`.

    Returns:
      A tree of :class:`jinit.MupScaling` with the structure of ``specs``.

    Raises:
      ValueError: ``base`` lacks a path of ``specs``, a rank differs, an
        axis other than the fans (a kernel's receptive field) changes, or a
        fan axis of ``specs`` or ``base`` has size 0.
      TypeError: a leaf has no shape.

    Examples:
      >>> import jax, jinit
      >>> def shapes(width):
      ...     return {"w_in": jax.ShapeDtypeStruct((784, width), "float32"),
      ...             "w_hidden": jax.ShapeDtypeStruct((width, width),
      ...                                              "float32"),
      ...             "w_out": jax.ShapeDtypeStruct((width, 10), "float32")}
      >>> scaling = jinit.mup_scaling(shapes(1024), shapes(256))
      >>> [(s.role, s.init, s.adam) for s in scaling.values()]
      [('hidden', 0.5, 0.25), ('input', 1.0, 1.0), ('output', 0.25, 0.25)]

    References:
      Yang et al. (2022), Tensor Programs V: Tuning Large Neural Networks
      via Zero-Shot Hyperparameter Transfer, https://arxiv.org/abs/2203.03466,
      Table 3.
    """
    return _map(_scaling, specs, base)


def mup_learning_rates(
    specs: Any, base: Any, optimizer: Optimizer = "adam"
) -> Any:
    r"""muP's learning-rate multiplier for every parameter.

    Multiply each parameter's update by its factor, with the base model's
    tuned learning rate unchanged (see :func:`jinit.mup_scaling` for the
    table). With optax, for example::

        factors = jinit.mup_learning_rates(specs, base, "adam")
        optimizer = optax.chain(
            optax.adam(learning_rate),
            optax.GradientTransformation(
                lambda params: optax.EmptyState(),
                lambda updates, state, params=None: (
                    jax.tree.map(lambda u, f: u * f, updates, factors),
                    state)))

    Weight decay that is decoupled from the learning rate (AdamW's) is
    multiplied by the same factors when it is applied inside the scaled
    update, as above.

    Args:
      specs: the parameters at the target width (see
        :func:`jinit.mup_scaling`).
      base: the same tree at the base width.
      optimizer: ``"adam"`` (Adam, AdamW, Adagrad, RMSProp, Lion: any
        update invariant to the gradient's scale) or ``"sgd"`` (SGD, with or
        without momentum).

    Returns:
      A tree of Python floats with the structure of ``specs``.

    Raises:
      ValueError: an unknown ``optimizer``, or as :func:`jinit.mup_scaling`.
      TypeError: as :func:`jinit.mup_scaling`.

    Examples:
      >>> import jax, jinit
      >>> wide = {"w": jax.ShapeDtypeStruct((1024, 1024), "float32"),
      ...         "b": jax.ShapeDtypeStruct((1024,), "float32")}
      >>> narrow = {"w": jax.ShapeDtypeStruct((256, 256), "float32"),
      ...           "b": jax.ShapeDtypeStruct((256,), "float32")}
      >>> jinit.mup_learning_rates(wide, narrow, "adam")
      {'b': 1.0, 'w': 0.25}
      >>> jinit.mup_learning_rates(wide, narrow, "sgd")
      {'b': 4.0, 'w': 1.0}

    References:
      Yang et al. (2022), Tensor Programs V, https://arxiv.org/abs/2203.03466,
      Table 3.
    """
    _validation.check_choice("optimizer", optimizer, OPTIMIZERS)
    return jax.tree.map(
        lambda scaling: getattr(scaling, optimizer),
        mup_scaling(specs, base),
        is_leaf=lambda node: isinstance(node, MupScaling),
    )


def mup(specs: Any, base: Any) -> Any:
    r"""The parameters of ``specs`` with muP's width-aware initialization.

    Each parameter's initializer is the one tuned on the base model: its
    values are drawn from the law it has **at the base shape**, with the
    standard deviation (and mean) multiplied by the ``init`` factor of
    :func:`jinit.mup_scaling`: 1 for input weights and biases,
    ``(fan_in / base fan_in)^(-1/2)`` for hidden weights and
    ``(fan_in / base fan_in)^(-1)`` for output weights. So hidden weights
    keep ``Var ~ 1/fan_in`` whatever their initializer (a fixed
    ``random_normal(stddev=0.02)`` included), output weights get
    ``Var ~ 1/fan_in^2``, and at the base width every value equals the
    base initializer's. Pair it with :func:`jinit.mup_learning_rates`.

    Args:
      specs: a tree of :class:`jinit.Param` at the target width, such as
        :func:`jinit.assign` gives with the rules tuned at the base width.
      base: the same tree at the base width (``jax.eval_shape`` of the base
        model's init, or a tree of ``Param``).

    Returns:
      ``specs`` with each ``Param.init`` replaced by its muP initializer,
      ready for :func:`jinit.materialize`.

    Raises:
      TypeError: a leaf is not a ``Param``, or a parameter whose factor is
        not 1 has an initializer with no elementwise law to rescale
        (``orthogonal``, ``identity``, a function not built by jinit).
      ValueError: as :func:`jinit.mup_scaling`.

    Examples:
      >>> import jax, jinit
      >>> def specs(width):
      ...     return jinit.assign(
      ...         {"hidden": jax.ShapeDtypeStruct((width, width), "float32"),
      ...          "out": jax.ShapeDtypeStruct((width, 10), "float32")},
      ...         [(".*", jinit.random_normal(stddev=0.02))])
      >>> params = jinit.materialize(jax.random.key(0),
      ...                            jinit.mup(specs(1024), specs(256)))
      >>> round(float(params["hidden"].std()), 4)  # 0.02 / 2
      0.01
      >>> round(float(params["out"].std()), 4)  # 0.02 / 4
      0.005

    References:
      Yang et al. (2022), Tensor Programs V, https://arxiv.org/abs/2203.03466,
      Table 3.
    """

    def scaled(name: str, spec: Any, base_leaf: Any) -> Param:
        if not isinstance(spec, Param):
            raise TypeError(
                f"`specs` must be a tree of jinit.Param; the leaf "
                f"at {name!r} is {type(spec).__name__} "
                f"{spec!r}."
            )
        factor = _scaling(name, spec, base_leaf).init
        init, base_shape = spec.init, tuple(base_leaf.shape)
        if factor == 1 and tuple(spec.shape) == base_shape:
            return spec
        law = (
            init.law(base_shape, np.dtype(np.float32))
            if isinstance(init, ConfiguredInitializer)
            else None
        )
        if isinstance(law, Fill) and (factor == 1 or not law.value.any()):
            return spec  # A constant that muP leaves as it is.
        if law is None or not isinstance(init, ConfiguredInitializer):
            raise TypeError(
                f"muP rescales the parameter at {name!r} by {factor:g}, and "
                f"its initializer {init!r} has no elementwise law to "
                "rescale; use one whose law is fixed by the shape "
                "(random_normal, truncated_normal, random_uniform, the "
                "variance-scaling family, a constant)."
            )
        return dataclasses.replace(
            spec,
            init=width_scaled(
                init,
                base_shape,
                factor,
                init.get_config().get("seed"),
                dtype=init.get_config().get("dtype"),
            ),
        )

    return _map(scaled, specs, base)


@factory(random=True)
def width_scaled(
    init: ConfiguredInitializer,
    base_shape: tuple[int, ...],
    factor: float,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Elementwise:
    r"""``init``'s law at ``base_shape``, times ``factor``, at any shape.

    ``factor * X + factor * shift`` where ``init`` draws ``X`` at
    ``base_shape`` as ``scale * unit + shift``: the same unit draw (so, at
    the base shape with ``factor`` 1, the same values), its scale and shift
    fixed by the base shape. Constants are multiplied alike. Used by
    :func:`jinit.mup`.

    Args:
      init: a jinit initializer with an elementwise law.
      base_shape: the shape whose law is kept.
      factor: the multiplier (> 0).
      seed: the seed of ``init``.
      dtype: the default dtype of ``init``.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``factor`` <= 0.
    """
    factor = _validation.check_positive("factor", factor)

    def law(shape, dtype):
        base = init.law(base_shape, dtype)
        if isinstance(base, Fill):
            return Fill(np.asarray(base.value * factor, dtype))
        assert base is not None  # A real dtype: mup checked the law.
        return dataclasses.replace(
            base,
            scale=factor * (1.0 if base.scale is None else base.scale),
            shift=None if base.shift is None else factor * base.shift,
        )

    return Elementwise(law)

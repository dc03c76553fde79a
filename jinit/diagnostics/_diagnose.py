"""``jinit.diagnose``: what an initialization does to the signal, by layer.

In any JAX model, whatever its framework.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jinit import _dtypes, _keys, _validation
from jinit.diagnostics import _weight_ops
from jinit.diagnostics._plotting import new_figure, save

# A layer is flagged when its forward or backward RMS differs from the
# previous weight operation's by more than this factor (either way).
DEFAULT_FLAG_FACTOR = 2.0
# Random probes of the input-output Jacobian when ``jacobian=True``.
DEFAULT_JACOBIAN_PROBES = 8
# A record's kind: its path with the numbers written * and no scan index.
_KIND = re.compile(r"\d+")
_ITERATION = re.compile(r"(\[\d+\])+$")
# The statistics of a record, in the order of the table's columns.
FIELDS = (
    "forward_mean",
    "forward_std",
    "forward_rms",
    "backward_rms",
    "weight_rms",
    "weight_grad_rms",
)


@dataclasses.dataclass(frozen=True)
class LayerDiagnosis:
    """The statistics of one weight operation: a record of a Diagnosis.

    Attributes:
      index: its place in execution order.
      path: the parameter's path, as :func:`jinit.path_key` writes paths
        (``"params/Dense_0/kernel"``), with the iteration appended for an
        operation inside a ``scan`` (``"blocks/kernel[3]"``).
      primitive: ``"dot_general"`` or ``"conv_general_dilated"``.
      output_shape: the shape of the operation's output.
      forward_mean: the mean of the output (before the bias and the
        nonlinearity), over every element: the batch included.
      forward_std: its standard deviation.
      forward_rms: its root mean square.
      backward_rms: the root mean square of the gradient at the output.
      weight_rms: the root mean square of the parameter the weight comes
        from (of its slice, for an iteration of a scan over stacked layers).
      weight_grad_rms: the root mean square of the loss's gradient with
        respect to that parameter (or slice).
    """

    index: int
    path: str
    primitive: str
    output_shape: tuple[int, ...]
    forward_mean: jax.Array
    forward_std: jax.Array
    forward_rms: jax.Array
    backward_rms: jax.Array
    weight_rms: jax.Array
    weight_grad_rms: jax.Array


class JacobianSpectrum(NamedTuple):
    r"""Moments of the singular values of the input-output Jacobian.

    With ``J`` the Jacobian of the floating-point outputs with respect to the
    floating-point inputs (the batch included: block-diagonal when the
    examples do not interact) and ``k = min(rows, columns)``:
    ``mean_squared_singular_value`` estimates ``tr(J Jᵀ) / k`` and
    ``variance`` estimates ``tr((J Jᵀ)²) / k - mean²``, the variance of the
    squared singular values. Dynamical isometry is a mean of 1 and a
    variance near 0 (Pennington, Schoenholz & Ganguli 2017).

    Attributes:
      mean_squared_singular_value: the mean of ``σ²``.
      variance: the variance of ``σ²``.
    """

    mean_squared_singular_value: jax.Array
    variance: jax.Array


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What :func:`jinit.diagnose` returns: one record per weight operation.

    The statistics are arrays of one value per record, in execution order;
    :attr:`layers` gives them record by record. ``str(diagnosis)`` is an
    aligned table with the flags, and :meth:`plot` draws the forward and
    backward RMS against the layer index. A ``Diagnosis`` is a pytree (its
    arrays are the leaves), so it can be returned from ``jax.jit``.

    Attributes:
      names: each record's path (with its scan iteration, if any).
      primitives: each record's primitive.
      output_shapes: each record's output shape.
      forward_mean: float array, one value per record (each statistic is
        described in :class:`jinit.LayerDiagnosis`).
      forward_std: float array, one value per record.
      forward_rms: float array, one value per record.
      backward_rms: float array, one value per record.
      weight_rms: float array, one value per record.
      weight_grad_rms: float array, one value per record.
      jacobian: the Jacobian's spectrum when asked for, else ``None``.
      backward: what the gradients are of: ``"loss"`` or ``"random
        cotangent"``.
      flag_factor: the factor beyond which a change is flagged.
    """

    names: tuple[str, ...]
    primitives: tuple[str, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    forward_mean: jax.Array
    forward_std: jax.Array
    forward_rms: jax.Array
    backward_rms: jax.Array
    weight_rms: jax.Array
    weight_grad_rms: jax.Array
    jacobian: JacobianSpectrum | None
    backward: str
    flag_factor: float

    @property
    def layers(self) -> tuple[LayerDiagnosis, ...]:
        """Every record, in execution order."""
        return tuple(
            LayerDiagnosis(
                i,
                name,
                primitive,
                shape,
                *(getattr(self, field)[i] for field in FIELDS),
            )
            for i, (name, primitive, shape) in enumerate(
                zip(
                    self.names, self.primitives, self.output_shapes, strict=True
                )
            )
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        """Each record's kind: its path with its numbers written ``*``.

        Any scan index is dropped: ``"blocks/*/fc/kernel"``,
        ``"params/Dense_*/kernel"``. The layers of a deep stack share a
        kind; a transformer block's projections each have their own.
        """
        return tuple(
            _KIND.sub("*", _ITERATION.sub("", name)) for name in self.names
        )

    def previous(self) -> np.ndarray:
        """For each record, the index of the previous record of its kind.

        ``-1`` for the first of a kind.
        """
        last: dict[str, int] = {}
        found = np.full(len(self.names), -1)
        for i, kind in enumerate(self.kinds):
            found[i] = last.get(kind, -1)
            last[kind] = i
        return found

    def ratios(self, field: str) -> np.ndarray:
        """The ratio of each record's ``field`` to the previous one's.

        The previous record of its kind; ``nan`` for the first of a kind.

        Raises:
          ValueError: ``field`` is not one of :data:`FIELDS`.
        """
        _validation.check_choice("field", field, FIELDS)
        values = np.asarray(getattr(self, field), np.float64)
        previous = self.previous()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(previous >= 0, values / values[previous], np.nan)

    @property
    def flags(self) -> tuple[str, ...]:
        """Why each flagged record is flagged, then each kind's changes.

        A record is flagged when its forward or backward RMS is 0 or not
        finite, or differs by more than ``flag_factor`` (up or down) from
        the previous record of its kind (:attr:`kinds`: in a deep MLP, the
        previous layer; in a transformer, the same projection of the
        previous block). A kind is flagged when its forward RMS changes by
        more than ``flag_factor`` from its first record to its last, or its
        backward RMS from its last to its first (the way the gradient
        flows)."""
        found = [
            f"{self.names[i]}: {reason}"
            for i, reasons in enumerate(self._row_flags())
            for reason in reasons
        ]
        kinds = self.kinds
        for kind in dict.fromkeys(kinds):
            where = [i for i, k in enumerate(kinds) if k == kind]
            if len(where) < 2:
                continue
            for field, word in (
                ("forward_rms", "forward"),
                ("backward_rms", "backward"),
            ):
                values = np.asarray(getattr(self, field), np.float64)[where]
                if not np.all(np.isfinite(values)) or not np.all(values > 0):
                    continue
                # The gradient flows from the last operation to the first.
                first, last = (0, -1) if word == "forward" else (-1, 0)
                total = values[last] / values[first]
                if self.flag_factor >= total >= 1 / self.flag_factor:
                    continue
                per = total ** (1 / (len(values) - 1))
                found.append(
                    f"the {word} RMS {'grows' if total > 1 else 'shrinks'} "
                    f"×{number(total)} from {self.names[where[first]]} to "
                    f"{self.names[where[last]]} (×{per:.3g} per layer of "
                    f"kind {kind})"
                )
        return tuple(found)

    def _row_flags(self) -> list[list[str]]:
        rows: list[list[str]] = [[] for _ in self.names]
        for field, word in (
            ("forward_rms", "forward"),
            ("backward_rms", "backward"),
        ):
            values = np.asarray(getattr(self, field), np.float64)
            ratios = self.ratios(field)
            for i, value in enumerate(values):
                if not np.isfinite(value):
                    rows[i].append(f"{word} RMS not finite")
                elif value == 0:
                    rows[i].append(f"{word} RMS 0")
                elif np.isfinite(ratios[i]) and (
                    ratios[i] > self.flag_factor
                    or ratios[i] < 1 / self.flag_factor
                ):
                    rows[i].append(f"{word} ×{number(ratios[i])}")
        return rows

    def __str__(self) -> str:
        header = (
            "#",
            "path",
            "output",
            "fwd mean",
            "fwd std",
            "fwd rms",
            "bwd rms",
            "w rms",
            "w grad rms",
            "flag",
        )
        rows = []
        for i, reasons in enumerate(self._row_flags()):
            values = [float(getattr(self, field)[i]) for field in FIELDS]
            rows.append(
                (
                    str(i),
                    self.names[i],
                    "×".join(map(str, self.output_shapes[i])),
                    *(number(value) for value in values),
                    ", ".join(reasons),
                )
            )
        lines = [
            f"{len(self.names)} weight operations; backward: gradients "
            f"of the {self.backward}; flagged: a change beyond "
            f"×{self.flag_factor:g} or ÷{self.flag_factor:g} from the "
            "previous layer of the same kind.",
            *table(header, rows, text=(1, 2, 9)),
        ]
        whole = [flag for flag in self.flags if flag.startswith("the ")]
        lines.extend(f"Flag: {flag}." for flag in whole)
        if self.jacobian is not None:
            lines.append(
                "Input-output Jacobian: mean squared singular value "
                f"{number(float(self.jacobian.mean_squared_singular_value))}"
                f", variance {number(float(self.jacobian.variance))}."
            )
        return "\n".join(lines)

    def plot(self, file: Any = None) -> Any:
        """Draws the forward and backward RMS against the layer index.

        On a log scale. Needs matplotlib (``pip install jinit[plot]``).

        Args:
          file: a path or a file object to write the figure to (PNG, SVG,
            PDF by its extension; PNG for a file object); None to return it.

        Returns:
          The ``matplotlib.figure.Figure`` when ``file`` is None (shown
          inline by Jupyter), else None.
        """
        figure, axes = new_figure(file, figsize=(8, 4.5))
        index = np.arange(len(self.names))
        for field, label in (
            ("forward_rms", "forward RMS (output)"),
            ("backward_rms", "backward RMS (gradient)"),
        ):
            axes.plot(
                index,
                np.asarray(getattr(self, field)),
                marker="o",
                markersize=3,
                label=label,
            )
        axes.set_yscale("log")
        axes.set_xlabel("weight operation (execution order)")
        axes.set_ylabel("RMS")
        axes.set_title(
            f"{len(self.names)} weight operations: "
            f"{self.names[0]} … {self.names[-1]}"
        )
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        return save(figure, file)


jax.tree_util.register_dataclass(
    Diagnosis,
    data_fields=[*FIELDS, "jacobian"],
    meta_fields=[
        "names",
        "primitives",
        "output_shapes",
        "backward",
        "flag_factor",
    ],
)


def number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], text: Sequence[int]
) -> list[str]:
    """Aligned columns: those of ``text`` left, the others (numbers) right."""
    widths = [
        max(len(row[i]) for row in [header, *rows]) for i in range(len(header))
    ]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(width) if i in text else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(row) for row in rows)]


def check_loss(loss: Callable[..., Any], *arguments: Any, example: str) -> None:
    """Checks that ``loss(*arguments)`` (shapes) is a floating scalar.

    Raises:
      ValueError: it is not, naming ``example`` as one that is.
    """
    result = jax.eval_shape(loss, *arguments)
    shape, dtype = (
        getattr(result, "shape", None),
        getattr(result, "dtype", None),
    )
    if shape != () or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        shown = (
            f"{dtype}{list(shape)}"
            if shape is not None
            else type(result).__name__
        )
        raise ValueError(
            "`loss` must return a floating-point scalar, such as "
            f"{example}; it returns {shown}."
        )


def _inexact(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jnp.inexact)


def _cotangent(key: jax.Array, outputs: Sequence[Any]) -> list[Any]:
    """I.i.d. standard normals at every floating output, zeros elsewhere."""
    keys = jax.random.split(key, max(len(outputs), 1))
    return [
        jax.random.normal(k, jnp.shape(out), out.dtype)
        if _inexact(out.dtype)
        else np.zeros(jnp.shape(out), jax.dtypes.float0)
        for k, out in zip(keys, outputs, strict=False)
    ]


def _rms(values: jax.Array, leading: int) -> jax.Array:
    """The RMS over every axis after the first ``leading``."""
    values = values.astype(_dtypes.sampling(values.dtype))
    return jnp.sqrt(
        jnp.mean(jnp.square(values), axis=tuple(range(leading, values.ndim)))
    )


def _jacobian(
    traced: _weight_ops.Traced,
    param_arrays: Sequence[Any],
    arg_arrays: Sequence[Any],
    key: jax.Array,
    probes: int,
) -> JacobianSpectrum:
    """Hutchinson estimates of tr(JJᵀ) and tr((JJᵀ)²) from JVP/VJP probes."""
    floating = [i for i, a in enumerate(arg_arrays) if _inexact(a.dtype)]
    run = _weight_ops.core().jaxpr_as_fun(traced.jaxpr)

    def network(inputs: Sequence[Any]) -> list[Any]:
        args = list(arg_arrays)
        for i, value in zip(floating, inputs, strict=True):
            args[i] = value
        return [out for out in run(*param_arrays, *args) if _inexact(out.dtype)]

    inputs = [arg_arrays[i] for i in floating]
    outputs, forward = jax.linearize(network, inputs)
    transpose = jax.linear_transpose(forward, inputs)
    size = min(
        sum(math.prod(jnp.shape(x)) for x in inputs),
        sum(math.prod(jnp.shape(y)) for y in outputs),
    )
    count = sum(math.prod(jnp.shape(x)) for x in inputs)

    def squares(tree: Any) -> jax.Array:
        return jnp.sum(
            jnp.stack(
                [
                    jnp.sum(
                        jnp.square(jnp.abs(x).astype(_dtypes.sampling(x.dtype)))
                    )
                    for x in jax.tree.leaves(tree)
                ]
            )
        )

    def probe(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        # Uniform on the sphere of radius sqrt(count): E[v vᵀ] = I as for a
        # Gaussian, and an isometry gives exactly 1 and 0.
        keys = jax.random.split(key, len(inputs))
        v = [
            jax.random.normal(k, jnp.shape(x), x.dtype)
            for k, x in zip(keys, inputs, strict=True)
        ]
        norm = jnp.sqrt(squares(v) / count)
        v = [(x / norm).astype(x.dtype) for x in v]
        u = forward(v)
        (w,) = transpose(u)
        return squares(u), squares(w)

    first, second = jax.vmap(probe)(jax.random.split(key, probes))
    mean = jnp.mean(first) / size
    return JacobianSpectrum(mean, jnp.mean(second) / size - mean**2)


def diagnose(
    fn: Callable[..., Any],
    params: Any,
    *args: Any,
    loss: Callable[[Any], Any] | None = None,
    key: jax.Array | None = None,
    jacobian: bool = False,
    jacobian_probes: int = DEFAULT_JACOBIAN_PROBES,
    flag_factor: float = DEFAULT_FLAG_FACTOR,
) -> Diagnosis:
    r"""Measures the signal at every weight operation of ``fn(params, *args)``.

    ``fn`` is traced to a jaxpr, and every operation that multiplies the
    data by a weight is found: a ``dot_general`` or ``conv_general_dilated``
    one of whose operands derives from ``params`` alone (from a
    floating-point leaf with at least 2 axes) and the other from ``args``.
    The jaxpr is then run again with a zero probe added to each such
    operation's output ``y``, and differentiated with respect to the probes
    and the parameters. For each operation, with ``W`` the parameter its
    weight comes from, it reports over every element (the batch included)::

        forward_mean, forward_std, forward_rms = mean(y), std(y), sqrt(mean(y²))
        backward_rms    = sqrt(mean(g²)),   g = ∂L/∂y
        weight_rms      = sqrt(mean(W²))
        weight_grad_rms = sqrt(mean((∂L/∂W)²))

    where ``L = loss(fn(params, *args))`` if ``loss`` is given, and otherwise
    ``L = Σᵢ <cᵢ, outᵢ>`` over the floating output leaves ``outᵢ``, with
    ``cᵢ = jax.random.normal(kᵢ, outᵢ.shape, outᵢ.dtype)`` and ``kᵢ`` the
    i-th of ``jax.random.split(jax.random.split(key)[0], n_outputs)``.
    ``y`` is the operation's own output: before the bias and the
    nonlinearity. The values are exact: those the same computation gives
    by hand. Inside a ``scan`` over stacked layers (a parameter whose
    leading axes are the scan's length), ``W`` is the iteration's slice;
    a parameter used whole at every iteration is reported whole.

    Works unchanged on Flax (linen's ``model.apply``, NNX through
    ``nnx.split``/``nnx.merge``), Haiku (``transformed.apply``), Equinox (a
    function of the module), Keras 3's ``stateless_call`` and plain
    functions. ``jit``, ``closed_call`` and ``checkpoint`` are followed into
    and a ``scan`` gives one record per iteration (``"blocks/kernel[3]"``);
    weight operations inside ``custom_jvp``/``custom_vjp`` functions,
    ``while`` loops, ``cond``, ``shard_map`` and kernels (``pallas_call``,
    foreign calls) are not recorded, and each is named in a
    :class:`UserWarning`.

    Runs eagerly (as one ``jax.jit``-compiled computation) and under
    ``jax.jit``, returning the :class:`jinit.Diagnosis` as a pytree of
    arrays. The cost is about one forward and backward pass.

    Args:
      fn: ``fn(params, *args)`` returning any pytree.
      params: the parameters: a pytree whose array leaves are the
        parameters (other leaves, such as an Equinox module's activation
        functions, are passed through as they are).
      *args: the other arguments of ``fn`` (the batch); their array leaves
        are the data, the rest passed as they are.
      loss: optional ``loss(output) -> scalar`` whose gradient is measured.
      key: PRNG key of the random cotangent (when ``loss`` is None) and of
        the Jacobian probes; default ``jax.random.key(0)``.
      jacobian: also estimate the spectrum of the input-output Jacobian
        (:class:`jinit.JacobianSpectrum`), with respect to the
        floating-point arrays of ``args``.
      jacobian_probes: the random JVP/VJP probes of that estimate.
      flag_factor: a layer is flagged when its forward or backward RMS
        changes by more than this factor (up or down) from the previous
        weight operation of its kind (see :attr:`jinit.Diagnosis.flags`),
        and a kind of layer when it does from its first to its last.

    Returns:
      A :class:`jinit.Diagnosis`.

    Raises:
      TypeError: ``fn`` is not callable or does not trace (Python control
        flow on array values); ``params`` has no array leaves; ``loss`` is
        not callable; ``key`` is not a PRNG key; ``jacobian`` is not a bool.
      ValueError: ``fn`` has no weight operation; ``loss`` does not return
        a floating-point scalar; ``fn`` has no floating-point output (nor,
        with ``jacobian=True``, floating-point input);
        ``jacobian_probes`` < 1; ``flag_factor`` <= 1.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> def mlp(params, x):
      ...     for w in params[:-1]:
      ...         x = jax.nn.relu(x @ w)
      ...     return x @ params[-1]
      >>> keys = jax.random.split(jax.random.key(0), 8)
      >>> he = [jinit.he_normal()(k, (256, 256)) for k in keys]
      >>> x = jax.random.normal(jax.random.key(1), (512, 256))
      >>> report = jinit.diagnose(mlp, he, x)
      >>> [layer.path for layer in report.layers][:3]
      ['0', '1', '2']
      >>> bool(0.8 < report.forward_rms[-1] / report.forward_rms[1] < 1.25)
      True
      >>> report.flags
      ()

    References:
      Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), Deep Information
      Propagation, https://arxiv.org/abs/1611.01232. Pennington, Schoenholz
      & Ganguli (2017), Resurrecting the sigmoid in deep learning through
      dynamical isometry, https://arxiv.org/abs/1711.04735. Xiao et al.
      (2018), Dynamical Isometry and a Mean Field Theory of CNNs,
      https://arxiv.org/abs/1806.05393.
    """
    if not isinstance(jacobian, bool):
        raise TypeError(
            f"`jacobian` must be True or False; got "
            f"{type(jacobian).__name__} {jacobian!r}."
        )
    jacobian_probes = _validation.check_count(
        "jacobian_probes", jacobian_probes
    )
    if _validation.check_positive("flag_factor", flag_factor) <= 1:
        raise ValueError(
            f"`flag_factor` must be > 1 (a factor of change, "
            f"such as 2.0); got {flag_factor!r}."
        )
    key = jax.random.key(0) if key is None else _keys.required(key, "diagnose")
    traced, param_arrays, arg_arrays, messages = _weight_ops.trace(
        fn, params, args
    )
    if not traced.sites:
        raise ValueError(
            "`fn` has no weight operation: no dot_general or "
            "conv_general_dilated multiplies the data by a floating-point "
            "array of `params` with at least 2 axes (the array paths of "
            f"`params`: {_keys.shown_paths(list(traced.paths))})."
        )
    _weight_ops.warn(messages)
    outputs = jax.tree.leaves(traced.out_shapes)
    if loss is not None:
        if not callable(loss):
            raise TypeError(
                "`loss` must be a function loss(output) -> scalar, or None "
                f"for a random cotangent; got {type(loss).__name__} "
                f"{loss!r}."
            )
        check_loss(loss, traced.out_shapes, example="jnp.mean(out ** 2)")
    elif not any(_inexact(out.dtype) for out in outputs):
        raise ValueError(
            "`fn` must return at least one floating-point "
            "array to differentiate; its outputs are "
            f"{[str(out.dtype) for out in outputs]}."
        )
    if jacobian and not any(_inexact(a.dtype) for a in arg_arrays):
        raise ValueError(
            "`jacobian=True` needs a floating-point array in `args` to "
            "differentiate with respect to; got "
            f"{[str(a.dtype) for a in arg_arrays] or 'no arrays'}."
        )
    records = _weight_ops.records(traced.plan)

    def compute(
        param_arrays: Sequence[Any], arg_arrays: Sequence[Any], key: jax.Array
    ) -> tuple[dict[str, jax.Array], JacobianSpectrum | None]:
        cotangent_key, jacobian_key = jax.random.split(key)

        # Differentiated with respect to the weights' parameters only: the
        # others (biases, gains, embeddings) need no gradient here.
        weights = sorted({site.leaf for site in traced.sites})

        def forward(chosen: Any, probes: Any) -> tuple[list[Any], Any]:
            arrays = list(param_arrays)
            for i, value in zip(weights, chosen, strict=True):
                arrays[i] = value
            return _weight_ops.evaluate(traced, arrays, arg_arrays, probes)

        chosen = [param_arrays[i] for i in weights]
        probes = _weight_ops.zero_probes(traced.sites)
        if loss is None:
            outs, pullback, stats = jax.vjp(
                forward, chosen, probes, has_aux=True
            )
            chosen_grads, grads = pullback(_cotangent(cotangent_key, outs))
        else:
            objective = loss

            def scalar(chosen: Any, probes: Any) -> tuple[jax.Array, Any]:
                outs, stats = forward(chosen, probes)
                output = jax.tree.unflatten(traced.out_tree, outs)
                return objective(output), stats

            (chosen_grads, grads), stats = jax.grad(
                scalar, argnums=(0, 1), has_aux=True
            )(chosen, probes)
        param_grads = dict(zip(weights, chosen_grads, strict=True))
        for site in traced.sites:
            depth = len(site.lengths)
            stats[site.index]["backward_rms"] = _rms(grads[site.index], depth)
            # The parameter's slice at each iteration of a scan over
            # stacked layers; otherwise the whole parameter, every time.
            depth = (
                depth
                if _weight_ops.stacked(site, param_arrays[site.leaf].shape)
                else 0
            )
            for name, leaf in (
                ("weight_rms", param_arrays[site.leaf]),
                ("weight_grad_rms", param_grads[site.leaf]),
            ):
                value = _rms(leaf, depth)
                stats[site.index][name] = (
                    value if depth else jnp.broadcast_to(value, site.lengths)
                )
        source = {
            "forward_mean": "mean",
            "forward_std": "std",
            "forward_rms": "rms",
            "backward_rms": "backward_rms",
            "weight_rms": "weight_rms",
            "weight_grad_rms": "weight_grad_rms",
        }
        columns = {
            field: jnp.stack(
                [
                    stats[site.index][source[field]][index]
                    for site, index, _ in records
                ]
            )
            for field in FIELDS
        }
        spectrum = (
            _jacobian(
                traced, param_arrays, arg_arrays, jacobian_key, jacobian_probes
            )
            if jacobian
            else None
        )
        return columns, spectrum

    columns, spectrum = jax.jit(compute)(param_arrays, arg_arrays, key)
    return Diagnosis(
        names=tuple(name for _, _, name in records),
        primitives=tuple(site.primitive for site, _, _ in records),
        output_shapes=tuple(tuple(site.output.shape) for site, _, _ in records),
        **columns,
        jacobian=spectrum,
        backward="loss" if loss is not None else "random cotangent",
        flag_factor=float(flag_factor),
    )

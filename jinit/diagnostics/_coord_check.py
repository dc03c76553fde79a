"""``jinit.coord_check``: the muP coordinate check, for any JAX model."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit import _keys, _validation
from jinit.diagnostics import _weight_ops
from jinit.diagnostics._diagnose import check_loss, table
from jinit.diagnostics._plotting import new_figure, save

# A layer whose exponent at the last step is within this of 0 is flat.
FLAT = 0.1


@dataclasses.dataclass(frozen=True)
class CoordCheck:
    r"""What :func:`jinit.coord_check` returns.

    Attributes:
      widths: the widths checked, increasing.
      steps: the training steps taken at each width.
      names: each weight operation's path, in execution order (with its
        scan iteration, if any).
      mean_abs: float64 array ``(len(widths), steps + 1, len(names))``: the
        mean ``|output|`` of each weight operation at each width, at
        ``t = 0`` (initialization) to ``t = steps``.
      losses: float64 array ``(len(widths), steps + 1)``: the loss at each.
      exponents: for each name, a float64 array ``(steps + 1,)``: at each
        ``t``, the least-squares slope of ``log(mean |output|)`` against
        ``log(width)``. A width-independent layer has 0; a layer whose
        activations grow as ``width^a`` has ``a``.
    """

    widths: tuple[int, ...]
    steps: int
    names: tuple[str, ...]
    mean_abs: np.ndarray
    losses: np.ndarray
    exponents: dict[str, np.ndarray]

    @property
    def verdicts(self) -> dict[str, str]:
        """For each name, ``"flat"``, ``"growing"`` or ``"shrinking"``.

        Its exponent at the last step is within :data:`FLAT` of 0, above it
        or below it.
        """
        return {
            name: (
                "flat"
                if abs(e[-1]) < FLAT
                else "growing"
                if e[-1] > 0
                else "shrinking"
            )
            for name, e in self.exponents.items()
        }

    def __str__(self) -> str:
        header = (
            "#",
            "path",
            *(f"t={t}" for t in range(self.steps + 1)),
            "verdict",
        )
        rows = [
            (
                str(i),
                name,
                *(f"{e:+.3f}" for e in self.exponents[name]),
                self.verdicts[name],
            )
            for i, name in enumerate(self.names)
        ]
        widths = ", ".join(map(str, self.widths))
        return "\n".join(
            [
                f"Coordinate check: mean |output| of {len(self.names)} weight "
                f"operations at widths {widths}, over {self.steps} steps; the "
                "exponent of width at each step t (flat: |exponent| < "
                f"{FLAT:g} at t={self.steps}).",
                *table(header, rows, text=(1, len(header) - 1)),
            ]
        )

    def plot(self, file: Any = None) -> Any:
        """Draws the check in the layout of ``microsoft/mup``'s plots.

        As ``plot_coord_data``: one panel per step, one line per weight
        operation, mean ``|output|`` against width (log-log), into
        ``file``, or returned as a figure without one: as
        :meth:`jinit.Diagnosis.plot`. Needs matplotlib (``pip install
        jinit[plot]``).
        """
        panels = self.steps + 1
        figure, axes = new_figure(
            file,
            nrows=1,
            ncols=panels,
            figsize=(3.2 * panels, 3.4),
            sharey=True,
            squeeze=False,
        )
        for t, ax in enumerate(axes[0]):
            for k, name in enumerate(self.names):
                ax.plot(
                    self.widths,
                    self.mean_abs[:, t, k],
                    marker="o",
                    markersize=3,
                    label=name,
                )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"t={t}")
            ax.set_xlabel("width")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("mean |output|")
        axes[0][-1].legend(
            fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5)
        )
        return save(figure, file)


def _check_widths(widths: object) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(
            "`widths` must be a sequence of increasing positive ints such "
            f"as [64, 128, 256]; got {type(widths).__name__} {widths!r}."
        )
    if (
        len(widths) < 2
        or not all(
            isinstance(w, (int, np.integer))
            and not isinstance(w, bool)
            and w > 0
            for w in widths
        )
        or any(b <= a for a, b in zip(widths, widths[1:], strict=False))
    ):
        raise ValueError(
            "`widths` must be at least 2 increasing positive ints such as "
            f"[64, 128, 256]; got {list(widths)!r}."
        )
    return tuple(int(w) for w in widths)


def _is_transformation(value: object) -> bool:
    return callable(getattr(value, "init", None)) and callable(
        getattr(value, "update", None)
    )


def _optimizers(optimizer: object, widths: tuple[int, ...]) -> list[Any]:
    """An optax transformation for each width."""
    if _is_transformation(optimizer):
        return [optimizer] * len(widths)
    if not callable(optimizer):
        raise TypeError(
            "`optimizer` must be an optax GradientTransformation (such as "
            "optax.adam(1e-2)) or a function width -> GradientTransformation;"
            f" got {type(optimizer).__name__} {optimizer!r}."
        )
    made = [optimizer(width) for width in widths]
    for width, one in zip(widths, made, strict=True):
        if not _is_transformation(one):
            raise TypeError(
                f"`optimizer({width})` must return an optax "
                "GradientTransformation (with init and update); got "
                f"{type(one).__name__} {one!r}."
            )
    return made


def _made(
    make: Callable[..., Any], width: int, key: jax.Array | None
) -> tuple[Callable[..., Any], Any]:
    made = make(width) if key is None else make(width, key)
    if not (isinstance(made, tuple) and len(made) == 2 and callable(made[0])):
        raise TypeError(
            f"`make({width})` must return a pair (fn, params) with "
            f"fn(params, x) the model; got {type(made).__name__}."
        )
    return made


def _exponents(widths: tuple[int, ...], mean_abs: np.ndarray) -> np.ndarray:
    """The slope of log(mean_abs) against log(width), per step and name."""
    x = np.log(np.asarray(widths, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(mean_abs)
    x = x - x.mean()
    slopes = np.tensordot(x, y - y.mean(axis=0), axes=(0, 0)) / (x @ x)
    return np.where(np.all(np.isfinite(y), axis=0), slopes, np.nan)


class _Progress:
    """``widths × steps`` done, on one line of standard error."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done = enabled, total, 0

    def advance(self, width: int, t: int, steps: int) -> None:
        self.done += 1
        if not self.enabled:
            return
        bar = "#" * (20 * self.done // self.total)
        sys.stderr.write(
            f"\rcoord_check [{bar:<20}] {self.done}/"
            f"{self.total}  width {width}, t={t}/{steps}"
        )
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def coord_check(
    make: Callable[..., Any],
    widths: Sequence[int],
    batch: tuple[Any, Any],
    *,
    loss: Callable[[Any, Any], Any],
    optimizer: Any,
    steps: int = 3,
    key: jax.Array | None = None,
    progress: bool | None = None,
) -> CoordCheck:
    r"""The muP coordinate check: does each layer's scale stay width-free?

    Does each layer's activation scale stay independent of width when the
    model trains?

    At every width, ``make`` builds the model, which then takes ``steps``
    steps of ``optimizer`` on ``loss(fn(params, x), y)`` with the same
    ``batch``; before each step and after the last (``t = 0 .. steps``),
    the mean ``|output|`` of every weight operation is recorded (found in
    the model's jaxpr as :func:`jinit.diagnose` finds them: before the bias
    and the nonlinearity). For each operation and step, the exponent is the
    least-squares slope of ``log(mean |output|)`` against ``log(width)``.

    With muP (:func:`jinit.mup` and :func:`jinit.mup_learning_rates`) every
    hidden layer stays flat (exponent near 0) at every step and the
    readout, which starts at ``width^(-1/2)``, converges to flat; in the
    standard parametrization with Adam, the hidden layers and the readout
    grow with width from the first step. This is ``get_coord_data`` and
    ``plot_coord_data`` of ``microsoft/mup`` without forward hooks.

    Args:
      make: ``make(width) -> (fn, params)`` with ``fn(params, x)`` the model
        at that width (``make(width, key)`` when ``key`` is given). The
        weight operations must have the same paths at every width.
      widths: at least 2 increasing positive ints.
      batch: ``(x, y)``: the inputs of ``fn`` and the targets of ``loss``.
      loss: ``loss(output, y) -> scalar``.
      optimizer: an optax ``GradientTransformation`` applied to ``params``,
        or a function ``width -> GradientTransformation`` (muP's learning
        rates depend on the width).
      steps: the training steps at each width (int >= 1).
      key: optional PRNG key passed to ``make`` (the same at every width).
      progress: show the widths × steps done on standard error; default:
        when standard error is a terminal.

    Returns:
      A :class:`jinit.CoordCheck`: ``.exponents[path]`` per step, a table
      with a verdict per layer (``str``) and ``.plot(file)``.

    Raises:
      TypeError: ``make`` or ``loss`` is not callable, or ``make`` does not
        return ``(fn, params)``; ``batch`` is not a pair; ``optimizer`` is
        not an optax transformation (nor a function returning one);
        ``key`` is not a PRNG key; or as :func:`jinit.diagnose`.
      ValueError: ``widths`` are not increasing positive ints; ``steps``
        < 1; ``loss`` does not return a floating-point scalar; the model
        has no weight operation, or not the same ones at every width (all
        raised before anything is trained, but the last, raised when a
        later width is built).

    Examples:
      Standard parametrization (LeCun normal everywhere) with RMSProp (an
      Adam-like optimizer): the hidden layer and the readout grow with width
      once training starts.

      >>> import jax, jax.numpy as jnp, jinit, optax
      >>> def make(width):
      ...     k0, k1, k2 = jax.random.split(jax.random.key(0), 3)
      ...     init = jinit.lecun_normal()
      ...     params = {"0_in": init(k0, (16, width)),
      ...               "1_hidden": init(k1, (width, width)),
      ...               "2_out": init(k2, (width, 4))}
      ...     def mlp(p, x):
      ...         h = jax.nn.relu(x @ p["0_in"])
      ...         return jax.nn.relu(h @ p["1_hidden"]) @ p["2_out"]
      ...     return mlp, params
      >>> x = jax.random.normal(jax.random.key(1), (32, 16))
      >>> labels = jnp.arange(32) % 4
      >>> check = jinit.coord_check(
      ...     make, [64, 256, 1024], (x, labels), steps=2,
      ...     loss=lambda out, y: jnp.mean(
      ...         optax.softmax_cross_entropy_with_integer_labels(out, y)),
      ...     optimizer=optax.rmsprop(0.01))
      >>> check.verdicts
      {'0_in': 'flat', '1_hidden': 'growing', '2_out': 'growing'}
      >>> bool(check.exponents["1_hidden"][-1] > 0.3)
      True

    References:
      Yang et al. (2022), Tensor Programs V, https://arxiv.org/abs/2203.03466,
      Section D.1 (the coordinate check); github.com/microsoft/mup,
      ``mup/coord_check.py``.
    """
    if not callable(make):
        raise TypeError(
            "`make` must be a function width -> (fn, params); got "
            f"{type(make).__name__} {make!r}."
        )
    widths = _check_widths(widths)
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(
            "`batch` must be a pair (x, y) of the model's inputs and the "
            f"loss's targets; got {type(batch).__name__}"
            + (f" of {len(batch)}" if isinstance(batch, (tuple, list)) else "")
            + "."
        )
    x, y = batch
    if not callable(loss):
        raise TypeError(
            "`loss` must be a function loss(output, y) -> scalar; got "
            f"{type(loss).__name__} {loss!r}."
        )
    optimizers = _optimizers(optimizer, widths)
    steps = _validation.check_count("steps", steps)
    if key is not None:
        key = _keys.required(key, "coord_check")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(
            f"`progress` must be True, False or None; got "
            f"{type(progress).__name__} {progress!r}."
        )

    shown = _Progress(
        sys.stderr.isatty() if progress is None else progress,
        len(widths) * (steps + 1),
    )
    names: tuple[str, ...] | None = None
    mean_abs = np.zeros((len(widths), steps + 1, 0))
    losses = np.zeros((len(widths), steps + 1))
    for w, (width, transformation) in enumerate(
        zip(widths, optimizers, strict=True)
    ):
        fn, params = _made(make, width, key)
        traced, param_arrays, arg_arrays, messages = _weight_ops.trace(
            fn, params, (x,)
        )
        records = _weight_ops.records(traced.plan)
        found = tuple(name for _, _, name in records)
        if names is None:
            if not found:
                raise ValueError(
                    f"the model of `make({width})` has no weight operation "
                    "(no dot_general or convolution multiplies the data by "
                    "a floating-point parameter with at least 2 axes)."
                )
            _weight_ops.warn(messages)
            check_loss(
                loss,
                traced.out_shapes,
                y,
                example="jnp.mean((output - y) ** 2)",
            )
            names = found
            mean_abs = np.zeros((len(widths), steps + 1, len(names)))
        elif found != names:
            raise ValueError(
                f"`make` must give the same weight operations at every "
                f"width; make({widths[0]}) has {list(names)} and "
                f"make({width}) has {list(found)}."
            )
        step = jax.jit(_step_function(traced, records, loss, transformation))
        state = transformation.init(params)
        for t in range(steps + 1):
            param_arrays, state, value, recorded = step(
                param_arrays, state, arg_arrays, y
            )
            mean_abs[w, t] = np.asarray(recorded, np.float64)
            losses[w, t] = float(value)
            shown.advance(width, t, steps)
    assert names is not None
    exponents = _exponents(widths, mean_abs)
    return CoordCheck(
        widths,
        steps,
        names,
        mean_abs,
        losses,
        {name: exponents[:, k] for k, name in enumerate(names)},
    )


def _step_function(
    traced: _weight_ops.Traced,
    records: Sequence[tuple[_weight_ops.Site, tuple[int, ...], str]],
    loss: Callable[[Any, Any], Any],
    transformation: Any,
) -> Callable[..., Any]:
    """One step: the records and loss, then the optimizer's update.

    The records and the loss are those of the current parameters.
    """

    def step(
        param_arrays: list[Any], state: Any, arg_arrays: list[Any], y: Any
    ) -> tuple[list[Any], Any, jax.Array, jax.Array]:
        def objective(param_arrays: list[Any]) -> tuple[jax.Array, Any]:
            outs, stats = _weight_ops.evaluate(traced, param_arrays, arg_arrays)
            output = jax.tree.unflatten(traced.out_tree, outs)
            recorded = jnp.stack(
                [
                    stats[site.index]["mean_abs"][index]
                    for site, index, _ in records
                ]
            )
            return loss(output, y), recorded

        (value, recorded), grads = jax.value_and_grad(objective, has_aux=True)(
            param_arrays
        )
        params, _ = traced.unflatten(param_arrays, arg_arrays)
        grad_tree, _ = traced.unflatten(grads, arg_arrays)
        updates, state = transformation.update(grad_tree, state, params)
        updated = [
            (p + u).astype(p.dtype)
            for p, u in zip(
                param_arrays, traced.param_arrays(updates), strict=True
            )
        ]
        return updated, state, value, recorded

    return step

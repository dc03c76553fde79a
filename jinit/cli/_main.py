"""The command line, ``python -m jinit`` or ``jinit``.

The catalogue with no subcommand; ``list``, ``show`` and ``compare``.
Everything it says of an initializer comes from the initializer's law (its
unit's moments, density and words) and its factory's ``about``
(:class:`jinit.typing.About`), read through jinit's public API. Timings are
``python -m benchmarks``'s.

Bad input (an unknown name, a bad shape, dtype or ``--set``, an argument a
factory rejects, a shape of more than ``MAX_DRAWN_ENTRIES`` entries) ends
with exit status 2 and one line on stderr, never a traceback: shapes are
checked when parsed and, against that cap, before anything is allocated. So
does a draw with a NaN or an infinity in it, and any other failure (then the
line names the exception, to be reported as a bug).
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import jax
import jax.numpy as jnp
import numpy as np

import jinit
from jinit.cli._catalogue import (
    DEFAULT_SHAPE,
    FACTORIES,
    MOMENTS_DTYPE,
    about_named,
    about_of,
    camel_case,
    catalogue,
    target_moments,
)
from jinit.typing import Affine, Fill, NoJaxEquivalent

BINS = 24
BAR_WIDTH = 40
# XLA counts entries in int64: no dimension, and no total, may exceed this.
MAX_ENTRIES = 2**63 - 1
# The most entries show and compare draw: a fixed cap, not a probe of the
# machine's memory. At the cap show takes about 2.5 GiB of host memory and
# compare 4 GiB (measured at 4096x4096: show about 21 bytes an entry,
# compare 31, with a margin: the draw, its float32 and float64 copies,
# np.unique's sorted copy and the histogram), an accelerator 256 MiB a draw.
MAX_DRAWN_ENTRIES = 2**26
# The n of stddev = sqrt(scale / n) of each mode of variance_scaling.
DENOMINATORS: dict[str, Callable[[float, float], float]] = {
    "fan_in": lambda fan_in, fan_out: fan_in,
    "fan_out": lambda fan_in, fan_out: fan_out,
    "fan_avg": lambda fan_in, fan_out: (fan_in + fan_out) / 2,
    "fan_geo_avg": lambda fan_in, fan_out: (fan_in * fan_out) ** 0.5,
}


class CliError(Exception):
    """Bad input: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def _shape(text: str) -> tuple[int, ...]:
    """``"256,128"`` -> ``(256, 128)``; ``""`` is a scalar's shape.

    Every part is a decimal int (no empty parts: ``4,,4`` is refused), and
    neither a dimension nor the number of entries may exceed what XLA can
    count (``MAX_ENTRIES``).
    """
    parts = [] if not text.strip() else text.split(",")
    if not all(re.fullmatch(r"\s*[0-9]+\s*", part) for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated non-negative ints such as 256,128 "
            f"(or '' for a scalar); got {text!r}"
        )
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:  # More digits than int() reads.
        shape = (MAX_ENTRIES + 1,)
    entries = math.prod(shape)
    if max(shape, default=0) > MAX_ENTRIES or entries > MAX_ENTRIES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too large: XLA arrays hold at most 2**63 - 1 "
            f"entries; use a shape such as 256,128"
        )
    return shape


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argument type: an int in [low, high)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value < high:
            raise argparse.ArgumentTypeError(
                f"expected an int in [{low}, {high}); got {text!r}"
            )
        return value

    return parse


def _setting(text: str) -> tuple[str, Any]:
    """``"scale=2.0"`` -> ``("scale", 2.0)``.

    A value that is not a Python literal stays a string (``mode=fan_out``).
    """
    key, equals, value = text.partition("=")
    if not equals or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected key=value, such as --set scale=2.0 or --set "
            f"mode=fan_out; got {text!r}"
        )
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return key.strip(), parsed


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _factory_name(name: str) -> str:
    """The name of the factory of the catalogue that ``name`` stands for.

    ``name`` is its name or CamelCase class name, or a Keras alias of it
    (``"zero"``), which ``jinit.get`` resolves. ``jinit.get`` also refuses
    an unknown name (naming the close ones) and ``"ensemble"`` (which
    needs arguments).
    """
    if name in FACTORIES:
        return name
    named = {camel_case(known): known for known in FACTORIES}
    return named.get(name) or getattr(jinit.get(name), "name", name)


def _build(
    name: str, settings: Sequence[tuple[str, Any]]
) -> jinit.ConfiguredInitializer:
    """The initializer ``name`` with the catalogue's example arguments.

    The arguments are overridden by ``settings``.
    """
    try:
        factory = _factory_name(name)
        arguments = {**about_named(factory).example, **dict(settings)}
        return jinit.deserialize({"name": factory, "config": arguments})
    except (ValueError, TypeError) as error:
        raise CliError(_one_line(error)) from error


def _check_size(command: str, shape: tuple[int, ...]) -> None:
    """Refuses a shape of more than ``MAX_DRAWN_ENTRIES`` entries.

    Before anything is allocated.
    """
    entries = math.prod(shape)
    if entries > MAX_DRAWN_ENTRIES:
        raise CliError(
            f"--shape {shape} is too large for {command}: its {entries:,} "
            f"entries are over the cap of {MAX_DRAWN_ENTRIES:,} "
            f"(2**{MAX_DRAWN_ENTRIES.bit_length() - 1}) entries drawn; use "
            "a smaller --shape"
        )


def _no_entries(shape: tuple[int, ...]) -> None:
    if math.prod(shape) == 0:
        raise CliError(
            f"--shape {shape} has no entries; use a shape such as 256,128"
        )


def _default_shape(init: jinit.ConfiguredInitializer) -> tuple[int, ...]:
    return about_of(init).shape or DEFAULT_SHAPE


def _draw(
    init: Callable[..., jax.Array],
    seed: int,
    shape: tuple[int, ...],
    dtype: str,
) -> jax.Array:
    try:
        return init(jax.random.key(seed), shape, dtype)
    except (ValueError, TypeError) as error:
        raise CliError(_one_line(error)) from error


def _as_floats(values: jax.Array) -> np.ndarray:
    if jnp.issubdtype(values.dtype, jnp.complexfloating):
        raise CliError(
            f"show and compare draw real dtypes only; got "
            f"{values.dtype.name}: use --dtype float32 or "
            "bfloat16, for example"
        )
    return np.asarray(values.astype(jnp.float32), np.float64).ravel()


def _finite(
    values: np.ndarray, drawer: str, shape: tuple[int, ...], dtype: str
) -> np.ndarray:
    """``values``, refused if any is NaN or infinite.

    ``drawer`` names what drew them, for the message.
    """
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise CliError(
            f"{drawer} drew non-finite values (NaN or infinity), {bad:,} of "
            f"{values.size:,}, at shape {shape} in {dtype}; a law that "
            "does not fit its dtype should be refused, so please report "
            "this, and use another --dtype or other --set values meanwhile"
        )
    return values


@dataclass(frozen=True)
class Law:
    """The analytic law of an initializer's entries, as far as it has one.

    Attributes:
      label: the law in words.
      pdf: its density, or ``None`` for a constant or no closed form.
      spike: the value of a constant law, else ``None``.
    """

    label: str
    pdf: Callable[[np.ndarray], np.ndarray] | None = None
    spike: float | None = None


def _affine_law(law_: Affine) -> Law:
    """The law ``scale * unit + shift``: its unit's words and density."""
    unit, bounds = law_.unit, law_.bounds
    scale = 1.0 if law_.scale is None else law_.scale
    shift = law_.shift or 0.0

    def pdf(x: np.ndarray) -> np.ndarray:
        return unit.pdf((x - shift) / scale, bounds) / abs(scale)

    return Law(unit.words(bounds, scale, shift), pdf)


def law(init: jinit.ConfiguredInitializer, shape: Sequence[int]) -> Law:
    """The law of ``init``'s entries at ``shape``.

    From its elementwise law and its target moments.
    """
    mean, std = target_moments(init, shape)
    elementwise = init.law(tuple(shape), MOMENTS_DTYPE)
    if isinstance(elementwise, Fill) or std == 0:  # random_normal(stddev=0)
        return Law(f"the constant {mean:g}: a spike, no density", spike=mean)
    if isinstance(elementwise, Affine):
        return _affine_law(elementwise)
    if about_of(init).normal_approximation:
        # The law of random_normal with those moments.
        normal = jinit.random_normal(mean, std).law((), MOMENTS_DTYPE)
        assert isinstance(normal, Affine)
        approximation = _affine_law(normal)
        return Law(f"approximately {approximation.label}", approximation.pdf)
    return Law("no closed form; histogram only")


def _axes(axes: int | Sequence[int]) -> tuple[int, ...]:
    return (axes,) if isinstance(axes, int) else tuple(axes)


def _config_fans(
    shape: tuple[int, ...], config: dict[str, Any]
) -> tuple[int, int]:
    """The fans of ``shape`` for a factory's axis arguments.

    Its ``in_axis``, ``out_axis``, ``batch_axis`` and (where it has them)
    ``groups`` and ``other_axes``: the axes that are neither input, output
    nor batch are a receptive field, or in neither fan (then batch axes)
    with ``other_axes="ignored"``.
    """
    in_axis, out_axis = config["in_axis"], config["out_axis"]
    batch_axis = _axes(config.get("batch_axis", ()))
    if config.get("other_axes") == "ignored" and len(shape) >= 2:
        listed = {
            axis % len(shape)
            for axis in (*_axes(in_axis), *_axes(out_axis), *batch_axis)
        }
        batch_axis += tuple(a for a in range(len(shape)) if a not in listed)
    return jinit.compute_fans(
        shape, in_axis, out_axis, batch_axis, config.get("groups", 1)
    )


def _fans(init: jinit.ConfiguredInitializer, shape: tuple[int, ...]) -> str:
    config = init.get_config()
    if "in_axis" not in config:
        return f"not used by {init.name}"
    fan_in, fan_out = _config_fans(shape, config)
    fans = (
        f"fan_in={fan_in:g}, fan_out={fan_out:g} (in_axis="
        f"{config['in_axis']}, out_axis={config['out_axis']})"
    )
    mode = {**about_of(init).fixed, **config}.get("mode")
    if mode not in DENOMINATORS:
        return fans
    n = DENOMINATORS[mode](fan_in, fan_out)
    return f"{fans}; mode {mode}: n={n:g}"


def _edges(*samples: np.ndarray) -> np.ndarray:
    low = min(float(s.min()) for s in samples)
    high = max(float(s.max()) for s in samples)
    if low == high:  # A constant: one bin around it.
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, BINS + 1)


def _expected(law_: Law, edges: np.ndarray, size: int) -> np.ndarray | None:
    """Counts per bin that the density predicts (midpoint rule)."""
    if law_.pdf is None:
        return None
    return size * law_.pdf((edges[:-1] + edges[1:]) / 2) * np.diff(edges)


def _bar(
    count: float, full: float, width: int, expected: float | None = None
) -> str:
    cells = [
        "█" if i < round(count / full * width) else " "
        for i in range(width + 1)
    ]
    if expected is not None:
        cells[min(round(expected / full * width), width)] = "|"
    return "".join(cells)


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": values.mean(),
        "std": values.std(),
        "min": values.min(),
        "max": values.max(),
        "distinct values": np.unique(values).size,
    }


def show(
    name: str,
    shape: tuple[int, ...] | None,
    dtype: str,
    seed: int,
    settings: Sequence[tuple[str, Any]],
    plot: str | None,
) -> str:
    """Stats, fans and a text histogram of one initializer's draw."""
    pyplot = _pyplot() if plot else None
    init = _build(name, settings)
    shape = _default_shape(init) if shape is None else shape
    _no_entries(shape)
    _check_size("show", shape)
    values = _finite(
        _as_floats(_draw(init, seed, shape, dtype)), repr(init), shape, dtype
    )
    target_mean, target_std = target_moments(init, shape)
    law_ = law(init, shape)
    edges = _edges(values)
    counts = np.histogram(values, edges)[0]
    expected = _expected(law_, edges, values.size)
    full = max(counts.max(), 0 if expected is None else expected.max())
    lines = [
        f"{init!r} at shape {shape}, {dtype}, key jax.random.key({seed})",
        f"law: {law_.label}",
        f"fans: {_fans(init, shape)}",
        f"{'':<8}{'target':>12}{'measured':>12}",
    ]
    measured = _stats(values)
    targets = {"mean": target_mean, "std": target_std}
    lines += [
        f"{stat:<8}{targets[stat]:>12.5g}{measured[stat]:>12.5g}"
        for stat in targets
    ]
    lines += [
        f"{stat:<8}{'':>12}{measured[stat]:>12.5g}" for stat in ("min", "max")
    ]
    legend = "█ drawn" + ("" if expected is None else ", | expected")
    lines.append(
        f"{'bin from':>11}  {legend:<{BAR_WIDTH + 1}}{'count':>8}"
        + ("" if expected is None else f"{'expected':>10}")
    )
    for i, count in enumerate(counts):
        guess = None if expected is None else expected[i]
        lines.append(
            f"{edges[i]:>11.4g}  {_bar(count, full, BAR_WIDTH, guess)}"
            f"{count:>8}" + ("" if guess is None else f"{guess:>10.1f}")
        )
    if plot:
        _plot(pyplot, init, shape, dtype, values, law_, edges, plot)
        lines.append(f"wrote {plot}")
    return "\n".join(lines)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as error:
        raise CliError(
            "matplotlib is needed for --plot: pip install matplotlib"
        ) from error
    return pyplot


def _plot(
    pyplot: Any,
    init: jinit.ConfiguredInitializer,
    shape: tuple[int, ...],
    dtype: str,
    values: np.ndarray,
    law_: Law,
    edges: np.ndarray,
    path: str,
) -> None:
    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.hist(values, edges, density=True, label="drawn")
    if law_.pdf is not None:
        x = np.linspace(edges[0], edges[-1], 400)
        axes.plot(x, law_.pdf(x), label=law_.label)
    if law_.spike is not None:
        axes.axvline(law_.spike, color="C1", label=law_.label)
    axes.set_title(f"{init.name} at {shape}, {dtype}")
    axes.legend(fontsize="small")
    try:
        figure.savefig(path)
    except (OSError, ValueError) as error:
        raise CliError(
            f"--plot could not write {path!r}: {_one_line(error)}"
        ) from error
    finally:
        pyplot.close(figure)


def jax_equivalent(
    init: jinit.ConfiguredInitializer,
) -> Callable[..., jax.Array]:
    """The ``jax.nn.initializers`` initializer that means the same as ``init``.

    That is its ``about.jax``.

    Raises:
      CliError: ``jax.nn.initializers`` has none.
    """
    about = about_of(init)
    theirs = (
        None
        if about.jax is None
        else about.jax({**about.fixed, **init.get_config()})
    )
    if theirs is None:
        raise CliError(f"no jax.nn.initializers equivalent of {init.name}")
    if isinstance(theirs, NoJaxEquivalent):
        raise CliError(
            f"no jax.nn.initializers equivalent of {init.name} with "
            f"{theirs}; use --set {theirs.argument}={theirs.needed!r}"
        )
    return theirs


def compare(
    name: str,
    shape: tuple[int, ...] | None,
    dtype: str,
    seed: int,
    settings: Sequence[tuple[str, Any]],
) -> str:
    """jinit's and ``jax.nn.initializers``' draws side by side."""
    init = _build(name, settings)
    theirs = jax_equivalent(init)
    shape = _default_shape(init) if shape is None else shape
    _no_entries(shape)
    _check_size("compare", shape)
    ours_values = _finite(
        _as_floats(_draw(init, seed, shape, dtype)), repr(init), shape, dtype
    )
    try:
        theirs_values = _finite(
            _as_floats(_draw(theirs, seed, shape, dtype)),
            f"jax.nn.initializers' {init.name}",
            shape,
            dtype,
        )
    except NotImplementedError as error:  # orthogonal's QR in bfloat16.
        reason = next(
            (a for a in reversed(error.args) if isinstance(a, str)), str(error)
        )
        raise CliError(
            f"jax.nn.initializers cannot draw {init.name} in {dtype} on "
            f"{jax.default_backend()} ({' '.join(reason.split())}); "
            "compare in another dtype, e.g. --dtype float32"
        ) from error
    target_mean, target_std = target_moments(init, shape)
    ours, theirs_stats = _stats(ours_values), _stats(theirs_values)
    lines = [
        f"{init!r} against jax.nn.initializers at shape {shape}, "
        f"{dtype}, key jax.random.key({seed})",
        f"law: {law(init, shape).label}; target mean {target_mean:.5g}, "
        f"std {target_std:.5g}",
        f"{'':<16}{'jinit':>12}{'jax':>12}",
    ]
    lines += [
        f"{stat:<16}{ours[stat]:>12.5g}{theirs_stats[stat]:>12.5g}"
        for stat in ours
    ]
    same = np.array_equal(ours_values, theirs_values)
    lines.append(f"same values: {'yes' if same else 'no'}")
    edges = _edges(ours_values, theirs_values)
    ours_counts = np.histogram(ours_values, edges)[0]
    theirs_counts = np.histogram(theirs_values, edges)[0]
    full, width = max(ours_counts.max(), theirs_counts.max()), BAR_WIDTH // 2
    lines.append(
        f"{'bin from':>11}  {'jinit':<{width + 1}}{'count':>8}  "
        f"{'jax':<{width + 1}}{'count':>8}"
    )
    lines += [
        f"{edges[i]:>11.4g}  {_bar(a, full, width)}{a:>8}  "
        f"{_bar(b, full, width)}{b:>8}"
        for i, (a, b) in enumerate(zip(ours_counts, theirs_counts, strict=True))
    ]
    return "\n".join(lines)


def listing() -> str:
    """Every initializer with its one-line formula."""
    width = max(map(len, FACTORIES)) + 2
    return "\n".join(
        f"{name:<{width}}{about_named(name).formula}" for name in FACTORIES
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jinit",
        description="With no command: the catalogue of every initializer, "
        "target against measured moments.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("list", help="every initializer and its formula")
    drawing = _Parser(add_help=False)
    drawing.add_argument("name", help="e.g. he_normal or HeNormal")
    drawing.add_argument(
        "--shape",
        type=_shape,
        default=None,
        help="comma-separated, e.g. 256,128 (default: the catalogue's); "
        f"at most {MAX_DRAWN_ENTRIES:,} entries",
    )
    drawing.add_argument("--dtype", default="float32")
    drawing.add_argument("--seed", type=_int_in(0, 2**32), default=0)
    drawing.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        dest="settings",
        metavar="KEY=VALUE",
        help="a factory argument, e.g. scale=2.0 or mode=fan_out (repeatable)",
    )
    show_parser = commands.add_parser(
        "show",
        parents=[drawing],
        help="stats, fans and a histogram against the analytic density",
    )
    show_parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also write the histogram as a figure (needs matplotlib)",
    )
    commands.add_parser(
        "compare",
        parents=[drawing],
        help="jinit against jax.nn.initializers, side by side",
    )
    check_parser = commands.add_parser(
        "check",
        help="is my initialization right? jinit.diagnose on a deep ReLU MLP "
        "under He and Glorot, and the muP coordinate check",
    )
    check_parser.add_argument(
        "--plot",
        metavar="DIR",
        help="also write the figures into DIR (needs matplotlib)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line on ``argv`` (default ``sys.argv[1:]``).

    Returns:
      The exit status: 0, or 2 for bad input and any other error (after one
      line on stderr, never a traceback).
    """
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command is None:
            output = catalogue()
        elif arguments.command == "list":
            output = listing()
        elif arguments.command == "check":
            from jinit.cli._check import check

            try:
                output = check(arguments.plot)
            except OSError as error:  # --plot: a file, or not writable.
                raise CliError(
                    f"--plot {arguments.plot}: {error.strerror or error}"
                ) from error
        elif arguments.command == "show":
            output = show(
                arguments.name,
                arguments.shape,
                arguments.dtype,
                arguments.seed,
                arguments.settings,
                arguments.plot,
            )
        else:
            output = compare(
                arguments.name,
                arguments.shape,
                arguments.dtype,
                arguments.seed,
                arguments.settings,
            )
    except CliError as error:
        print(f"jinit: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # One line, whatever failed.
        if isinstance(error, MemoryError) or (
            isinstance(error, jax.errors.JaxRuntimeError)
            and "RESOURCE_EXHAUSTED" in str(error)
        ):
            shape = getattr(arguments, "shape", None)
            where = "" if shape is None else f" at --shape {shape}"
            print(
                f"jinit: error: out of memory{where} "
                f"({_one_line(error) or type(error).__name__}); use a "
                "smaller --shape",
                file=sys.stderr,
            )
        else:
            print(
                f"jinit: error: {type(error).__name__}: "
                f"{_one_line(error)} (unexpected: please report it to "
                "jinit with this command line)",
                file=sys.stderr,
            )
        return 2
    print(output)
    return 0

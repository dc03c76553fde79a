"""The catalogue printed by ``python -m jinit``: every initializer drawn at a
default shape, its target mean and standard deviation beside the measured
ones."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jinit import __version__, _shapes
from jinit._base import ConfiguredInitializer
from jinit._random import sparse_zeros
from jinit._registry import FACTORIES
from jinit._variance import PRESETS, TRUNCATED_STDDEV, denominator

DEFAULT_SHAPE = (256, 128)
KERNEL_SHAPE = (3, 3, 64, 64)  # for the initializers of convolution kernels
# Arguments for the factories that have required ones, and their shape.
EXAMPLES = {"delta_orthogonal": ({}, KERNEL_SHAPE),
            "dirac": ({}, KERNEL_SHAPE),
            "sparse": ({"sparsity": 0.1}, None)}
FORMULAS = {
    "zeros": "0",
    "ones": "1",
    "constant": "value",
    "random_normal": "N(mean, stddev^2)",
    "random_uniform": "U[minval, maxval)",
    "truncated_normal": "N(mean, stddev^2) cut at mean +- 2 stddev",
    "variance_scaling": "std sqrt(scale / n(mode)), chosen distribution",
    "orthogonal": "gain * Haar-orthogonal Q of (prod(shape[:-1]), shape[-1])",
    "identity": "gain * I (2-D, zero-padded)",
    "delta_orthogonal": "gain * Haar (in, out) at the centre tap, 0 elsewhere",
    "dirac": "1 at (centre, d, g * out / groups + d), 0 elsewhere",
    "sparse": "ceil(sparsity * rows) zeros per column, N(0, stddev^2)",
    **{name: preset[3] for name, preset in PRESETS.items()},
}


def target_moments(init: ConfiguredInitializer,
                   shape: Sequence[int]) -> tuple[float, float]:
    """The mean and standard deviation of ``init``'s law at ``shape``."""
    config = init.get_config()
    name = init.name
    if name in ("zeros", "ones", "constant"):
        return {"zeros": 0.0, "ones": 1.0}.get(name, config.get("value")), 0.0
    if name == "random_normal":
        return config["mean"], config["stddev"]
    if name == "random_uniform":
        low, high = config["minval"], config["maxval"]
        return (low + high) / 2, (high - low) / math.sqrt(12)
    if name == "truncated_normal":
        return config["mean"], config["stddev"] * TRUNCATED_STDDEV
    if name == "sparse":
        kept = 1 - sparse_zeros(config["sparsity"], shape[0]) / shape[0]
        return 0.0, config["stddev"] * math.sqrt(kept)
    if name in ("delta_orthogonal", "dirac"):
        taps, (inputs, outputs) = math.prod(shape[:-2]), shape[-2:]
        if name == "delta_orthogonal":
            return 0.0, abs(config["gain"]) / math.sqrt(
                max(inputs, outputs) * taps)
        groups = config["groups"]
        share = groups * min(inputs, outputs // groups) / math.prod(shape)
        return share, math.sqrt(share * (1 - share))
    if name in ("orthogonal", "identity"):
        batch = _shapes.resolve_axes(shape, batch_axis=config["batch_axis"])[
            "batch_axis"]
        matrix = [d for a, d in enumerate(shape) if a not in batch]
        column = config.get("column_axis", -1) % len(shape)
        cols = shape[column]
        rows = math.prod(matrix) // cols
        if name == "orthogonal":
            return 0.0, abs(config["gain"]) / math.sqrt(max(rows, cols))
        share = min(rows, cols) / (rows * cols)
        return (config["gain"] * share,
                abs(config["gain"]) * math.sqrt(share * (1 - share)))
    scale, mode = (PRESETS[name][:2] if name in PRESETS
                   else (config["scale"], config["mode"]))
    fans = _shapes.compute_fans(shape, config["in_axis"], config["out_axis"],
                                config["batch_axis"], config["groups"])
    return 0.0, math.sqrt(scale / denominator(mode, *fans))


def catalogue(shape: Sequence[int] = DEFAULT_SHAPE, dtype: str = "float32",
              seed: int = 0) -> str:
    """A table of every initializer drawn at ``shape`` and ``dtype``."""
    header = (f"{'initializer':<18}{'target std':>11}{'std':>11}"
              f"{'target mean':>12}{'mean':>11}{'min':>11}{'max':>11}  law")
    title = (f"jinit {__version__} (jax {jax.__version__}): every initializer "
             f"drawn at shape {tuple(shape)} (kernels at {KERNEL_SHAPE}), "
             f"{dtype}, key jax.random.key({seed})")
    lines = [title, header, "-" * len(header)]
    key = jax.random.key(seed)
    for name, build in FACTORIES.items():
        arguments, own_shape = EXAMPLES.get(name, ({}, None))
        init, drawn_at = build(**arguments), own_shape or shape
        values = init(key, drawn_at, dtype).astype(jnp.float32)
        mean, std = target_moments(init, drawn_at)
        lines.append(
            f"{name:<18}{std:>11.5f}{float(values.std()):>11.5f}"
            f"{mean:>12.5f}{float(values.mean()):>11.5f}"
            f"{float(values.min()):>11.5f}{float(values.max()):>11.5f}"
            f"  {FORMULAS[name]}")
    return "\n".join(lines)

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
from jinit._registry import FACTORIES
from jinit._variance import PRESETS, TRUNCATED_STDDEV, denominator

DEFAULT_SHAPE = (256, 128)
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
    rows, cols = math.prod(shape[:-1]), shape[-1]
    if name == "orthogonal":
        return 0.0, abs(config["gain"]) / math.sqrt(max(rows, cols))
    if name == "identity":
        share = min(rows, cols) / (rows * cols)
        return (config["gain"] * share,
                abs(config["gain"]) * math.sqrt(share * (1 - share)))
    scale, mode = (PRESETS[name][:2] if name in PRESETS
                   else (config["scale"], config["mode"]))
    fans = _shapes.compute_fans(shape, config["in_axis"], config["out_axis"],
                                config["batch_axis"])
    return 0.0, math.sqrt(scale / denominator(mode, *fans))


def catalogue(shape: Sequence[int] = DEFAULT_SHAPE, dtype: str = "float32",
              seed: int = 0) -> str:
    """A table of every initializer drawn at ``shape`` and ``dtype``."""
    header = (f"{'initializer':<18}{'target std':>11}{'std':>11}"
              f"{'target mean':>12}{'mean':>11}{'min':>11}{'max':>11}  law")
    title = (f"jinit {__version__} (jax {jax.__version__}): every initializer "
             f"drawn at shape {tuple(shape)}, {dtype}, key "
             f"jax.random.key({seed})")
    lines = [title, header, "-" * len(header)]
    key = jax.random.key(seed)
    for name, build in FACTORIES.items():
        init = build()
        values = init(key, shape, dtype).astype(jnp.float32)
        mean, std = target_moments(init, shape)
        lines.append(
            f"{name:<18}{std:>11.5f}{float(values.std()):>11.5f}"
            f"{mean:>12.5f}{float(values.mean()):>11.5f}"
            f"{float(values.min()):>11.5f}{float(values.max()):>11.5f}"
            f"  {FORMULAS[name]}")
    return "\n".join(lines)

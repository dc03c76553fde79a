"""The catalogue printed by ``python -m jinit``: every initializer drawn at a
default shape, its target mean and standard deviation beside the measured
ones."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jinit import __version__, _shapes
from jinit._base import ConfiguredInitializer
from jinit._random import sparse_zeros
from jinit._registry import FACTORIES
from jinit._residual import deepnorm_scales, fixup_scale, t_fixup_scale
from jinit._variance import (
    PRESETS,
    TRUNCATED_STDDEV,
    config_fans,
    denominator,
)
from jinit._zer_o import zer_o_matrix

DEFAULT_SHAPE = (256, 128)
CONSTANTS = ("zeros", "ones", "constant", "skip_init")
KERNEL_SHAPE = (3, 3, 64, 64)  # for the initializers of convolution kernels
# Arguments for the factories that have required ones, and their shape.
EXAMPLES = {"delta_orthogonal": ({}, KERNEL_SHAPE),
            "dirac": ({}, KERNEL_SHAPE),
            "sparse": ({"sparsity": 0.1}, None),
            "depth_scaled_normal": ({"n_layers": 12}, None),
            "small_init": ({"dim": 768}, None),
            "wang_init": ({"n_layers": 12, "dim": 768}, None),
            "deepnorm": ({"decoder_layers": 12}, None),
            "t_fixup": ({"n_layers": 6}, None),
            "t_fixup_embedding": ({"n_layers": 6}, None),
            "fixup": ({"n_branches": 16, "branch_layers": 2}, KERNEL_SHAPE)}
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
    "depth_scaled_normal": "N(0, (stddev / sqrt(branches * n_layers))^2)",
    "small_init": "N(0, 2 / (5 dim))",
    "wang_init": "N(0, (2 / (n_layers sqrt(dim)))^2)",
    "deepnorm": "Xavier std sqrt(2 / (fan_in + fan_out)) times beta",
    "t_fixup": "Xavier std times 0.67 N^-1/4 (encoder), (9N)^-1/4 (decoder)",
    "t_fixup_embedding": "N(0, 1 / d) times (9N)^-1/4, d = shape[-1]",
    "fixup": "std sqrt(scale / n(mode)) times L^(-1/(2m-2))",
    "skip_init": "alpha (0: ReZero)",
    "zer_o": "I, partial I, or 2^(-(m-1)/2) Hadamard signs (out > in)",
}


def _xavier_std(config: dict, shape: Sequence[int]) -> float:
    return math.sqrt(2 / sum(config_fans(shape, config)))


# The depth-scaled schemes: their standard deviation at ``shape``; each is
# a zero-mean law of its ``distribution`` (untruncated normal if it has no
# such argument).
SCHEMES = {
    "depth_scaled_normal": lambda c, shape: (
        c["stddev"] / math.sqrt(c["branches"] * c["n_layers"])),
    "small_init": lambda c, shape: math.sqrt(2 / (5 * c["dim"])),
    "wang_init": lambda c, shape: 2 / (c["n_layers"] * math.sqrt(c["dim"])),
    "t_fixup_embedding": lambda c, shape: (
        t_fixup_scale("decoder", c["n_layers"]) / math.sqrt(shape[-1])),
    "deepnorm": lambda c, shape: deepnorm_scales(
        c["stack"], c["encoder_layers"], c["decoder_layers"]).beta
    * _xavier_std(c, shape),
    "t_fixup": lambda c, shape: (t_fixup_scale(c["stack"], c["n_layers"])
                                 * _xavier_std(c, shape)),
    "fixup": lambda c, shape: fixup_scale(
        c["n_branches"], c["branch_layers"]) * math.sqrt(
        c["scale"] / denominator(c["mode"], *config_fans(shape, c))),
}


def _zer_o_moments(inputs: int, outputs: int, taps: int
                   ) -> tuple[float, float]:
    """Mean and std of a ZerO kernel, its matrix at one tap of ``taps``."""
    matrix = np.asarray(zer_o_matrix(inputs, outputs, np.dtype(np.float32)),
                        np.float64)
    size = matrix.size * taps
    mean = matrix.sum() / size
    return float(mean), math.sqrt((matrix**2).sum() / size - mean * mean)


def target_moments(init: ConfiguredInitializer,
                   shape: Sequence[int]) -> tuple[float, float]:
    """The mean and standard deviation of ``init``'s law at ``shape``."""
    config = init.get_config()
    name = init.name
    if name in CONSTANTS:
        return {"zeros": 0.0, "ones": 1.0, "skip_init": config.get("alpha")
                }.get(name, config.get("value")), 0.0
    if name in SCHEMES:
        return 0.0, SCHEMES[name](config, shape)
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
    if name == "zer_o":
        return _zer_o_moments(*shape[-2:], taps=math.prod(shape[:-2]))
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
    return 0.0, math.sqrt(scale / denominator(mode,
                                              *config_fans(shape, config)))


NAME_WIDTH = max(map(len, FACTORIES)) + 2


def catalogue(shape: Sequence[int] = DEFAULT_SHAPE, dtype: str = "float32",
              seed: int = 0) -> str:
    """A table of every initializer drawn at ``shape`` and ``dtype``."""
    header = (f"{'initializer':<{NAME_WIDTH}}{'target std':>11}{'std':>11}"
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
            f"{name:<{NAME_WIDTH}}{std:>11.5f}{float(values.std()):>11.5f}"
            f"{mean:>12.5f}{float(values.mean()):>11.5f}"
            f"{float(values.min()):>11.5f}{float(values.max()):>11.5f}"
            f"  {FORMULAS[name]}")
    return "\n".join(lines)

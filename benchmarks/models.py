"""Whole models, initialized by jinit, by ``jax.nn.initializers`` and by
``torch.nn.init``, each first in a fresh process.

A model is a tree of :class:`jinit.Param` with its standard initialization.
jinit initializes it with :func:`jinit.materialize`; ``jax.nn.initializers``
with the equivalent initializer called eagerly per parameter, keys from
``jax.random.split``; torch by filling ``torch.empty`` tensors with
``torch.nn.init``, as a torch model's constructor does.

``python -m benchmarks.models MODEL LIBRARY`` is the fresh process: it times
one initialization of ``MODEL`` by ``LIBRARY`` and prints its figures as one
line of JSON; :func:`in_fresh_process` runs it. ``jinit`` runs as by
default, with nothing remembered between processes (``JINIT_CACHE_DIR``
empty): it runs the kernel's self-check and compiles its kernels.
``jinit-recorded`` is the same call with the record on, written by one
untimed process per model: the check passed and the kernels stored.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

import jinit
from benchmarks import measure

LIBRARIES = ("jinit", "jinit-recorded", "jax", "torch")
COLD_SEED, WARM_SEED = 0, 1


def _dense(
    d_in: int, d_out: int, weight: Callable[..., jax.Array]
) -> dict[str, jinit.Param]:
    return {
        "w": jinit.Param((d_in, d_out), weight),
        "b": jinit.Param((d_out,), jinit.zeros()),
    }


def _layer_norm(d: int) -> dict[str, jinit.Param]:
    return {
        "g": jinit.Param((d,), jinit.ones()),
        "b": jinit.Param((d,), jinit.zeros()),
    }


def gpt2(
    d_model: int = 768,
    vocab: int = 50257,
    context: int = 1024,
    layers: int = 12,
) -> dict[str, Any]:
    """GPT-2's parameters in the Hugging Face layout (GPT-2 small by
    default: 148 tensors, 124.4M parameters).

    Weights and embeddings are drawn from N(0, 0.02²), the two output
    projections of each layer (``attn/c_proj``, ``mlp/c_proj``) from
    N(0, 0.02² / (2 · layers)) as in the GPT-2 paper; biases are zeros and
    layer-norm gains ones.

    Args:
      d_model: the width of the residual stream.
      vocab: the number of tokens.
      context: the number of positions.
      layers: the number of transformer blocks.

    Returns:
      ``{"wte", "wpe", "h": [block, ...], "ln_f"}`` of :class:`jinit.Param`.
    """
    weight = jinit.random_normal(stddev=0.02)
    projection = jinit.random_normal(stddev=0.02 / math.sqrt(2 * layers))

    def block() -> dict[str, Any]:
        return {
            "ln_1": _layer_norm(d_model),
            "attn": {
                "c_attn": _dense(d_model, 3 * d_model, weight),
                "c_proj": _dense(d_model, d_model, projection),
            },
            "ln_2": _layer_norm(d_model),
            "mlp": {
                "c_fc": _dense(d_model, 4 * d_model, weight),
                "c_proj": _dense(4 * d_model, d_model, projection),
            },
        }

    return {
        "wte": jinit.Param((vocab, d_model), weight),
        "wpe": jinit.Param((context, d_model), weight),
        "h": [block() for _ in range(layers)],
        "ln_f": _layer_norm(d_model),
    }


def resnet50(width: int = 64, classes: int = 1000) -> dict[str, Any]:
    """ResNet-50's parameters in the torchvision layout, convolution kernels
    HWIO ``(kh, kw, in, out)`` (161 tensors, 25.6M parameters by default;
    batch-norm running statistics are not parameters).

    Convolutions are drawn as torchvision does, He normal over the fan-out
    (``kaiming_normal_(mode="fan_out", nonlinearity="relu")``); batch-norm
    scales are ones and biases zeros; the classifier's weight is
    ``nn.Linear``'s default, U(±1/√fan_in), and its bias zeros (where
    ``nn.Linear`` draws it from that uniform too: 1,000 elements, no
    difference to the timings).

    Args:
      width: the channels of the stem and of the first stage's bottlenecks;
        each later stage doubles them, and a bottleneck's output has four
        times as many.
      classes: the classifier's outputs.

    Returns:
      ``{"conv1", "bn1", "layer1", ..., "layer4", "fc"}`` of
      :class:`jinit.Param`; a stage is a list of bottleneck blocks.
    """
    he_fan_out = jinit.variance_scaling(2.0, "fan_out", "untruncated_normal")

    def conv(size: int, d_in: int, d_out: int) -> dict[str, jinit.Param]:
        return {"kernel": jinit.Param((size, size, d_in, d_out), he_fan_out)}

    def batch_norm(d: int) -> dict[str, jinit.Param]:
        return {
            "scale": jinit.Param((d,), jinit.ones()),
            "bias": jinit.Param((d,), jinit.zeros()),
        }

    def bottleneck(d_in: int, planes: int) -> dict[str, Any]:
        block = {
            "conv1": conv(1, d_in, planes),
            "bn1": batch_norm(planes),
            "conv2": conv(3, planes, planes),
            "bn2": batch_norm(planes),
            "conv3": conv(1, planes, 4 * planes),
            "bn3": batch_norm(4 * planes),
        }
        if d_in != 4 * planes:
            block["downsample"] = {
                "conv": conv(1, d_in, 4 * planes),
                "bn": batch_norm(4 * planes),
            }
        return block

    params: dict[str, Any] = {
        "conv1": conv(7, 3, width),
        "bn1": batch_norm(width),
    }
    d_in = width
    for stage, blocks in enumerate((3, 4, 6, 3)):
        planes = width * 2**stage
        params[f"layer{stage + 1}"] = [
            bottleneck(d_in if i == 0 else 4 * planes, planes)
            for i in range(blocks)
        ]
        d_in = 4 * planes
    params["fc"] = {
        "kernel": jinit.Param(
            (d_in, classes), jinit.variance_scaling(1 / 3, "fan_in", "uniform")
        ),
        "bias": jinit.Param((classes,), jinit.zeros()),
    }
    return params


MODELS: dict[str, Callable[..., dict[str, Any]]] = {
    "GPT-2 small": gpt2,
    "ResNet-50": resnet50,
}
# The smoke test's sizes: every tensor of the full model, far fewer elements.
TINY: dict[str, dict[str, int]] = {
    "GPT-2 small": {"d_model": 64, "vocab": 512, "context": 64, "layers": 2},
    "ResNet-50": {"width": 8, "classes": 10},
}


def build(model: str, tiny: bool = False) -> dict[str, Any]:
    """The parameter specs of ``model`` (a key of :data:`MODELS`), at the
    sizes of :data:`TINY` when ``tiny``."""
    return MODELS[model](**(TINY[model] if tiny else {}))


def size(specs: Any) -> dict[str, int]:
    """The tensors, parameters and parameter bytes of a tree of specs."""
    leaves = jax.tree.leaves(specs)
    return {
        "tensors": len(leaves),
        "parameters": sum(math.prod(spec.shape) for spec in leaves),
        "bytes": sum(
            math.prod(spec.shape) * spec.dtype.itemsize for spec in leaves
        ),
    }


def _described(init: Callable[..., jax.Array]) -> tuple[str, dict[str, Any]]:
    """The factory name and options of a jinit initializer."""
    config = jinit.serialize(init)
    return config["name"], config["config"]


def _jax_initializer(
    init: Callable[..., jax.Array],
) -> Callable[..., jax.Array]:
    """The ``jax.nn.initializers`` equivalent of a jinit initializer of the
    models (a zero-mean normal, zeros, ones or a variance scaling)."""
    initializers = jax.nn.initializers
    name, config = _described(init)
    if name == "random_normal" and config["mean"] == 0:
        return initializers.normal(config["stddev"])
    if name in ("zeros", "ones"):
        return getattr(initializers, name)
    if name == "variance_scaling":
        distribution = config["distribution"]
        return initializers.variance_scaling(
            config["scale"],
            config["mode"],
            "normal" if distribution == "untruncated_normal" else distribution,
        )
    raise ValueError(f"no jax.nn.initializers equivalent of {init!r}.")


def jax_materialize(seed: int, specs: Any) -> Any:
    """``specs`` initialized by ``jax.nn.initializers``, called eagerly
    per parameter with keys from ``jax.random.split``."""
    leaves, treedef = jax.tree.flatten(specs)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return treedef.unflatten(
        [
            _jax_initializer(spec.init)(key, spec.shape, spec.dtype)
            for key, spec in zip(keys, leaves, strict=True)
        ]
    )


def _torch_leaf(
    spec: jinit.Param,
) -> tuple[tuple[int, ...], Callable[..., Any]]:
    """The torch shape of a parameter and ``fill(tensor, generator)``
    initializing it with ``torch.nn.init``.

    A variance scaling is torch's ``kaiming_normal_`` or ``kaiming_uniform_``
    with ``a = √(2 / scale - 1)`` (its gain², ``2 / (1 + a²)``, is the
    scale): ``a = 0`` is torchvision's He initialization of a convolution,
    ``a = √5`` ``nn.Linear``'s default. torch reads the fans from its own
    layout, ``(out, in, *spatial)``, so such a weight takes that shape.
    """
    import torch

    init = torch.nn.init
    name, config = _described(spec.init)
    if name == "random_normal":
        return spec.shape, lambda tensor, generator: init.normal_(
            tensor, config["mean"], config["stddev"], generator=generator
        )
    if name in ("zeros", "ones"):
        fill = getattr(init, f"{name}_")
        return spec.shape, lambda tensor, generator: fill(tensor)
    kaiming = {
        "untruncated_normal": init.kaiming_normal_,
        "uniform": init.kaiming_uniform_,
    }
    if (
        name == "variance_scaling"
        and config["scale"] <= 2
        and config["mode"] in ("fan_in", "fan_out")
        and config["distribution"] in kaiming
    ):
        *spatial, d_in, d_out = spec.shape
        fill = kaiming[config["distribution"]]
        slope = math.sqrt(2 / config["scale"] - 1)
        return (d_out, d_in, *spatial), lambda tensor, generator: fill(
            tensor, a=slope, mode=config["mode"], generator=generator
        )
    raise ValueError(f"no torch.nn.init equivalent of {spec.init!r}.")


def torch_materialize(seed: int, specs: Any) -> Any:
    """``specs`` as torch tensors, each allocated by ``torch.empty`` and
    filled by ``torch.nn.init`` from one generator seeded with ``seed``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    leaves, treedef = jax.tree.flatten(specs)
    tensors = []
    for spec in leaves:
        shape, fill = _torch_leaf(spec)
        tensor = torch.empty(shape, dtype=getattr(torch, spec.dtype.name))
        tensors.append(fill(tensor, generator))
    return treedef.unflatten(tensors)


INITIALIZE: dict[str, Callable[[int, Any], Any]] = {
    "jinit": lambda seed, specs: jinit.materialize(jax.random.key(seed), specs),
    "jinit-recorded": lambda seed, specs: jinit.materialize(
        jax.random.key(seed), specs
    ),
    "jax": jax_materialize,
    "torch": torch_materialize,
}


def _resident_bytes() -> int:
    """The process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_resident_bytes() -> int:
    """The process's peak resident memory so far (``VmHWM``, Linux).

    Not ``ru_maxrss``: Linux carries that across ``execve``, so a process
    started by a large parent begins with the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM line.")


def _start(library: str) -> None:
    """What the timings and the memory baseline leave out, as they leave out
    the imports: JAX's backend start-up and its first compilation (which
    pages in ~40 MB of XLA's code and ~20 MB of compiler state, once per
    process, whatever is compiled), and torch's import and thread count
    (that of ``python -m benchmarks``)."""
    jax.block_until_ready(jax.jit(lambda x: x + 1)(1.0))
    if library == "torch":
        import torch

        torch.set_num_threads(os.cpu_count() or 1)


def figures(
    model: str, library: str, tiny: bool, warm_repeats: int
) -> dict[str, float]:
    """One process's figures, its first initialization of the model.

    Returns:
      ``cold``: seconds from building the specs to the initialized tree
      being ready, compilation included; ``peak_memory``: the peak resident
      memory during that, over the memory before it (after building the
      specs), in parameter bytes; ``warm``: the median seconds of
      initializing it again, with another seed, after one untimed call.
    """
    _start(library)
    initialize = INITIALIZE[library]
    start = time.perf_counter()
    specs = build(model, tiny)
    before = _resident_bytes()
    jax.block_until_ready(initialize(COLD_SEED, specs))
    cold = time.perf_counter() - start
    growth = _peak_resident_bytes() - before
    warm = measure.medians(
        {library: lambda: initialize(WARM_SEED, specs)}, warm_repeats
    )
    return {
        "cold": cold,
        "warm": warm[library],
        "peak_memory": growth / size(specs)["bytes"],
    }


def in_fresh_process(
    model: str, library: str, tiny: bool, warm_repeats: int
) -> dict[str, float]:
    """:func:`figures`, measured in a new Python process.

    Raises:
      RuntimeError: the process failed (its stderr is included).
    """
    return _fresh(
        model,
        library,
        tiny,
        warm_repeats,
        _record(tiny) if library == "jinit-recorded" else "",
    )


def _fresh(
    model: str, library: str, tiny: bool, warm_repeats: int, record: str
) -> dict[str, float]:
    return measure.in_fresh_process(
        "benchmarks.models",
        model,
        library,
        "--warm-repeats",
        str(warm_repeats),
        *(["--tiny"] if tiny else []),
        env={"JINIT_CACHE_DIR": record},
    )


@functools.cache
def _record(tiny: bool) -> str:
    """A ``JINIT_CACHE_DIR`` where the kernel's self-check has passed and
    every model's kernels are stored.

    Written by one untimed fresh process of each model (at the smoke
    test's sizes where ``tiny``), removed when this process exits.
    """
    folder = tempfile.mkdtemp(prefix="jinit-record-")
    atexit.register(shutil.rmtree, folder, True)
    for model in MODELS:
        _fresh(model, "jinit-recorded", tiny, 1, folder)
    return folder


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.models",
        description="Prints, as JSON, the figures of one fresh process "
        "initializing one model.",
    )
    parser.add_argument("model", choices=list(MODELS))
    parser.add_argument("library", choices=LIBRARIES)
    parser.add_argument(
        "--tiny", action="store_true", help="the smoke test's sizes"
    )
    parser.add_argument("--warm-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        json.dumps(
            figures(args.model, args.library, args.tiny, args.warm_repeats)
        )
    )


if __name__ == "__main__":
    main()

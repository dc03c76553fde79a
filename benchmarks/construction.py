"""Building a model in a framework, each way in a fresh process.

A GPT-2-small-shaped model (12 blocks of layer norm, attention and MLP
projections with d = 768 and MLP width 3072, token embedding 50257 × 768 and
position embedding 1024 × 768: 148 arrays, 124.4M parameters) built:

* ``nnx-flax``: as Flax NNX modules with Flax's default initializers;
* ``nnx-no-draw``: the same modules with ``jinit.zeros()`` for the weights
  and embeddings (which draws and compiles nothing) and Flax's defaults for
  biases and norms: NNX's floor as issue 17 defines it;
* ``nnx-zeros``: ``jinit.zeros()`` for every parameter: what NNX itself
  costs, with nothing drawn or compiled at all;
* ``nnx-jinit``: the same modules with jinit initializers for every
  parameter (N(0, 0.02²) weights and embeddings, N(0, 0.02² / 24) output
  projections, zero biases, unit layer-norm scales);
* ``nnx-jinit-first-run``: ``nnx-jinit`` in a process that runs jinit's
  kernel self-check (~0.25 s) and compiles its kernels: every process by
  default, and the first after installing or upgrading JAX with the record
  on. The other ways run with the record on (``JINIT_CACHE_DIR``,
  :mod:`jinit._cache`), written by one untimed process of each way that
  draws with jinit (:data:`RECORDING`): the check passed and the kernels
  stored;
* ``nnx-abstract``: the ``nnx-jinit`` model built abstractly with
  ``nnx.eval_shape`` and filled by :func:`jinit.flax.reinit`;
* ``equinox``: as Equinox modules with Equinox's own initialization;
* ``equinox-jinit``: the Equinox model built abstractly with
  ``eqx.filter_eval_shape`` and filled by :func:`jinit.equinox.reinit`;
* ``nnx-torch-laws``: the NNX modules with PyTorch's default laws through
  ``jinit.preset("torch")`` (``kaiming_uniform_(a=√5)`` weights, uniform
  biases over the weight's fan-in, ``N(0, 1)`` embeddings): the same
  draws as ``torch``;
* ``nnx-lecun``: the NNX modules with ``jinit.lecun_normal()`` weights
  (a normal cut at ±2σ, rescaled to standard deviation ``1 / √fan_in``),
  zero biases and ``N(0, 1)`` embeddings: the same draws as
  ``torch-trunc-normal``;
* ``torch``: as a PyTorch ``nn.Module`` with its default initialization;
* ``torch-trunc-normal``: the PyTorch modules made with
  ``torch.nn.utils.skip_init`` and filled with ``trunc_normal_`` of the
  same law as ``lecun_normal()``, zero biases, ``normal_`` embeddings;
* ``torch-no-draw``: the PyTorch modules made with ``skip_init`` and not
  filled: PyTorch's floor.

Each process builds the model twice: ``seconds`` is the first build (the
figure compared), ``warm`` the second, whose difference from the floor of
its framework (``nnx-zeros``, ``torch-no-draw``) is the draws, and the
first build's excess over it what a first build costs once (compilations,
first use of memory).

``python -m benchmarks.construction WAY`` is the fresh process: it prints
the seconds from the start of construction to every parameter being ready,
as JSON. Imports, the backend's start-up and JAX's first compilation of
anything are left out, as in :mod:`benchmarks.models`.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib.util
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import measure

WAYS = (
    "nnx-flax",
    "nnx-no-draw",
    "nnx-zeros",
    "nnx-jinit",
    "nnx-jinit-first-run",
    "nnx-abstract",
    "equinox",
    "equinox-jinit",
    "nnx-torch-laws",
    "nnx-lecun",
    "torch",
    "torch-trunc-normal",
    "torch-no-draw",
)
# The way drawing the same laws in PyTorch.
# The ways drawing with jinit, whose kernels the record holds.
RECORDING = (
    "nnx-jinit",
    "nnx-abstract",
    "equinox-jinit",
    "nnx-torch-laws",
    "nnx-lecun",
)
SAME_LAWS = {"nnx-torch-laws": "torch", "nnx-lecun": "torch-trunc-normal"}
# The truncated normal's standard deviation over its parameter at +-2.
TRUNCATED_STDDEV = 0.87962566103423978
# GPT-2 small; TINY for the smoke test.
GPT2 = {"d_model": 768, "vocab": 50257, "context": 1024, "layers": 12}
TINY = {"d_model": 32, "vocab": 97, "context": 16, "layers": 2}
STDDEV = 0.02


def _nnx(inits: dict[str, Any], sizes: dict[str, int], rngs: Any) -> Any:
    """The NNX model, its initializers by role (``inits``: keyword
    arguments for the weights, output projections, embeddings and norms)."""
    from flax import nnx

    d, layers = sizes["d_model"], sizes["layers"]

    class Block(nnx.Module):
        def __init__(self) -> None:
            self.ln_1 = nnx.LayerNorm(d, rngs=rngs, **inits["norm"])
            self.attn = nnx.Linear(d, 3 * d, rngs=rngs, **inits["weight"])
            self.attn_proj = nnx.Linear(d, d, rngs=rngs, **inits["projection"])
            self.ln_2 = nnx.LayerNorm(d, rngs=rngs, **inits["norm"])
            self.fc = nnx.Linear(d, 4 * d, rngs=rngs, **inits["weight"])
            self.fc_proj = nnx.Linear(
                4 * d,
                d,
                rngs=rngs,
                **inits.get("fc_projection", inits["projection"]),
            )

    class Model(nnx.Module):
        def __init__(self) -> None:
            self.wte = nnx.Embed(
                sizes["vocab"], d, rngs=rngs, **inits["embedding"]
            )
            self.wpe = nnx.Embed(
                sizes["context"], d, rngs=rngs, **inits["embedding"]
            )
            self.blocks = nnx.List([Block() for _ in range(layers)])
            self.ln_f = nnx.LayerNorm(d, rngs=rngs, **inits["norm"])

    return Model()


def _jinit_inits(layers: int) -> dict[str, Any]:
    """Every NNX parameter from a jinit initializer (GPT-2's scheme)."""
    import jinit

    weight = jinit.random_normal(stddev=STDDEV)
    projection = jinit.random_normal(stddev=STDDEV / math.sqrt(2 * layers))
    return {
        "weight": {"kernel_init": weight, "bias_init": jinit.zeros()},
        "projection": {"kernel_init": projection, "bias_init": jinit.zeros()},
        "embedding": {"embedding_init": weight},
        "norm": {"scale_init": jinit.ones(), "bias_init": jinit.zeros()},
    }


def _torch_law_inits(d_model: int) -> dict[str, Any]:
    """PyTorch's default laws for every NNX parameter, through
    ``jinit.preset("torch")``."""
    import jinit

    torch = jinit.preset("torch")

    def dense(fan_in: int) -> dict[str, Any]:
        return {"kernel_init": torch.kernel, "bias_init": torch.bias(fan_in)}

    return {
        "weight": dense(d_model),
        "projection": dense(d_model),
        "fc_projection": dense(4 * d_model),
        "embedding": {"embedding_init": torch.embedding},
        "norm": {"scale_init": jinit.ones(), "bias_init": jinit.zeros()},
    }


def _lecun_inits() -> dict[str, Any]:
    """``lecun_normal()`` weights, zero biases, N(0, 1) embeddings."""
    import jinit

    dense = {"kernel_init": jinit.lecun_normal(), "bias_init": jinit.zeros()}
    return {
        "weight": dense,
        "projection": dense,
        "embedding": {"embedding_init": jinit.random_normal(stddev=1.0)},
        "norm": {"scale_init": jinit.ones(), "bias_init": jinit.zeros()},
    }


def _zeros_inits(everywhere: bool) -> dict[str, Any]:
    """``jinit.zeros()`` for the weights and embeddings, and for biases and
    norms too if ``everywhere`` (else Flax's defaults)."""
    import jinit

    zeros = jinit.zeros()
    dense = {"kernel_init": zeros} | (
        {"bias_init": zeros} if everywhere else {}
    )
    return {
        "weight": dense,
        "projection": dense,
        "embedding": {"embedding_init": zeros},
        "norm": {"scale_init": zeros, "bias_init": zeros} if everywhere else {},
    }


def _jinit_rules(layers: int) -> list[tuple[str, Any]]:
    """The rules of :func:`_jinit_inits` over the model's paths."""
    import jinit

    return [
        (
            r"_proj/kernel",
            jinit.random_normal(stddev=STDDEV / math.sqrt(2 * layers)),
        ),
        (r"(kernel|embedding|weight)$", jinit.random_normal(stddev=STDDEV)),
        (r"scale$", jinit.ones()),
        (r"bias$", jinit.zeros()),
    ]


def _equinox(sizes: dict[str, int], key: Any) -> Any:
    """The Equinox model, Equinox's initialization, from ``key``."""
    import equinox as eqx
    import jax

    d, layers = sizes["d_model"], sizes["layers"]
    keys = iter(jax.random.split(key, 2 + 4 * layers))

    class Block(eqx.Module):
        ln_1: eqx.nn.LayerNorm
        attn: eqx.nn.Linear
        attn_proj: eqx.nn.Linear
        ln_2: eqx.nn.LayerNorm
        fc: eqx.nn.Linear
        fc_proj: eqx.nn.Linear

        def __init__(self) -> None:
            self.ln_1 = eqx.nn.LayerNorm(d)
            self.attn = eqx.nn.Linear(d, 3 * d, key=next(keys))
            self.attn_proj = eqx.nn.Linear(d, d, key=next(keys))
            self.ln_2 = eqx.nn.LayerNorm(d)
            self.fc = eqx.nn.Linear(d, 4 * d, key=next(keys))
            self.fc_proj = eqx.nn.Linear(4 * d, d, key=next(keys))

    class Model(eqx.Module):
        wte: eqx.nn.Embedding
        wpe: eqx.nn.Embedding
        blocks: list[Block]
        ln_f: eqx.nn.LayerNorm

        def __init__(self) -> None:
            self.wte = eqx.nn.Embedding(sizes["vocab"], d, key=next(keys))
            self.wpe = eqx.nn.Embedding(sizes["context"], d, key=next(keys))
            self.blocks = [Block() for _ in range(layers)]
            self.ln_f = eqx.nn.LayerNorm(d)

    return Model()


def _torch(sizes: dict[str, int], laws: str = "default") -> Any:
    """The PyTorch model: its default initialization, ``laws="lecun"``
    (``trunc_normal_`` of ``lecun_normal``'s law, zero biases, ``normal_``
    embeddings) or ``laws="none"`` (modules made by ``skip_init``, not
    filled)."""
    import torch

    d, layers = sizes["d_model"], sizes["layers"]
    nn = torch.nn

    def make(module: type, *arguments: int) -> Any:
        if laws == "default":
            return module(*arguments)
        made = torch.nn.utils.skip_init(module, *arguments)
        if laws == "lecun":
            if module is nn.Linear:
                stddev = 1 / math.sqrt(arguments[0]) / TRUNCATED_STDDEV
                nn.init.trunc_normal_(
                    made.weight, std=stddev, a=-2 * stddev, b=2 * stddev
                )
                nn.init.zeros_(made.bias)
            else:
                nn.init.normal_(made.weight)
        return made

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = make(nn.Linear, d, 3 * d)
            self.attn_proj = make(nn.Linear, d, d)
            self.fc = make(nn.Linear, d, 4 * d)
            self.fc_proj = make(nn.Linear, 4 * d, d)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = make(nn.Embedding, sizes["vocab"], d)
            self.wpe = make(nn.Embedding, sizes["context"], d)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)

    return Model()


def floor(way: str) -> str | None:
    """The way building ``way``'s modules with nothing drawn, if any."""
    if way.startswith("torch"):
        return "torch-no-draw"
    if way.startswith("nnx"):
        return "nnx-zeros"
    return None


def available(way: str) -> bool:
    """Whether the libraries building the model ``way`` are installed."""
    needs = {
        "torch": ("torch",),
        "torch-trunc-normal": ("torch",),
        "torch-no-draw": ("torch",),
        "equinox": ("equinox",),
        "equinox-jinit": ("equinox",),
    }.get(way, ("flax",))
    return all(importlib.util.find_spec(name) is not None for name in needs)


def builder(way: str, sizes: dict[str, int]) -> Callable[[], Any]:
    """``build()``: the model built ``way``, every parameter ready."""
    if way.startswith("torch"):
        laws = {"torch": "default", "torch-trunc-normal": "lecun"}
        return lambda: _torch(sizes, laws.get(way, "none"))
    import jax

    if way.startswith("equinox"):
        import equinox as eqx

        def equinox() -> Any:
            return _equinox(sizes, jax.random.key(0))

        if way == "equinox":
            return equinox

        import jinit.equinox

        def through_jinit() -> Any:
            abstract = eqx.filter_eval_shape(equinox)
            return jinit.equinox.reinit(
                abstract, jax.random.key(0), _jinit_rules(sizes["layers"])
            )

        return through_jinit
    from flax import nnx

    if way == "nnx-abstract":
        import jinit.flax

        def abstract() -> Any:
            model = nnx.eval_shape(
                lambda: _nnx(_jinit_inits(sizes["layers"]), sizes, nnx.Rngs(0))
            )
            return jinit.flax.reinit(
                model, jax.random.key(0), _jinit_rules(sizes["layers"])
            )

        return abstract
    way = way.removesuffix("-first-run")
    inits = {
        "nnx-flax": lambda: {
            role: {} for role in ("weight", "projection", "embedding", "norm")
        },
        "nnx-no-draw": lambda: _zeros_inits(everywhere=False),
        "nnx-zeros": lambda: _zeros_inits(everywhere=True),
        "nnx-jinit": lambda: _jinit_inits(sizes["layers"]),
        "nnx-torch-laws": lambda: _torch_law_inits(sizes["d_model"]),
        "nnx-lecun": _lecun_inits,
    }[way]
    return lambda: _nnx(inits(), sizes, nnx.Rngs(0))


def _ready(model: Any) -> None:
    """Waits for every array of ``model``."""
    if hasattr(model, "parameters"):  # torch: computed when returned.
        return
    import jax

    jax.block_until_ready(jax.tree.leaves(model))


def seconds(way: str, tiny: bool) -> dict[str, float]:
    """Seconds to build the model ``way`` in this process: the first build
    (``seconds``) and a second (``warm``); its parameter count; the threads
    jinit's host draws use (``cores``)."""
    if way.startswith("torch"):
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        torch.empty(1)
    else:
        import jax

        jax.block_until_ready(jax.jit(lambda x: x + 1)(1.0))
    build = builder(way, TINY if tiny else GPT2)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        model = build()
        _ready(model)
        times.append(time.perf_counter() - start)
    if way.startswith("torch"):
        count = sum(p.numel() for p in model.parameters())
    else:
        import jax

        count = sum(
            leaf.size
            for leaf in jax.tree.leaves(model)
            if hasattr(leaf, "size")
        )
    from jinit import _cores

    return {
        "seconds": times[0],
        "warm": times[1],
        "parameters": count,
        "cores": _cores.count(),
    }


@functools.cache
def _record(tiny: bool) -> str:
    """A ``JINIT_CACHE_DIR`` where the kernel's self-check has passed and
    the kernels of every way of :data:`RECORDING` are stored.

    Written by one untimed fresh process of each of those ways (at the
    smoke test's sizes where ``tiny``), removed when this process exits.
    """
    folder = tempfile.mkdtemp(prefix="jinit-record-")
    atexit.register(shutil.rmtree, folder, True)
    for way in RECORDING:
        if available(way):
            _fresh(way, tiny, folder)
    return folder


def _fresh(way: str, tiny: bool, record: str) -> dict[str, float]:
    return measure.in_fresh_process(
        "benchmarks.construction",
        way,
        *(["--tiny"] if tiny else []),
        env={"OMP_WAIT_POLICY": "PASSIVE", "JINIT_CACHE_DIR": record},
    )


def in_fresh_process(way: str, tiny: bool) -> dict[str, float]:
    """:func:`seconds` in a new Python process.

    Raises:
      RuntimeError: the process failed (its stderr is included).
    """
    if way != "nnx-jinit-first-run":
        return _fresh(way, tiny, _record(tiny))
    with tempfile.TemporaryDirectory() as fresh:
        return _fresh(way, tiny, fresh)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.construction",
        description="Prints, as JSON, the seconds one fresh process takes "
        "to build the GPT-2-small-shaped model one way.",
    )
    parser.add_argument("way", choices=WAYS)
    parser.add_argument(
        "--tiny", action="store_true", help="the smoke test's sizes"
    )
    args = parser.parse_args(argv)
    print(json.dumps(seconds(args.way, args.tiny)))


if __name__ == "__main__":
    main()

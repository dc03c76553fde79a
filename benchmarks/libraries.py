"""The libraries benchmarked side by side, each as the same set of
initializers.

A JAX-based library gives, for an initializer, a shape and a dtype, a pure
function ``draw(key) -> jax.Array`` that the benchmark can ``jax.jit`` and
``jax.vmap``. PyTorch gives a function ``draw() -> torch.Tensor`` that
allocates the tensor and fills it in place, as ``torch.nn.init`` is used.

Libraries that are not installed are skipped; :func:`available` says which.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp

import jinit

# The initializers compared, by what they compute. "uniform", "normal" and
# "truncated_normal" are the fixed laws (std 0.05; truncation at 2 std); the
# others follow each library's own definition, which for torch's xavier and
# kaiming normal is an untruncated normal.
INITIALIZERS = (
    "uniform",
    "normal",
    "truncated_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
)
ORTHOGONAL = "orthogonal"
JAX_LIBRARIES = ("jinit", "jax", "haiku", "keras")
ALL_LIBRARIES = (*JAX_LIBRARIES, "torch")


def available() -> dict[str, bool]:
    """Which libraries can be benchmarked here."""
    return {
        library: importlib.util.find_spec(library) is not None
        for library in ALL_LIBRARIES
    }


def version(library: str) -> str:
    return importlib.import_module(library).__version__


def _jinit(name: str):
    return {
        "uniform": jinit.random_uniform(-0.05, 0.05),
        "normal": jinit.random_normal(0.0, 0.05),
        "truncated_normal": jinit.truncated_normal(0.0, 0.05),
        "glorot_uniform": jinit.glorot_uniform(),
        "glorot_normal": jinit.glorot_normal(),
        "he_normal": jinit.he_normal(),
        "orthogonal": jinit.orthogonal(),
    }[name]


def _jax(name: str):
    initializers = jax.nn.initializers
    return {
        "uniform": initializers.uniform(0.1),  # U[0, 0.1): the same work.
        "normal": initializers.normal(0.05),
        "truncated_normal": initializers.truncated_normal(0.05),
        "glorot_uniform": initializers.glorot_uniform(),
        "glorot_normal": initializers.glorot_normal(),
        "he_normal": initializers.he_normal(),
        "orthogonal": initializers.orthogonal(),
    }[name]


def _haiku(name: str):
    import haiku as hk

    initializers = hk.initializers
    return {
        "uniform": initializers.RandomUniform(-0.05, 0.05),
        "normal": initializers.RandomNormal(0.05),
        "truncated_normal": initializers.TruncatedNormal(0.05),
        "glorot_uniform": initializers.VarianceScaling(
            1.0, "fan_avg", "uniform"
        ),
        "glorot_normal": initializers.VarianceScaling(
            1.0, "fan_avg", "truncated_normal"
        ),
        "he_normal": initializers.VarianceScaling(
            2.0, "fan_in", "truncated_normal"
        ),
        "orthogonal": initializers.Orthogonal(),
    }[name]


def _keras_class(name: str):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    initializers = keras.initializers
    return {
        "uniform": initializers.RandomUniform,
        "normal": initializers.RandomNormal,
        "truncated_normal": initializers.TruncatedNormal,
        "glorot_uniform": initializers.GlorotUniform,
        "glorot_normal": initializers.GlorotNormal,
        "he_normal": initializers.HeNormal,
        "orthogonal": initializers.Orthogonal,
    }[name]


def jax_draw(
    library: str, name: str, shape: tuple[int, ...], dtype: str
) -> Callable[[jax.Array], jax.Array]:
    """``draw(key)`` computing initializer ``name`` of ``library`` at
    ``shape`` in ``dtype``; pure, so it can be jitted and vmapped."""
    dtype = jnp.dtype(dtype)
    if library in ("jinit", "jax"):
        init = (_jinit if library == "jinit" else _jax)(name)
        return lambda key: init(key, shape, dtype)
    if library == "haiku":
        import haiku as hk

        init = _haiku(name)
        model = hk.transform(
            lambda: hk.get_parameter("w", shape, dtype, init=init)
        )
        return lambda key: model.init(key)["~"]["w"]
    if library == "keras":
        cls = _keras_class(name)

        def draw(key):
            init = cls()
            # Keras takes int or SeedGenerator seeds; its JAX backend also
            # draws from a raw key array, which keeps the key a traced input
            # (a constant seed would let XLA fold the draw at compile time).
            init.seed = jax.random.key_data(key)
            return init(shape, dtype.name)

        return draw
    raise ValueError(
        f"`library` must be one of {JAX_LIBRARIES}; got {library!r}."
    )


def torch_draw(
    name: str, shape: tuple[int, ...], dtype: str
) -> Callable[[], object]:
    """``draw()`` allocating a tensor and initializing it with
    ``torch.nn.init``."""
    import torch

    init = torch.nn.init
    fill = {
        "uniform": lambda t: init.uniform_(t, -0.05, 0.05),
        "normal": lambda t: init.normal_(t, 0.0, 0.05),
        "truncated_normal": lambda t: init.trunc_normal_(
            t, 0.0, 0.05, -0.1, 0.1
        ),
        "glorot_uniform": init.xavier_uniform_,
        "glorot_normal": init.xavier_normal_,
        "he_normal": init.kaiming_normal_,
        "orthogonal": init.orthogonal_,
    }[name]
    torch_dtype = getattr(torch, dtype)
    return lambda: fill(torch.empty(shape, dtype=torch_dtype))

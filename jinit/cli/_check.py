"""``python -m jinit check``: is my initialization right? A demonstration.

A deep ReLU MLP diagnosed under He and under Glorot, and the muP
coordinate check of a 3-layer MLP in the standard parametrization and in
muP. Uses jinit's public API only.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import jinit

# The deep MLP: DEPTH square layers of WIDTH on a batch of BATCH.
DEPTH, WIDTH, BATCH = 20, 256, 512
# The coordinate check: input 32, output 10, Adam at 0.01, 3 steps, muP's
# base width the smallest.
WIDTHS = (64, 128, 256, 512, 1024)
LEARNING_RATE, STEPS = 0.01, 3


def _deep_relu(params: list[jax.Array], x: jax.Array) -> jax.Array:
    for w in params[:-1]:
        x = jax.nn.relu(x @ w)
    return x @ params[-1]


def _three_layers(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    h = jax.nn.relu(x @ params["0_in"])
    h = jax.nn.relu(h @ params["1_hidden"])
    return h @ params["2_out"]


def _shapes(width: int) -> dict[str, jax.ShapeDtypeStruct]:
    return {
        "0_in": jax.ShapeDtypeStruct((32, width), jnp.float32),
        "1_hidden": jax.ShapeDtypeStruct((width, width), jnp.float32),
        "2_out": jax.ShapeDtypeStruct((width, 10), jnp.float32),
    }


def _specs(width: int) -> Any:
    return jinit.assign(_shapes(width), [(".*", jinit.lecun_normal())])


def diagnoses() -> list[tuple[str, jinit.Diagnosis]]:
    """The deep ReLU MLP under He and under Glorot."""
    keys = jax.random.split(jax.random.key(0), DEPTH)
    x = jax.random.normal(jax.random.key(1), (BATCH, WIDTH))
    found = []
    for name, init in (
        ("he_normal", jinit.he_normal()),
        ("glorot_normal", jinit.glorot_normal()),
    ):
        params = [init(key, (WIDTH, WIDTH)) for key in keys]
        found.append((name, jinit.diagnose(_deep_relu, params, x)))
    return found


def coord_checks() -> list[tuple[str, jinit.CoordCheck]]:
    """The coordinate check of the 3-layer MLP, standard and muP."""
    import optax

    base = WIDTHS[0]
    x = jax.random.normal(jax.random.key(1), (64, 32))
    labels = jax.random.randint(jax.random.key(2), (64,), 0, 10)
    key = jax.random.key(0)

    def loss(out: jax.Array, labels: jax.Array) -> jax.Array:
        return jnp.mean(
            optax.softmax_cross_entropy_with_integer_labels(out, labels)
        )

    def mup_adam(width: int) -> Any:
        factors = jinit.mup_learning_rates(_shapes(width), _shapes(base))
        return optax.chain(
            optax.adam(LEARNING_RATE),
            optax.GradientTransformation(
                lambda params: optax.EmptyState(),
                lambda updates, state, params=None: (
                    jax.tree.map(lambda u, f: u * f, updates, factors),
                    state,
                ),
            ),
        )

    makers: list[tuple[str, Callable[[int], Any], Any]] = [
        (
            "standard parametrization, Adam",
            lambda width: (
                _three_layers,
                jinit.materialize(key, _specs(width)),
            ),
            optax.adam(LEARNING_RATE),
        ),
        (
            "muP (jinit.mup, jinit.mup_learning_rates), Adam",
            lambda width: (
                _three_layers,
                jinit.materialize(key, jinit.mup(_specs(width), _specs(base))),
            ),
            mup_adam,
        ),
    ]
    return [
        (
            name,
            jinit.coord_check(
                make,
                WIDTHS,
                (x, labels),
                loss=loss,
                optimizer=optimizer,
                steps=STEPS,
            ),
        )
        for name, make, optimizer in makers
    ]


def check(plot: str | None) -> str:
    """The demonstration's tables, and with ``plot`` its figures.

    The figures are written into the directory ``plot`` (created if
    missing).
    """
    folder = None if plot is None else pathlib.Path(plot)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, report in diagnoses():
        parts.append(
            f"== A {DEPTH}-layer ReLU MLP, width {WIDTH}, under "
            f"jinit.{name}()\n{report}"
        )
        if folder is not None:
            report.plot(folder / f"diagnose_{name}.png")
    try:
        checks = coord_checks()
    except ImportError:
        parts.append(
            "== The muP coordinate check needs optax: pip install "
            "'jinit[diagnose]'"
        )
        checks = []
    for n, (name, result) in enumerate(checks):
        parts.append(
            f"== Coordinate check of a 3-layer ReLU MLP: {name}\n{result}"
        )
        if folder is not None:
            result.plot(folder / f"coord_check_{('standard', 'mup')[n]}.png")
    if folder is not None:
        parts.append(f"Figures written to {folder}.")
    return "\n\n".join(parts)

"""``python -m benchmarks.eager``: eager draws against the same draws jitted.

In one fresh process, float32, for each law at GPT-2 small's MLP shape
(3072×768, 2.36M elements):

* ``eager``: the initializer called eagerly with a new key each time, each
  result dropped (as a loop re-initializing a layer does), the median of
  :data:`REPEATS` calls after :data:`WARM_UP` calls (which compile its
  kernels: the one for big calls in the background, once 32M elements have
  been drawn, ready some ten calls later);
* ``new shape``: the first eager call at each of :data:`NEW_SHAPES` shapes
  not drawn before (3080×768, 3088×768, ...), the median;
* ``jitted``: the same draw compiled for the shape, called with a new key
  each time, each result dropped, timed in turn with ``eager``.

Prints a Markdown table: milliseconds per draw and the ratios to the jitted
draw. ``--quick`` runs it at 64×64, a smoke test rather than a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import jax

import jinit

WARM_UP = 40
REPEATS = 40
NEW_SHAPES = 10


def laws() -> dict[str, Callable[..., jax.Array]]:
    """The laws timed, by name."""
    return {
        "lecun_normal": jinit.lecun_normal(),
        "random_normal": jinit.random_normal(),
        'preset("torch").kernel': jinit.preset("torch").kernel,
    }


def _seconds(run: Callable[[], jax.Array]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(run())
    return time.perf_counter() - start


def figures(
    init: Callable[..., jax.Array], shape: tuple[int, int]
) -> dict[str, float]:
    """Median seconds of one law's eager, new-shape and jitted draws."""
    keys = jax.block_until_ready(
        [jax.random.key(seed) for seed in range(WARM_UP + REPEATS)]
    )
    for key in keys[:WARM_UP]:
        jax.block_until_ready(init(key, shape))
    jitted = jax.jit(lambda key: init(key, shape))
    jax.block_until_ready(jitted(keys[0]))
    eager, compiled = [], []
    for key in keys[WARM_UP:]:
        eager.append(_seconds(lambda key=key: init(key, shape)))
        compiled.append(_seconds(lambda key=key: jitted(key)))
    rows, columns = shape
    new_shape = [
        _seconds(lambda i=i: init(keys[i], (rows + 8 * (i + 1), columns)))
        for i in range(NEW_SHAPES)
    ]
    return {
        "eager": statistics.median(eager),
        "new shape": statistics.median(new_shape),
        "jitted": statistics.median(compiled),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.eager",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--quick", action="store_true", help="64×64: a smoke test"
    )
    args = parser.parse_args(argv)
    shape = (64, 64) if args.quick else (3072, 768)
    print(
        f"Eager draws against jitted, {shape[0]}×{shape[1]} float32, "
        f"median ms (eager: a new key each call, after {WARM_UP} calls; "
        f"new shape: the first call at each of {NEW_SHAPES} new shapes)"
    )
    print(
        "| law | eager ms | new shape ms | jitted ms | eager ÷ jitted | "
        "new shape ÷ jitted |"
    )
    print("|---|---|---|---|---|---|")
    for name, init in laws().items():
        row = figures(init, shape)
        print(
            f"| {name} | {row['eager'] * 1e3:.2f} | "
            f"{row['new shape'] * 1e3:.2f} | {row['jitted'] * 1e3:.2f} | "
            f"{row['eager'] / row['jitted']:.2f}× | "
            f"{row['new shape'] / row['jitted']:.2f}× |"
        )


if __name__ == "__main__":
    main()

"""``python -m benchmarks.cores``: one large draw on 1, 2, ... and all cores.

Each row is a fresh process restricted to its first ``n`` cores
(``os.sched_setaffinity`` before JAX starts, as ``taskset`` would: XLA's
thread pool and jinit's host threads both follow it). The process draws the
law once at another shape (its kernel compiled), then times the eager draw
of a 64M-element ``random_normal`` at a shape it has not drawn (the median
of 3, each at a new shape: the first call at a new shape), and the same
draw jitted (compiled first). Prints the table; the speed-ups are over the
1-core process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

SHAPES = ((8192, 8192), (4096, 16384), (16384, 4096))


def _measure(cores: int) -> dict[str, float]:
    """The figures of this process, restricted to ``cores`` cores."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    import jax

    import jinit
    from jinit import _cores

    init = jinit.random_normal()
    key = jax.random.key(0)
    jax.block_until_ready(init(key, (1024, 1024)))  # The kernel compiled.
    eager = []
    for shape in SHAPES:
        start = time.perf_counter()
        jax.block_until_ready(init(key, shape))
        eager.append(time.perf_counter() - start)
    draw = jax.jit(lambda key: init(key, SHAPES[0]))
    jax.block_until_ready(draw(key))
    jitted = []
    for _ in SHAPES:
        start = time.perf_counter()
        jax.block_until_ready(draw(key))
        jitted.append(time.perf_counter() - start)
    return {
        "eager": statistics.median(eager),
        "jitted": statistics.median(jitted),
        "threads": _cores.count(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cores", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--cores", type=int, default=None, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.cores is not None:
        print(json.dumps(_measure(args.cores)))
        return
    available = len(os.sched_getaffinity(0))
    counts = sorted({1, min(2, available), available})
    rows = {}
    for cores in counts:
        run = subprocess.run(
            [sys.executable, "-m", "benchmarks.cores", "--cores", str(cores)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows[cores] = json.loads(run.stdout.splitlines()[-1])
    elements = SHAPES[0][0] * SHAPES[0][1]
    print(
        "64M-element random_normal, float32, eager first call at a new "
        "shape (median of 3), each core count a fresh process"
    )
    print(
        "| cores | jinit threads | eager s | ns/element | speed-up | "
        "jitted s | eager ÷ jitted |"
    )
    print("|---|---|---|---|---|---|---|")
    for cores, row in rows.items():
        print(
            f"| {cores} | {row['threads']} | {row['eager']:.3f} | "
            f"{row['eager'] / elements * 1e9:.2f} | "
            f"{rows[1]['eager'] / row['eager']:.2f}× | {row['jitted']:.3f} | "
            f"{row['eager'] / row['jitted']:.2f}× |"
        )


if __name__ == "__main__":
    main()

"""``python -m benchmarks.device_check``: one check of jinit on whatever
backend JAX finds (CPU, GPU or TPU), printing one summary.

1. Bit identity: jinit's draws against ``jax.random``'s (and the
   ``jax.nn.initializers`` equivalents) for the same keys, eagerly and under
   ``jit``, at several shapes, float32 and float64 where x64 is on.
2. Compilations: XLA compilations of eager calls at new shapes, after the
   first call of each kind.
3. Throughput: jinit against ``jax.nn.initializers`` (and torch where
   installed), side by side.
4. Building a model: the GPT-2-small-shaped construction of
   :mod:`benchmarks.construction`, each way in a fresh process.

It takes a few minutes; ``--quick`` runs small sizes in seconds. The summary
ends with ``device check: PASSED`` or ``device check: FAILED``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import jax
import numpy as np

import jinit
from benchmarks import libraries, report, suites

SHAPES = ((3, 5), (256, 384), (4, 1000, 77))
# jinit initializer: the jax.nn.initializers one drawing the same values.
SAME_AS_JAX = {
    "normal": (
        jinit.random_normal(stddev=0.05),
        jax.nn.initializers.normal(0.05),
    ),
    "uniform": (
        jinit.random_uniform(0.0, 0.05),
        jax.nn.initializers.uniform(0.05),
    ),
    "truncated_normal": (
        jinit.variance_scaling(2.0, "fan_in", "truncated_normal"),
        jax.nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal"),
    ),
    "glorot_uniform": (
        jinit.glorot_uniform(),
        jax.nn.initializers.glorot_uniform(),
    ),
    "lecun_normal": (jinit.lecun_normal(), jax.nn.initializers.lecun_normal()),
}
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def bit_identity() -> list[str]:
    """The failures: every case eager and jitted, against JAX's draw."""
    failures = []
    dtypes = [np.float32] + (
        [np.float64] if jax.config.read("jax_enable_x64") else []
    )
    key = jax.random.key(2024)
    for name, (ours, theirs) in SAME_AS_JAX.items():
        for shape in SHAPES:
            for dtype in dtypes:
                expected = np.asarray(theirs(key, shape, dtype))
                for mode, made in (
                    ("eager", ours(key, shape, dtype)),
                    (
                        "jit",
                        jax.jit(ours, static_argnums=(1, 2))(key, shape, dtype),
                    ),
                ):
                    if np.asarray(made).tobytes() != expected.tobytes():
                        failures.append(
                            f"{name} {shape} {np.dtype(dtype).name} {mode}"
                        )
    return failures


def compilations_at_new_shapes() -> int:
    """XLA compilations of eager calls at 12 new shapes, after one call
    of each kind."""
    compiled = [0]

    def count(event: str, duration: float, **kwargs: object) -> None:
        del duration, kwargs
        compiled[0] += event == COMPILE_EVENT

    key = jax.random.key(7)
    kinds = [
        jinit.he_normal(),
        jinit.glorot_uniform(),
        jinit.zeros(),
        jinit.identity(),
    ]
    for init in kinds:
        init(key, (8, 8))
    jax.monitoring.register_event_duration_secs_listener(count)
    for size in (96, 200, 1031):
        jax.block_until_ready([init(key, (size, size + 1)) for init in kinds])
    return compiled[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.device_check",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one process per way"
    )
    args = parser.parse_args(argv)
    backend = jax.default_backend()
    print(f"jax {jax.__version__} on {backend}: {jax.devices()}", flush=True)
    failures = bit_identity()
    print(f"bit identity: {'ok' if not failures else failures}", flush=True)
    compiled = compilations_at_new_shapes()
    print(
        f"compilations of 12 eager calls at new shapes: {compiled}", flush=True
    )
    present = [
        name
        for name in ("jinit", "jax", "torch")
        if libraries.available()[name]
    ]
    size = 256 if args.quick else 4096
    tables = [
        suites.throughput(
            size,
            "float32",
            present,
            3 if args.quick else 11,
            0.0 if args.quick else 1.0,
        ),
        suites.first_call(
            "eager",
            ("normal", "he_normal"),
            present,
            2 if args.quick else 5,
            64 if args.quick else 1448,
        ),
        suites.build_a_model(present, 1 if args.quick else 3, tiny=args.quick),
    ]
    record = {
        "libraries": {name: libraries.version(name) for name in present},
        "tables": [table.as_dict() for table in tables],
    }
    print(report.text(record))
    passed = not failures and (backend != "cpu" or compiled == 0)
    print(f"\ndevice check on {backend}: {'PASSED' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

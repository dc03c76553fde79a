"""``python -m benchmarks``: jinit against jax.nn.initializers, Haiku, Keras 3
(JAX backend) and torch.nn.init, side by side in one process; what
``jinit.diagnose`` costs against a forward and backward pass; and whole
models initialized by jinit, jax.nn.initializers and torch.nn.init, each
first in a fresh process.

Prints tables of ratios, and writes ``benchmarks.json`` and ``speedups.png``
(with matplotlib) to ``--out``; ``--markdown PATH`` also writes the
BENCHMARKS.md page. Libraries that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
# torch's OpenMP threads otherwise spin after each call, taking the cores
# from whatever is timed next.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

from benchmarks import libraries, multihost, report, suites  # noqa: E402

FULL = {
    "sizes": (1024, 4096),
    "repeats": 11,
    "min_seconds": 1.0,
    "trials": 5,
    "base": 1448,
    "orthogonal": ((256, 256), (1024, 1024), (2048, 512), (3, 3, 64, 128)),
    "ensemble": (64, (512, 512)),
    "model_processes": 3,
    "model_warm_repeats": 3,
    "construction_processes": 3,
}
# A smoke test, not a measurement: every suite once, at one small size,
# and as few new shapes (each one a compilation) as will show it runs.
QUICK = {
    "sizes": (64,),
    "repeats": 1,
    "min_seconds": 0.0,
    "trials": 1,
    "base": 32,
    "orthogonal": ((32, 8),),
    "ensemble": (4, (32, 32)),
    "model_processes": 1,
    "model_warm_repeats": 1,
    "construction_processes": 1,
}


def _initializer_tables(
    settings: dict[str, Any], present: Sequence[str]
) -> list[suites.Table]:
    """The suites comparing initializers one by one, in this process."""
    timing = settings["repeats"], settings["min_seconds"]
    tables = []
    for size in settings["sizes"]:
        for dtype in ("float32", "bfloat16"):
            tables.append(suites.throughput(size, dtype, present, *timing))
            print(f"  done: {tables[-1].title}", flush=True)
    members, shape = settings["ensemble"]
    tables.append(suites.ensemble(members, shape, present, *timing))
    tables.append(suites.orthogonal(settings["orthogonal"], present, *timing))
    for mode in ("eager", "jit"):
        tables.append(
            suites.first_call(
                mode,
                ("normal", "truncated_normal", "glorot_uniform", "he_normal"),
                present,
                settings["trials"],
                settings["base"],
            )
        )
    print("  done: ensemble, orthogonal, first calls", flush=True)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small shapes and few repetitions (a smoke "
        "test, not a measurement)",
    )
    parser.add_argument(
        "--libraries",
        default=",".join(libraries.ALL_LIBRARIES),
        help="comma-separated subset of "
        f"{','.join(libraries.ALL_LIBRARIES)} (jinit is always included)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results"),
        help="directory for benchmarks.json and speedups.png",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write BENCHMARKS.md here",
    )
    parser.add_argument(
        "--only-models",
        action="store_true",
        help="run only the whole-model and model-building "
        "suites (the record has those tables only, and no "
        "chart)",
    )
    args = parser.parse_args(argv)

    wanted = {"jinit", *args.libraries.split(",")}
    unknown = wanted - set(libraries.ALL_LIBRARIES)
    if unknown:
        parser.error(
            f"--libraries: unknown {sorted(unknown)}; allowed: "
            f"{', '.join(libraries.ALL_LIBRARIES)}"
        )
    found = libraries.available()
    present = [
        name
        for name in libraries.ALL_LIBRARIES
        if name in wanted and found[name]
    ]
    skipped = [
        name
        for name in libraries.ALL_LIBRARIES
        if name in wanted and not found[name]
    ]
    if "torch" in present:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
    settings = QUICK if args.quick else FULL
    print(
        f"jax {jax.__version__} on {jax.default_backend()}; comparing "
        f"{', '.join(present)}"
        + (
            f"; not installed, skipped: {', '.join(skipped)}" if skipped else ""
        ),
        flush=True,
    )

    tables = [] if args.only_models else _initializer_tables(settings, present)
    diagnose_table = suites.diagnose_cost(
        settings["repeats"], settings["min_seconds"], tiny=args.quick
    )
    print("  done: jinit.diagnose", flush=True)
    model_table = suites.whole_models(
        present,
        settings["model_processes"],
        settings["model_warm_repeats"],
        tiny=args.quick,
    )
    print("  done: whole models", flush=True)
    construction_table = suites.build_a_model(
        present, settings["construction_processes"], tiny=args.quick
    )
    print("  done: building a model\n", flush=True)

    record = {
        "mode": "quick" if args.quick else "full",
        "repeats": settings["repeats"],
        "min_seconds": settings["min_seconds"],
        "source": report.source(),
        "machine": report.machine(),
        "libraries": {name: libraries.version(name) for name in present},
        "skipped": skipped,
        "tables": [
            table.as_dict()
            for table in (
                *tables,
                diagnose_table,
                model_table,
                construction_table,
            )
        ],
    }
    print(report.text(record))
    args.out.mkdir(parents=True, exist_ok=True)
    report.save_json(record, args.out / "benchmarks.json")
    charted = report.chart(record, args.out / "speedups.png")
    print(
        f"\nwrote {args.out / 'benchmarks.json'}"
        + (
            f" and {args.out / 'speedups.png'}"
            if charted
            else ""
            if args.only_models
            else " (no chart: matplotlib is not installed)"
        )
    )
    if args.markdown is not None:
        chart_path = (
            os.path.relpath(args.out / "speedups.png", args.markdown.parent)
            if charted
            else None
        )
        # The multi-host section (python -m benchmarks.multihost) is kept.
        kept = multihost.kept_section(args.markdown)
        args.markdown.write_text(
            report.markdown(record, chart_path) + ("\n" + kept if kept else "")
        )
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory and time of ``jinit.materialize`` across processes.

``python -m benchmarks.multihost [--markdown BENCHMARKS.md] [--quick]``

Runs ``examples/multihost_init.py`` (a sharded decoder of 530M parameters:
d = 1536, 16 layers, a 50304-token embedding in bfloat16) on 4 local
processes of one CPU device each, JAX's distributed runtime with Gloo, once
with only elementwise laws and constants (made shard by shard) and once
with an orthogonal, a sparse and a ``jax.nn.initializers`` leaf added
(computed whole on every process), and in one process for the time per
element. Prints, per process, the growth of its peak resident size while
``materialize`` ran against its share of the parameter bytes, and the
global digest of each run (the same key must give the same model on any
layout); then the expected time and memory per host at 7B-405B parameters
on 8-1024 hosts, from these figures. ``--markdown`` writes both tables into
``BENCHMARKS.md``'s multi-host section (``python -m benchmarks`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT

EXAMPLE = ROOT / "examples" / "multihost_init.py"
SECTION = "<!-- multihost: written by python -m benchmarks.multihost -->"
FULL = ["--width", "1536", "--layers", "16", "--vocab", "50304"]
QUICK = ["--width", "256", "--layers", "2", "--vocab", "1024"]
# name, the example's arguments beyond the model's.
RUNS = [
    ("1 process", []),
    (
        "4 processes, elementwise laws and constants",
        ["--local", "4", "--elementwise-only"],
    ),
    ("4 processes, with leaves computed whole", ["--local", "4"]),
]
MODELS = {"7B": 7e9, "70B": 70e9, "405B": 405e9}
HOSTS = (8, 64, 256, 1024)


def run(arguments: list[str]) -> dict[str, Any]:
    """The example's records: ``{"processes": [...], "total": digest}``."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *arguments, "--timeout", "900"],
        capture_output=True,
        text=True,
        timeout=1000,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if result.returncode:
        raise RuntimeError(
            f"{EXAMPLE.name} {' '.join(arguments)} failed:\n"
            f"{result.stderr[-3000:]}"
        )
    records = [
        json.loads(line)
        for line in result.stdout.splitlines()
        if line.startswith("{")
    ]
    (whole,) = [r for r in records if "total" in r]
    return {
        "processes": [r for r in records if "process" in r],
        "total": whole["total"],
    }


def _elements(bounds: list[list[int]]) -> int:
    """The number of elements of a shard of these ``[start, stop]``."""
    return math.prod(stop - start for start, stop in bounds)


def measure(model: list[str]) -> list[dict[str, Any]]:
    """One row per run of :data:`RUNS`."""
    rows = []
    for name, arguments in RUNS:
        print(f"  running: {name}", flush=True)
        records = run([*model, *arguments])
        per = records["processes"]
        rows.append(
            {
                "run": name,
                "total": records["total"],
                "share_mib": [r["share"] / 2**20 for r in per],
                "peak_growth_mib": [r["peak_growth"] / 2**20 for r in per],
                "ratio": [r["peak_growth"] / r["share"] for r in per],
                "seconds": [r["seconds"] for r in per],
                "elements": sum(
                    _elements(bounds)
                    for bounds, _ in (
                        shard
                        for shards in per[0]["shards"].values()
                        for shard in shards
                    )
                ),
            }
        )
    return rows


def memory_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| run | share per process | peak growth per process | "
        "peak ÷ share | materialize s | global digest |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['run']} | {_span(row['share_mib'], ' MiB')} | "
            f"{_span(row['peak_growth_mib'], ' MiB')} | "
            f"{_span(row['ratio'], '', 3)} | {_span(row['seconds'], '', 2)} "
            f"| `{row['total']}` |"
        )
    return lines


def _span(values: list[float], unit: str, digits: int = 0) -> str:
    low, high = min(values), max(values)
    if f"{low:.{digits}f}" == f"{high:.{digits}f}":
        return f"{low:.{digits}f}{unit}"
    return f"{low:.{digits}f}–{high:.{digits}f}{unit}"


def scale_table(rows: list[dict[str, Any]]) -> tuple[list[str], float, float]:
    """Expected seconds and GiB per host, from the one-process run's time
    per element (one CPU device) and the elementwise run's memory beyond
    the share."""
    single, elementwise = rows[0], rows[1]
    per_element = single["seconds"][0] / single["elements"]
    overhead_mib = max(
        g - s
        for g, s in zip(
            elementwise["peak_growth_mib"],
            elementwise["share_mib"],
            strict=True,
        )
    )
    lines = [
        "| parameters (float32) | "
        + " | ".join(f"{h} hosts" for h in HOSTS)
        + " |",
        "|---|" + "---|" * len(HOSTS),
    ]
    for name, parameters in MODELS.items():
        cells = []
        for hosts in HOSTS:
            share = parameters * 4 / hosts
            seconds = parameters / hosts * per_element
            cells.append(
                f"{share / 2**30 + overhead_mib / 1024:.1f} GiB, "
                f"{_duration(seconds)}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines, per_element, overhead_mib


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _split(path: Path) -> tuple[str, str]:
    """``path``'s text before the multi-host section, and the section."""
    before, marker, section = (
        path.read_text() if path.exists() else ""
    ).partition(SECTION)
    return before.rstrip("\n"), marker + section


def kept_section(path: Path) -> str:
    """The multi-host section of ``path`` ("" if none), for a rewrite of the
    rest of the page (``python -m benchmarks --markdown``) to keep."""
    return _split(path)[1]


def write_section(path: Path, text: str) -> None:
    """Replaces (or adds) the multi-host section at the end of ``path``."""
    before = _split(path)[0]
    path.write_text((before + "\n\n" if before else "") + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.multihost",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small model (a smoke test)"
    )
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    model = QUICK if args.quick else FULL
    rows = measure(model)
    # The one-process run and the last draw the same tree.
    same = rows[0]["total"] == rows[-1]["total"]
    scale, per_element, overhead = scale_table(rows)
    text = "\n".join(
        [
            SECTION,
            "",
            "## Across processes: memory and time per process",
            "",
            f"`python -m benchmarks.multihost`: `examples/multihost_init.py "
            f"{' '.join(model)}` ({rows[0]['elements'] / 1e6:.0f}M parameters, "
            "the embedding in bfloat16) on JAX's distributed runtime, "
            "processes of one CPU device each on this machine, Gloo "
            f"collectives, {os.cpu_count()} cores shared by all. Peak growth: "
            "the growth of the process's peak resident size (VmHWM, reset "
            "before) while `materialize` ran, against its share (the bytes of "
            "its shards). The same key gave "
            + (
                "the same global digest on 1 and 4 processes."
                if same
                else "DIFFERENT digests on 1 and 4 processes: a bug."
            ),
            "",
            *memory_table(rows),
            "",
            "### On paper: larger models, more hosts",
            "",
            f"From the figures above: {per_element * 1e9:.1f} ns per element "
            "for one CPU device (the one-process run, compilation included), "
            f"and {overhead:.0f} MiB per process beyond its share (compiled "
            "programs, the runtime). Each cell: memory per host for the "
            "parameters, and the time to draw them with one CPU device a host; "
            "divide the time by the devices drawing on each host (an "
            "accelerator draws 100× faster or more), and add each process's "
            "start (importing JAX, `jax.distributed.initialize`: a few "
            "seconds, whatever the size). Leaves computed whole add the "
            "largest such leaf to every host's memory, and their compiled "
            "programs (here 9 MiB leaves added about 100 MiB a process, "
            "mostly the compiler's). What bounds it beyond this: host memory "
            "bandwidth (writing the parameters, ~1.2 ns per float32 element "
            "here), one compilation per distinct (shape, "
            "sharding) of a sharded draw (0.1–0.3 s each, a few dozen in a "
            "transformer), and `jax.distributed.initialize` (the coordinator "
            "connects every process once, then is idle).",
            "",
            *scale,
            "",
        ]
    )
    print(text)
    if args.markdown is not None:
        write_section(args.markdown, text)
        print(f"wrote {args.markdown}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

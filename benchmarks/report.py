"""Tables of ratios, the JSON record, the bar chart and BENCHMARKS.md.

A ratio is the other library's median time divided by jinit's, on the same
row of the same run: above 1, jinit is that many times faster. The
whole-model table (``"models"`` in place of ``"seconds"``) has columns of its
own: sizes, seconds, ratios and peak memory.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax

from benchmarks import libraries

OTHERS = tuple(name for name in libraries.ALL_LIBRARIES if name != "jinit")
MODEL_HEADER = (
    "tensors",
    "parameters",
    "jinit cold s",
    "jinit-recorded cold s",
    "jax cold s",
    "jax÷jinit cold",
    "torch cold s",
    "jinit÷torch cold",
    "jinit-recorded÷torch cold",
    "jinit warm s",
    "jax warm s",
    "jax÷jinit warm",
    "jinit peak÷bytes",
    "jax peak÷bytes",
)


def machine() -> dict[str, Any]:
    """What the run ran on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = round(
            os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(device) for device in jax.devices()],
        "date": datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
    }


def source() -> str:
    """The git commit the run was made from, marked when the tree had
    uncommitted changes; "unknown" outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if changed else "")


def ratio(seconds: dict[str, float], library: str) -> float | None:
    if library not in seconds or "jinit" not in seconds:
        return None
    return seconds[library] / seconds["jinit"]


def _ratio_cell(seconds: dict[str, float], library: str) -> str:
    value = ratio(seconds, library)
    return "—" if value is None else f"{value:.3g}×"


def _cells(
    table: dict[str, Any], row: str, present: Sequence[str]
) -> list[str]:
    seconds = table["seconds"][row]
    cells = [row, f"{seconds['jinit'] * 1e3:.1f}"]
    if table["elements"]:
        cells.append(f"{seconds['jinit'] / table['elements'] * 1e9:.2f}")
    return cells + [_ratio_cell(seconds, library) for library in present]


def _header(table: dict[str, Any], present: Sequence[str]) -> list[str]:
    header = ["", "jinit ms"]
    if table["elements"]:
        header.append("jinit ns/elem")
    return header + [f"vs {library}" for library in present]


def _figure(figures: dict[str, float], library: str) -> str:
    return f"{figures[library]:.3g}" if library in figures else "—"


def _over_torch(figures: dict[str, float], library: str) -> str:
    """``library``'s time over PyTorch's: below 1, jinit is faster."""
    if library not in figures or "torch" not in figures:
        return "—"
    return f"{figures[library] / figures['torch']:.3g}×"


def _model_cells(model: str, row: dict[str, Any]) -> list[str]:
    cold, warm, peak = row["cold"], row["warm"], row["peak_memory"]
    return [
        model,
        str(row["tensors"]),
        f"{row['parameters'] / 1e6:.1f}M",
        _figure(cold, "jinit"),
        _figure(cold, "jinit-recorded"),
        _figure(cold, "jax"),
        _ratio_cell(cold, "jax"),
        _figure(cold, "torch"),
        _over_torch(cold, "jinit"),
        _over_torch(cold, "jinit-recorded"),
        _figure(warm, "jinit"),
        _figure(warm, "jax"),
        _ratio_cell(warm, "jax"),
        _figure(peak, "jinit"),
        _figure(peak, "jax"),
    ]


CONSTRUCTION_HEADER = ["seconds", "range", "÷ torch", "÷ nnx-no-draw"]


def _construction_cells(
    way: str, runs: Sequence[float], medians: dict[str, float]
) -> list[str]:
    median = statistics.median(runs)

    def over(other: str) -> str:
        return f"{median / medians[other]:.2f}×" if other in medians else "—"

    return [
        way,
        f"{median:.3f}",
        f"{min(runs):.3f}–{max(runs):.3f}",
        over("torch"),
        over("nnx-no-draw"),
    ]


DIAGNOSE_HEADER = ["ms", "÷ forward+backward", "MiB", "÷ forward+backward"]


def _diagnose_cells(
    name: str, row: dict[str, Any], base: dict[str, Any]
) -> list[str]:
    def over(figure: str) -> str:
        return (
            f"{row[figure] / base[figure]:.2f}×"
            if row[figure] and base[figure]
            else "—"
        )

    return [
        name,
        f"{row['seconds'] * 1e3:.1f}",
        over("seconds"),
        "—" if row["bytes"] is None else f"{row['bytes'] / 2**20:.0f}",
        over("bytes"),
    ]


def _grid(table: dict[str, Any], present: Sequence[str]) -> list[list[str]]:
    """A table's header (its first cell empty) and rows, as cells."""
    if "diagnose" in table:
        base = table["diagnose"]["forward+backward"]
        return [["", *DIAGNOSE_HEADER]] + [
            _diagnose_cells(name, row, base)
            for name, row in table["diagnose"].items()
        ]
    if "construction" in table:
        medians = {
            way: statistics.median(runs)
            for way, runs in table["construction"].items()
        }
        return [["", *CONSTRUCTION_HEADER]] + [
            _construction_cells(way, runs, medians)
            for way, runs in table["construction"].items()
        ]
    if "models" in table:
        return [["", *MODEL_HEADER]] + [
            _model_cells(model, row) for model, row in table["models"].items()
        ]
    return [_header(table, present)] + [
        _cells(table, row, present) for row in table["seconds"]
    ]


def text(record: dict[str, Any]) -> str:
    """The tables as aligned plain text."""
    present = [name for name in OTHERS if name in record["libraries"]]
    blocks = []
    for table in record["tables"]:
        rows = _grid(table, present)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [table["title"], *textwrap.wrap(table.get("note", ""), 79)]
        lines += [
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def markdown_tables(record: dict[str, Any]) -> str:
    present = [name for name in OTHERS if name in record["libraries"]]
    blocks = []
    for table in record["tables"]:
        header, *rows = _grid(table, present)
        header[0] = (
            "model"
            if "models" in table
            else "way"
            if "construction" in table
            else "computation"
            if "diagnose" in table
            else "initializer"
            if table["elements"]
            else "row"
        )
        lines = [f"### {table['title']}", ""]
        if "note" in table:
            lines += [table["note"], ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def save_json(record: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(record, indent=2) + "\n")


def chart(record: dict[str, Any], path: Path) -> bool:
    """A bar chart of the ratios of the throughput and ensemble tables;
    False (and no file) when the record has none or matplotlib is not
    installed."""
    tables = [table for table in record["tables"] if table.get("elements")]
    if not tables:
        return False
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [name for name in OTHERS if name in record["libraries"]]
    figure, axes = plt.subplots(
        len(tables), 1, squeeze=False, figsize=(9, 2.6 * len(tables))
    )
    width = 0.8 / max(len(present), 1)
    for axis, table in zip(axes[:, 0], tables, strict=True):
        rows = list(table["seconds"])
        for i, library in enumerate(present):
            values = [
                ratio(table["seconds"][row], library) or 0.0 for row in rows
            ]
            axis.bar(
                [r + i * width for r in range(len(rows))],
                values,
                width,
                label=f"vs {library}",
            )
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.set_xticks(
            [r + width * (len(present) - 1) / 2 for r in range(len(rows))],
            rows,
            fontsize=8,
        )
        axis.set_ylabel("× faster")
        axis.set_title(table["title"], fontsize=9)
    figure.suptitle(
        "jinit speed-up: other library's time / jinit's time", fontsize=10
    )
    figure.legend(
        *axes[0, 0].get_legend_handles_labels(),
        fontsize=8,
        ncol=len(present),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.97),
    )
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def markdown(record: dict[str, Any], chart_path: str | None) -> str:
    """The whole BENCHMARKS.md."""
    info = record["machine"]
    versions = ", ".join(
        f"{name} {record['libraries'][name]}"
        for name in libraries.ALL_LIBRARIES
        if name in record["libraries"]
    )
    skipped = ", ".join(record["skipped"]) or "none"
    lines = [
        "# Benchmarks",
        "",
        "Made by `python -m benchmarks --markdown BENCHMARKS.md` "
        f"({record['mode']} mode: after a warm-up call, the median of at least "
        f"{record['repeats']} timed calls and of at least "
        f"{record['min_seconds']:g} s of calls per library, every library "
        "timed in turn within each round, starting one further along each "
        "round; torch is timed after the JAX-based libraries, by itself, as "
        "its worker threads stay busy after each call). A ratio is the other "
        "library's time divided by "
        "jinit's on the same row of the same run: above 1, jinit is that "
        "many times faster. torch times include allocating the tensor "
        "(`torch.nn.init` fills in place).",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_gib']} GiB, {info['system']}; JAX backend "
        f"{info['jax_backend']}.",
        f"- Date: {info['date']}, from commit {record['source']}. Python "
        f"{info['python']}; {versions}.",
        f"- Libraries not installed, skipped: {skipped}.",
        "",
    ]
    if chart_path:
        lines += [f"![speed-ups]({chart_path})", ""]
    return "\n".join(lines) + "\n" + markdown_tables(record) + "\n"

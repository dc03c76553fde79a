"""The benchmark suites. Each returns a table: for every row (an initializer
or a shape), the seconds each library took, measured side by side; the
whole-model suite, for every model, several figures per library."""

from __future__ import annotations

import itertools
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax

from benchmarks import construction, diagnostics, libraries, measure, models

KEY = jax.random.key(0)


@dataclass
class Table:
    """Seconds per call, ``rows[row][library]``, of one comparison."""

    name: str
    title: str
    elements: int | None = None  # Per call, for ns/element; None if varied.
    rows: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "elements": self.elements,
            "seconds": self.rows,
        }


@dataclass
class ModelTable:
    """Whole-model initializations: ``rows[model]`` holds the model's
    ``tensors`` and ``parameters``, and per figure of
    :func:`benchmarks.models.figures` (``cold``, ``warm``, ``peak_memory``)
    each library's median, ``rows[model][figure][library]``."""

    name: str
    title: str
    note: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "note": self.note,
            "models": self.rows,
        }


@dataclass
class ConstructionTable:
    """Seconds to build one model each way, ``rows[way]`` one figure per
    fresh process (see :mod:`benchmarks.construction`)."""

    name: str
    title: str
    note: str
    parameters: int = 0
    rows: dict[str, list[float]] = field(default_factory=dict)
    # The second build of each process, per way.
    warm: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "note": self.note,
            "parameters": self.parameters,
            "construction": self.rows,
            "warm": self.warm,
        }


@dataclass
class DiagnoseTable:
    """``jinit.diagnose`` against one forward and backward pass:
    ``rows[contender]`` holds its ``seconds`` and ``bytes``."""

    name: str
    title: str
    note: str
    rows: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "note": self.note,
            "diagnose": self.rows,
        }


def _calls(
    name: str,
    shape: tuple[int, ...],
    dtype: str,
    present: Sequence[str],
    members: int | None = None,
) -> dict[str, Callable[[], Any]]:
    """One ready-to-time call per library: a compiled draw of ``name``, or
    with ``members`` that many independent draws stacked (``jax.vmap`` over
    split keys; torch: one initialized tensor per member)."""
    keys = KEY if members is None else jax.random.split(KEY, members)
    calls: dict[str, Callable[[], Any]] = {}
    for library in present:
        if library == "torch":
            draw = libraries.torch_draw(name, shape, dtype)
            calls[library] = (
                draw
                if members is None
                else (lambda draw=draw: [draw() for _ in range(members)])
            )
        else:
            draw = libraries.jax_draw(library, name, shape, dtype)
            compiled = jax.jit(draw if members is None else jax.vmap(draw))
            calls[library] = lambda compiled=compiled: compiled(keys)
    return calls


def _side_by_side(
    calls: dict[str, Callable[[], Any]], repeats: int, min_seconds: float
) -> dict[str, float]:
    """Median seconds of each call. The JAX-based libraries are timed in
    turn; torch after them, by itself: its worker threads stay busy for a
    while after each call and would take a core from the next JAX call
    (XLA splits a large loop across the cores), slowing it by up to 1.6×."""
    jax_calls = {name: call for name, call in calls.items() if name != "torch"}
    seconds = measure.medians(jax_calls, repeats, min_seconds)
    if "torch" in calls:
        seconds |= measure.medians(
            {"torch": calls["torch"]}, repeats, min_seconds
        )
    return seconds


def throughput(
    size: int,
    dtype: str,
    present: Sequence[str],
    repeats: int,
    min_seconds: float,
) -> Table:
    """Jitted draws of every initializer at ``(size, size)``."""
    shape = (size, size)
    table = Table(
        f"throughput_{size}_{dtype}",
        f"Throughput, {size}×{size} {dtype}, jitted",
        elements=size * size,
    )
    for name in libraries.INITIALIZERS:
        table.rows[name] = _side_by_side(
            _calls(name, shape, dtype, present), repeats, min_seconds
        )
    return table


def orthogonal(
    shapes: Sequence[tuple[int, ...]],
    present: Sequence[str],
    repeats: int,
    min_seconds: float,
) -> Table:
    """Jitted orthogonal draws (QR of a normal matrix) at several shapes."""
    table = Table("orthogonal", "Orthogonal, float32, jitted")
    for shape in shapes:
        table.rows["×".join(map(str, shape))] = _side_by_side(
            _calls(libraries.ORTHOGONAL, shape, "float32", present),
            repeats,
            min_seconds,
        )
    return table


def ensemble(
    members: int,
    shape: tuple[int, ...],
    present: Sequence[str],
    repeats: int,
    min_seconds: float,
) -> Table:
    """``members`` independent draws stacked, by ``jax.vmap`` over split
    keys (torch: one initialized tensor per member)."""
    table = Table(
        "ensemble",
        f"Ensemble of {members} × {'×'.join(map(str, shape))} "
        "float32, jax.vmap over keys, jitted",
        elements=members * shape[0] * shape[1],
    )
    for name in libraries.INITIALIZERS:
        table.rows[name] = _side_by_side(
            _calls(name, shape, "float32", present, members),
            repeats,
            min_seconds,
        )
    return table


def first_call(
    mode: str,
    names: Sequence[str],
    present: Sequence[str],
    trials: int,
    base: int,
) -> Table:
    """The first call at a shape nothing has drawn before, compile included,
    once the initializer has been called at another shape (its per-process
    start-up is not counted): ``mode`` "eager" calls the initializer
    directly, "jit" jits a function drawing it. Shapes around ``(base, base
    // 2)``, new for every call, row and library."""
    jax_present = [library for library in present if library != "torch"]
    table = Table(
        f"first_call_{mode}",
        f"First call at a new {base}×{base // 2} shape, {mode}, "
        "float32, compile included, after one call at another "
        "shape",
    )
    fresh = itertools.count()

    def new_shape() -> tuple[int, int]:
        k = next(fresh)
        return (base + 3 * k, base // 2 + k)

    def builder(library: str, name: str) -> Callable[[int], Callable[[], Any]]:
        def build(trial: int) -> Callable[[], Any]:
            shape = new_shape()
            if library == "torch":
                return libraries.torch_draw(name, shape, "float32")
            draw = libraries.jax_draw(library, name, shape, "float32")
            if mode == "jit":
                return lambda: jax.jit(draw)(KEY)
            return lambda: draw(KEY)

        return build

    libs = present if mode == "eager" else jax_present
    for name in names:
        calls = {library: builder(library, name) for library in libs}
        for build in calls.values():  # The first call of its kind.
            jax.block_until_ready(build(-1)())
        table.rows[name] = measure.first_calls(calls, trials)
    return table


def build_a_model(
    present: Sequence[str], processes: int, tiny: bool
) -> ConstructionTable:
    """The GPT-2-small-shaped model of :mod:`benchmarks.construction` built
    each way whose libraries are installed (torch's only if ``present``),
    each build in a fresh process, ``processes`` of them per way,
    the ways in turn; ``tiny``: at the smoke test's sizes, each way once in
    this process (a check that every way runs, not a measurement)."""
    ways = [
        way
        for way in construction.WAYS
        if construction.available(way)
        and (way != "torch" or "torch" in present)
    ]
    missing = [way for way in construction.WAYS if way not in ways]
    where = (
        "once each in this process (a smoke test)"
        if tiny
        else "in a fresh process, median over "
        f"{processes} process(es) per way, the ways in turn"
    )
    table = ConstructionTable(
        "construction",
        "Building a GPT-2-small-shaped model"
        + (
            ", float32, tiny sizes"
            if tiny
            else " (148 arrays, 124.4M parameters), float32"
        ),
        "Seconds from the start of construction to every parameter ready, "
        f"{where} (imports, the backend's start-up and JAX's first "
        "compilation of anything not counted). jinit's kernel self-check "
        "passed in an earlier process and is remembered, except in "
        "nnx-jinit-first-run. Ratios: this way's time over PyTorch's, and "
        "over NNX with nothing drawn (nnx-no-draw)."
        + (
            f" Not run (library missing or not asked for): "
            f"{', '.join(missing)}."
            if missing
            else ""
        ),
    )
    runs: dict[str, list[float]] = {way: [] for way in ways}
    warm: dict[str, list[float]] = {way: [] for way in ways}
    cores = 0
    for way in measure.in_turn(ways, 1 if tiny else processes):
        figures = (
            construction.seconds(way, tiny)
            if tiny
            else construction.in_fresh_process(way, tiny)
        )
        runs[way].append(figures["seconds"])
        warm[way].append(figures["warm"])
        cores = int(figures["cores"])
        table.parameters = int(figures["parameters"])
    table.rows = {way: runs[way] for way in ways}
    table.warm = warm
    table.note += (
        f" jinit's host draws used {cores} thread(s) (jinit._cores.count(): "
        "cores, cgroup quota, JINIT_HOST_THREADS), PyTorch "
        f"{os.cpu_count()}. Same laws: " + _same_laws(runs) + " Cost split "
        "(median seconds; floor: the framework with nothing drawn, draws: "
        "the second build over the floor, first build: its excess over the "
        "second): " + _cost_split(runs, warm)
    )
    return table


def _same_laws(runs: dict[str, list[float]]) -> str:
    """Each way against the PyTorch way drawing the same laws."""
    median = {
        way: statistics.median(times) for way, times in runs.items() if times
    }
    pairs = [
        f"{way} {median[way] / median[other]:.2f}× {other}"
        for way, other in construction.SAME_LAWS.items()
        if way in median and other in median
    ]
    return ("; ".join(pairs) or "not run") + "."


def _cost_split(
    runs: dict[str, list[float]], warm: dict[str, list[float]]
) -> str:
    """One clause per way: floor, draws, first build's excess."""
    clauses = []
    for way, cold in runs.items():
        floor_way = construction.floor(way)
        floor = (
            statistics.median(warm[floor_way])
            if floor_way in warm and warm[floor_way]
            else 0.0
        )
        second, first = statistics.median(warm[way]), statistics.median(cold)
        clauses.append(
            f"{way} {first:.3f} = floor {floor:.3f} + draws "
            f"{max(second - floor, 0.0):.3f} + first build "
            f"{first - second:.3f}"
        )
    return "; ".join(clauses) + "."


def whole_models(
    present: Sequence[str], processes: int, warm_repeats: int, tiny: bool
) -> ModelTable:
    """Each model of :data:`benchmarks.models.MODELS` initialized by jinit,
    ``jax.nn.initializers`` and torch (those of them ``present``), each
    measurement in a fresh process, ``processes`` of them per library, the
    libraries in turn; ``tiny``: at the smoke test's sizes."""
    # jinit-recorded needs jinit only.
    contenders = [
        name for name in models.LIBRARIES if name.split("-")[0] in present
    ]
    missing = [name for name in models.LIBRARIES if name not in contenders]
    table = ModelTable(
        "models",
        "Whole models, float32" + (", tiny sizes" if tiny else ""),
        "Cold: from building the tree of specs to the initialized tree, in "
        "a fresh process, compilation included (imports, backend start-up "
        "and JAX's first compilation of anything, which loads its compiler, "
        f"not), median over {processes} process(es) per library. jinit as "
        "by default (JINIT_CACHE_DIR empty): each process runs the kernel's "
        "self-check, while its first draws are made, and compiles its "
        "kernels; jinit-recorded with the record on, written by one untimed "
        "process per model (the check passed, the kernels stored). "
        "Warm: again in the same process with a new key, median of "
        f"{warm_repeats}. Peak memory: growth of the peak resident memory "
        "during the cold initialization, in parameter bytes."
        + (f" Not run: {', '.join(missing)}." if missing else ""),
    )
    for model in models.MODELS:
        runs: dict[str, list[dict[str, float]]] = {
            name: [] for name in contenders
        }
        for library in measure.in_turn(contenders, processes):
            runs[library].append(
                models.in_fresh_process(model, library, tiny, warm_repeats)
            )
        sizes = models.size(models.build(model, tiny))
        table.rows[model] = {
            "tensors": sizes["tensors"],
            "parameters": sizes["parameters"],
            **{
                figure: {
                    library: statistics.median(
                        run[figure] for run in runs[library]
                    )
                    for library in contenders
                }
                for figure in ("cold", "warm", "peak_memory")
            },
        }
    return table


def diagnose_cost(
    repeats: int, min_seconds: float, tiny: bool
) -> DiagnoseTable:
    """:func:`benchmarks.diagnostics.cost` as a table."""
    figures = diagnostics.cost(repeats, min_seconds, tiny)
    table = DiagnoseTable(
        "diagnose",
        "jinit.diagnose on a GPT-2-small-shaped model"
        + (", tiny sizes" if tiny else ""),
        f"{figures['parameters'] / 1e6:.1f}M parameters, a batch of "
        f"{figures['tokens']} tokens, float32, jitted: one forward and "
        "backward pass of the next-token cross-entropy (its gradient with "
        "respect to every parameter) against jinit.diagnose of the same "
        f"function and loss ({figures['records']} weight operations). "
        "Median seconds, timed in turn; memory: XLA's temporary and output "
        "buffers of each compiled program.",
    )
    table.rows = {
        name: {
            "seconds": figures["seconds"][name],
            "bytes": figures["bytes"][name],
        }
        for name in figures["seconds"]
    }
    return table

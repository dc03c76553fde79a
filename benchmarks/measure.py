"""Timing, side by side in one process.

Every contender of a comparison is timed in turn within each repetition
(round robin, starting one further along each time so that none always runs
right after the same other), so drifts of the machine (frequency, other load,
a thread pool still spinning after the previous call) hit all of them alike,
and the median over repetitions is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax

ROOT = Path(__file__).resolve().parents[1]


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(call())  # A torch tensor is ready on return.
    return time.perf_counter() - start


def in_turn(names: Sequence[str], rounds: int) -> Iterator[str]:
    """``names``, ``rounds`` times over, each round starting one further
    along."""
    for repeat in range(rounds):
        start = repeat % len(names)
        yield from [*names[start:], *names[:start]]


def medians(
    calls: Mapping[str, Callable[[], Any]],
    repeats: int,
    min_seconds: float = 0.0,
) -> dict[str, float]:
    """Median seconds per call of each of ``calls``, after one untimed
    warm-up call each (which compiles), over at least ``repeats`` rounds and
    enough rounds (at most 200) for each contender to run ``min_seconds``:
    short calls are the noisy ones."""
    for call in calls.values():
        _timed(call)
    slowest = max(_timed(call) for call in calls.values())
    rounds = max(repeats, min(200, int(min_seconds / max(slowest, 1e-9))))
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for name in in_turn(list(calls), rounds):
        seconds[name].append(_timed(calls[name]))
    return {name: statistics.median(times) for name, times in seconds.items()}


def first_calls(
    calls: Mapping[str, Callable[[int], Callable[[], Any]]], trials: int
) -> dict[str, float]:
    """Median seconds of a first call: ``calls[name](trial)`` builds a call
    that nothing has run before (a new shape), timed once, compile
    included."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for trial in range(trials):
        for name, build in calls.items():
            seconds[name].append(_timed(build(trial)))
    return {name: statistics.median(times) for name, times in seconds.items()}


def in_fresh_process(
    module: str, *args: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The line of JSON that ``python -m module *args`` prints last, run in
    a new Python process from the repository root, with ``env`` added to
    this process's environment.

    Raises:
      RuntimeError: the process failed (its stderr is included).
    """
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])

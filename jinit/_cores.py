"""How many threads jinit's host draws may use, and the threads themselves.

XLA on the CPU runs one computation at a time per device, spreading each
over its own thread pool; the host draws (:mod:`jinit._host_draws`) copy
each computation's rows into the arrays they belong to on these threads
instead, while XLA computes the next rows. The copies also fault in the
arrays' fresh pages, so they are most of the work after the draw itself.

The number of threads is the smallest of the cores this process may run on
(``os.sched_getaffinity``), the CPU quota of its cgroup (v2 ``cpu.max`` or
v1 ``cpu.cfs_quota_us``, rounded up) and ``JINIT_HOST_THREADS``, a positive
integer read when the threads are first needed.
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

ENVIRONMENT_VARIABLE = "JINIT_HOST_THREADS"
CGROUP = Path("/sys/fs/cgroup")


def _affinity() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # Not Linux.
        return os.cpu_count() or 1


def _own_cgroup() -> str | None:
    """This process's cgroup v2 path (``/proc/self/cgroup``), if it has one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    paths = [line[3:] for line in lines if line.startswith("0::")]
    return paths[0].lstrip("/") if paths else None


def _cgroup_quota(root: Path = CGROUP) -> int | None:
    """The CPU quota of this process's cgroup in cores, rounded up.

    ``None`` where there is none, or none can be read. cgroup v2 first (its
    own ``cpu.max``, then the root's), then v1.
    """
    own = _own_cgroup()
    files: list[tuple[Path, Path | None]] = [
        *([(root / own / "cpu.max", None)] if own else []),
        (root / "cpu.max", None),
        *(
            (root / v1 / "cpu.cfs_quota_us", root / v1 / "cpu.cfs_period_us")
            for v1 in ("cpu,cpuacct", "cpu")
        ),
    ]
    for quota_file, period_file in files:
        try:
            quota, *rest = quota_file.read_text().split()
            period = (
                rest[0]
                if period_file is None
                else period_file.read_text().strip()
            )
        except (OSError, ValueError, IndexError):
            continue
        return quota_cores(quota, period)
    return None


def quota_cores(quota: str, period: str) -> int | None:
    """A cgroup's CPU quota in cores, rounded up; ``None`` for no limit.

    ``quota`` is ``"max"`` (v2) or ``"-1"`` (v1) where there is no limit.
    """
    if quota in ("max", "-1"):
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def _requested() -> int | None:
    """``JINIT_HOST_THREADS``, or ``None`` where it is unset or empty.

    Raises:
      ValueError: it is set to anything but a positive integer.
    """
    text = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE} must be a positive integer (the most "
            f"threads jinit's host draws use); got {text!r}."
        )
    return value


@functools.cache
def count() -> int:
    """The threads the host draws use: cores, quota and request, the least.

    Read once per process, when first needed.
    """
    limits = [_affinity(), _cgroup_quota(), _requested()]
    return min(limit for limit in limits if limit is not None)


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # The calling thread does one share itself.
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=count() - 1, thread_name_prefix="jinit-host"
    )


def run_all(tasks: Sequence[Callable[[], None]]) -> None:
    """Runs ``tasks`` at once, the first on the calling thread.

    The others go to the pool's :func:`count` ``- 1`` threads (with one
    thread, all run in turn on the calling one). Re-raises the first
    exception any of them raised, once all are done.
    """
    parallel = len(tasks) > 1 and count() > 1
    futures = [_pool().submit(task) for task in tasks[1:]] if parallel else []
    errors = []
    for task in tasks[:1] if parallel else tasks:
        try:
            task()
        except Exception as error:  # Raised once the others are done.
            errors.append(error)
    for future in futures:
        if future.exception() is not None:
            errors.append(future.exception())
    if errors:
        raise errors[0]

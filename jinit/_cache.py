"""What jinit remembers between processes, if asked to.

Checks that passed, and the host draws' compiled kernels.

The fused kernel's self-check (:func:`jinit._draws.kernel_agrees`) compares
its bits with ``jax.random``'s once per process, about 0.25 s on CPU, and
the host draws (:mod:`jinit._host_draws`) compile one kernel per kind of
law, 0.07-0.1 s each. By default nothing is remembered: both happen in
every process, and jinit reads and writes no file.

A non-empty ``JINIT_CACHE_DIR`` opts in:

* a check that passed is recorded in ``kernel-checks.json`` in that
  directory under a key naming everything its verdict depends on (see
  :func:`jinit._draws.check_key`), so a later process with the same key
  skips it; any change (a JAX or jaxlib release, ``XLA_FLAGS``, an edited
  JAX source file, another configuration) makes a new key, and the check
  runs again. A failed check is never recorded.
* a kernel whose draws passed that check is stored, serialized, in
  ``kernels/``, under a digest of a key naming everything it was compiled
  from (the check's key, jinit's sources, the processor, the kernel's
  arguments); a later process loads it in about 5 ms.

A directory that cannot be read or written costs the check or the
compilation, never an error. The kernels are machine code that a later
process runs: like JAX's own compilation cache, the directory must be one
that only you can write.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterable
from pathlib import Path

FILE = "kernel-checks.json"
KERNELS = "kernels"


def directory() -> Path | None:
    """Where the record lives: ``$JINIT_CACHE_DIR``, else ``None`` (off)."""
    chosen = os.environ.get("JINIT_CACHE_DIR")
    return Path(chosen) if chosen else None


def _recorded() -> list[str]:
    folder = directory()
    if folder is None:
        return []
    try:
        keys = json.loads((folder / FILE).read_text())
    except (OSError, ValueError):
        return []
    return (
        [key for key in keys if isinstance(key, str)]
        if isinstance(keys, list)
        else []
    )


def passed(key: str) -> bool:
    """Whether a check with this key passed in an earlier process."""
    return key in _recorded()


def record(key: str) -> None:
    """Records that the check with this key passed.

    Processes writing at once leave a whole file, one of their records.
    """
    folder = directory()
    if folder is None:
        return
    _write(folder / FILE, json.dumps([*_recorded(), key]).encode())


def _kernel_file(folder: Path, key: str) -> Path:
    return folder / KERNELS / f"{hashlib.sha256(key.encode()).hexdigest()}.xla"


def stored(key: str) -> bytes | None:
    """The kernel stored under ``key`` by an earlier process, if any."""
    folder = directory()
    if folder is None:
        return None
    try:
        return _kernel_file(folder, key).read_bytes()
    except OSError:
        return None


def store(key: str, kernel: bytes) -> None:
    """Stores a serialized kernel under ``key``, for later processes."""
    folder = directory()
    if folder is not None:
        _write(_kernel_file(folder, key), kernel)


def _write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path``, if it can.

    To a temporary file renamed over it, so that processes writing at once
    leave a whole file.
    """
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(name, path)
        except OSError:
            os.unlink(name)
            raise


def stamps(paths: Iterable[str]) -> list[tuple[str, int, int]]:
    """The name, size and modification time of each file of ``paths``.

    A key made of them changes when one is edited.
    """
    stamped = []
    for path in paths:
        status = os.stat(path)
        stamped.append(
            (os.path.basename(path), status.st_size, status.st_mtime_ns)
        )
    return stamped


@functools.cache
def processor() -> str:
    """The processor XLA compiles CPU code for, as one string.

    Its architecture and, on Linux, the model names and instruction-set
    flags that ``/proc/cpuinfo`` lists (XLA targets the features of the
    host it compiles on).
    """
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    described = {
        " ".join(line.split())
        for line in lines
        if line.split(":")[0].strip()
        in ("model name", "flags", "Features", "CPU part", "isa")
    }
    return json.dumps(
        [platform.machine(), platform.processor(), sorted(described)]
    )

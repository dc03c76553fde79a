"""What jinit remembers between processes, if asked to: checks that passed.

The fused kernel's self-check (:func:`jinit._draws.kernel_agrees`) compares
its bits with ``jax.random``'s once per process, about 0.25 s on CPU. By
default nothing is remembered: the check runs on the first draw of every
process, and jinit reads and writes no file.

A non-empty ``JINIT_CACHE_DIR`` opts in: a check that passed is recorded in
``kernel-checks.json`` in that directory under a key naming everything its
verdict depends on (see :func:`jinit._draws.check_key`), so a later process
with the same key skips it; any change (a JAX or jaxlib release,
``XLA_FLAGS``, an edited JAX source file, another configuration) makes a new
key, and the check runs again. A failed check is never recorded. A
directory that cannot be read or written costs the check, never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

FILE = "kernel-checks.json"


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

    Written to a temporary file and renamed over the record, so that
    processes writing at once leave a whole file (one of their records).
    """
    folder = directory()
    if folder is None:
        return
    keys = [*_recorded(), key]
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(keys, file)
            os.replace(name, folder / FILE)
        except OSError:
            os.unlink(name)
            raise

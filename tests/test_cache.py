"""The record of kernel checks that passed, and of the host draws' compiled
kernels, is opt-in: ``JINIT_CACHE_DIR``.

Without it a process reads and writes no file, in the user's cache
directory or anywhere else; with it, a later process skips the check and
loads the kernel instead of compiling it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jinit import _cache

ROOT = Path(__file__).resolve().parent.parent
# A fresh process's first draw (which runs the self-check and needs the host
# draws' kernel), then whether the check ran and whether the kernel was
# compiled: ``_self_check``'s cache misses count the checks asked for, and
# ``_units_that_differ`` is what runs when the record does not answer; the
# draw equals jax.random's either way.
DRAW = """
import jax, jinit, numpy as np
from jinit import _draws, _host_draws
ran, compiled = [], []
units_that_differ = _draws._units_that_differ
_draws._units_that_differ = lambda d: ran.append(1) or units_that_differ(d)
compile = _host_draws._compile
_host_draws._compile = lambda *a: compiled.append(1) or compile(*a)
key = jax.random.key(0)
drawn = jinit.he_normal()(key, (16, 16))
assert _draws._self_check.cache_info().misses == 1
np.testing.assert_array_equal(
    drawn, jax.nn.initializers.he_normal()(key, (16, 16))
)
print("checked" if ran else "remembered", "compiled" if compiled else "loaded")
"""


def fresh_process(tmp_path: Path, devices: int = 1, **settings: str) -> str:
    """What :data:`DRAW` prints in a new process whose home and cache
    directories are in ``tmp_path``, with ``settings`` added, on
    ``devices`` CPU devices."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("JINIT_CACHE_DIR", "XDG_CACHE_HOME")
    }
    env |= {
        "HOME": str(tmp_path / "home"),
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
    } | settings
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import jax; jax.config.update('jax_num_cpu_devices', {devices})"
            + DRAW,
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def everything_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("xdg", [False, True])
def test_by_default_a_fresh_process_writes_nothing(tmp_path, xdg):
    """``JINIT_CACHE_DIR`` unset: the check runs, and nothing is written in
    ``$HOME/.cache`` or ``$XDG_CACHE_HOME`` (nor anywhere under them)."""
    (tmp_path / "home").mkdir()
    settings = {"XDG_CACHE_HOME": str(tmp_path / "xdg")} if xdg else {}
    for _ in range(2):  # The second process finds nothing remembered.
        assert fresh_process(tmp_path, **settings) == "checked compiled"
    assert everything_under(tmp_path) == ["home"]


def test_a_cache_directory_opts_in(tmp_path):
    """``JINIT_CACHE_DIR`` set: the first process records its check and
    stores its kernel, the next skips the check and loads the kernel."""
    (tmp_path / "home").mkdir()
    record = tmp_path / "record"
    for expected in ("checked compiled", "remembered loaded"):
        assert fresh_process(tmp_path, JINIT_CACHE_DIR=str(record)) == expected
    kernels = everything_under(record / _cache.KERNELS)
    assert len(kernels) == 1 and kernels[0].endswith(".xla")
    assert everything_under(tmp_path) == [
        "home",
        "record",
        f"record/{_cache.FILE}",
        f"record/{_cache.KERNELS}",
        f"record/{_cache.KERNELS}/{kernels[0]}",
    ]


def test_a_stored_kernel_loads_in_a_process_of_several_devices(tmp_path):
    """A kernel is a program of one device, loaded as one where the CPU
    has several (it was loaded for all of them, and failed to run)."""
    (tmp_path / "home").mkdir()
    record = str(tmp_path / "record")
    for expected in ("checked compiled", "remembered loaded"):
        assert (
            fresh_process(tmp_path, devices=4, JINIT_CACHE_DIR=record)
            == expected
        )


def test_a_damaged_kernel_is_compiled_again(tmp_path):
    """A stored kernel that cannot be loaded costs its compilation, and is
    stored again."""
    (tmp_path / "home").mkdir()
    record = tmp_path / "record"
    fresh_process(tmp_path, JINIT_CACHE_DIR=str(record))
    (stored,) = (record / _cache.KERNELS).iterdir()
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    for expected in ("remembered compiled", "remembered loaded"):
        assert fresh_process(tmp_path, JINIT_CACHE_DIR=str(record)) == expected


@pytest.mark.parametrize("setting", [None, ""])
def test_the_record_is_off_unless_a_directory_is_named(
    monkeypatch, tmp_path, setting
):
    if setting is None:
        monkeypatch.delenv("JINIT_CACHE_DIR", raising=False)
    else:
        monkeypatch.setenv("JINIT_CACHE_DIR", setting)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _cache.directory() is None
    assert not _cache.passed("any key")
    _cache.record("any key")
    assert list(tmp_path.iterdir()) == []

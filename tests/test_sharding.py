"""Everything that needs 8 simulated CPU devices: out_sharding for every
factory on 1-D and 2-D meshes with Explicit and Auto axes, materialize,
``jinit.flax.sharded`` in an NNX model and the layouts of a Keras
model-parallel distribution, and the first float64 draw under a mesh. The
checks are in ``eight_devices.py``, each run in a fresh process of its own
(XLA_FLAGS must be set before jax is imported) with no recorded kernel
self-check, so that its first draws under ``jax.set_mesh`` are the
process's first; each test here reads its own check's result. Sharded draws
are the unsharded values, bit for bit, with the requested shards."""

import json
import os
import subprocess
import sys

import pytest
from eight_devices import CHECKS
from registry import FACTORY_CASES

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def eight_devices():
    """``{check: ((status, detail), what its run printed to stderr)}``, each
    check of ``eight_devices.py`` run in a fresh process on 8 simulated CPU
    devices with no recorded kernel self-check."""
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=8",
        JAX_PLATFORMS="cpu",
        KERAS_BACKEND="jax",
        JINIT_CACHE_DIR="",
        PYTHONPATH=os.pathsep.join(
            [HERE, os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]
        ),
    )
    results = {}
    for check in CHECKS:
        run = subprocess.run(
            [sys.executable, os.path.join(HERE, "eight_devices.py"), check],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        results[check] = (
            None,
            (f"exit status {run.returncode}:\n{run.stderr[-3000:]}"),
        )
        for line in run.stdout.splitlines():
            if line.startswith(f"RESULT {check} "):
                _, _, status, detail = line.split(" ", 3)
                results[check] = (status, json.loads(detail)), ""
    return results


def result(eight_devices, name):
    """The detail of check ``name``; fails with its traceback, or skips."""
    outcome, stderr = eight_devices[name]
    if outcome is None:
        pytest.fail(f"no result for {name}, {stderr}")
    status, detail = outcome
    if status == "skipped":
        pytest.skip(detail)
    assert status == "ok", f"{name} {status}:\n{detail}"
    return detail


def test_out_sharding_on_eight_devices(eight_devices):
    checked = result(eight_devices, "out_sharding")
    assert set(checked) == {case.id for case in FACTORY_CASES}
    seen = set()
    for meshes in checked.values():  # e.g. [[1, "Explicit", ["eager"]],
        # [2, "Auto", ["abstract", "eager", "jit", "spec"]]]
        assert sorted(rank for rank, _, _ in meshes) == [1, 2], meshes
        assert sorted(kind for _, kind, _ in meshes) == ["Auto", "Explicit"]
        assert sorted(len(how) for _, _, how in meshes) == [1, 5], meshes
        seen |= {(rank, kind, tuple(how)) for rank, kind, how in meshes}
    # Every transform on each rank and each kind of axes.
    for rank, kind in [
        (1, "Explicit"),
        (1, "Auto"),
        (2, "Explicit"),
        (2, "Auto"),
    ]:
        assert (
            rank,
            kind,
            ("abstract", "eager", "jit", "jit_spec", "spec"),
        ) in seen


def test_materialize_creates_leaves_sharded(eight_devices):
    assert result(eight_devices, "materialize") == 8


def test_sharded_nnx_model_on_eight_devices(eight_devices):
    assert result(eight_devices, "nnx_model") == 3


def test_model_parallel_layouts_on_eight_devices(eight_devices):
    assert result(eight_devices, "keras_layouts") == 4


def test_first_float64_draw_under_a_mesh_and_thread_local_x64(eight_devices):
    assert result(eight_devices, "x64_first_draw") == 2


def test_diagnose_under_a_mesh_on_eight_devices(eight_devices):
    assert result(eight_devices, "diagnose") == ["w0", "w1"]

"""Everything that needs 8 simulated CPU devices: out_sharding for every
factory on 1-D and 2-D meshes with Explicit and Auto axes, materialize,
``jinit.flax.sharded`` in an NNX model and the layouts of a Keras
model-parallel distribution. The checks are in ``eight_devices.py``, run in
one subprocess (XLA_FLAGS must be set before jax is imported) that each test
here reads its own check's result from. Sharded draws are the unsharded
values, bit for bit."""

import json
import os
import subprocess
import sys

import pytest
from registry import FACTORY_CASES

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def eight_devices():
    """``({check: (status, detail)}, what the run printed to stderr)``
    from one run of ``eight_devices.py`` on 8 simulated CPU devices."""
    env = dict(os.environ,
               XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu", KERAS_BACKEND="jax",
               PYTHONPATH=os.pathsep.join(
                   [HERE, os.path.dirname(HERE),
                    os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "eight_devices.py")], env=env,
        capture_output=True, text=True, timeout=600)
    results = {}
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, status, detail = line.split(" ", 3)
            results[name] = status, json.loads(detail)
    return results, (f"exit status {result.returncode}:\n"
                     f"{result.stderr[-3000:]}")


def result(eight_devices, name):
    """The detail of check ``name``; fails with its traceback, or skips."""
    results, stderr = eight_devices
    if name not in results:
        pytest.fail(f"no result for {name}, {stderr}")
    status, detail = results[name]
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
        assert sorted(len(how) for _, _, how in meshes) == [1, 4], meshes
        seen |= {(rank, kind, tuple(how)) for rank, kind, how in meshes}
    # Every transform on each rank and each kind of axes.
    for rank, kind in [(1, "Explicit"), (1, "Auto"), (2, "Explicit"),
                       (2, "Auto")]:
        assert (rank, kind, ("abstract", "eager", "jit", "spec")) in seen


def test_materialize_creates_leaves_sharded(eight_devices):
    assert result(eight_devices, "materialize") == 6


def test_sharded_nnx_model_on_eight_devices(eight_devices):
    assert result(eight_devices, "nnx_model") == 3


def test_model_parallel_layouts_on_eight_devices(eight_devices):
    assert result(eight_devices, "keras_layouts") == 4

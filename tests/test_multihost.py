"""``jinit.materialize`` across processes, on JAX's distributed runtime.

``examples/multihost_init.py --local N`` starts N processes on this machine
(a coordinator on localhost, CPU devices, Gloo collectives), each running
``jax.distributed.initialize`` and the same ``materialize`` of a sharded
transformer with every kind of leaf, plus a Flax NNX model built with
``jinit.flax.sharded``. Each process reports a digest of each of its shards
(every element's bits, weighted by its index in the whole array); here they
are checked against the same slices of the single-process, unsharded
``materialize``, computed in this process: every shard of every process is
the unsharded draw, bit for bit. 2 processes x 2 devices on a 2-D mesh, and
4 processes x 1 device on a 1-D mesh.
"""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import inputs
import jax
import numpy as np
import pytest

import jinit

ROOT = pathlib.Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "multihost_init.py"
_spec = importlib.util.spec_from_file_location("multihost_init", EXAMPLE)
assert _spec is not None and _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)

# Each layout: how the example is run, and its model (width, layers, vocab).
# The second's orthogonal readout (1.56 MiB, computed whole) is larger than
# a process's share of its tree (1.43 MiB), which is warned about. (At width
# 1024 the four processes' QRs took twice the CPU time, for the same check.)
LAYOUTS = {
    "2 processes x 2 devices, 2x2 mesh": (
        ["--local", "2", "--devices", "2", "--mesh", "2x2"],
        (64, 2, 512),
    ),
    "4 processes x 1 device, 1-D mesh": (["--local", "4"], (640, 0, 8)),
}
SEED = 3


def run(*args):
    """What the example printed (stdout, stderr) and its exit status. A
    process that fails stops the others (the example's own timeout is a
    second guard, this one a third): nothing here can hang."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    )
    env.pop("XLA_FLAGS", None)
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *args, "--timeout", "240"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return result.stdout, result.stderr, result.returncode


def model_arguments(width, layers, vocab):
    return [
        "--width",
        str(width),
        "--layers",
        str(layers),
        "--vocab",
        str(vocab),
    ]


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request):
    """``(process records, digests of the whole arrays, stderr, the same
    trees made unsharded in this process as {path: array})``."""
    arguments, sizes = LAYOUTS[request.param]
    out, err, status = run(
        *arguments, *model_arguments(*sizes), "--seed", str(SEED), "--flax"
    )
    assert status == 0, err[-3000:]
    records = [
        json.loads(line) for line in out.splitlines() if line.startswith("{")
    ]
    processes = [r for r in records if "process" in r]
    (whole,) = [r for r in records if "digests" in r]
    return processes, whole, err, unsharded(*sizes)


def one_device():
    return jax.make_mesh(
        (1,), ("m",), axis_types=(jax.sharding.AxisType.Explicit,)
    )


def specs(width, layers, vocab):
    return example.model(
        width, layers, vocab, one_device(), elementwise_only=False
    )


def unsharded(width, layers, vocab):
    from flax import nnx

    plain = jax.tree.map(
        lambda p: jinit.Param(p.shape, p.init, p.dtype),
        specs(width, layers, vocab),
        is_leaf=is_param,
    )
    model = example.nnx_model(
        width, vocab, one_device(), SEED, lambda init, axes: init
    )
    tree = {
        "params": jinit.materialize(jax.random.key(SEED), plain),
        "nnx": nnx.state(model, nnx.Param),
    }
    return {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def is_param(node):
    return isinstance(node, jinit.Param)


def test_the_layouts_have_every_kind_of_leaf():
    leaves = [
        leaf
        for _, sizes in LAYOUTS.values()
        for leaf in jax.tree.leaves(specs(*sizes), is_leaf=is_param)
    ]
    inits = {
        getattr(p.init, "name", "from jax.nn.initializers") for p in leaves
    }
    assert {
        "glorot_uniform",
        "he_normal",
        "random_normal",
        "truncated_normal",
        "zeros",
        "ones",
        "constant",
        "orthogonal",
        "sparse",
        "from jax.nn.initializers",
    } <= inits, inits
    assert any(p.dtype == np.dtype("bfloat16") for p in leaves)
    specs_seen = {tuple(p.sharding.spec) for p in leaves}
    assert () in specs_seen and len(specs_seen) >= 3, specs_seen


def test_every_shard_of_every_process_is_the_unsharded_draw(layout):
    processes, _, _, arrays = layout
    for record in processes:
        assert set(record["shards"]) == set(arrays)
        for path, shards in record["shards"].items():
            for bounds, digest in shards:
                index = tuple(slice(*b) for b in bounds)
                want = example.digest_of_shard(
                    arrays[path][index], index, arrays[path].shape
                )
                assert digest == f"{want:016x}", (
                    record["process"],
                    path,
                    bounds,
                )
    # Every device of the mesh reported its shards once.
    devices = [d for record in processes for d in record["devices"]]
    assert len(devices) == len(set(devices)) == 4


def test_the_whole_arrays_are_the_single_process_arrays(layout):
    _, whole, _, arrays = layout
    for path, array in arrays.items():
        want = example.digest_of_shard(array, (), array.shape)
        assert whole["digests"][path] == f"{want:016x}", path


def test_every_process_derives_the_same_path_keys(layout):
    processes = layout[0]
    assert len({record["path_keys"] for record in processes}) == 1


def test_a_leaf_computed_whole_beyond_the_share_is_warned_about(layout):
    processes, _, err, arrays = layout
    readout = arrays["['params']['readout']"]
    beyond = [record["share"] < readout.nbytes for record in processes]
    assert all(beyond) or not any(beyond), beyond
    warned = len(
        re.findall(
            rf"'readout' \(float32\[{readout.shape[0]}, {readout.shape[1]}\], "
            r"[\d.]+ MiB, orthogonal\(\)\) is computed whole on every process",
            err,
        )
    )
    assert warned == (len(processes) if all(beyond) else 0), err[-3000:]
    assert err.count("computed whole") == warned, err[-3000:]


def test_the_digest_sees_one_changed_bit_and_is_additive():
    x = inputs.normal(jax.random.key(0), (6, 5)).__array__()
    whole = example.digest_of_shard(x, (), x.shape)
    top, bottom = (slice(0, 4), slice(0, 5)), (slice(4, 6), slice(0, 5))
    assert (
        example.digest_of_shard(x[top], top, x.shape)
        + example.digest_of_shard(x[bottom], bottom, x.shape)
    ) % 2**64 == whole
    flipped = x.copy()
    flipped.view(np.uint32)[5, 4] ^= 1
    assert example.digest_of_shard(flipped, (), x.shape) != whole
    swapped = x.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert example.digest_of_shard(swapped, (), x.shape) != whole


def test_a_crashed_process_stops_the_others():
    out, err, status = run("--local", "2", "--crash-process", "1")
    assert status == 1
    assert "process 1 failed" in err and "timed out" not in err, err[-3000:]

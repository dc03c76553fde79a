"""Initialize a sharded transformer on several processes, and prove it.

Every process runs this same script with the same key. ``jinit.materialize``
makes each parameter directly sharded over the global mesh: a process
computes only its own shards, and no process holds a whole copy of a
sharded parameter drawn by an elementwise law or filled with a constant.
Nothing is saved: each process prints the checksums of its shards, and
process 0 prints one digest per parameter of the *global* array, which
does not depend on the number of processes or the mesh shape, so the same
key can be checked to give the same model on 1, 2 or 4 processes, on any
mesh.

On one machine (processes on localhost, CPU devices, Gloo collectives)::

    python examples/multihost_init.py --local 4                 # 4 x 1 device
    python examples/multihost_init.py --local 2 --devices 2 --mesh 2x2
    python examples/multihost_init.py                           # 1 process

On a cluster, run it once per host. Under SLURM, Open MPI or on Cloud TPU,
``jax.distributed.initialize()`` finds its arguments itself::

    srun --nodes=8 --ntasks-per-node=1 python examples/multihost_init.py

elsewhere, give them (the coordinator is process 0's host and a free port)::

    python examples/multihost_init.py --coordinator HOST0:1234 \\
        --num-processes 8 --process-id $RANK

Each process prints one JSON line: ``{"process", "devices", "shards":
{path: [[[[start, stop] per axis], digest], ...]}, "path_keys",
"peak_growth", "share"}`` (``path_keys`` hashes every parameter's key;
``peak_growth``, the growth of the resident size while ``materialize`` ran,
``share``, the bytes of this process's shards, and ``seconds``, the time
``materialize`` took), and process 0 a line
``{"digests": {path: digest of the whole array}, "total": digest}``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--local",
        type=int,
        default=0,
        metavar="N",
        help="start N processes on this machine (CPU)",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=1,
        help="CPU devices per process (with --local)",
    )
    parser.add_argument(
        "--mesh",
        default=None,
        help="mesh shape, e.g. 4 or 2x2 (default: all devices on one axis)",
    )
    parser.add_argument(
        "--coordinator", default=None, help="host:port of process 0"
    )
    parser.add_argument("--num-processes", type=int, default=None)
    parser.add_argument("--process-id", type=int, default=None)
    parser.add_argument(
        "--width",
        type=int,
        default=64,
        help="model width d (with --layers 16 --vocab 50304: 536M parameters)",
    )
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument(
        "--elementwise-only",
        action="store_true",
        help="leave out the leaves computed whole "
        "(orthogonal, sparse, jax.nn.initializers)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds before --local stops its processes",
    )
    parser.add_argument(
        "--flax",
        action="store_true",
        help="also build a Flax NNX model with jinit.flax.sharded initializers",
    )
    # Set by --local for the processes it starts; the tests stop one process
    # with --crash-process to check that the others do not hang.
    parser.add_argument(
        "--local-devices", type=int, default=0, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--crash-process", type=int, default=None, help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def launch_local(args: argparse.Namespace, argv: list[str]) -> int:
    """Starts ``args.local`` copies of this script on localhost, one per
    process id, and prints what each printed. As soon as one fails, or
    after ``args.timeout`` seconds, the others are stopped (they would wait
    for it forever in a collective) and the exit status is 1."""
    with socket.socket() as probe:  # A free port for the coordinator.
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    rest, skip = [], False  # argv without "--local N" / "--local=N".
    for word in argv:
        if not skip and not word.startswith("--local"):
            rest.append(word)
        skip = word == "--local"
    outputs = [tempfile.TemporaryFile("w+") for _ in range(args.local)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                *rest,
                "--coordinator",
                f"localhost:{port}",
                "--num-processes",
                str(args.local),
                "--process-id",
                str(i),
                "--local-devices",
                str(args.devices),
            ],
            env=dict(os.environ, JAX_PLATFORMS="cpu"),
            stdout=output,
        )
        for i, output in enumerate(outputs)
    ]
    deadline = time.monotonic() + args.timeout
    while None in [child.poll() for child in children]:
        failed = [
            i
            for i, child in enumerate(children)
            if child.returncode not in (None, 0)
        ]
        if failed or time.monotonic() > deadline:
            print(
                f"process {failed[0]} failed"
                if failed
                else f"timed out after {args.timeout:.0f} s",
                file=sys.stderr,
            )
            for child in children:
                child.kill()
                child.wait()
            break
        time.sleep(0.05)
    for output in outputs:
        output.seek(0)
        print(output.read(), end="", flush=True)
    return int(any(child.returncode != 0 for child in children))


def model(d: int, layers: int, vocab: int, mesh, elementwise_only: bool):
    """A decoder's parameters as ``jinit.Param``: kernels sharded over the
    mesh's last axis (and its first, on a 2-D mesh), normalization and
    position parameters replicated; ``wte`` in bfloat16."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit

    first, last = mesh.axis_names[0], mesh.axis_names[-1]
    rows = first if len(mesh.axis_names) > 1 else None
    columns = NamedSharding(mesh, P(rows, last))
    by_row = NamedSharding(mesh, P(last, rows))
    replicated = NamedSharding(mesh, P())

    def norm():
        return {
            "scale": jinit.Param((d,), jinit.ones(), sharding=replicated),
            "bias": jinit.Param((d,), jinit.zeros(), sharding=replicated),
        }

    def block():
        proj = jinit.random_normal(stddev=0.02 / (2 * layers) ** 0.5)
        return {
            "ln_1": norm(),
            "ln_2": norm(),
            "qkv": jinit.Param(
                (d, 3 * d), jinit.glorot_uniform(), sharding=columns
            ),
            "out": jinit.Param((d, d), proj, sharding=by_row),
            "up": jinit.Param((d, 4 * d), jinit.he_normal(), sharding=columns),
            "up_bias": jinit.Param(
                (4 * d,),
                jinit.constant(0.01),
                sharding=NamedSharding(mesh, P(last)),
            ),
            "down": jinit.Param((4 * d, d), proj, sharding=by_row),
        }

    tree = {
        "wte": jinit.Param(
            (vocab, d), jinit.random_normal(stddev=0.02), jnp.bfloat16, by_row
        ),
        "wpe": jinit.Param(
            (256, d), jinit.truncated_normal(stddev=0.01), sharding=replicated
        ),
        "h": [block() for _ in range(layers)],
        "ln_f": norm(),
    }
    if not elementwise_only:  # Computed whole on every process, then placed.
        tree["readout"] = jinit.Param(
            (d, d), jinit.orthogonal(), sharding=columns
        )
        tree["router"] = jinit.Param(
            (d, 32), jinit.sparse(0.5), sharding=columns
        )
        tree["gate"] = jinit.Param(
            (d, d), jax.nn.initializers.lecun_normal(), sharding=by_row
        )
    return tree


def digest_of_shard(values, index, shape) -> int:
    """Σ bits(x_i)·(2i + 1) mod 2⁶⁴ over the shard's elements, i their
    row-major index in the whole array of ``shape`` (``index``: the shard's
    slices, ``()`` for the whole array). Disjoint shards' digests add up to
    the whole array's, whatever the layout. Computed a row at a time: no
    more memory than a row."""
    import numpy as np

    bits = (
        np.ascontiguousarray(values)
        .view(f"u{values.dtype.itemsize}")
        .astype(np.uint64)
    )
    index = (*index, *[slice(None)] * (len(shape) - len(index)))
    shape, index = (1, *shape), (slice(0, 1), *index)  # 0-d and 1-d too.
    bits = bits.reshape(1, *bits.shape)
    spans = [range(*s.indices(n)) for s, n in zip(index, shape, strict=True)]
    strides = [
        int(np.prod(shape[a + 1 :], dtype=np.int64)) for a in range(len(shape))
    ]
    within_row = np.zeros(bits.shape[1:], np.uint64)  # The trailing axes.
    for axis, (span, stride) in enumerate(
        zip(spans[1:], strides[1:], strict=True)
    ):
        offsets = np.asarray(span, np.uint64) * np.uint64(stride)
        within_row += offsets.reshape(
            [-1 if a == axis else 1 for a in range(len(spans) - 1)]
        )
    total = np.zeros((), np.uint64)
    for row, plane in zip(spans[0], bits, strict=True):
        flat = within_row + np.uint64(row * strides[0])
        total += np.sum(
            plane * (np.uint64(2) * flat + np.uint64(1)), dtype=np.uint64
        )
    return int(total)


def resident_peak_reset() -> None:
    """Resets this process's peak resident size (Linux; elsewhere the
    figures of :func:`resident` are 0)."""
    if os.path.exists("/proc/self/clear_refs"):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")


def resident(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` (the peak since the last reset) of this
    process, in bytes; 0 where ``/proc`` does not tell (not Linux)."""
    if not os.path.exists("/proc/self/status"):
        return 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def nnx_model(d: int, vocab: int, mesh, seed: int, wrap):
    """A Flax NNX embedding and MLP whose initializers are ``wrap(init,
    axes)``: ``jinit.flax.sharded`` for a sharded model, or ``lambda init,
    axes: init`` for the same model unsharded."""
    from flax import nnx

    import jinit

    last = mesh.axis_names[-1]

    class Model(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(
                vocab,
                d,
                rngs=rngs,
                embedding_init=wrap(
                    jinit.random_normal(stddev=0.02), (last, None)
                ),
            )
            self.up = nnx.Linear(
                d,
                4 * d,
                rngs=rngs,
                kernel_init=wrap(jinit.he_normal(), (None, last)),
                bias_init=wrap(jinit.zeros(), (last,)),
            )
            self.down = nnx.Linear(
                4 * d,
                d,
                rngs=rngs,
                kernel_init=wrap(jinit.orthogonal(), (last, None)),
            )

    return Model(nnx.Rngs(seed))


def describe(tree) -> tuple[list[str], dict, list[int]]:
    """``(paths, shards, partial digests)`` of this process's part of a tree
    of arrays: each leaf's addressable shards as ``[index, digest]``, and
    the sum of the digests of the shards it owns (replica 0; its part of the
    whole array's digest)."""
    import jax
    import numpy as np

    paths, shards, partial = [], {}, []
    for key_path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        path = jax.tree_util.keystr(key_path)
        paths.append(path)
        mine, shards[path] = 0, []
        for shard in leaf.addressable_shards:
            digest = digest_of_shard(
                np.asarray(shard.data), shard.index, leaf.shape
            )
            shards[path].append(
                [
                    [
                        list(s.indices(n))[:2]
                        for s, n in zip(shard.index, leaf.shape, strict=True)
                    ],
                    f"{digest:016x}",
                ]
            )
            if shard.replica_id == 0:  # Each element counted once.
                mine += digest
        partial.append(mine % 2**64)
    return paths, shards, partial


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = arguments(argv)
    if args.local:
        return launch_local(args, argv)

    import jax

    if args.local_devices:  # One process of a --local run.
        jax.config.update("jax_num_cpu_devices", args.local_devices)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if args.num_processes != 1 and (
        args.coordinator
        or args.num_processes
        or os.environ.get("SLURM_JOB_ID")
        or os.environ.get("OMPI_COMM_WORLD_SIZE")
    ):
        jax.distributed.initialize(
            args.coordinator, args.num_processes, args.process_id
        )
    if args.process_id is not None and args.process_id == args.crash_process:
        print(
            f"process {args.process_id}: crashing on purpose (--crash-process)",
            file=sys.stderr,
            flush=True,
        )
        os._exit(3)  # As a crash would: no clean shutdown.
    import hashlib

    import numpy as np
    from jax.experimental import multihost_utils

    import jinit

    shape = (
        tuple(int(n) for n in args.mesh.split("x"))
        if args.mesh
        else (jax.device_count(),)
    )
    names = ("x", "y")[: len(shape)] if len(shape) > 1 else ("model",)
    mesh = jax.make_mesh(
        shape, names, axis_types=(jax.sharding.AxisType.Explicit,) * len(shape)
    )
    key = jax.random.key(args.seed)
    specs = model(
        args.width, args.layers, args.vocab, mesh, args.elementwise_only
    )
    before = resident("VmRSS")
    resident_peak_reset()
    start = time.perf_counter()
    tree = {"params": jax.block_until_ready(jinit.materialize(key, specs))}
    seconds = time.perf_counter() - start
    peak_growth = resident("VmHWM") - before
    share = sum(
        shard.data.nbytes
        for leaf in jax.tree.leaves(tree)
        for shard in leaf.addressable_shards
    )
    if args.flax:
        from flax import nnx

        import jinit.flax

        with jax.set_mesh(mesh):
            built = nnx_model(
                args.width, args.vocab, mesh, args.seed, jinit.flax.sharded
            )
        tree["nnx"] = nnx.state(built, nnx.Param)

    paths, shards, partial = describe(tree)
    # Every path's key, as every process derives it (they must agree).
    path_keys = hashlib.sha256(
        b"".join(
            np.asarray(jax.random.key_data(jinit.path_key(key, path))).tobytes()
            for path in sorted(
                jax.tree_util.keystr(p)
                for p, _ in jax.tree_util.tree_flatten_with_path(specs)[0]
            )
        )
    ).hexdigest()
    print(
        json.dumps(
            {
                "process": jax.process_index(),
                "devices": [d.id for d in jax.local_devices()],
                "shards": shards,
                "path_keys": path_keys,
                "peak_growth": peak_growth,
                "share": share,
                "seconds": seconds,
            }
        ),
        flush=True,
    )
    # The whole arrays' digests: the sum of every process's partial sums.
    words = np.asarray(partial, np.uint64)
    gathered = np.asarray(
        multihost_utils.process_allgather(words.view(np.uint32))
    ).reshape(-1, len(words) * 2)
    with np.errstate(over="ignore"):
        total_each = gathered.view(np.uint64).sum(axis=0, dtype=np.uint64)
        total = int(total_each.sum(dtype=np.uint64))
    if jax.process_index() == 0:
        print(
            json.dumps(
                {
                    "digests": {
                        path: f"{int(d):016x}"
                        for path, d in zip(paths, total_each, strict=True)
                    },
                    "total": f"{total:016x}",
                }
            ),
            flush=True,
        )
    if jax.process_count() > 1:
        jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

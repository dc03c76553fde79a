"""out_sharding and materialize on 8 simulated CPU devices, on 1-D and 2-D
meshes with Explicit and Auto axes, eagerly, under jit, as a
PartitionSpec under jax.set_mesh and as a NamedSharding over its
AbstractMesh (subprocesses, since XLA_FLAGS must be set
before jax is imported). Sharded draws are the unsharded values, bit for
bit."""

import os
import subprocess
import sys
import textwrap

from registry import FACTORY_CASES

SCRIPT = textwrap.dedent("""
    import sys
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    import jinit
    from registry import FACTORY_CASES

    assert jax.device_count() == 8, jax.devices()
    part, parts = map(int, sys.argv[1:])  # this process's share of cases
    cases = FACTORY_CASES[part::parts]
    key = jax.random.key(0)
    meshes = [((8,), AxisType.Explicit), ((8,), AxisType.Auto),
              ((4, 2), AxisType.Explicit), ((2, 4), AxisType.Auto)]
    for axes, kind in meshes:
        names = ("a", "b")[:len(axes)]
        mesh = jax.make_mesh(axes, names, axis_types=(kind,) * len(axes))
        spec = P(*names)
        named = NamedSharding(mesh, spec)
        for case in cases:
            init = case.init
            shape = (16, 24) if len(case.shape) == 2 else (8, 8, 8, 16)
            want = np.asarray(init(key, shape))
            eager = init(key, shape, out_sharding=named)
            jitted = jax.jit(lambda k, i=init, s=shape: i(
                k, s, out_sharding=named))(key)
            with jax.set_mesh(mesh):
                from_spec = init(key, shape, out_sharding=spec)
                # What Keras 3 passes: a NamedSharding over the AbstractMesh.
                from_abstract = init(key, shape, out_sharding=NamedSharding(
                    mesh.abstract_mesh, spec))
            for got in (eager, jitted, from_spec, from_abstract):
                assert got.sharding.is_equivalent_to(named, 2), (
                    case, kind, got.sharding)
                np.testing.assert_array_equal(np.asarray(got), want,
                                              err_msg=repr(case))
            if case.complex:  # jax drops out_sharding on its complex paths
                for got in (init(key, shape, "complex64",
                                 out_sharding=named),
                            jax.jit(lambda k, i=init, s=shape: i(
                                k, s, "complex64", out_sharding=named))(key)):
                    assert got.sharding.is_equivalent_to(named, 2), case
                    assert got.dtype == jnp.complex64
    print("sharded ok", len(cases), len(meshes))
""")

# materialize on 1-D and 2-D meshes of 8, 3 and 6 devices, Auto and
# Explicit axes (down to one element a shard): every leaf equals the
# unsharded draw, and the compiled draw of a sharded leaf only ever holds
# one shard.
MATERIALIZE = textwrap.dedent("""
    import jax, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jinit

    devices = np.array(jax.devices())
    explicit = jax.make_mesh((8,), ("a",),
                             axis_types=(jax.sharding.AxisType.Explicit,))
    layouts = [(Mesh(devices, ("a",)), P("a"), (16, 24)),
               (explicit, P(None, "a"), (16, 24)),
               (Mesh(devices.reshape(4, 2), ("a", "b")), P("a", "b"),
                (16, 24)),
               (Mesh(devices.reshape(4, 2), ("a", "b")),
                P(None, None, "b", "a"), (3, 3, 8, 16)),
               (Mesh(devices[:3], ("a",)), P(None, "a"), (5, 9)),
               (Mesh(devices[:6].reshape(3, 2), ("a", "b")), P("b", "a"),
                (2, 3))]
    inits = [jinit.he_normal(), jinit.glorot_uniform(), jinit.lecun_normal(),
             jinit.random_normal(0.1, 0.5), jinit.random_uniform(-1.0, 2.0),
             jinit.truncated_normal(stddev=0.3),
             jinit.variance_scaling(0.5, "fan_avg", "untruncated_normal"),
             jinit.orthogonal(), jinit.zeros(), jinit.constant(0.25)]
    key = jax.random.key(7)
    for mesh, spec, shape in layouts:
        sharding = NamedSharding(mesh, spec)
        specs = {f"{i}": jinit.Param(shape, init, sharding=sharding)
                 for i, init in enumerate(inits)}
        specs["bf16"] = jinit.Param(shape, jinit.he_uniform(), "bfloat16",
                                    sharding)
        params = jinit.materialize(key, specs)
        plain = jinit.materialize(key, {
            path: jinit.Param(leaf.shape, leaf.init, leaf.dtype)
            for path, leaf in specs.items()})
        for path, value in params.items():
            assert value.sharding.is_equivalent_to(sharding, len(shape)), (
                path, value.sharding)
            np.testing.assert_array_equal(np.asarray(value),
                                          np.asarray(plain[path]),
                                          err_msg=f"{path} {spec}")
        # What each device computes: the compiled draw holds one shard.
        law = jinit.he_normal().prepare(key, shape).law
        bounds, scale, shift = law.arguments(np.dtype("float32"))
        text = jinit._draws._sampler(sharding).lower(
            key, bounds, scale, shift, None, shape=shape,
            dtype=np.dtype("float32"), out_dtype=np.dtype("float32"),
            unit=law.unit).compile().as_text()
        whole = "f32[" + ",".join(map(str, shape)) + "]"
        shard = "f32[" + ",".join(map(str, sharding.shard_shape(shape))) + "]"
        assert shard in text and whole not in text, (spec, shard, whole)
    # A sharding that cannot split the shape, or a spec with no mesh: an
    # error naming the path, before anything is drawn.
    for sharding, match in [
            (NamedSharding(Mesh(devices[:4], ("a",)), P(None, "a")),
             "partitioned 4 times"),
            (P("a"), "needs a mesh")]:
        try:
            jinit.materialize(key, {"layers": [jinit.Param(
                (3, 6), jinit.he_normal(), sharding=sharding)]})
        except ValueError as error:
            assert "'layers/0' (float32[3, 6]) cannot be placed" in str(
                error) and match in str(error), error
        else:
            raise AssertionError(f"no error for {sharding}")
    print("materialize sharded ok", len(layouts))
""")


def run_on_eight_devices(script, parts=1):
    """Runs ``script`` in ``parts`` concurrent processes of 8 simulated
    devices, the i-th with arguments ``i parts``; their outputs, joined."""
    env = dict(os.environ,
               XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(
                   [os.path.dirname(__file__),
                    os.environ.get("PYTHONPATH", "")]))
    processes = [subprocess.Popen(
        [sys.executable, "-c", script, str(part), str(parts)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for part in range(parts)]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(stdout)
    return "".join(outputs)


def test_out_sharding_on_eight_devices():
    # Two processes, a half of the initializers each, use both CPU cores.
    output = run_on_eight_devices(SCRIPT, parts=2)
    counts = [line.split()[2:] for line in output.splitlines()
              if line.startswith("sharded ok")]
    assert sorted(counts) == sorted(
        [[str(len(FACTORY_CASES[part::2])), "4"] for part in range(2)])


def test_materialize_creates_leaves_sharded():
    assert "materialize sharded ok 6" in run_on_eight_devices(MATERIALIZE)

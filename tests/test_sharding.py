"""out_sharding on 8 simulated CPU devices, on 1-D and 2-D meshes with
Explicit and Auto axes, eagerly, under jit and as a PartitionSpec under
jax.set_mesh (a subprocess, since XLA_FLAGS must be set before jax is
imported)."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    import jinit
    from registry import FACTORY_CASES

    assert jax.device_count() == 8, jax.devices()
    key = jax.random.key(0)
    meshes = [((8,), AxisType.Explicit), ((8,), AxisType.Auto),
              ((4, 2), AxisType.Explicit), ((2, 4), AxisType.Auto)]
    for axes, kind in meshes:
        names = ("a", "b")[:len(axes)]
        mesh = jax.make_mesh(axes, names, axis_types=(kind,) * len(axes))
        spec = P(*names)
        named = NamedSharding(mesh, spec)
        for case in FACTORY_CASES:
            init = case.init
            shape = (16, 24) if len(case.shape) == 2 else (8, 8, 8, 16)
            want = np.asarray(init(key, shape))
            eager = init(key, shape, out_sharding=named)
            jitted = jax.jit(lambda k, i=init, s=shape: i(
                k, s, out_sharding=named))(key)
            with jax.set_mesh(mesh):
                from_spec = init(key, shape, out_sharding=spec)
            for got in (eager, jitted, from_spec):
                assert got.sharding.is_equivalent_to(named, 2), (
                    case, kind, got.sharding)
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6,
                                           atol=1e-7, err_msg=repr(case))
            np.testing.assert_array_equal(np.asarray(eager), want)
            if case.complex:  # jax drops out_sharding on its complex paths
                for got in (init(key, shape, "complex64",
                                 out_sharding=named),
                            jax.jit(lambda k, i=init, s=shape: i(
                                k, s, "complex64", out_sharding=named))(key)):
                    assert got.sharding.is_equivalent_to(named, 2), case
                    assert got.dtype == jnp.complex64
    print("sharded ok", len(FACTORY_CASES), len(meshes))
""")


def test_out_sharding_on_eight_devices():
    env = dict(os.environ,
               XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(
                   [os.path.dirname(__file__),
                    os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sharded ok 18 4" in result.stdout

"""The 8-device tests of whole trees and models: ``jinit.materialize``,
``jinit.flax.sharded`` in an NNX model, the first float64 draw under a mesh,
``jinit.diagnose`` under a mesh and the layouts of a Keras model-parallel
distribution, on 8 simulated CPU devices: sharded draws are the unsharded
values, bit for bit, with the requested shards. Marked ``eight_devices``
and run as ``test_sharding.py`` says (its own file, so that pytest-xdist
runs it beside that one).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jinit

os.environ["KERAS_BACKEND"] = "jax"  # Before the last test imports keras.

pytestmark = [pytest.mark.eight_devices, pytest.mark.usefixtures("first_draws")]


def test_materialize_creates_leaves_sharded(first_draws):
    """``jinit.materialize`` on 1-D and 2-D meshes of 8, 3 and 6 devices,
    Auto and Explicit axes (down to one element a shard): every leaf equals
    the unsharded draw, and the compiled draw of a sharded leaf only ever
    holds one shard; a sharding that cannot split the shape, or a spec with
    no mesh, is an error naming the path, before anything is drawn. First
    of all, under ``jax.set_mesh`` with PartitionSpecs, ``jax.jit`` of
    materialize and materialize eagerly, on an Explicit 2-D and an Auto 1-D
    mesh. Eight layouts in all."""
    inits = [
        jinit.he_normal(),
        jinit.glorot_uniform(),
        jinit.lecun_normal(),
        jinit.random_normal(0.1, 0.5),
        jinit.random_uniform(-1.0, 2.0),
        jinit.truncated_normal(stddev=0.3),
        jinit.variance_scaling(0.5, "fan_avg", "untruncated_normal"),
        jinit.orthogonal(),
        jinit.zeros(),
        jinit.constant(0.25),
    ]
    key = jax.random.key(7)
    in_context = [
        (
            jax.make_mesh(
                (4, 2), ("a", "b"), axis_types=(AxisType.Explicit,) * 2
            ),
            P("b", "a"),
            (16, 24),
        ),
        (
            jax.make_mesh((8,), ("a",), axis_types=(AxisType.Auto,)),
            P(None, None, None, "a"),
            (3, 3, 8, 16),
        ),
    ]
    for mesh, spec, shape in in_context:
        specs = {
            f"{i}": jinit.Param(shape, init, sharding=spec)
            for i, init in enumerate(inits)
        }
        with jax.set_mesh(mesh):  # Before any other draw of the process.
            drawn = {
                "jit": jax.jit(
                    lambda k, specs=specs: jinit.materialize(k, specs)
                )(key),
                "eager": jinit.materialize(key, specs),
            }
        assert first_draws == {"float32": True}  # Under jax.set_mesh.
        plain = jinit.materialize(
            key,
            {
                path: jinit.Param(leaf.shape, leaf.init, leaf.dtype)
                for path, leaf in specs.items()
            },
        )
        sharding = NamedSharding(mesh, spec)
        for how, params in drawn.items():
            for path, value in params.items():
                assert value.sharding.is_equivalent_to(sharding, len(shape)), (
                    how,
                    path,
                    value.sharding,
                )
                assert value.addressable_shards[0].data.shape == (
                    sharding.shard_shape(shape)
                ), (how, path)
                np.testing.assert_array_equal(
                    np.asarray(value),
                    np.asarray(plain[path]),
                    err_msg=f"{how} {path} {spec}",
                )

    devices = np.array(jax.devices())
    explicit = jax.make_mesh(
        (8,), ("a",), axis_types=(jax.sharding.AxisType.Explicit,)
    )
    layouts = [
        (Mesh(devices, ("a",)), P("a"), (16, 24)),
        (explicit, P(None, "a"), (16, 24)),
        (Mesh(devices.reshape(4, 2), ("a", "b")), P("a", "b"), (16, 24)),
        (
            Mesh(devices.reshape(4, 2), ("a", "b")),
            P(None, None, "b", "a"),
            (3, 3, 8, 16),
        ),
        (Mesh(devices[:3], ("a",)), P(None, "a"), (5, 9)),
        (Mesh(devices[:6].reshape(3, 2), ("a", "b")), P("b", "a"), (2, 3)),
    ]
    for mesh, spec, shape in layouts:
        sharding = NamedSharding(mesh, spec)
        specs = {
            f"{i}": jinit.Param(shape, init, sharding=sharding)
            for i, init in enumerate(inits)
        }
        specs["bf16"] = jinit.Param(
            shape, jinit.he_uniform(), "bfloat16", sharding
        )
        params = jinit.materialize(key, specs)
        plain = jinit.materialize(
            key,
            {
                path: jinit.Param(leaf.shape, leaf.init, leaf.dtype)
                for path, leaf in specs.items()
            },
        )
        for path, value in params.items():
            assert value.sharding.is_equivalent_to(sharding, len(shape)), (
                path,
                value.sharding,
            )
            np.testing.assert_array_equal(
                np.asarray(value),
                np.asarray(plain[path]),
                err_msg=f"{path} {spec}",
            )
        # What each device computes: the compiled draw holds one shard.
        law = jinit.he_normal().prepare(key, shape).law
        bounds, scale, shift = law.arguments(np.dtype("float32"))
        text = (
            jinit._draws._sampler(sharding)
            .lower(
                key,
                bounds,
                scale,
                shift,
                None,
                shape=shape,
                dtype=np.dtype("float32"),
                out_dtype=np.dtype("float32"),
                unit=law.unit,
            )
            .compile()
            .as_text()
        )
        whole = "f32[" + ",".join(map(str, shape)) + "]"
        shard = "f32[" + ",".join(map(str, sharding.shard_shape(shape))) + "]"
        assert shard in text and whole not in text, (spec, shard, whole)
    for sharding, match in [
        (
            NamedSharding(Mesh(devices[:4], ("a",)), P(None, "a")),
            "partitioned 4 times",
        ),
        (P("a"), "needs a mesh"),
    ]:
        try:
            jinit.materialize(
                key,
                {
                    "layers": [
                        jinit.Param(
                            (3, 6), jinit.he_normal(), sharding=sharding
                        )
                    ]
                },
            )
        except ValueError as error:
            assert "'layers/0' (float32[3, 6]) cannot be placed" in str(
                error
            ) and match in str(error), error
        else:
            raise AssertionError(f"no error for {sharding}")
    assert len(in_context) + len(layouts) == 8


def test_sharded_nnx_model_on_eight_devices(first_draws):
    """An NNX model built under ``jax.set_mesh`` with ``jinit.flax.sharded``
    kernels on 1-D and 2-D meshes of Explicit and Auto axes, eagerly and
    under ``nnx.jit``: each kernel has the requested sharding and equals the
    unsharded model's, bit for bit; the compiled draw of a sharded kernel
    holds only one shard. Three meshes."""
    pytest.importorskip("flax")
    from flax import nnx

    import jinit.flax

    class Model(nnx.Module):
        def __init__(self, wrap, rngs):
            self.embed = nnx.Embed(
                64,
                32,
                rngs=rngs,
                embedding_init=wrap(
                    jinit.random_normal(stddev=0.02), ("a", None)
                ),
            )
            self.linear = nnx.Linear(
                32,
                64,
                rngs=rngs,
                kernel_init=wrap(jinit.he_normal(), (None, "b")),
            )
            self.conv = nnx.Conv(
                8,
                16,
                (3, 3),
                rngs=rngs,
                kernel_init=wrap(jinit.orthogonal(), (None, None, "a", "b")),
            )

    def kernels(model):
        return [model.embed.embedding, model.linear.kernel, model.conv.kernel]

    def sharded_model():
        return Model(jinit.flax.sharded, nnx.Rngs(0))

    meshes = [
        ((8, 1), AxisType.Explicit),
        ((2, 4), AxisType.Auto),
        ((4, 2), AxisType.Explicit),
    ]
    built = []
    for axes, kind in meshes:  # The process's first draws, under set_mesh.
        mesh = jax.make_mesh(axes, ("a", "b"), axis_types=(kind, kind))
        with jax.set_mesh(mesh):
            built.append(
                (axes, kind, mesh, sharded_model(), nnx.jit(sharded_model)())
            )
    assert first_draws == {"float32": True}  # Under jax.set_mesh.
    plain = kernels(Model(lambda init, spec: init, nnx.Rngs(0)))
    for axes, kind, mesh, eager, jitted in built:
        for model in (eager, jitted):
            for got, want in zip(kernels(model), plain, strict=True):
                named = NamedSharding(mesh, P(*got.out_sharding))
                value = got[...]
                assert value.sharding.is_equivalent_to(named, value.ndim), (
                    axes,
                    kind,
                    value.sharding,
                )
                assert value.addressable_shards[0].data.shape == (
                    named.shard_shape(value.shape)
                ), (axes, kind)
                np.testing.assert_array_equal(
                    np.asarray(value), np.asarray(want[...])
                )
        draw = jinit.flax.sharded(jinit.he_normal(), (None, "b"), mesh)
        text = (
            jax.jit(
                lambda k, draw=draw: draw(k, (32, 64), np.float32).raw_value
            )
            .lower(jax.random.key(0))
            .compile()
            .as_text()
        )
        shard = f"f32[32,{64 // axes[1]}]"
        assert shard in text, (axes, shard)
        assert axes[1] == 1 or "f32[32,64]" not in text, (axes, text)
    assert len(meshes) == 3


def test_first_float64_draw_under_a_mesh_and_thread_local_x64(first_draws):
    """The first float64 draw of the process, under jit inside
    ``jax.set_mesh`` and a thread-local ``jax.enable_x64``: the kernel's
    self-check runs with that configuration, passes, and the draw is JAX's,
    sharded as asked. Two draws."""
    mesh = jax.make_mesh((2, 4), ("a", "b"), axis_types=(AxisType.Auto,) * 2)
    key, shape = jax.random.key(3), (16, 8)
    inits = [
        (jinit.he_normal(), jax.nn.initializers.he_normal()),
        (jinit.lecun_uniform(), jax.nn.initializers.lecun_uniform()),
    ]
    with jax.enable_x64(True):
        with jax.set_mesh(mesh):
            drawn = jax.jit(
                lambda k: [
                    ours(k, shape, "float64", out_sharding=P("b", "a"))
                    for ours, _ in inits
                ]
            )(key)
        assert first_draws == {"float64": True}  # Under jit in set_mesh.
        assert jinit._draws.kernel_agrees(np.dtype("float64"))
        for value, (_, theirs) in zip(drawn, inits, strict=True):
            assert value.dtype == np.float64, value.dtype
            assert value.sharding.is_equivalent_to(
                NamedSharding(mesh, P("b", "a")), 2
            ), value.sharding
            np.testing.assert_array_equal(value, theirs(key, shape, "float64"))
    assert len(inits) == 2


def test_diagnose_under_a_mesh_on_eight_devices():
    """``jinit.diagnose`` of an MLP under ``jax.set_mesh``, eagerly and
    under jit: on Explicit axes with the batch split across the 8 devices,
    and on Auto axes with the weights split (the first's columns, the
    second's rows): the same records and statistics as unsharded, for the
    records w0 and w1."""

    def mlp(params, x):
        return jax.nn.relu(x @ params["w0"]) @ params["w1"]

    def loss(out):
        return jnp.mean(out**2)

    k0, k1 = jax.random.split(jax.random.key(0))
    params = {
        "w0": jinit.he_normal()(k0, (32, 64)),
        "w1": jinit.he_normal()(k1, (64, 16)),
    }
    x = jax.random.normal(jax.random.key(1), (64, 32))
    alone = jinit.diagnose(mlp, params, x, loss=loss)
    layouts = [
        (AxisType.Explicit, {"w0": P(), "w1": P()}, P("d", None)),
        (AxisType.Auto, {"w0": P(None, "d"), "w1": P("d", None)}, P()),
    ]
    for kind, weights, batch in layouts:
        mesh = jax.make_mesh((8,), ("d",), axis_types=(kind,))
        with jax.set_mesh(mesh):
            placed = {
                name: jax.device_put(value, NamedSharding(mesh, weights[name]))
                for name, value in params.items()
            }
            data = jax.device_put(x, NamedSharding(mesh, batch))
            reports = [
                jinit.diagnose(mlp, placed, data, loss=loss),
                jax.jit(lambda p, x: jinit.diagnose(mlp, p, x, loss=loss))(
                    placed, data
                ),
            ]
        for report in reports:
            assert report.names == alone.names, report.names
            for field in (
                "forward_mean",
                "forward_std",
                "forward_rms",
                "backward_rms",
                "weight_rms",
                "weight_grad_rms",
            ):
                np.testing.assert_allclose(
                    getattr(report, field),
                    getattr(alone, field),
                    rtol=1e-5,
                    atol=1e-7,
                    err_msg=f"{kind} {field}",
                )
    assert list(alone.names) == ["w0", "w1"]


def test_model_parallel_layouts_on_eight_devices():
    """A Keras model-parallel distribution on a 2 x 4 mesh: Keras passes
    each kernel's layout; the kernel is created with that sharding and holds
    the unsharded draw, bit for bit; so does a TensorLayout passed directly.
    Four kernels. Keras's JAX backend (``KERAS_BACKEND``, set above)."""
    keras = pytest.importorskip("keras")

    import jinit.keras as jk

    mesh = keras.distribution.DeviceMesh(
        (2, 4), ["batch", "model"], devices=keras.distribution.list_devices()
    )
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["conv.*kernel"] = (None, None, None, "model")
    layout_map["einsum.*kernel"] = ("model", None, "batch")
    distribution = keras.distribution.ModelParallel(
        layout_map=layout_map, batch_dim_name="batch"
    )
    cases = [
        (
            keras.layers.Dense(32, name="dense"),
            (None, 16),
            jinit.he_normal(),
            P(None, "model"),
        ),
        (
            keras.layers.Conv2D(8, 3, name="conv"),
            (None, 8, 8, 4),
            jinit.glorot_uniform(),
            P(None, None, None, "model"),
        ),
        (
            keras.layers.EinsumDense("ab,bcd->acd", (4, 8), name="einsum"),
            (None, 16),
            jinit.lecun_normal(in_axis=0, out_axis=(1, 2)),
            P("model", None, "batch"),
        ),
    ]
    with distribution.scope():
        for seed, (layer, input_shape, init, spec) in enumerate(cases):
            layer.kernel_initializer = jk.initializer(init, seed=seed)
            layer.build(input_shape)
            kernel = layer.kernel.value
            want = NamedSharding(mesh.backend_mesh, spec)
            assert kernel.sharding.is_equivalent_to(want, kernel.ndim), (
                layer.name,
                kernel.sharding,
            )
            np.testing.assert_array_equal(  # Keras's rounding of scales.
                np.asarray(kernel),
                init.with_rounding("keras")(jk.keras_key(seed), kernel.shape),
            )
    layout = keras.distribution.TensorLayout((None, "model"), mesh)
    values = jk.initializer(jinit.orthogonal(), seed=9)((16, 32), layout=layout)
    assert values.sharding.is_equivalent_to(
        NamedSharding(mesh.backend_mesh, P(None, "model")), 2
    )
    np.testing.assert_array_equal(
        values, jinit.orthogonal()(jk.keras_key(9), (16, 32))
    )
    assert len(cases) + 1 == 4

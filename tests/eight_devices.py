"""The checks that need 8 simulated CPU devices, run by
``tests/test_sharding.py``, each in a fresh process of its own (XLA_FLAGS
must be set before jax is imported) with no recorded kernel self-check
(``JINIT_CACHE_DIR=""``), so that each check's first draws, made under
``jax.set_mesh``, are the process's: ``python tests/eight_devices.py
[CHECK ...]``.

Each check prints one line, ``RESULT <name> <ok|failed|skipped> <json>``:
its detail, or the traceback that failed it, so that one failing check
names itself and the others still run. Importing this module runs nothing.
"""

import importlib.util
import json
import sys
import traceback

import numpy as np


class Skip(Exception):
    """A check that cannot run here (its framework is not installed)."""


def needs(module):
    if importlib.util.find_spec(module) is None:
        raise Skip(f"{module} is not installed")


def _case_shape(case):
    """A shape every mesh here splits, of the case's rank (square where the
    case's is: HiPPO's ``A``)."""
    if len(case.shape) == 3:  # stft's (frame length, channels, bins).
        return (8, 8, 16)
    if len(case.shape) != 2:
        return (8, 8, 8, 16)
    return (16, 16) if case.shape[0] == case.shape[1] else (16, 24)


def check_out_sharding():
    """Every factory with ``out_sharding`` on a 1-D and a 2-D mesh of 8
    devices, one with Explicit and one with Auto axes, eagerly with a
    NamedSharding; on one of the two (alternating between factories, so
    that each mesh has a quarter of them), also under jit, as a
    PartitionSpec under ``jax.set_mesh`` (eagerly and under jit) and as a
    NamedSharding over its AbstractMesh (what Keras 3 passes): each with the
    requested sharding and the unsharded values, bit for bit; complex64
    draws keep the sharding. The process's first draws are those under jit
    inside ``jax.set_mesh``. Returns, for each factory, the [rank, axis
    type, transforms] of its meshes."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P
    from registry import FACTORY_CASES

    key = jax.random.key(0)
    # Factory i on the two meshes of pair i % 2: each factory on a 1-D and a
    # 2-D mesh, so through both branches of jinit's placement (Explicit
    # axes: device_put; Auto: a sharding constraint), each mesh with half of
    # the factories (all four meshes for every factory compiled each draw
    # twice as often and took no other branch of jinit's code). The
    # transforms (jit, a spec under set_mesh, an abstract mesh) run on mesh
    # (i // 2) % 2 of the pair: each transform still meets every mesh, so
    # both branches on both ranks, at half the compilations (under set_mesh
    # every program is compiled anew: the mesh is in jit's cache key).
    pairs = [
        [((8,), AxisType.Explicit), ((2, 4), AxisType.Auto)],
        [((8,), AxisType.Auto), ((4, 2), AxisType.Explicit)],
    ]
    meshes = {}
    for axes, kind in pairs[0] + pairs[1]:
        names = ("a", "b")[: len(axes)]
        mesh = jax.make_mesh(axes, names, axis_types=(kind,) * len(axes))
        transformed = [
            case
            for i, case in enumerate(FACTORY_CASES)
            if (axes, kind) == pairs[i % 2][(i // 2) % 2]
        ]

        spec = P(*names)

        def draw_all_by_spec(key, spec=spec, transformed=transformed):
            return {
                case.id: case.init(key, _case_shape(case), out_sharding=spec)
                for case in transformed
            }

        with jax.set_mesh(mesh):  # Before any other draw of the process.
            meshes[axes, kind] = (
                mesh,
                spec,
                transformed,
                jax.jit(draw_all_by_spec)(key),
            )
    want = {
        case.id: np.asarray(case.init(key, _case_shape(case)))
        for case in FACTORY_CASES
    }
    checked = {}
    for (axes, kind), (
        mesh,
        spec,
        transformed,
        jitted_by_spec,
    ) in meshes.items():
        named = NamedSharding(mesh, spec)
        cases = [
            case
            for i, case in enumerate(FACTORY_CASES)
            if (axes, kind) in pairs[i % 2]
        ]
        where = f"{'x'.join(map(str, axes))} {kind.name}"

        def draw_all(key, named=named, transformed=transformed):
            return (
                {
                    case.id: case.init(
                        key, _case_shape(case), out_sharding=named
                    )
                    for case in transformed
                },
                {
                    case.id: case.init(
                        key, _case_shape(case), "complex64", out_sharding=named
                    )
                    for case in transformed
                    if case.complex
                },
            )

        # Under jit, one program for all the cases (one compile, not one a
        # case): each draw is still traced and placed on its own.
        jitted, jitted_complex = jax.jit(draw_all)(key)
        for case in cases:
            init, shape = case.init, _case_shape(case)
            got = {"eager": init(key, shape, out_sharding=named)}
            got_complex = {}
            if case.complex:  # jax drops out_sharding on its complex paths
                got_complex["eager"] = init(
                    key, shape, "complex64", out_sharding=named
                )
            if case in transformed:
                got["jit"] = jitted[case.id]
                got["jit_spec"] = jitted_by_spec[case.id]
                with jax.set_mesh(mesh):
                    got["spec"] = init(key, shape, out_sharding=spec)
                    got["abstract"] = init(
                        key,
                        shape,
                        out_sharding=NamedSharding(mesh.abstract_mesh, spec),
                    )
                if case.complex:
                    got_complex["jit"] = jitted_complex[case.id]
            for how, value in got.items():
                assert value.sharding.is_equivalent_to(named, len(shape)), (
                    case,
                    where,
                    how,
                    value.sharding,
                )
                assert value.addressable_shards[0].data.shape == (
                    named.shard_shape(shape)
                ), (case, where, how)
                np.testing.assert_array_equal(
                    np.asarray(value),
                    want[case.id],
                    err_msg=f"{case} {where} {how}",
                )
            for how, value in got_complex.items():
                assert value.sharding.is_equivalent_to(named, len(shape)), (
                    case,
                    where,
                    how,
                    value.sharding,
                )
                assert value.dtype == jnp.complex64, (case, where, how)
            checked.setdefault(case.id, []).append(
                [len(axes), kind.name, sorted(got)]
            )
    return checked


def check_materialize():
    """``jinit.materialize`` on 1-D and 2-D meshes of 8, 3 and 6 devices,
    Auto and Explicit axes (down to one element a shard): every leaf equals
    the unsharded draw, and the compiled draw of a sharded leaf only ever
    holds one shard; a sharding that cannot split the shape, or a spec with
    no mesh, is an error naming the path, before anything is drawn. First
    of all, under ``jax.set_mesh`` with PartitionSpecs, ``jax.jit`` of
    materialize and materialize eagerly, on an Explicit 2-D and an Auto 1-D
    mesh. Returns the number of layouts."""
    import jax
    from jax.sharding import AxisType, Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit

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
    return len(in_context) + len(layouts)


def check_nnx_model():
    """An NNX model built under ``jax.set_mesh`` with ``jinit.flax.sharded``
    kernels on 1-D and 2-D meshes of Explicit and Auto axes, eagerly and
    under ``nnx.jit``: each kernel has the requested sharding and equals the
    unsharded model's, bit for bit; the compiled draw of a sharded kernel
    holds only one shard. Returns the number of meshes."""
    needs("flax")
    import jax
    from flax import nnx
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit
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
    return len(meshes)


def check_keras_layouts():
    """A Keras model-parallel distribution on a 2 x 4 mesh: Keras passes
    each kernel's layout; the kernel is created with that sharding and holds
    the unsharded draw, bit for bit; so does a TensorLayout passed directly.
    Returns the number of kernels. Needs KERAS_BACKEND=jax."""
    needs("keras")
    import keras
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit
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
    return len(cases) + 1


def check_x64_first_draw():
    """The first float64 draw of the process, under jit inside
    ``jax.set_mesh`` and a thread-local ``jax.enable_x64``: the kernel's
    self-check runs with that configuration, passes, and the draw is JAX's,
    sharded as asked. Returns the number of draws."""
    import jax
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit

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
        assert jinit._draws.kernel_agrees(np.dtype("float64"))
        for value, (_, theirs) in zip(drawn, inits, strict=True):
            assert value.dtype == np.float64, value.dtype
            assert value.sharding.is_equivalent_to(
                NamedSharding(mesh, P("b", "a")), 2
            ), value.sharding
            np.testing.assert_array_equal(value, theirs(key, shape, "float64"))
    return len(inits)


def check_diagnose():
    """``jinit.diagnose`` of an MLP under ``jax.set_mesh``, eagerly and
    under jit: on Explicit axes with the batch split across the 8 devices,
    and on Auto axes with the weights split (the first's columns, the
    second's rows): the same records and statistics as unsharded. Returns
    the records' paths."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jinit

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
    return list(alone.names)


# Keras last: importing it sets up its backend in this process.
CHECKS = {
    "out_sharding": check_out_sharding,
    "materialize": check_materialize,
    "nnx_model": check_nnx_model,
    "x64_first_draw": check_x64_first_draw,
    "diagnose": check_diagnose,
    "keras_layouts": check_keras_layouts,
}


def main(names):
    """Runs the checks ``names`` (all by default), in this order. Each
    fails, besides its own assertions, if the kernel's self-check fell back
    to ``jax.random`` (it must pass wherever it is first asked)."""
    import jax

    from jinit import _draws

    assert jax.device_count() == 8, jax.devices()
    for name in names or CHECKS:
        try:
            status, detail = "ok", CHECKS[name]()
            assert _draws.kernel_agrees(np.dtype("float32"))
        except Skip as skip:
            status, detail = "skipped", str(skip)
        except Exception:
            status, detail = "failed", traceback.format_exc()
        print("RESULT", name, status, json.dumps(detail), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""jinit initializers as Flax linen and NNX ``*_init`` arguments, and
``jinit.flax.sharded`` (on 8 simulated CPU devices: in test_sharding.py,
with the other checks that need them). Every parameter Flax creates
equals the jinit initializer called with the key, shape and dtype Flax passed
it (recorded by :class:`Recorder`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

nn = pytest.importorskip("flax.linen")
nnx = pytest.importorskip("flax.nnx")
jinit_flax = pytest.importorskip("jinit.flax")

EXPLICIT = (jax.sharding.AxisType.Explicit,)
KERNEL_INITS = [
    jinit.he_normal(),
    jinit.lecun_normal(),
    jinit.glorot_uniform(),
    jinit.orthogonal(),
    jinit.random_normal(stddev=0.02),
    jinit.truncated_normal(stddev=0.1),
]
BIAS_INITS = [
    jinit.zeros(),
    jinit.constant(0.1),
    jinit.random_normal(stddev=0.02),
]


class Recorder:
    """An initializer that calls ``init`` and records each call."""

    def __init__(self, init):
        self.init = init
        self.calls = []

    def __call__(self, key, shape, dtype=jnp.float32):
        self.calls.append((key, tuple(shape), dtype))
        return self.init(key, shape, dtype)

    def assert_made(self, *params):
        """Each parameter is the value of one recorded call, in order
        (reshaped: DenseGeneral draws its kernel flattened to 2-D)."""
        assert len(params) == len(self.calls), self.calls
        for param, call in zip(params, self.calls, strict=True):
            np.testing.assert_array_equal(
                param, self.init(*call).reshape(param.shape)
            )


@pytest.mark.parametrize("init", KERNEL_INITS, ids=repr)
@pytest.mark.parametrize("bias", BIAS_INITS, ids=repr)
@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda k, b: nn.Dense(8, kernel_init=k, bias_init=b), (16, 8)),
        (
            lambda k, b: nn.DenseGeneral((2, 4), kernel_init=k, bias_init=b),
            (16, 2, 4),
        ),
        (
            lambda k, b: nn.Conv(8, (3, 3), kernel_init=k, bias_init=b),
            (3, 3, 16, 8),
        ),
    ],
    ids=["Dense", "DenseGeneral", "Conv"],
)
def test_linen_layers(layer, shape, init, bias):
    kernel_init, bias_init = Recorder(init), Recorder(bias)
    params = layer(kernel_init, bias_init).init(
        jax.random.key(0), jnp.ones((1, 5, 5, 16))
    )["params"]
    assert params["kernel"].shape == shape
    kernel_init.assert_made(params["kernel"])
    bias_init.assert_made(params["bias"])


def test_dense_general_draws_a_flat_kernel():
    """DenseGeneral calls kernel_init with (prod(contracted axes),
    prod(features)) and reshapes, so the default fan axes are right: the
    fans are those of jinit's (features, heads, head_dim) layout."""
    kernel_init = Recorder(jinit.lecun_normal())
    params = nn.DenseGeneral((8, 64), kernel_init=kernel_init).init(
        jax.random.key(1), jnp.ones((2, 512))
    )["params"]
    assert kernel_init.calls[0][1] == (512, 512)
    assert params["kernel"].shape == (512, 8, 64)
    assert jinit.compute_fans((512, 512)) == jinit.compute_fans(
        (512, 8, 64), in_axis=0, out_axis=(1, 2)
    )
    kernel_init.assert_made(params["kernel"])


@pytest.mark.parametrize(
    "init",
    [jinit.random_normal(stddev=0.02), jinit.he_normal(), jinit.orthogonal()],
    ids=repr,
)
def test_linen_and_nnx_embed(init):
    embedding_init = Recorder(init)
    params = nn.Embed(100, 16, embedding_init=embedding_init).init(
        jax.random.key(2), jnp.zeros((3,), jnp.int32)
    )["params"]
    layer = nnx.Embed(100, 16, embedding_init=embedding_init, rngs=nnx.Rngs(2))
    embedding_init.assert_made(params["embedding"], layer.embedding[...])


def test_lstm_cell_orthogonal_recurrent_kernels():
    recurrent_init = Recorder(jinit.orthogonal())
    cell = nn.LSTMCell(
        32,
        recurrent_kernel_init=recurrent_init,
        kernel_init=jinit.he_normal(),
        bias_init=jinit.zeros(),
    )
    carry = cell.initialize_carry(jax.random.key(0), (2, 8))
    params = cell.init(jax.random.key(3), carry, jnp.ones((2, 8)))["params"]
    kernels = [params[gate]["kernel"] for gate in ("hi", "hf", "hg", "ho")]
    recurrent_init.assert_made(*kernels)
    for kernel in kernels:
        np.testing.assert_allclose(kernel.T @ kernel, np.eye(32), atol=1e-5)
    assert len({np.asarray(k).tobytes() for k in kernels}) == 4


@pytest.mark.parametrize("init", KERNEL_INITS, ids=repr)
@pytest.mark.parametrize(
    "layer, shape",
    [
        (
            lambda k, b: nnx.Linear(
                16, 8, kernel_init=k, bias_init=b, rngs=nnx.Rngs(4)
            ),
            (16, 8),
        ),
        (
            lambda k, b: nnx.Conv(
                16, 8, (3, 3), kernel_init=k, bias_init=b, rngs=nnx.Rngs(4)
            ),
            (3, 3, 16, 8),
        ),
    ],
    ids=["Linear", "Conv"],
)
def test_nnx_layers(layer, shape, init):
    kernel_init, bias_init = Recorder(init), Recorder(jinit.constant(0.1))
    module = layer(kernel_init, bias_init)
    assert module.kernel.shape == shape
    kernel_init.assert_made(module.kernel[...])
    bias_init.assert_made(module.bias[...])


@pytest.mark.parametrize("init", KERNEL_INITS, ids=repr)
def test_linen_with_partitioning(init):
    def params(kernel_init):
        return nn.Dense(8, kernel_init=kernel_init).init(
            jax.random.key(5), jnp.ones((1, 16))
        )["params"]

    boxed = params(nn.with_partitioning(init, ("embed", "mlp")))["kernel"]
    assert isinstance(boxed, nn.Partitioned)
    assert boxed.names == ("embed", "mlp")
    np.testing.assert_array_equal(boxed.unbox(), params(init)["kernel"])


def nnx_linear(kernel_init):
    return nnx.Linear(16, 8, kernel_init=kernel_init, rngs=nnx.Rngs(6))


@pytest.mark.parametrize(
    "wrap",
    [nnx.with_partitioning, jinit_flax.sharded],
    ids=["with_partitioning", "sharded"],
)
@pytest.mark.parametrize("init", KERNEL_INITS, ids=repr)
def test_nnx_partitioning_metadata(wrap, init):
    with jax.set_mesh(jax.make_mesh((1,), ("model",), axis_types=EXPLICIT)):
        layer = nnx_linear(wrap(init, (None, "model")))
    assert layer.kernel.out_sharding == (None, "model")
    assert nnx.get_partition_spec(nnx.state(layer))["kernel"].get_value() == (
        jax.sharding.PartitionSpec(None, "model")
    )
    np.testing.assert_array_equal(
        layer.kernel[...], nnx_linear(init).kernel[...]
    )


def test_sharded_follows_rules_and_eager_sharding():
    mesh = jax.make_mesh((1,), ("model",), axis_types=EXPLICIT)
    init = jinit_flax.sharded(
        jinit.he_normal(),
        (None, "mlp"),
        mesh,
        sharding_rules=(("mlp", "model"),),
    )
    kernel = nnx_linear(init).kernel
    assert kernel.out_sharding == (None, "mlp")
    assert kernel[...].sharding.spec == jax.sharding.PartitionSpec(
        None, "model"
    )
    with nnx.use_eager_sharding(False):  # No mesh needed: nothing sharded.
        unsharded = nnx_linear(
            jinit_flax.sharded(jinit.he_normal(), (None, "model"))
        ).kernel
    assert unsharded.out_sharding == (None, "model")
    np.testing.assert_array_equal(unsharded[...], kernel[...])


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("he_normal", ("a",)), TypeError, r"`init` must be .* got str"),
        (
            (jinit.he_normal(), "a"),
            TypeError,
            r"`sharding` must be a PartitionSpec .* got str 'a'",
        ),
    ],
)
def test_sharded_errors(args, error, match):
    with pytest.raises(error, match=match):
        jinit_flax.sharded(*args)


class Block(nnx.Module):
    """A small NNX model: a list of layers, a norm and a batch norm."""

    def __init__(self, rngs):
        self.layers = nnx.List(
            [nnx.Linear(6, 10, rngs=rngs), nnx.Linear(10, 4, rngs=rngs)]
        )
        self.norm = nnx.LayerNorm(4, rngs=rngs)
        self.batch = nnx.BatchNorm(4, rngs=rngs)


KEY = jax.random.key(17)
REINIT_RULES = [
    (r"layers/0/kernel$", jinit.orthogonal()),
    (r"kernel$", jinit.he_normal()),
    (r"(scale|var)$", jinit.ones()),
    (r"(bias|mean)$", jinit.zeros()),
]


@pytest.mark.parametrize("abstract", [True, False], ids=["abstract", "built"])
def test_reinit_draws_each_variable_at_its_path_key(abstract):
    build = lambda: Block(nnx.Rngs(0))  # noqa: E731
    model = nnx.eval_shape(build) if abstract else build()
    assert all(
        isinstance(leaf, jax.ShapeDtypeStruct) == abstract
        for leaf in jax.tree.leaves(nnx.state(model))
    )
    filled = jinit_flax.reinit(model, KEY, REINIT_RULES)
    for path, init in [
        ("layers/0/kernel", jinit.orthogonal()),
        ("layers/1/kernel", jinit.he_normal()),
    ]:
        variable = filled
        for part in path.split("/"):
            variable = (
                variable[int(part)]
                if part.isdigit()
                else getattr(variable, part)
            )
        expected = init(jinit.path_key(KEY, path), variable.shape)
        np.testing.assert_array_equal(variable[...], expected)
    np.testing.assert_array_equal(filled.batch.var[...], 1.0)
    np.testing.assert_array_equal(filled.layers[1].bias[...], 0.0)
    assert filled.layers[0](jnp.ones((2, 6))).shape == (2, 10)


def test_reinit_keeps_unmatched_arrays_and_refuses_unmatched_abstract_ones():
    model = Block(nnx.Rngs(0))
    kept = jinit_flax.reinit(model, KEY, [(r"kernel$", jinit.zeros())])
    np.testing.assert_array_equal(
        kept.layers[0].bias[...], model.layers[0].bias[...]
    )
    np.testing.assert_array_equal(kept.layers[0].kernel[...], 0.0)
    with pytest.raises(
        ValueError, match="no rule matches the parameter at 'batch/bias'"
    ):
        jinit_flax.reinit(
            model, KEY, [(r"kernel$", jinit.zeros())], strict=True
        )
    abstract = nnx.eval_shape(lambda: Block(nnx.Rngs(0)))
    with pytest.raises(
        ValueError, match="no rule matches the parameter at 'batch/bias'"
    ):
        jinit_flax.reinit(abstract, KEY, REINIT_RULES[:2])

"""assign and materialize on the abstract trees of real Flax models:
``jax.eval_shape`` of a linen init, and the state of an NNX module built
under ``nnx.eval_shape``. The parameters made fit the models, and each
equals its initializer called with its path key."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

nn = pytest.importorskip("flax.linen")
nnx = pytest.importorskip("flax.nnx")

KEY = jax.random.key(3)
RULES = [
    (r"embedding$", jinit.random_normal(stddev=0.02)),
    (r"kernel$", jinit.he_normal()),
    (r"bias$", jinit.zeros()),
    (r"scale$", jinit.ones()),
]


class LinenModel(nn.Module):
    @nn.compact
    def __call__(self, tokens):
        x = nn.Embed(100, 16)(tokens)
        x = nn.LayerNorm()(x)
        x = nn.Dense(32)(x)
        return nn.Dense(4)(nn.gelu(x))


class NnxModel(nnx.Module):
    def __init__(self, width, rngs):
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.layers = nnx.List(
            [
                nnx.Linear(width, 4 * width, rngs=rngs),
                nnx.Linear(4 * width, width, rngs=rngs),
            ]
        )

    def __call__(self, x):
        return self.layers[1](nnx.gelu(self.layers[0](self.norm(x))))


def assert_made_by_rules(specs, params, expected_paths):
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    spec_leaves = jax.tree_util.tree_leaves(
        specs, is_leaf=lambda leaf: isinstance(leaf, jinit.Param)
    )
    assert [jinit._keys.path_string(path) for path, _ in leaves] == (
        expected_paths
    )
    for (path, value), spec in zip(leaves, spec_leaves, strict=True):
        name = jinit._keys.path_string(path)
        np.testing.assert_array_equal(
            value,
            spec.init(jinit.path_key(KEY, name), spec.shape, spec.dtype),
            err_msg=name,
        )


def test_linen_eval_shape_tree():
    model, tokens = LinenModel(), jnp.zeros((2, 5), jnp.int32)
    abstract = jax.eval_shape(model.init, jax.random.key(0), tokens)
    specs = jinit.assign(abstract, RULES)
    assert specs["params"]["Dense_0"]["kernel"] == jinit.Param(
        (16, 32), jinit.he_normal(), "float32"
    )
    params = jinit.materialize(KEY, specs)
    assert model.apply(params, tokens).shape == (2, 5, 4)
    assert_made_by_rules(
        specs,
        params,
        [
            "params/Dense_0/bias",
            "params/Dense_0/kernel",
            "params/Dense_1/bias",
            "params/Dense_1/kernel",
            "params/Embed_0/embedding",
            "params/LayerNorm_0/bias",
            "params/LayerNorm_0/scale",
        ],
    )


def test_nnx_abstract_module_state():
    abstract = nnx.eval_shape(lambda: NnxModel(8, nnx.Rngs(0)))
    graphdef, state = nnx.split(abstract)
    specs = jinit.assign(nnx.to_pure_dict(state), RULES)
    params = jinit.materialize(KEY, specs)
    nnx.replace_by_pure_dict(state, params)
    model = nnx.merge(graphdef, state)
    assert model(jnp.ones((2, 8))).shape == (2, 8)
    assert_made_by_rules(
        specs,
        params,
        [
            "layers/0/bias",
            "layers/0/kernel",
            "layers/1/bias",
            "layers/1/kernel",
            "norm/bias",
            "norm/scale",
        ],
    )


def test_unmatched_flax_parameter_is_named():
    abstract = jax.eval_shape(
        LinenModel().init, jax.random.key(0), jnp.zeros((2, 5), jnp.int32)
    )
    with pytest.raises(
        ValueError,
        match=r"'params/Embed_0/embedding' "
        r"\(float32\[100, 16\]\)",
    ):
        jinit.assign(abstract, RULES[1:])

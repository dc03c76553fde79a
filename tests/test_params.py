"""Param, materialize and assign: per-leaf values from path keys, stable under
changes to the rest of the tree; clear errors naming the path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

KEY = jax.random.key(5)


def model_specs():
    return {
        "embed": jinit.Param((32, 8), jinit.random_normal(stddev=0.02)),
        "layers": [
            {"w": jinit.Param((8, 8), jinit.he_normal()),
             "b": jinit.Param((8,), jinit.zeros())},
            {"w": jinit.Param((8, 8), jinit.orthogonal(), "bfloat16"),
             "b": jinit.Param((8,), jinit.constant(0.1))},
        ],
        "head": (jinit.Param((8, 4), jax.nn.initializers.glorot_uniform()),),
    }


# Paths written by hand, not by jinit's own path code.
PATHS = {"embed": ("embed",), "layers/0/w": ("layers", 0, "w"),
         "layers/0/b": ("layers", 0, "b"), "layers/1/w": ("layers", 1, "w"),
         "layers/1/b": ("layers", 1, "b"), "head/0": ("head", 0)}


def at(tree, where):
    for step in where:
        tree = tree[step]
    return tree


def test_each_leaf_equals_its_init_at_its_path_key():
    specs = model_specs()
    params = jinit.materialize(KEY, specs)
    assert (jax.tree_util.tree_structure(params)
            == jax.tree_util.tree_structure(specs, is_leaf=lambda x: isinstance(
                x, jinit.Param)))
    for path, where in PATHS.items():
        spec, value = at(specs, where), at(params, where)
        expected = spec.init(jinit.path_key(KEY, path), spec.shape,
                             spec.dtype)
        assert value.dtype == spec.dtype and value.shape == spec.shape
        np.testing.assert_array_equal(value, expected, err_msg=path)


def test_adding_removing_and_reordering_change_no_other_value():
    before = jinit.materialize(KEY, model_specs())
    specs = model_specs()
    specs["layers"][0]["extra"] = jinit.Param((8, 8), jinit.he_normal())
    specs["adapter"] = jinit.Param((8, 2), jinit.lecun_normal())
    del specs["embed"]
    specs = dict(reversed(list(specs.items())))
    after = jinit.materialize(KEY, specs)
    for path, where in PATHS.items():
        if path != "embed":
            np.testing.assert_array_equal(at(after, where), at(before, where),
                                          err_msg=path)


def test_sharding_places_the_leaf():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    params = jinit.materialize(KEY, {"w": jinit.Param(
        (4, 4), jinit.he_normal(), sharding=sharding)})
    assert params["w"].sharding == sharding


def test_materialize_errors_name_the_path():
    with pytest.raises(TypeError, match="'layers/1' is ndarray"):
        jinit.materialize(KEY, {"layers": [jinit.Param((2,), jinit.zeros()),
                                           np.zeros(2)]})
    wrong = jinit.Param((4, 4), lambda key, shape, dtype: jnp.zeros((4,)))
    with pytest.raises(ValueError, match=r"'w' returned float32\[4\]; its "
                       r"Param asks for float32\[4, 4\]"):
        jinit.materialize(KEY, {"w": wrong})
    with pytest.raises(TypeError, match="`key` must be a PRNG key"):
        jinit.materialize(None, {"w": jinit.Param((2,), jinit.zeros())})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"shape": (2, -1), "init": jinit.zeros()}, ValueError, "non-negative"),
    ({"shape": (2,), "init": "zeros"}, TypeError, "`init` must be"),
    ({"shape": (2,), "init": jinit.zeros(), "dtype": "float33"}, TypeError,
     "`dtype` must be a dtype"),
    ({"shape": (2,), "init": jinit.zeros(), "sharding": "data"}, TypeError,
     "`sharding` must be None"),
])
def test_param_checks_its_fields(kwargs, error, match):
    with pytest.raises(error, match=match):
        jinit.Param(**kwargs)


def mlp_init(key):
    """A hand-written init whose abstract tree jax.eval_shape gives."""
    k1, k2 = jax.random.split(key)
    return {"params": {
        "Dense_0": {"kernel": jax.random.normal(k1, (16, 32)),
                    "bias": jnp.zeros((32,))},
        "Dense_1": {"kernel": jax.random.normal(k2, (32, 4)),
                    "bias": jnp.zeros((4,), jnp.bfloat16)}}}


RULES = [(r"kernel$", jinit.he_normal()), (r"bias$", jinit.zeros())]


def test_assign_on_an_eval_shape_tree_then_materialize():
    abstract = jax.eval_shape(mlp_init, KEY)
    specs = jinit.assign(abstract, RULES)
    kernel = specs["params"]["Dense_1"]["kernel"]
    assert kernel == jinit.Param((32, 4), jinit.he_normal(), "float32")
    assert specs["params"]["Dense_1"]["bias"].dtype == jnp.bfloat16
    params = jinit.materialize(KEY, specs)
    assert jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), params) == (
        jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), abstract))
    np.testing.assert_array_equal(
        params["params"]["Dense_1"]["kernel"],
        jinit.he_normal()(jinit.path_key(KEY, "params/Dense_1/kernel"),
                          (32, 4)))


def test_first_matching_rule_wins_and_gives_its_sharding():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.eval_shape(mlp_init, KEY)
    specs = jinit.assign(abstract, [
        (r"Dense_1/kernel", jinit.orthogonal(), sharding), *RULES])
    assert specs["params"]["Dense_1"]["kernel"].init == jinit.orthogonal()
    assert specs["params"]["Dense_1"]["kernel"].sharding == sharding
    assert specs["params"]["Dense_0"]["kernel"].init == jinit.he_normal()


def test_sharding_from_the_abstract_leaf():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = {"w": jax.ShapeDtypeStruct((4, 4), jnp.float32,
                                          sharding=sharding)}
    assert jinit.assign(abstract, RULES[:1] + [("w", jinit.ones())])[
        "w"].sharding == sharding


@pytest.mark.parametrize("rules, error, match", [
    (RULES[:1], ValueError, r"no rule matches the parameter at "
     r"'params/Dense_0/bias' \(float32\[32\]\); the patterns are 'kernel\$'"),
    ([("kernel",)], TypeError, "each rule must be"),
    ([("(", jinit.zeros())], ValueError, "not a regular expression"),
])
def test_assign_errors(rules, error, match):
    with pytest.raises(error, match=match):
        jinit.assign(jax.eval_shape(mlp_init, KEY), rules)

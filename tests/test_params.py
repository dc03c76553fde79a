"""Param, materialize and assign: per-leaf values from path keys, stable under
changes to the rest of the tree; clear errors naming the path."""

import re

import inputs
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
            {
                "w": jinit.Param((8, 8), jinit.he_normal()),
                "b": jinit.Param((8,), jinit.zeros()),
            },
            {
                "w": jinit.Param((8, 8), jinit.orthogonal(), "bfloat16"),
                "b": jinit.Param((8,), jinit.constant(0.1)),
            },
        ],
        "head": (jinit.Param((8, 4), jax.nn.initializers.glorot_uniform()),),
    }


# Paths written by hand, not by jinit's own path code.
PATHS = {
    "embed": ("embed",),
    "layers/0/w": ("layers", 0, "w"),
    "layers/0/b": ("layers", 0, "b"),
    "layers/1/w": ("layers", 1, "w"),
    "layers/1/b": ("layers", 1, "b"),
    "head/0": ("head", 0),
}


def at(tree, where):
    for step in where:
        tree = tree[step]
    return tree


def test_each_leaf_equals_its_init_at_its_path_key():
    specs = model_specs()
    params = jinit.materialize(KEY, specs)
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(
        specs, is_leaf=lambda x: isinstance(x, jinit.Param)
    )
    for path, where in PATHS.items():
        spec, value = at(specs, where), at(params, where)
        expected = spec.init(jinit.path_key(KEY, path), spec.shape, spec.dtype)
        assert value.dtype == spec.dtype and value.shape == spec.shape
        np.testing.assert_array_equal(value, expected, err_msg=path)


# Every kind of leaf materialize treats differently: elementwise laws drawn
# in blocks (several blocks and a partial last one, 16-bit and seeded ones
# included), laws with a shift, non-elementwise and complex draws, constants,
# and initializers that are not jinit's.
ROW, ROWS = jinit._host_draws.ROW, jinit._host_draws.ROWS
BLOCKS = ROW * ROWS
KINDS = {
    "normal/multi-block": jinit.Param(
        (3, BLOCKS // 2 + 7), jinit.random_normal(stddev=0.3)
    ),
    "normal/shifted": jinit.Param((33, 7), jinit.random_normal(0.5, 2.0)),
    "uniform": jinit.Param((BLOCKS + 1,), jinit.random_uniform(-0.3, 0.7)),
    "truncated": jinit.Param((40, 9), jinit.truncated_normal(-1.0, 0.2)),
    "he_normal/bf16": jinit.Param((65, 33), jinit.he_normal(), "bfloat16"),
    "glorot_uniform/f16": jinit.Param(
        (3, 3, 8, 16), jinit.glorot_uniform(), "float16"
    ),
    "vs/untruncated": jinit.Param(
        (17, 5), jinit.variance_scaling(0.7, "fan_out", "untruncated_normal")
    ),
    "seeded": jinit.Param((9, 9), jinit.lecun_normal(seed=11)),
    "he_normal/same-kind": jinit.Param((5, 7), jinit.he_normal()),
    "one": jinit.Param((1,), jinit.he_uniform()),
    "orthogonal": jinit.Param((12, 8), jinit.orthogonal()),
    "complex": jinit.Param((6, 4), jinit.glorot_normal(), "complex64"),
    "sparse": jinit.Param((10, 4), jinit.sparse(0.3)),
    "ones/int": jinit.Param((5,), jinit.ones(), "int32"),
    "empty": jinit.Param((0, 3), jinit.he_normal()),
    "jax": jinit.Param((8, 4), jax.nn.initializers.glorot_normal()),
}


def test_every_kind_of_leaf_equals_its_own_call():
    params = jinit.materialize(KEY, KINDS)
    for path, spec in KINDS.items():
        expected = spec.init(jinit.path_key(KEY, path), spec.shape, spec.dtype)
        assert params[path].dtype == expected.dtype, path
        assert params[path].shape == expected.shape, path
        np.testing.assert_array_equal(params[path], expected, err_msg=path)


def test_packed_kernel_is_what_draws_on_cpu(monkeypatch):
    """The per-leaf draw is not what materialize runs for elementwise laws
    (so the identity above compares two computations)."""
    drawn = []
    original = jinit._host_draws.sample_many
    monkeypatch.setattr(
        jinit._host_draws,
        "sample_many",
        lambda draws: (
            drawn.extend(draw.shape for draw in draws) or original(draws)
        ),
    )
    jinit.materialize(KEY, KINDS)
    assert sorted(drawn) == sorted(
        spec.shape
        for path, spec in KINDS.items()
        if path
        not in ("orthogonal", "complex", "sparse", "ones/int", "empty", "jax")
    )


# Every kind of leaf, under jit and vmap: KINDS and the constants, a
# foreign lecun_normal and a seeded he_normal in bfloat16.
TRACED = {
    **KINDS,
    "zeros": jinit.Param((4, 3), jinit.zeros()),
    "constant/bf16": jinit.Param((3,), jinit.constant(0.1), "bfloat16"),
    "jax/lecun": jinit.Param((8, 4), jax.nn.initializers.lecun_normal()),
    "seeded/bf16": jinit.Param((7, 5), jinit.he_normal(seed=3), "bfloat16"),
}


def test_materialize_under_jit_and_vmap_equals_eager():
    """A traced key cannot be folded on the host: each leaf is then its
    initializer's call at its path key, the same bits as the eager packed
    draw (an initializer's own seed folded in the same way)."""
    keys = jax.random.split(KEY, 2)
    eager = [jinit.materialize(key, TRACED) for key in keys]
    batched = jax.vmap(lambda key: jinit.materialize(key, TRACED))(keys)
    jitted = jax.jit(lambda key: jinit.materialize(key, TRACED))(keys[1])
    calls = jax.jit(
        lambda key: {
            path: spec.init(jinit.path_key(key, path), spec.shape, spec.dtype)
            for path, spec in TRACED.items()
        }
    )(keys[1])
    for path in TRACED:
        for i in range(2):
            assert batched[path][i].dtype == eager[i][path].dtype, path
            np.testing.assert_array_equal(
                batched[path][i], eager[i][path], err_msg=path
            )
        np.testing.assert_array_equal(jitted[path], calls[path], path)
        assert jitted[path].dtype == eager[1][path].dtype, path
        if not np.array_equal(jitted[path], eager[1][path]):
            # These initializers' own jitted calls differ from their eager
            # ones by an ulp (a shifted uniform, a complex normal).
            assert path in ("uniform", "complex"), path
            np.testing.assert_allclose(
                jitted[path], eager[1][path], rtol=2e-7, atol=6e-8, err_msg=path
            )


def test_materialize_under_jit_with_a_raw_key():
    raw = jax.random.PRNGKey(4)
    specs = {
        "w": jinit.Param((5, 3), jinit.he_normal()),
        "b": jinit.Param((3,), jinit.ones()),
    }
    got = jax.jit(lambda key: jinit.materialize(key, specs))(raw)
    for path, value in jinit.materialize(raw, specs).items():
        np.testing.assert_array_equal(got[path], value, err_msg=path)


@pytest.mark.parametrize(
    "specs, first, second, path",
    [
        ({"a/b": "P", "a": {"b": "P"}}, "['a/b']", "['a']['b']", "a/b"),
        (
            {"layers": ["P"], "layers/0": "P"},
            "['layers'][0]",
            "['layers/0']",
            "layers/0",
        ),
    ],
    ids=["key with a slash", "index and key"],
)
def test_paths_that_print_the_same_are_refused(specs, first, second, path):
    """Two leaves must never share a key: path keys join keys and indices
    with '/', so such trees are an error naming both leaves."""
    spec = jinit.Param((3,), jinit.he_normal())
    specs = jax.tree_util.tree_map(lambda _: spec, specs)
    names = sorted([first, second])
    with pytest.raises(
        ValueError,
        match=(
            rf"the leaves at {re.escape(names[0])} and "
            rf"{re.escape(names[1])} have the same path '{path}'.*rename"
        ),
    ):
        jinit.materialize(KEY, specs)


@pytest.mark.parametrize(
    "sizes",
    [
        [1],
        [ROW, ROW * ROWS],
        [ROW - 1, ROW + 1, ROW * ROWS - 1, 3, ROW * (ROWS - 1) + 5, 2, ROW],
        [ROW * ROWS + 1, 1, 1],
    ],
    ids=[
        "one element",
        "whole rows and calls",
        "rows across calls",
        "padding after a one-element draw",
    ],
)
def test_packed_rows_of_one_kind(sizes):
    """Draws of one kind (with scales that differ, by fan-in) share calls:
    runs of rows cross calls, several draws fill one call, the last call is
    padded."""
    specs = {
        f"p{i}": jinit.Param((size, 1), jinit.he_normal())
        for i, size in enumerate(sizes)
    }
    params = jinit.materialize(KEY, specs)
    for path, spec in specs.items():
        np.testing.assert_array_equal(
            params[path],
            spec.init(jinit.path_key(KEY, path), spec.shape),
            err_msg=path,
        )


def test_float64_leaves_equal_their_calls(x64):
    specs = {
        "w": jinit.Param((BLOCKS + 5,), jinit.he_normal(), "float64"),
        "u": jinit.Param((7, 3), jinit.random_uniform(), "float64"),
    }
    params = jinit.materialize(KEY, specs)
    for path, spec in specs.items():
        np.testing.assert_array_equal(
            params[path],
            spec.init(jinit.path_key(KEY, path), spec.shape, spec.dtype),
        )


def test_path_key_data_equals_path_key_for_every_key_kind():
    paths = ["a", "layers/1/w", "ü/0", ""]
    for key in (KEY, jax.random.PRNGKey(3), jax.random.key(3, impl="rbg")):
        rows = jinit._keys.path_key_data(key, paths)
        for path, row in zip(paths, rows, strict=True):
            np.testing.assert_array_equal(
                row, jax.random.key_data(jinit.path_key(key, path))
            )


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
            np.testing.assert_array_equal(
                at(after, where), at(before, where), err_msg=path
            )


def test_sharding_places_the_leaf():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    params = jinit.materialize(
        KEY, {"w": jinit.Param((4, 4), jinit.he_normal(), sharding=sharding)}
    )
    assert params["w"].sharding == sharding


def test_materialize_errors_name_the_path():
    with pytest.raises(TypeError, match="'layers/1' is ndarray"):
        jinit.materialize(
            KEY, {"layers": [jinit.Param((2,), jinit.zeros()), np.zeros(2)]}
        )
    wrong = jinit.Param((4, 4), lambda key, shape, dtype: jnp.zeros((4,)))
    with pytest.raises(
        ValueError,
        match=r"'w' returned float32\[4\]; its "
        r"Param asks for float32\[4, 4\]",
    ):
        jinit.materialize(KEY, {"w": wrong})
    with pytest.raises(TypeError, match="`key` must be a PRNG key"):
        jinit.materialize(None, {"w": jinit.Param((2,), jinit.zeros())})


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"shape": (2, -1), "init": jinit.zeros()},
            ValueError,
            "`shape` must contain only",
        ),
        ({"shape": (2,), "init": "zeros"}, TypeError, "`init` must be"),
        (
            {"shape": (2,), "init": jinit.zeros(), "dtype": "float33"},
            TypeError,
            "`dtype` must be a dtype",
        ),
        (
            {"shape": (2,), "init": jinit.zeros(), "sharding": "data"},
            TypeError,
            "`sharding` must be None",
        ),
        (
            {"shape": (2**31, 2**31), "init": jinit.zeros()},
            ValueError,
            r"\(2147483648, 2147483648\) .* bytes in float32: more than XLA can "
            "address",
        ),
        (
            {"shape": (2**62,), "init": jinit.zeros(), "dtype": "bfloat16"},
            ValueError,
            "bytes in bfloat16: more than XLA can address",
        ),
    ],
)
def test_param_checks_its_fields(kwargs, error, match):
    with pytest.raises(error, match=match):
        jinit.Param(**kwargs)


def mlp_init(key):
    """A hand-written init whose abstract tree jax.eval_shape gives."""
    k1, k2 = jax.random.split(key)
    return {
        "params": {
            "Dense_0": {
                "kernel": inputs.normal(k1, (16, 32)),
                "bias": jnp.zeros((32,)),
            },
            "Dense_1": {
                "kernel": inputs.normal(k2, (32, 4)),
                "bias": jnp.zeros((4,), jnp.bfloat16),
            },
        }
    }


RULES = [(r"kernel$", jinit.he_normal()), (r"bias$", jinit.zeros())]


def test_assign_on_an_eval_shape_tree_then_materialize():
    abstract = jax.eval_shape(mlp_init, KEY)
    specs = jinit.assign(abstract, RULES)
    kernel = specs["params"]["Dense_1"]["kernel"]
    assert kernel == jinit.Param((32, 4), jinit.he_normal(), "float32")
    assert specs["params"]["Dense_1"]["bias"].dtype == jnp.bfloat16
    params = jinit.materialize(KEY, specs)
    assert jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), params) == (
        jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), abstract)
    )
    np.testing.assert_array_equal(
        params["params"]["Dense_1"]["kernel"],
        jinit.he_normal()(
            jinit.path_key(KEY, "params/Dense_1/kernel"), (32, 4)
        ),
    )


def test_first_matching_rule_wins_and_gives_its_sharding():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.eval_shape(mlp_init, KEY)
    specs = jinit.assign(
        abstract, [(r"Dense_1/kernel", jinit.orthogonal(), sharding), *RULES]
    )
    assert specs["params"]["Dense_1"]["kernel"].init == jinit.orthogonal()
    assert specs["params"]["Dense_1"]["kernel"].sharding == sharding
    assert specs["params"]["Dense_0"]["kernel"].init == jinit.he_normal()


def test_sharding_from_the_abstract_leaf():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = {
        "w": jax.ShapeDtypeStruct((4, 4), jnp.float32, sharding=sharding)
    }
    assert (
        jinit.assign(abstract, RULES[:1] + [("w", jinit.ones())])["w"].sharding
        == sharding
    )


@pytest.mark.parametrize(
    "rules, error, match",
    [
        (
            RULES[:1],
            ValueError,
            r"no rule matches the parameter at "
            r"'params/Dense_0/bias' \(float32\[32\]\); the patterns are 'kernel\$'",
        ),
        ([("kernel",)], TypeError, "each rule must be"),
        ([("(", jinit.zeros())], ValueError, "not a regular expression"),
    ],
)
def test_assign_errors(rules, error, match):
    with pytest.raises(error, match=match):
        jinit.assign(jax.eval_shape(mlp_init, KEY), rules)


def test_assign_names_the_path_of_a_leaf_too_large_to_build():
    """Such a Param would abort the process in XLA; it is refused when the
    spec is made, before materialize could reach XLA."""
    abstract = {"w": jax.ShapeDtypeStruct((2**31, 2**31), jnp.float32)}
    with pytest.raises(
        ValueError,
        match=r"the parameter at 'w' cannot be "
        r"made: .* more than XLA can address",
    ):
        jinit.assign(abstract, [("w", jinit.he_normal())])

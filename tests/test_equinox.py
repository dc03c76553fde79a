"""jinit.equinox.reinit on real Equinox layers: the (out, in, *spatial)
weights get the fans of their true inputs, each value is the documented
jinit call at its path key, and unmatched arrays are kept."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

eqx = pytest.importorskip("equinox")
reinit = pytest.importorskip("jinit.equinox").reinit

KEY = jax.random.key(5)
RULES = [(r"weight$", jinit.he_normal()), (r"bias$", jinit.zeros())]


def he_ratio(weight, fan_in):
    """The weight's standard deviation over He's sqrt(2 / fan_in)."""
    return float(np.std(weight) * np.sqrt(fan_in / 2))


# Each layer is built by the test, not in the parametrization, so that
# nothing is drawn at collection.
@pytest.mark.parametrize(
    "build, fan_in",
    [
        # in != out, so reading (out, in) as (in, out) gives the wrong scale.
        (lambda key: eqx.nn.Linear(512, 64, key=key), 512),
        (lambda key: eqx.nn.Linear(64, 512, key=key), 64),
        (lambda key: eqx.nn.Conv2d(64, 16, 3, key=key), 64 * 3 * 3),
        (lambda key: eqx.nn.Conv1d(8, 16, 5, groups=4, key=key), 2 * 5),
    ],
    ids=[
        "Linear(512, 64)",
        "Linear(64, 512)",
        "Conv2d(64, 16, 3)",
        "Conv1d(8, 16, 5, groups=4)",
    ],
)
def test_he_normal_uses_the_true_fan_in(build, fan_in):
    layer = build(jax.random.key(0))
    layer = reinit(layer, KEY, RULES)
    assert he_ratio(layer.weight, fan_in) == pytest.approx(1, rel=0.06)
    np.testing.assert_array_equal(layer.bias, 0)


def test_mlp_weights_are_the_documented_calls_and_the_model_runs():
    mlp = eqx.nn.MLP(512, 10, 64, 2, key=jax.random.key(0))
    new = reinit(mlp, KEY, RULES)
    for index, (fan_in, fan_out) in enumerate([(512, 64), (64, 64), (64, 10)]):
        name = f"layers/{index}/weight"
        expected = jinit.he_normal()(
            jinit.path_key(KEY, name), (fan_in, fan_out), jnp.float32
        ).T
        np.testing.assert_array_equal(
            new.layers[index].weight, expected, err_msg=name
        )
        np.testing.assert_array_equal(new.layers[index].bias, 0)
    assert he_ratio(new.layers[0].weight, 512) == pytest.approx(1, rel=0.06)
    assert new(jnp.ones(512)).shape == (10,)
    assert new.activation is mlp.activation


def test_conv_weight_is_drawn_spatial_in_out_and_moved():
    conv = eqx.nn.Conv2d(4, 6, (3, 5), key=jax.random.key(0))
    new = reinit(conv, KEY, RULES)
    drawn = jinit.he_normal()(
        jinit.path_key(KEY, "weight"), (3, 5, 4, 6), jnp.float32
    )
    np.testing.assert_array_equal(
        new.weight, jnp.transpose(drawn, (3, 2, 0, 1))
    )
    assert new(jnp.ones((4, 9, 9))).shape == (6, 7, 5)


def test_orthogonal_sees_the_in_out_layout():
    layer = reinit(
        eqx.nn.Linear(64, 512, key=jax.random.key(0)),
        KEY,
        [(r"weight$", jinit.orthogonal())],
    )
    # orthogonal((64, 512)) has orthonormal rows: Equinox's (512, 64)
    # weight has orthonormal columns.
    np.testing.assert_allclose(
        layer.weight.T @ layer.weight, np.eye(64), atol=1e-5
    )
    np.testing.assert_array_equal(
        layer.weight,
        jinit.orthogonal()(
            jinit.path_key(KEY, "weight"), (64, 512), jnp.float32
        ).T,
    )


def test_rnn_weights_and_embedding_layouts():
    model = {
        "gru": eqx.nn.GRUCell(16, 8, key=jax.random.key(0)),
        "embed": eqx.nn.Embedding(100, 16, key=jax.random.key(0)),
    }
    new = reinit(model, KEY, [(r"weight", jinit.glorot_uniform())])
    init = jinit.glorot_uniform()
    for name, value, shape in [
        ("gru/weight_ih", new["gru"].weight_ih, (16, 24)),
        ("gru/weight_hh", new["gru"].weight_hh, (8, 24)),
    ]:
        np.testing.assert_array_equal(
            value,
            init(jinit.path_key(KEY, name), shape, jnp.float32).T,
            err_msg=name,
        )
    # An embedding is (vocabulary, size) already, and is drawn as it is.
    np.testing.assert_array_equal(
        new["embed"].weight,
        init(jinit.path_key(KEY, "embed/weight"), (100, 16), jnp.float32),
    )
    np.testing.assert_array_equal(new["gru"].bias, model["gru"].bias)


def test_unmatched_arrays_are_kept_unless_strict():
    mlp = eqx.nn.MLP(4, 3, 8, 1, key=jax.random.key(0))
    new = reinit(mlp, KEY, RULES[:1])
    for old_layer, new_layer in zip(mlp.layers, new.layers, strict=True):
        assert new_layer.bias is old_layer.bias
        assert not np.array_equal(new_layer.weight, old_layer.weight)
    with pytest.raises(
        ValueError,
        match=r"'layers/0/bias' \(float32\[8\]\)"
        r"; the patterns are 'weight\$'",
    ):
        reinit(mlp, KEY, RULES[:1], strict=True)
    assert reinit(mlp, KEY, []).layers[1].weight is mlp.layers[1].weight


def test_rule_errors():
    linear = eqx.nn.Linear(4, 3, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"rule pattern 'weight\(' is not"):
        reinit(linear, KEY, [("weight(", jinit.zeros())])
    with pytest.raises(
        TypeError,
        match=r"init of rule 'bias' must be an "
        r"initializer.*got str 'zeros'",
    ):
        reinit(linear, KEY, [("bias", "zeros")])
    with pytest.raises(
        TypeError,
        match=r"\(pattern, init\) pair \(Equinox "
        r"keeps no sharding to set\); got 'weight'",
    ):
        reinit(linear, KEY, ["weight"])
    with pytest.raises(TypeError, match="`key` must be a PRNG key"):
        reinit(linear, None, RULES)


def test_an_abstract_model_is_built_by_the_rules_without_drawing_twice():
    """``eqx.filter_eval_shape`` gives the model's shapes with nothing
    drawn; reinit fills them with the same values as reinit of the built
    model, and an abstract array no rule matches is an error."""

    def build():
        return eqx.nn.Sequential(
            [
                eqx.nn.Conv2d(3, 8, 3, key=jax.random.key(1)),
                eqx.nn.Lambda(jax.nn.relu),
            ]
        )

    abstract = eqx.filter_eval_shape(build)
    assert isinstance(abstract.layers[0].weight, jax.ShapeDtypeStruct)
    built = reinit(abstract, KEY, RULES)
    redrawn = reinit(build(), KEY, RULES)
    arrays = [
        jax.tree.leaves(eqx.filter(model, eqx.is_array))
        for model in (built, redrawn)
    ]
    assert len(arrays[0]) == 2
    for ours, theirs in zip(*arrays, strict=True):
        assert isinstance(ours, jax.Array)
        np.testing.assert_array_equal(ours, theirs)
    assert built(jnp.ones((3, 5, 5))).shape == (8, 3, 3)
    with pytest.raises(
        ValueError, match="no rule matches the parameter at 'layers/0/bias'"
    ):
        reinit(abstract, KEY, RULES[:1])

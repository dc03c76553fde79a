"""muP: the roles and factors of Table 3 of Tensor Programs V, the values
`jinit.mup` draws, and the property muP exists for: one optimizer step
changes a network's activations by an amount independent of its width."""

import math

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

KEY = jax.random.key(0)


def sds(*shape):
    return jax.ShapeDtypeStruct(shape, jnp.float32)


def transformer(d, vocab=1000, layers=3):
    return {
        "embed": sds(vocab, d),
        "gate": sds(),
        "blocks": {
            "qkv": sds(layers, d, 3 * d),
            "ln": sds(layers, d),
            "conv": sds(3, 3, d, d),
        },
        "head": {"w": sds(d, vocab), "b": sds(vocab)},
    }


def stacked_specs(d):
    return jinit.assign(
        transformer(d),
        [
            (r"qkv", jinit.he_normal(batch_axis=0)),
            (r"ln|gate|head/b", jinit.zeros()),
            (r".*", jinit.random_normal(stddev=0.02)),
        ],
    )


def test_roles_and_factors_follow_table_3():
    scaling = jinit.mup_scaling(stacked_specs(1024), transformer(256))
    # r = 1024 / 256 = 4 for every width that grows.
    expected = {
        "embed": ("input", 1, 4, 1, 1, 4),  # (vocab, d)
        "gate": ("fixed", 1, 1, 1, 1, 1),  # a scalar
        "blocks/qkv": ("hidden", 4, 4, 0.5, 0.25, 1),  # batch axis 0
        # (layers, d): inputs are the 3 layers, so one vector per layer.
        "blocks/ln": ("input", 1, 4, 1, 1, 4),
        "blocks/conv": ("hidden", 4, 4, 0.5, 0.25, 1),  # 3x3 kept
        "head/w": ("output", 4, 1, 0.25, 0.25, 0.25),
        "head/b": ("fixed", 1, 1, 1, 1, 1),  # vocabulary-sized
    }
    flat = {
        jinit._keys.path_string(path): leaf
        for path, leaf in jax.tree_util.tree_leaves_with_path(
            scaling, is_leaf=lambda n: isinstance(n, jinit.MupScaling)
        )
    }
    assert {name: tuple(s) for name, s in flat.items()} == expected


def test_a_vector_is_all_outputs():
    scaling = jinit.mup_scaling({"b": sds(512)}, {"b": sds(128)})["b"]
    assert scaling == jinit.MupScaling("input", 1, 4, 1, 1, 4)


def test_learning_rates():
    wide, base = transformer(1024), transformer(256)
    adam = jinit.mup_learning_rates(wide, base)
    sgd = jinit.mup_learning_rates(wide, base, "sgd")
    assert (adam["embed"], adam["blocks"]["conv"], adam["head"]["w"]) == (
        1,
        0.25,
        0.25,
    )
    assert (sgd["embed"], sgd["blocks"]["conv"], sgd["head"]["w"]) == (
        4,
        1,
        0.25,
    )
    assert jax.tree.structure(adam) == jax.tree.structure(wide)


def test_at_the_base_width_nothing_changes():
    specs = stacked_specs(256)
    assert jinit.mup(specs, transformer(256)) == specs


def test_values_are_the_base_law_times_the_factor():
    base = {"hidden": sds(256, 256), "out": sds(256, 10), "in": sds(32, 256)}
    wide = {
        "hidden": sds(1024, 1024),
        "out": sds(1024, 10),
        "in": sds(32, 1024),
    }
    rules = [(".*", jinit.glorot_normal())]
    specs = jinit.mup(jinit.assign(wide, rules), base)
    key = jax.random.key(3)
    # glorot_normal at the BASE fans, times 1/2 (hidden), 1/4 (output), 1.
    stds = {
        "hidden": math.sqrt(2 / 512) / 2,
        "out": math.sqrt(2 / 266) / 4,
        "in": math.sqrt(2 / 288),
    }
    for name, std in stds.items():
        expected = jinit.truncated_normal(stddev=std / 0.87962566103423978)(
            key, wide[name].shape
        )
        drawn = specs[name].init(key, wide[name].shape)
        np.testing.assert_allclose(drawn, expected, rtol=2e-6, atol=0)
        assert abs(float(drawn.std()) / std - 1) < 0.03, name


def test_materialize_and_transforms_give_the_same_values():
    specs = jinit.mup(stacked_specs(512), transformer(128))
    params = jinit.materialize(KEY, specs)
    init, shape = specs["head"]["w"].init, specs["head"]["w"].shape
    key = jinit.path_key(KEY, "head/w")
    np.testing.assert_array_equal(params["head"]["w"], init(key, shape))
    np.testing.assert_array_equal(
        jax.jit(init, static_argnums=1)(key, shape), init(key, shape)
    )
    keys = jax.random.split(KEY, 3)
    batch = jax.vmap(lambda k: init(k, shape))(keys)
    np.testing.assert_allclose(batch[1], init(keys[1], shape), rtol=1e-6)
    assert not params["head"]["b"].any() and not params["gate"].any()
    assert abs(float(params["head"]["w"].std()) / (0.02 / 4) - 1) < 0.03


def test_zeros_stay_zeros_and_a_seed_is_kept():
    specs = jinit.assign(
        {"w": sds(64, 8), "v": sds(64, 64)},
        [("w", jinit.zeros()), ("v", jinit.random_normal(seed=7))],
    )
    scaled = jinit.mup(specs, {"w": sds(16, 8), "v": sds(16, 16)})
    assert scaled["w"].init == jinit.zeros()
    np.testing.assert_array_equal(
        scaled["v"].init(None, (64, 64)),
        jinit.random_normal(0.0, 0.05 / 2, seed=7)(None, (64, 64)),
    )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: jinit.mup_scaling({"w": sds(8, 8)}, {"w": sds(8, 8, 1)}),
            ValueError,
            r"the parameter at 'w' has shape \(8, 8\) but its base has "
            r"shape \(8, 8, 1\): muP needs the same rank",
        ),
        (
            lambda: jinit.mup_scaling(
                {"w": sds(5, 5, 8, 8)}, {"w": sds(3, 3, 4, 4)}
            ),
            ValueError,
            r"axes \[0, 1\] are neither inputs, outputs nor batch axes",
        ),
        (
            lambda: jinit.mup_scaling({"w": sds(8, 8)}, {"v": sds(8, 8)}),
            ValueError,
            r"`base` has no parameter at 'w'; .* start 'v'",
        ),
        (
            lambda: jinit.mup_scaling({"w": 3.0}, {"w": sds(8, 8)}),
            TypeError,
            r"the leaf at 'w' has no shape: float 3.0",
        ),
        (
            lambda: jinit.mup_learning_rates(
                {"w": sds(8, 8)}, {"w": sds(4, 4)}, "adamw"
            ),
            ValueError,
            r"`optimizer` must be one of 'adam', 'sgd'; got 'adamw'",
        ),
        (
            lambda: jinit.mup({"w": sds(8, 8)}, {"w": sds(4, 4)}),
            TypeError,
            r"`specs` must be a tree of jinit.Param; the leaf at 'w'",
        ),
        (
            lambda: jinit.mup(
                {"w": jinit.Param((8, 8), jinit.orthogonal())}, {"w": sds(4, 4)}
            ),
            TypeError,
            r"muP rescales the parameter at 'w' by 0.707107, and its "
            r"initializer orthogonal\(\) has no elementwise law",
        ),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# The coordinate check: an MLP 32 -> n -> n -> 10 tuned at n = 64, one
# step of Adam (its first step is learning_rate * sign(gradient)) or SGD on
# a linear loss, at n = 64 and n = 2048 (r = 32).
D_IN, D_OUT, BASE, WIDE = 32, 10, 64, 2048


def mlp(n):
    return {
        "l1": {"w": sds(D_IN, n), "b": sds(n)},
        "l2": {"w": sds(n, n), "b": sds(n)},
        "l3": {"w": sds(n, D_OUT), "b": sds(D_OUT)},
    }


def apply(params, x):
    h1 = x @ params["l1"]["w"] + params["l1"]["b"][None]
    h2 = jax.nn.relu(h1) @ params["l2"]["w"] + params["l2"]["b"][None]
    return jax.nn.relu(h2) @ params["l3"]["w"] + params["l3"]["b"][None], h2


def one_step(n, optimizer, use_mup):
    x = inputs.normal(jax.random.key(1), (128, D_IN))
    y = inputs.normal(jax.random.key(2), (128, D_OUT))
    specs = jinit.assign(
        mlp(n), [("w$", jinit.he_normal()), ("b$", jinit.zeros())]
    )
    factors = jax.tree.map(lambda _: 1.0, mlp(n))
    if use_mup:
        specs = jinit.mup(specs, mlp(BASE))
        factors = jinit.mup_learning_rates(mlp(n), mlp(BASE), optimizer)
    params = jinit.materialize(KEY, specs)
    grads = jax.grad(lambda p: jnp.mean(apply(p, x)[0] * y))(params)
    rate, direction = {"adam": (1e-2, jnp.sign), "sgd": (1.0, lambda g: g)}[
        optimizer
    ]
    stepped = jax.tree.map(
        lambda p, g, f: p - rate * f * direction(g), params, grads, factors
    )
    (out, hidden), (out1, hidden1) = apply(params, x), apply(stepped, x)
    return (
        float(out.std()),
        float(jnp.sqrt(jnp.mean((out1 - out) ** 2))),
        float(jnp.sqrt(jnp.mean((hidden1 - hidden) ** 2))),
    )


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_one_step_changes_activations_independently_of_width(optimizer):
    (out_base, dout_base, dh_base), (out_wide, dout_wide, dh_wide) = (
        one_step(n, optimizer, True) for n in (BASE, WIDE)
    )
    # Measured 0.78-0.98 for both ratios (keys 0-2, width 4096 against 64).
    assert 0.6 < dout_wide / dout_base < 1.5
    assert 0.6 < dh_wide / dh_base < 1.5
    # Output weights of Var ~ 1/fan_in^2: the output at init shrinks like
    # 1/sqrt(n) (measured 0.09-0.13 at r = 64; sqrt(1/32) = 0.18 here).
    assert 0.5 < out_wide / out_base / math.sqrt(BASE / WIDE) < 2
    # Standard parametrization: the same step grows with the width (measured
    # output changes 50-370 times larger at r = 64).
    (_, sp_base, _), (_, sp_wide, _) = (
        one_step(n, optimizer, False) for n in (BASE, WIDE)
    )
    assert sp_wide / sp_base > 8

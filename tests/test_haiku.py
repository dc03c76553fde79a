"""jinit.haiku: jinit initializers as Haiku ``w_init`` drawing Haiku's keys,
and path-stable parameter creation by rules and full names."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

hk = pytest.importorskip("haiku")
jinit_haiku = pytest.importorskip("jinit.haiku")

KEY = jax.random.key(5)
RULES = [
    (r"/w$", jinit.he_normal()),
    (r"/b$", jinit.zeros()),
    (r"/scale$", jinit.ones()),
    (r"/offset$", jinit.zeros()),
]


def first_haiku_key(rng):
    """The first key ``hk.next_rng_key()`` gives in a transform run with
    ``rng``."""
    return hk.transform(hk.next_rng_key).apply({}, rng)


@pytest.mark.parametrize(
    "make, shape, name",
    [
        (lambda w_init: hk.Linear(16, w_init=w_init), (2, 8), "linear"),
        (
            lambda w_init: hk.Conv2D(16, 3, w_init=w_init),
            (1, 5, 5, 4),
            "conv2_d",
        ),
    ],
)
def test_initializer_draws_with_the_next_haiku_key(make, shape, name):
    x = jnp.ones(shape)  # Made here: nothing is computed at collection.
    init = jinit.he_normal()
    model = hk.transform(lambda x: make(jinit_haiku.initializer(init))(x))
    params = model.init(KEY, x)
    w = params[name]["w"]
    np.testing.assert_array_equal(
        w, init(first_haiku_key(KEY), w.shape, w.dtype)
    )
    np.testing.assert_array_equal(params[name]["b"], np.zeros(16))


def test_initializer_keeps_the_dtype_and_runs_under_jit():
    init = jinit_haiku.initializer(jinit.orthogonal())
    model = hk.transform(
        lambda: hk.get_parameter("q", (6, 6), jnp.bfloat16, init=init)
    )
    q = jax.jit(model.init)(KEY)["~"]["q"]
    assert q.dtype == jnp.bfloat16
    np.testing.assert_array_equal(
        q, jinit.orthogonal()(first_haiku_key(KEY), (6, 6), jnp.bfloat16)
    )


def test_initializer_he_normal_std():
    w_init = jinit_haiku.initializer(jinit.he_normal())
    model = hk.transform(lambda x: hk.Linear(512, w_init=w_init)(x))
    w = model.init(KEY, jnp.ones((1, 512)))["linear"]["w"]
    assert abs(float(jnp.std(w)) / np.sqrt(2 / 512) - 1) < 0.02
    assert abs(float(jnp.mean(w))) < 0.01 * np.sqrt(2 / 512)


def mlp(names, key=None):
    """A transformed MLP of 32-wide Linear layers with the given names and a
    LayerNorm, path-stable with ``key`` unless that is ``False``."""

    def forward(x):
        for name in names:
            x = jax.nn.relu(hk.Linear(32, name=name)(x))
        return hk.LayerNorm(-1, True, True, name="norm")(x)

    def stable(x):
        with jinit_haiku.path_stable(RULES, key):
            return forward(x)

    return hk.transform(forward if key is False else stable)


def test_inserting_a_module_changes_no_other_parameter():
    x = jnp.ones((2, 8))
    short = mlp(["in", "out"]).init(KEY, x)
    long = mlp(["in", "middle", "out"]).init(KEY, x)
    assert set(long) - set(short) == {"middle"}
    for module, params in short.items():
        for name, value in params.items():
            np.testing.assert_array_equal(value, long[module][name])
    base_key = first_haiku_key(KEY)
    for module, params in long.items():
        for name, value in params.items():
            path = f"{module}/{name}"
            init = next(
                init for pattern, init in RULES if re.search(pattern, path)
            )
            np.testing.assert_array_equal(
                value,
                init(jinit.path_key(base_key, path), value.shape, value.dtype),
                err_msg=path,
            )
    # Haiku's own key sequence, by contrast, shifts past the inserted layer.
    haiku_short = mlp(["in", "out"], False).init(KEY, x)
    haiku_long = mlp(["in", "middle", "out"], False).init(KEY, x)
    assert not np.array_equal(haiku_short["out"]["w"], haiku_long["out"]["w"])


def test_path_stable_equals_materialize_of_assign_and_applies_keyless():
    x = jnp.ones((2, 8))
    model = mlp(["in", "out"], KEY)
    params = model.init(jax.random.key(9), x)
    materialized = jinit.materialize(KEY, jinit.assign(params, RULES))
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, materialized)
    # apply with no key: the block draws none outside init.
    np.testing.assert_array_equal(
        model.apply(params, None, x), mlp(["in", "out"]).apply(params, None, x)
    )


def test_path_stable_uses_the_full_haiku_name():
    def forward(x):
        with jinit_haiku.path_stable(
            [(r"^mlp/~/linear_0/w$", jinit.he_normal()), (r"", jinit.ones())],
            KEY,
        ):
            return hk.nets.MLP([4, 2])(x)

    params = hk.transform(forward).init(None, jnp.ones((1, 3)))
    w = params["mlp/~/linear_0"]["w"]
    np.testing.assert_array_equal(
        w, jinit.he_normal()(jinit.path_key(KEY, "mlp/~/linear_0/w"), (3, 4))
    )
    np.testing.assert_array_equal(
        params["mlp/~/linear_1"]["w"], np.ones((4, 2))
    )


def test_initializer_rejects_a_non_callable():
    with pytest.raises(TypeError, match=r"`init` must be .* got int 3"):
        jinit_haiku.initializer(3)


def test_path_stable_names_an_unmatched_parameter():
    def forward(x):
        with jinit_haiku.path_stable([(r"/w$", jinit.he_normal())], KEY):
            return hk.Linear(3, name="dense")(x)

    model = hk.transform(forward)
    with pytest.raises(
        ValueError,
        match=r"'dense/b' \(float32\[3\]\).*"
        r"'/w\$'",
    ):
        model.init(None, jnp.ones((1, 2)))


@pytest.mark.parametrize(
    "rules, error, match",
    [
        ([(r"w$",)], TypeError, r"\(pattern, init\) pair"),
        ([(r"w$", jinit.zeros(), None)], TypeError, r"\(pattern, init\) pair"),
        (
            [(r"w$", "he_normal")],
            TypeError,
            r"the init of rule 'w\$' must be .* got str 'he_normal'",
        ),
        ([(r"(", jinit.zeros())], ValueError, r"not a regular expression"),
    ],
)
def test_path_stable_rejects_bad_rules(rules, error, match):
    def forward():
        with jinit_haiku.path_stable(rules, KEY):
            return None

    with pytest.raises(error, match=match):
        hk.transform(forward).init(None)

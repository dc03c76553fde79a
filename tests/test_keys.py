"""Keys and seeds: typed, raw and rbg keys; seed -> key; key + seed ->
fold_in."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import CONTRACT_SHAPE, RANDOM

import jinit

SHAPE = CONTRACT_SHAPE


@pytest.mark.parametrize("case", RANDOM, ids=repr)
def test_typed_and_raw_threefry_keys_draw_the_same(case):
    np.testing.assert_array_equal(
        case.init(jax.random.key(9), case.shape),
        case.init(jax.random.PRNGKey(9), case.shape),
    )


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg", "threefry2x32"])
def test_any_key_implementation(impl):
    key = jax.random.key(1, impl=impl)
    for init in (jinit.he_normal(), jinit.orthogonal(), jinit.random_uniform()):
        first = init(key, SHAPE)
        assert first.shape == SHAPE and bool(jnp.isfinite(first).all())
        np.testing.assert_array_equal(first, init(key, SHAPE))


def test_a_seed_stands_for_its_key():
    with_seed = jinit.glorot_normal(seed=0)(None, (128, 64))
    np.testing.assert_array_equal(
        with_seed, jinit.glorot_normal()(jax.random.key(0), (128, 64))
    )


def test_a_seed_and_a_key_fold_together():
    key = jax.random.key(3)
    both = jinit.he_uniform(seed=11)(key, SHAPE)
    np.testing.assert_array_equal(
        both, jinit.he_uniform()(jax.random.fold_in(key, 11), SHAPE)
    )
    assert not np.array_equal(both, jinit.he_uniform()(key, SHAPE))
    assert not np.array_equal(both, jinit.he_uniform(seed=11)(None, SHAPE))


def test_raw_keys_under_vmap_and_jit():
    keys = jax.random.split(jax.random.PRNGKey(0), 3)  # uint32[3, 2]
    init = jinit.lecun_normal()
    batch = jax.jit(jax.vmap(lambda key: init(key, SHAPE)))(keys)
    for member in range(3):
        np.testing.assert_allclose(
            batch[member], init(keys[member], SHAPE), rtol=1e-6
        )


def test_no_key_and_no_seed_is_an_error():
    with pytest.raises(
        ValueError,
        match=r"`he_normal` needs randomness.*"
        r"seed=0",
    ):
        jinit.he_normal()(None, SHAPE)


# Arrays are made by the test (a function here): nothing is computed at
# collection.
@pytest.mark.parametrize(
    "key, shown",
    [
        (0, "int 0"),
        (lambda: jnp.zeros(2, jnp.float32), r"float32\[2\]"),
        (lambda: jnp.zeros(3, jnp.uint32), r"uint32\[3\]"),
        ("key", "str 'key'"),
    ],
)
def test_a_key_that_is_not_a_key_is_a_type_error(key, shown):
    key = key() if callable(key) else key
    with pytest.raises(
        TypeError, match=r"`key` must be a PRNG key.*got " + shown
    ):
        jinit.random_normal()(key, SHAPE)


def test_a_batch_of_keys_is_an_error_pointing_to_vmap():
    keys = jax.random.split(jax.random.key(0), 4)
    with pytest.raises(ValueError, match=r"single PRNG key.*\(4,\).*vmap"):
        jinit.random_normal()(keys, SHAPE)


def test_deterministic_initializers_ignore_the_key():
    for init in (
        jinit.zeros(),
        jinit.ones(),
        jinit.constant(2.0),
        jinit.identity(),
    ):
        np.testing.assert_array_equal(
            init(None, (3, 3)), init(jax.random.key(1), (3, 3))
        )


# path_key: golden values, computed once (BLAKE2b is fixed by RFC 7693 and
# fold_in by JAX's threefry), the same on jax 0.8.2 and 0.10.2.
GOLDEN_PATHS = {
    "layers/1/w": ((2577712066, 3225639262), [286096233, 327571572]),
    "encoder/attention/query/kernel": (
        (1259951846, 331900794),
        [38526086, 2227344589],
    ),
    "": ((3836125271, 1954132660), [2975332429, 981776549]),
}


@pytest.mark.parametrize("path", GOLDEN_PATHS)
def test_path_key_golden_values(path):
    words, data = GOLDEN_PATHS[path]
    assert jinit._keys.path_hash(path) == words
    for key in (jax.random.key(0), jax.random.PRNGKey(0)):
        assert jax.random.key_data(jinit.path_key(key, path)).tolist() == data


def test_path_key_is_two_folds_of_the_hash():
    key = jax.random.key(3)
    high, low = jinit._keys.path_hash("a/b")
    np.testing.assert_array_equal(
        jax.random.key_data(jinit.path_key(key, "a/b")),
        jax.random.key_data(
            jax.random.fold_in(jax.random.fold_in(key, high), low)
        ),
    )


def test_path_key_under_jit_and_vmap():
    keys = jax.random.split(jax.random.key(4), 3)
    eager = [jax.random.key_data(jinit.path_key(k, "layers/0/b")) for k in keys]
    jitted = jax.jit(
        lambda k: jax.random.key_data(jinit.path_key(k, "layers/0/b"))
    )
    batched = jax.vmap(
        lambda k: jax.random.key_data(jinit.path_key(k, "layers/0/b"))
    )(keys)
    for i, expected in enumerate(eager):
        np.testing.assert_array_equal(jitted(keys[i]), expected)
        np.testing.assert_array_equal(batched[i], expected)


def test_path_keys_of_different_paths_differ():
    key = jax.random.key(0)
    paths = [f"layers/{i}/{name}" for i in range(64) for name in "wb"]
    data = {
        tuple(jax.random.key_data(jinit.path_key(key, p)).tolist())
        for p in paths
    }
    assert len(data) == len(paths)


@pytest.mark.parametrize(
    "key, path, error, match",
    [
        (
            lambda: jax.random.key(0),
            ("layers", 1),
            TypeError,
            "`path` must be a str",
        ),
        (None, "w", TypeError, "`key` must be a PRNG key"),
        (
            lambda: jax.random.split(jax.random.key(0), 2),
            "w",
            ValueError,
            "batch",
        ),
        (7, "w", TypeError, "`key` must be a PRNG key"),
    ],
)
def test_path_key_errors(key, path, error, match):
    key = key() if callable(key) else key
    with pytest.raises(error, match=match):
        jinit.path_key(key, path)

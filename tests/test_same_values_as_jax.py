"""Bit-identity with jax.random and jax.nn.initializers where the semantics
coincide: switching to jinit changes no values (float32, float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

J = jax.nn.initializers
ODD_SHAPES = [(5,), (1,), (1023,), (4, 1, 3, 2), (0,), (3, 0)]

PAIRS = [
    ("random_normal", jinit.random_normal(stddev=0.3), J.normal(0.3)),
    ("random_uniform", jinit.random_uniform(0.0, 0.3), J.uniform(0.3)),
    (
        "truncated_normal",
        jinit.truncated_normal(stddev=0.3),
        J.truncated_normal(0.3),
    ),
    ("orthogonal", jinit.orthogonal(gain=1.5), J.orthogonal(1.5)),
    *[
        (name, getattr(jinit, name)(), getattr(J, name)())
        for name in (
            "glorot_normal",
            "glorot_uniform",
            "he_normal",
            "he_uniform",
            "lecun_normal",
            "lecun_uniform",
        )
    ],
    *[
        (
            f"variance_scaling({mode}, {ours})",
            jinit.variance_scaling(0.7, mode, ours),
            J.variance_scaling(0.7, mode, theirs),
        )
        for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
        for ours, theirs in (
            ("truncated_normal", "truncated_normal"),
            ("normal", "truncated_normal"),
            ("untruncated_normal", "normal"),
            ("uniform", "uniform"),
        )
    ],
    (
        "variance_scaling(axes)",
        jinit.variance_scaling(
            2.0, "fan_avg", in_axis=(0, 2), out_axis=1, batch_axis=3
        ),
        J.variance_scaling(
            2.0,
            "fan_avg",
            "truncated_normal",
            in_axis=(0, 2),
            out_axis=1,
            batch_axis=3,
        ),
    ),
]
KEYS = {"typed": jax.random.key(42), "raw": jax.random.PRNGKey(42)}


def assert_identical(ours, theirs):
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    if request.param == "float64":
        request.getfixturevalue("x64")
    return request.param


def shapes_for(name):
    return [(2, 3, 4, 5)] if "axes" in name else [(37, 19), (2, 5, 7)]


@pytest.mark.parametrize("key_kind", KEYS)
@pytest.mark.parametrize(
    "name, ours, theirs", PAIRS, ids=[pair[0] for pair in PAIRS]
)
def test_bit_identical_to_jax_eagerly(name, ours, theirs, key_kind, dtype):
    key = KEYS[key_kind]
    for shape in shapes_for(name):
        assert_identical(ours(key, shape, dtype), theirs(key, shape, dtype))


@pytest.mark.parametrize(
    "name, ours, theirs", PAIRS, ids=[pair[0] for pair in PAIRS]
)
def test_bit_identical_to_jax_under_jit(name, ours, theirs, dtype):
    """Under jit, jinit draws what JAX draws eagerly. (JAX's own jitted draw
    can differ in the last bit: XLA folds its sqrt(2) into the scale.)"""
    key = KEYS["typed"]
    shape = shapes_for(name)[0]
    got = jax.jit(ours, static_argnums=(1, 2))(key, shape, dtype)
    assert_identical(got, theirs(key, shape, dtype))


@pytest.mark.parametrize("shape", ODD_SHAPES)
def test_bit_identical_to_jax_random_at_any_rank(shape):
    key = jax.random.key(3)
    assert_identical(
        jinit.random_normal(stddev=1.0)(key, shape),
        jax.random.normal(key, shape),
    )
    assert_identical(
        jinit.random_uniform(-2.0, 3.0)(key, shape),
        jax.random.uniform(key, shape, jnp.float32, -2.0, 3.0),
    )
    assert_identical(
        jinit.truncated_normal(stddev=1.0)(key, shape),
        jax.random.truncated_normal(key, -2.0, 2.0, shape),
    )


def test_bit_identical_under_vmap():
    keys = jax.random.split(jax.random.key(5), 6)
    for _, ours, theirs in PAIRS[:8]:
        got = jax.vmap(lambda key, f=ours: f(key, (16, 8)))(keys)
        want = jax.vmap(lambda key, f=theirs: f(key, (16, 8)))(keys)
        assert_identical(got, want)

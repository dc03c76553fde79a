"""jinit.ensemble: member i equals init(split(key, n)[i]); fans per member."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import CASES

import jinit

KEY = jax.random.key(8)
N = 3
INITS = [pytest.param(case.init, case.shape, id=case.id) for case in CASES]
INITS.append(pytest.param(jax.nn.initializers.he_normal(), (24, 16),
                          id="jax.nn.initializers.he_normal"))


def per_member(init, shape, dtype=None):
    keys = jax.random.split(KEY, N)
    return jnp.stack([init(k, shape, dtype) for k in keys])


@pytest.mark.parametrize("init, shape", INITS)
def test_members_equal_separate_draws(init, shape):
    got = jinit.ensemble(init, N)(KEY, shape)
    assert got.shape == (N, *shape)
    np.testing.assert_array_equal(got, per_member(init, shape))


@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_members_equal_separate_draws_under_transforms(transform):
    init, shape = jinit.glorot_uniform(), (24, 16)
    ensemble = jinit.ensemble(init, N)
    if transform == "jit":
        got = jax.jit(ensemble, static_argnums=(1, 2))(KEY, shape,
                                                       "bfloat16")
        np.testing.assert_array_equal(got, jax.jit(
            per_member, static_argnums=(0, 1, 2))(init, shape, "bfloat16"))
        assert got.dtype == jnp.bfloat16
    else:
        keys = jax.random.split(jax.random.key(2), 2)
        got = jax.vmap(lambda k: ensemble(k, shape))(keys)
        assert got.shape == (2, N, *shape)
        for i, key in enumerate(keys):
            np.testing.assert_array_equal(got[i], ensemble(key, shape))


def test_fans_are_those_of_one_member():
    """he_normal of (512, 256) has std sqrt(2/512); drawn at the stacked shape
    (8, 512, 256) the 8 would count in the fan and shrink it by sqrt(8)."""
    target = (2 / 512) ** 0.5
    members = jinit.ensemble(jinit.he_normal(), 8)(KEY, (512, 256))
    stacked = jinit.he_normal()(KEY, (8, 512, 256))
    assert float(members.std()) / target == pytest.approx(1.0, abs=0.01)
    assert float(stacked.std()) / target == pytest.approx(8**-0.5, abs=0.01)


def test_out_sharding_applies_to_the_stack():
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    got = jinit.ensemble(jinit.zeros(), 2)(KEY, (4,), out_sharding=sharding)
    assert got.sharding == sharding


@pytest.mark.parametrize("init, n, key, error, match", [
    ("he_normal", 2, KEY, TypeError, "`init` must be an initializer"),
    (jinit.he_normal(), 0, KEY, ValueError, "`n` must be an int >= 1"),
    (jinit.he_normal(), 2.0, KEY, TypeError, "`n` must be an int >= 1"),
    (jinit.he_normal(), 2, None, TypeError, "`key` must be a PRNG key"),
])
def test_errors(init, n, key, error, match):
    with pytest.raises(error, match=match):
        jinit.ensemble(init, n)(key, (4, 4))

"""jinit.ensemble: member i equals init(split(key, n)[i]); fans per member."""

import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import CASES

import jinit

KEY = jax.random.key(8)
N = 3
INITS = [pytest.param(case.init, case.shape, id=case.id) for case in CASES]
INITS.append(
    pytest.param(
        jax.nn.initializers.he_normal(),
        (24, 16),
        id="jax.nn.initializers.he_normal",
    )
)


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
        got = jax.jit(ensemble, static_argnums=(1, 2))(KEY, shape, "bfloat16")
        np.testing.assert_array_equal(
            got,
            jax.jit(per_member, static_argnums=(0, 1, 2))(
                init, shape, "bfloat16"
            ),
        )
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


@pytest.mark.parametrize(
    "init, n, key, error, match",
    [
        ("he_normal", 2, KEY, TypeError, "`init` must be an initializer"),
        (jinit.he_normal(), 0, KEY, ValueError, "`n` must be an int >= 1"),
        (jinit.he_normal(), 2.0, KEY, TypeError, "`n` must be an int >= 1"),
        (jinit.he_normal(), 2, "key", TypeError, "`key` must be a PRNG key"),
        (
            jinit.he_normal(),
            2,
            None,
            ValueError,
            r"`ensemble` of he_normal\(\) needs randomness: call it with a key",
        ),
        (
            jax.nn.initializers.he_normal(),
            2,
            None,
            ValueError,
            "needs randomness",
        ),
    ],
)
def test_errors(init, n, key, error, match):
    with pytest.raises(error, match=match):
        jinit.ensemble(init, n)(key, (4, 4))


def test_repr_equality_hash_and_pickle():
    init = jinit.ensemble(jinit.he_normal(seed=1), 4)
    assert repr(init) == "ensemble(he_normal(seed=1), n=4)"
    assert isinstance(init, jinit.ConfiguredInitializer)
    assert init.name == "ensemble" and init.random
    assert init == jinit.ensemble(jinit.he_normal(seed=1), 4)
    assert hash(init) == hash(jinit.ensemble(jinit.he_normal(seed=1), 4))
    assert init != jinit.ensemble(jinit.he_normal(seed=2), 4)
    assert init != jinit.ensemble(jinit.he_normal(seed=1), 3)
    assert (
        eval(
            repr(init),
            {"ensemble": jinit.ensemble, "he_normal": jinit.he_normal},
        )
        == init
    )
    rebuilt = pickle.loads(pickle.dumps(init))
    assert rebuilt == init
    np.testing.assert_array_equal(rebuilt(KEY, (4, 3)), init(KEY, (4, 3)))


def _registered():
    """Whether deserialize knows ensemble (a change to jinit/_registry.py,
    issue 14)."""
    try:
        jinit.deserialize(
            {"name": "ensemble", "config": {"init": {"name": "zeros"}, "n": 1}}
        )
    except (TypeError, ValueError):
        return False
    return True


@pytest.mark.skipif(
    not _registered(), reason="jinit.deserialize does not know ensemble yet"
)
def test_serialize_round_trip_nests_the_inner_initializer():
    init = jinit.ensemble(jinit.glorot_normal(seed=3, dtype="bfloat16"), 2)
    config = jinit.serialize(init)
    assert config == {
        "name": "ensemble",
        "config": {
            "init": jinit.serialize(
                jinit.glorot_normal(seed=3, dtype="bfloat16")
            ),
            "n": 2,
        },
    }
    assert jinit.deserialize(json.loads(json.dumps(config))) == init
    with pytest.raises(TypeError, match="serialized"):
        jinit.serialize(jinit.ensemble(jax.nn.initializers.he_normal(), 2))


def test_no_key_draws_from_the_inner_seed_as_its_key():
    """key=None with a seeded init is the key jax.random.key(seed), split:
    member i is init(split(key(seed), n)[i]), init folding its seed in."""
    init, shape = jinit.he_normal(seed=7), (4, 3)
    got = jinit.ensemble(init, N)(None, shape)
    np.testing.assert_array_equal(
        got, jinit.ensemble(init, N)(jax.random.key(7), shape)
    )
    for i, key in enumerate(jax.random.split(jax.random.key(7), N)):
        np.testing.assert_array_equal(got[i], init(key, shape))
        assert not np.array_equal(got[i], init(None, shape))
    assert len({np.asarray(member).tobytes() for member in got}) == N


def test_a_key_and_an_inner_seed_fold_together():
    init, shape = jinit.lecun_uniform(seed=5), (6, 2)
    got = jinit.ensemble(init, N)(KEY, shape)
    np.testing.assert_array_equal(got, per_member(init, shape))
    assert not np.array_equal(
        got, jinit.ensemble(jinit.lecun_uniform(), N)(KEY, shape)
    )


def test_dtype_is_left_to_the_inner_initializer():
    init = jinit.he_normal(dtype="bfloat16")
    got = jinit.ensemble(init, N)(KEY, (5, 4))
    assert got.dtype == jnp.bfloat16
    np.testing.assert_array_equal(got, per_member(init, (5, 4)))
    foreign = jax.nn.initializers.lecun_normal()
    got = jinit.ensemble(foreign, N)(KEY, (5, 4), jnp.bfloat16)
    np.testing.assert_array_equal(
        got, per_member(foreign, (5, 4), jnp.bfloat16)
    )


def test_deterministic_inner_without_a_key_is_stacked_copies():
    got = jinit.ensemble(jinit.constant(3), N)(None, (2, 2), "int32")
    assert got.dtype == jnp.int32
    np.testing.assert_array_equal(got, np.full((N, 2, 2), 3, np.int32))


def test_zero_size_members_keep_the_stacked_shape():
    assert jinit.ensemble(jinit.he_normal(), N)(KEY, (0, 3)).shape == (N, 0, 3)


def test_a_stack_too_large_to_build_is_refused_before_any_draw(monkeypatch):
    def split(*args, **kwargs):
        raise AssertionError("jax.random.split ran before the size check")

    monkeypatch.setattr(jax.random, "split", split)
    for init in (jinit.he_normal(), jax.nn.initializers.he_normal()):
        with pytest.raises(
            ValueError,
            match=r"1099511627776 members of "
            r"`shape` \(4194304, 1048576\) are too many to "
            r"stack: .* more than XLA can address",
        ):
            jinit.ensemble(init, 2**40)(KEY, (2**22, 2**20))

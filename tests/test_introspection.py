"""repr, equality, hashing, pickling, serialize/deserialize and get()."""

import json
import pickle

import jax
import numpy as np
import pytest
from registry import CASES

import jinit
from jinit._registry import FACTORIES

KEY = jax.random.key(4)
NAMES = [
    "zeros",
    "ones",
    "constant",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "orthogonal",
    "identity",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "lecun_normal",
    "he_uniform",
    "delta_orthogonal",
    "dirac",
]
CAMEL = [
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Orthogonal",
    "Identity",
    "LecunUniform",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "LecunNormal",
    "HeUniform",
    "DeltaOrthogonal",
    "Dirac",
]
CONFIGURED = [case.init for case in CASES] + [
    jinit.glorot_normal(seed=0),
    jinit.he_uniform(seed=5, in_axis=-1, out_axis=-2, dtype="bfloat16"),
    jinit.variance_scaling(
        2.0, "fan_out", "uniform", 3, in_axis=[0], out_axis=(1,)
    ),
    jinit.orthogonal(batch_axis=[0], column_axis=1, seed=2),
    jinit.sparse(0.5, 0.1, 3),
]
SHAPES = {case.init: case.shape for case in CASES}


def same_draws(a, b):
    shape = SHAPES.get(
        a, (4, 6, 8) if "batch_axis=(0,)" in repr(a) else (24, 16)
    )
    np.testing.assert_array_equal(a(KEY, shape), b(KEY, shape))


def test_repr_reads_like_the_call():
    assert repr(jinit.glorot_normal(seed=0)) == "glorot_normal(seed=0)"
    assert repr(jinit.glorot_normal()) == "glorot_normal()"
    assert repr(jinit.variance_scaling(2.0, "fan_out", dtype="bfloat16")) == (
        "variance_scaling(scale=2.0, mode='fan_out', dtype='bfloat16')"
    )


@pytest.mark.parametrize("init", CONFIGURED, ids=repr)
def test_repr_evaluates_back_to_an_equal_initializer(init):
    rebuilt = eval(repr(init), dict(FACTORIES))
    assert rebuilt == init and hash(rebuilt) == hash(init)
    same_draws(rebuilt, init)


def test_equality_follows_the_arguments():
    assert jinit.glorot_normal(seed=0) == jinit.glorot_normal(0)
    assert jinit.he_normal(in_axis=[0]) == jinit.he_normal(in_axis=(0,))
    assert jinit.he_normal(dtype="float32") == jinit.he_normal(dtype=np.float32)
    assert jinit.random_normal(stddev=np.float32(0.5)) == jinit.random_normal(
        stddev=0.5
    )
    assert jinit.glorot_normal(seed=0) != jinit.glorot_normal(seed=1)
    assert jinit.glorot_normal() != jinit.glorot_uniform()
    assert len({jinit.he_normal(), jinit.he_normal(), jinit.he_uniform()}) == 2


@pytest.mark.parametrize("init", CONFIGURED, ids=repr)
def test_pickles(init):
    restored = pickle.loads(pickle.dumps(init))
    assert restored == init
    same_draws(restored, init)


@pytest.mark.parametrize("init", CONFIGURED, ids=repr)
def test_serialize_round_trips_through_json(init):
    data = json.loads(json.dumps(jinit.serialize(init)))
    restored = jinit.deserialize(data)
    assert restored == init and jinit.get(data) == init
    same_draws(restored, init)


@pytest.mark.parametrize("name, camel", list(zip(NAMES, CAMEL, strict=True)))
def test_get_by_snake_and_camel_case_name(name, camel):
    expected = getattr(jinit, name)()
    assert jinit.get(name) == expected
    assert jinit.get(camel) == expected
    # A Keras dict: Keras's rounding of the law's scale (where there is one).
    assert jinit.get({"class_name": camel, "config": {}}) == (
        expected.with_rounding("keras")
    )


def test_get_reads_keras_dicts():
    keras = {
        "module": "keras.initializers",
        "class_name": "VarianceScaling",
        "config": {
            "scale": 2.0,
            "mode": "fan_out",
            "distribution": "untruncated_normal",
            "seed": 7,
        },
        "registered_name": None,
    }
    assert jinit.get(keras) == jinit.variance_scaling(
        2.0, "fan_out", "untruncated_normal", seed=7
    ).with_rounding("keras")
    assert jinit.get(
        {"class_name": "Orthogonal", "config": {"gain": 2.0, "seed": None}}
    ) == (jinit.orthogonal(gain=2.0))


def test_get_returns_callables_and_none_unchanged():
    def custom(key, shape, dtype=None):
        return jax.random.normal(key, shape, dtype or "float32")

    assert jinit.get(custom) is custom
    assert jinit.get(jax.nn.initializers.zeros) is jax.nn.initializers.zeros
    assert jinit.get(None) is None


@pytest.mark.parametrize(
    "identifier, error, message",
    [
        (
            "glorot_norml",
            ValueError,
            r"Unknown initializer 'glorot_norml'. Did you mean 'glorot_normal'",
        ),
        ("HeNormel", ValueError, r"Did you mean 'HeNormal'"),
        ("xyz", ValueError, r"Unknown initializer 'xyz'. Known names: zeros, "),
        (
            {"config": {}},
            ValueError,
            r"must have a 'name' \(or Keras "
            r"'class_name'\) string",
        ),
        (
            {"name": "zeros", "config": [1]},
            TypeError,
            r"`config\['config'\]` must be a dict",
        ),
        (
            {"name": "he_normal", "config": {"scale": 2}},
            TypeError,
            r"he_normal\(\): got an unexpected keyword argument 'scale'",
        ),
        (
            3,
            TypeError,
            r"`identifier` must be a name, a dict, an array, a "
            r"callable or None; got int 3",
        ),
    ],
)
def test_get_errors(identifier, error, message):
    with pytest.raises(error, match=message):
        jinit.get(identifier)


def test_serialize_refuses_custom_functions():
    with pytest.raises(
        TypeError,
        match=r"`init` must be an initializer built "
        r"by a jinit factory",
    ):
        jinit.serialize(jax.nn.initializers.zeros)


def test_public_surface():
    assert sorted(jinit.__all__) == jinit.__all__
    for name in NAMES:
        assert name in jinit.__all__
    assert isinstance(jinit.__version__, str)

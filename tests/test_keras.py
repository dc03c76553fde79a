"""Keras 3 (JAX backend) and jinit: every dict ``keras.initializers.serialize``
writes loads in ``jinit.get`` as the same law (same fans, same values from
the same key), and ``jinit.keras.initializer`` makes jinit initializers Keras
initializers: in Dense, Conv2D and EinsumDense layers, with Keras's seed
semantics and ``keras.saving`` round trips. (The ``layout`` of a
model-parallel distribution, on 8 simulated CPU devices, is checked in
test_sharding.py with the other checks that need them.)"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Before any import of keras.

import importlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jinit  # noqa: E402
from jinit._variance_scaling import config_fans  # noqa: E402

keras = pytest.importorskip("keras")
from keras.src.initializers import ALL_OBJECTS  # noqa: E402
from keras.src.initializers.random_initializers import (  # noqa: E402
    compute_fans as keras_fans,
)

import jinit.keras as jk  # noqa: E402

I = keras.initializers  # noqa: E741
SHAPES = [(48, 40), (3, 3, 16, 32)]
SG = keras.random.SeedGenerator


def keras_call(init, *args, **kwargs):
    """Keras code, outside the suite's strict promotion (Keras's
    Orthogonal broadcasts by rank promotion)."""
    with (
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        return init(*args, **kwargs)


# Keras instances of its 16 initializer classes: defaults, seeds (int and
# SeedGenerator), other arguments, and input_axes/output_axes valid for 2-D
# and 4-D shapes (on 4-D they leave the spatial axes out of the fans).
AXES = [
    dict(input_axes=[-2], output_axes=[-1]),
    dict(input_axes=[0], output_axes=[-1]),
    dict(input_axes=[-1], output_axes=[0]),
    dict(input_axes=[0]),
]  # Keras ignores one without the other.
KERAS_CASES = [
    I.Zeros(),
    I.Ones(),
    I.Constant(),
    I.Constant(2.5),
    I.Constant(np.float32(-1.5)),
    I.Constant(jnp.asarray(0.25)),
    I.Identity(),
    I.Identity(gain=3.0),  # Keras writes no gain: gain 1.
    I.RandomNormal(),
    I.RandomNormal(1.0, 0.5, seed=3),
    I.RandomUniform(),
    I.RandomUniform(-1.0, 2.0, seed=4),
    I.TruncatedNormal(),
    I.TruncatedNormal(0.5, 2.0, seed=SG(5)),
    I.Orthogonal(),
    I.Orthogonal(gain=2.0, seed=6),
    I.VarianceScaling(),
    I.VarianceScaling(0.5, "fan_out", "uniform", 7),
    I.VarianceScaling(3.0, "fan_avg", "untruncated_normal", 8, **AXES[2]),
    I.VarianceScaling(2.0, "fan_in", "normal", SG(9), **AXES[0]),
    *[
        cls(**extra)
        for cls in (
            I.GlorotNormal,
            I.GlorotUniform,
            I.HeNormal,
            I.HeUniform,
            I.LecunNormal,
            I.LecunUniform,
        )
        for extra in (
            {},
            dict(seed=10, **AXES[0]),
            dict(seed=SG(11), **AXES[1]),
            dict(seed=12, **AXES[2]),
            dict(seed=13, **AXES[3]),
        )
    ],
]


def case_id(init):
    config = init.get_config()
    if isinstance(config.get("seed"), dict):
        config["seed"] = f"SG({config['seed']['config']['seed']})"
    shown = ",".join(f"{k}={v}" for k, v in config.items() if v is not None)
    return f"{type(init).__name__}({shown})"


def test_the_cases_cover_every_keras_initializer_class():
    classes = {type(init) for init in KERAS_CASES} | {I.STFT}
    assert classes == set(ALL_OBJECTS) - {I.Initializer}
    assert len(classes) == 16


def keras_key(init):
    """The key Keras draws ``init``'s next values with, or None."""
    seed = getattr(init, "seed", None)
    if isinstance(seed, SG):
        return jax.random.wrap_key_data(np.asarray(seed.state.value))
    return None if seed is None else jk.keras_key(seed)


@pytest.mark.parametrize("keras_init", KERAS_CASES, ids=case_id)
def test_every_keras_dict_loads_as_the_same_law(keras_init):
    data = json.loads(json.dumps(I.serialize(keras_init)))
    loaded = jinit.get(data)
    assert jinit.deserialize(data) == loaded
    config = data["config"]
    seed = config.get("seed")
    if isinstance(seed, dict):  # A SeedGenerator: its first key is the int's.
        seed = seed["config"]["seed"]
    assert loaded.get_config().get("seed") == seed
    # jinit's seed is jax.random.key(s), Keras's the raw key [s, 0]: draw
    # the loaded law without its seed from the key Keras draws with.
    unseeded = (
        loaded.clone(seed=None) if "seed" in loaded.get_config() else loaded
    )
    fresh = I.deserialize(data)  # A new Keras instance, as Keras loads it.
    for shape in SHAPES:
        if loaded.name == "identity" and len(shape) > 2:
            continue  # Keras's Identity is 2-D only.
        key = keras_key(fresh)
        want = np.asarray(keras_call(fresh, shape, "float32"))
        got = np.asarray(unseeded(key, shape, "float32"))
        np.testing.assert_array_equal(got, want)  # Keras's bits.
        if isinstance(fresh, I.VarianceScaling):
            assert config_fans(shape, loaded.get_config()) == keras_fans(
                shape, fresh.input_axes, fresh.output_axes
            )
            assert got.std() == pytest.approx(want.std(), rel=1e-5)


def test_keras_axes_leave_the_other_axes_out_of_the_fans():
    data = I.serialize(I.HeNormal(input_axes=[-2], output_axes=[-1]))
    loaded = jinit.get(data)
    assert loaded == jinit.he_normal(
        in_axis=(-2,), out_axis=(-1,), other_axes="ignored"
    ).with_rounding("keras")
    assert config_fans((3, 3, 16, 32), loaded.get_config()) == (16, 32)
    assert jinit.compute_fans((3, 3, 16, 32)) == (144, 288)
    samples = np.asarray(loaded(jax.random.key(0), (3, 3, 512, 128)))
    assert samples.std() == pytest.approx((2 / 512) ** 0.5, rel=0.02)


def test_keras_base_class_is_not_provided():
    with pytest.raises(
        ValueError,
        match=(
            r"`identifier` 'Initializer' is Keras's abstract base class "
            r"keras.initializers.Initializer, which draws nothing; jinit does "
            r"not provide it"
        ),
    ):
        jinit.get("Initializer")


# jinit.keras.initializer in Keras layers.


def test_dense_kernel_is_the_keras_rounded_draw_with_keras_key():
    dense = keras.layers.Dense(
        8,
        kernel_initializer=jk.initializer(jinit.he_normal(), seed=3),
        bias_initializer=jk.initializer(jinit.constant(0.1)),
    )
    dense.build((None, 16))
    kernel = np.asarray(dense.kernel.value)
    np.testing.assert_array_equal(
        kernel,
        jinit.he_normal().with_rounding("keras")(jk.keras_key(3), (16, 8)),
    )
    np.testing.assert_array_equal(
        np.asarray(dense.bias.value), np.full(8, 0.1, np.float32)
    )
    np.testing.assert_array_equal(
        kernel, keras_call(I.HeNormal(seed=3), (16, 8))
    )


def test_conv2d_kernel_fans_include_the_window():
    conv = keras.layers.Conv2D(
        8, 3, kernel_initializer=jk.initializer("glorot_uniform", seed=4)
    )
    conv.build((None, 10, 10, 4))
    kernel = np.asarray(conv.kernel.value)
    assert kernel.shape == (3, 3, 4, 8)
    np.testing.assert_array_equal(
        kernel,
        jinit.glorot_uniform().with_rounding("keras")(
            jk.keras_key(4), (3, 3, 4, 8)
        ),
    )
    np.testing.assert_array_equal(
        kernel, keras_call(I.GlorotUniform(seed=4), (3, 3, 4, 8))
    )


def test_einsum_dense_kernel_with_jinit_axes_is_keras_he_normal():
    # EinsumDense tells Keras's own VarianceScaling its input and output
    # axes; a jinit initializer is given them (here: b in, c and d out).
    def kernel(init):
        layer = keras.layers.EinsumDense(
            "ab,bcd->acd", (4, 8), kernel_initializer=init
        )
        layer.build((None, 16))
        return np.asarray(layer.kernel.value)

    ours = kernel(
        jk.initializer(jinit.he_normal(in_axis=0, out_axis=(1, 2)), seed=5)
    )
    theirs = keras_call(kernel, I.HeNormal(seed=5))
    assert ours.shape == (16, 4, 8)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert not np.allclose(
        kernel(jk.initializer(jinit.he_normal(), seed=5)), theirs
    )  # Default axes: fan_in 4 * 16.


def test_seed_semantics_are_keras():
    shape = (16, 8)
    fixed = jk.initializer(jinit.he_normal(), seed=3)
    np.testing.assert_array_equal(fixed(shape), fixed(shape))
    # A SeedGenerator: a fresh key each call, as Keras's own initializers.
    ours = jk.initializer(jinit.he_normal(), seed=SG(11))
    theirs = I.HeNormal(seed=SG(11))
    first, second = np.asarray(ours(shape)), np.asarray(ours(shape))
    assert not np.allclose(first, second)
    np.testing.assert_allclose(first, keras_call(theirs, shape), rtol=1e-6)
    np.testing.assert_allclose(second, keras_call(theirs, shape), rtol=1e-6)
    # None: a fixed seed from Python's random (keras.utils.set_random_seed).
    random.seed(7)
    unseeded = jk.initializer(jinit.he_normal())
    random.seed(7)
    again = jk.initializer(jinit.he_normal())
    assert isinstance(unseeded.seed, int) and unseeded.seed == again.seed
    np.testing.assert_array_equal(unseeded(shape), unseeded(shape))
    # jinit's own seed, or none needed.
    own = jk.initializer(jinit.he_normal(seed=7))
    assert own.seed is None
    np.testing.assert_array_equal(
        own(shape), jinit.he_normal(seed=7).with_rounding("keras")(None, shape)
    )
    assert jk.initializer(jinit.identity()).seed is None
    assert (
        jk.initializer(jinit.he_normal(dtype="bfloat16"))(shape).dtype
        == jnp.bfloat16
    )
    assert jk.initializer(jinit.he_normal())(shape).dtype == jnp.float32


@pytest.mark.parametrize("seed", [3, SG(4), None])
def test_round_trips_through_keras_serialization(seed):
    init = jk.initializer(
        jinit.variance_scaling(
            2.0, "fan_out", "uniform", in_axis=0, out_axis=(1, 2)
        ),
        seed=seed,
    )
    data = json.loads(json.dumps(I.serialize(init)))
    assert data["registered_name"] == "jinit>JinitInitializer"
    restored = I.deserialize(data)
    assert isinstance(restored, jk.JinitInitializer)
    assert restored.init == init.init and I.get(data).init == init.init
    if seed is None:  # As Keras: the config keeps None, a new seed is drawn.
        assert data["config"]["seed"] is None
        return
    shape = (6, 4, 5)  # A generator's first key is its seed's: both unused.
    np.testing.assert_array_equal(restored(shape), init(shape))
    clone = init.clone()
    assert clone.init == init.init


def test_a_dense_layer_round_trips_with_its_initializer():
    dense = keras.layers.Dense(
        8, kernel_initializer=jk.initializer(jinit.orthogonal(), seed=2)
    )
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(dense)))
    rebuilt = keras.saving.deserialize_keras_object(config)
    for layer in (dense, rebuilt):
        keras_call(layer.build, (None, 16))
    np.testing.assert_array_equal(
        np.asarray(rebuilt.kernel.value), np.asarray(dense.kernel.value)
    )


@pytest.mark.parametrize(
    "init, seed, error, message",
    [
        (
            jax.nn.initializers.zeros,
            None,
            TypeError,
            r"`init` must be a jinit initializer such as jinit.he_normal\(\), its "
            r"name or its serialized dict; got function",
        ),
        (
            "he_normal",
            "3",
            TypeError,
            r"`seed` must be None, an int in \[0, 2\*\*32\) or a "
            r"keras.random.SeedGenerator; got str '3'",
        ),
        (
            "he_normal",
            2**32,
            ValueError,
            r"`seed` must be in \[0, 2\*\*32\); got 4294967296",
        ),
        ("he_norml", None, ValueError, r"Did you mean 'he_normal'"),
    ],
)
def test_adapter_errors(init, seed, error, message):
    with pytest.raises(error, match=message):
        jk.initializer(init, seed)


def test_adapter_needs_the_jax_backend(monkeypatch):
    """Imported anew (in this process) with Keras on another backend."""
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    monkeypatch.delitem(sys.modules, "jinit.keras")
    with pytest.raises(
        ImportError,
        match=re.escape(
            "jinit.keras needs Keras's JAX backend: set KERAS_BACKEND=jax "
            "before importing keras; got backend 'numpy'."
        ),
    ):
        importlib.import_module("jinit.keras")

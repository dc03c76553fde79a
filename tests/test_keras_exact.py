"""Keras 3, complete and exact: the adapter checks the shape its initializer
returns; ``jinit.get`` loads the dict Keras writes for the adapter and takes
an array as Keras does; Keras's STFT initializer is ``jinit.stft``, with
Keras's values bit for bit; and what is loaded from a Keras dict or drawn
through the adapter is Keras's bits, while jinit's own factories keep
drawing ``jax.nn.initializers``' bits."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Before any import of keras.

import json  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jinit  # noqa: E402

keras = pytest.importorskip("keras")
pytest.importorskip("scipy")
jk = pytest.importorskip("jinit.keras")

I = keras.initializers  # noqa: E741
SG = keras.random.SeedGenerator
SHAPES = [(16, 8), (7, 13), (3, 3, 5, 6), (300, 200)]

# Keras's variance-scaling family and its random_* ones, seeded.
RANDOM = [
    I.HeNormal(seed=3),
    I.GlorotNormal(seed=3),
    I.LecunNormal(seed=3),
    I.VarianceScaling(0.7, "fan_avg", "truncated_normal", seed=3),
    I.HeUniform(seed=3),
    I.GlorotUniform(seed=3),
    I.LecunUniform(seed=3),
    I.VarianceScaling(0.7, "fan_out", "uniform", seed=3),
    I.VarianceScaling(0.7, "fan_out", "untruncated_normal", seed=3),
    I.RandomNormal(0.1, 0.3, seed=3),
    I.RandomUniform(-0.3, 0.7, seed=3),
    I.TruncatedNormal(0.1, 0.3, seed=3),
]


def keras_values(init, shape, dtype="float32"):
    with (
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        return np.asarray(init(shape, dtype))


def name_of(init):
    return (
        type(init).__name__
        + "("
        + str(init.get_config().get("distribution", ""))
        + ")"
    )


@pytest.mark.parametrize("keras_init", RANDOM, ids=name_of)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_a_keras_dict_loads_to_keras_bits(keras_init, shape):
    loaded = jinit.get(json.loads(json.dumps(I.serialize(keras_init))))
    assert loaded.rounding == "keras"
    unseeded = loaded.clone(seed=None)
    got = np.asarray(unseeded(jk.keras_key(3), shape, "float32"))
    np.testing.assert_array_equal(got, keras_values(keras_init, shape))


@pytest.mark.parametrize("keras_init", RANDOM, ids=name_of)
@pytest.mark.parametrize("shape", [(16, 8), (3, 3, 5, 6)], ids=str)
def test_the_adapter_draws_keras_bits(keras_init, shape):
    config = jinit.get(I.serialize(keras_init)).clone(seed=None)
    ours = jk.initializer(config.with_rounding("jax"), seed=3)
    np.testing.assert_array_equal(ours(shape), keras_values(keras_init, shape))


def test_he_normal_in_a_dense_layer_is_keras_bit_for_bit():
    dense = keras.layers.Dense(
        8, kernel_initializer=jk.initializer(jinit.he_normal(), seed=3)
    )
    dense.build((None, 16))
    np.testing.assert_array_equal(
        dense.kernel.value, keras_values(I.HeNormal(seed=3), (16, 8))
    )


@pytest.mark.parametrize(
    "name", ["he_normal", "glorot_normal", "glorot_uniform", "he_uniform"]
)
def test_jinit_factories_keep_jax_bits(name):
    jinit_init, jax_init = (
        getattr(jinit, name)(),
        getattr(jax.nn.initializers, name)(),
    )
    assert jinit_init.rounding == "jax"
    for shape in SHAPES:
        np.testing.assert_array_equal(
            jinit_init(jax.random.key(1), shape),
            jax_init(jax.random.key(1), shape),
        )
    # The two roundings differ, here, by up to 2 ulp.
    jax_bits = np.asarray(jinit_init(jax.random.key(1), (16, 8)))
    keras_bits = np.asarray(
        jinit_init.with_rounding("keras")(jax.random.key(1), (16, 8))
    )
    ulps = np.abs(
        jax_bits.view(np.int32).astype(np.int64)
        - keras_bits.view(np.int32).astype(np.int64)
    )
    assert ulps.max() <= 2


def test_rounding_is_part_of_identity_repr_and_serialization():
    keras_he = jinit.he_normal(seed=1).with_rounding("keras")
    assert keras_he != jinit.he_normal(seed=1)
    assert repr(keras_he) == "he_normal(seed=1).with_rounding('keras')"
    assert jinit.deserialize(jinit.serialize(keras_he)) == keras_he
    assert keras_he.clone() == keras_he
    assert keras_he.with_rounding("jax") == jinit.he_normal(seed=1)
    with pytest.raises(
        ValueError,
        match=(r"`rounding` must be one of 'jax', 'keras'; got 'numpy'."),
    ):
        keras_he.with_rounding("numpy")  # pyright: ignore[reportArgumentType]


# The adapter checks the shape its initializer returns.


def test_the_adapter_refuses_an_ensemble_shape():
    with pytest.raises(
        ValueError,
        match=(
            r"`init` ensemble\(.*\) returned shape \(2, 16, 8\) for a Keras "
            r"weight of shape \(16, 8\): a Keras initializer must return the "
            r"shape it is given. An ensemble stacks its members"
        ),
    ):
        keras.layers.Dense(
            8,
            kernel_initializer=jk.initializer(
                jinit.ensemble(jinit.he_normal(), 2)
            ),
        ).build((None, 16))


# jinit.get: the adapter's dict, arrays.


@pytest.mark.parametrize("seed", [7, SG(7)], ids=["int", "SeedGenerator"])
def test_get_loads_the_dict_keras_writes_for_the_adapter(seed):
    adapter = jk.initializer(jinit.glorot_uniform(in_axis=0), seed=seed)
    data = json.loads(json.dumps(I.serialize(adapter)))
    assert data["class_name"] == "JinitInitializer"
    assert jinit.get(data) == jinit.glorot_uniform(7, in_axis=0).with_rounding(
        "keras"
    )
    # Keras loads it back as the adapter, drawing the same values.
    np.testing.assert_array_equal(
        I.deserialize(data)((6, 4)),
        jk.initializer(jinit.glorot_uniform(in_axis=0), seed=7)((6, 4)),
    )


def test_get_loads_an_adapter_of_a_deterministic_or_seeded_init():
    for init in (jinit.zeros(), jinit.he_normal(seed=2)):
        data = I.serialize(jk.initializer(init, seed=5))
        assert jinit.get(data) == init.with_rounding("keras")


@pytest.mark.parametrize(
    "array",
    [np.arange(6.0).reshape(2, 3), jnp.full((2, 3), 0.5), np.float32(1.5)],
    ids=["numpy", "jax", "numpy scalar"],
)
def test_get_takes_an_array_as_keras_does(array):
    init = jinit.get(array)
    assert init == jinit.constant(array)
    np.testing.assert_array_equal(
        init(None, (2, 3)),
        keras.initializers.get(array)((2, 3))
        if np.ndim(array)
        else np.full((2, 3), 1.5, np.float32),
    )


# STFT.


STFT_CASES = [
    dict(),
    dict(side="imag"),
    dict(window="hamming", periodic=True),
    dict(window=None),
    dict(scaling="spectrum"),
    dict(window="blackman", scaling=None),
    dict(side="imag", scaling=None),
]


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=str)
@pytest.mark.parametrize(
    "shape", [(16, 1, 9), (64, 1, 33), (400, 1, 257)], ids=str
)
def test_stft_is_keras_bit_for_bit(kwargs, shape):
    want = keras_values(I.STFT(**kwargs), shape)
    init = jinit.stft(**kwargs)
    np.testing.assert_array_equal(init(None, shape), want)
    np.testing.assert_array_equal(jax.jit(lambda: init(None, shape))(), want)
    loaded = jinit.get(json.loads(json.dumps(I.serialize(I.STFT(**kwargs)))))
    assert loaded == init.with_rounding("keras")
    np.testing.assert_array_equal(loaded(None, shape), want)


def test_stft_window_values_and_channels():
    window = list(np.linspace(0.1, 1.0, 16))
    want = keras_values(I.STFT(window=window), (16, 1, 9))
    init = jinit.stft(window=window)
    np.testing.assert_array_equal(init(None, (16, 1, 9)), want)
    # Every channel is the same kernel (Keras's is one channel).
    np.testing.assert_array_equal(
        init(None, (16, 3, 9)), np.broadcast_to(want, (16, 3, 9))
    )


@pytest.mark.parametrize("name", ["STFT", "stft", "STFTInitializer"])
def test_every_keras_name_of_stft_loads(name):
    assert jinit.get(name) == jinit.stft()
    assert jinit.get({"class_name": name, "config": {"side": "imag"}}) == (
        jinit.stft("imag").with_rounding("keras")
    )


def test_every_keras_builtin_initializer_loads():
    from keras.src.initializers import ALL_OBJECTS

    for cls in ALL_OBJECTS - {I.Initializer}:
        assert isinstance(
            jinit.get(I.serialize(cls())), jinit.ConfiguredInitializer
        )


def test_stft_in_keras_stft_spectrogram():
    layer = keras.layers.STFTSpectrogram(
        mode="real", frame_length=32, frame_step=8, fft_length=64, window="hann"
    )
    layer.build((None, 256, 1))
    ours = jinit.stft("real", "hann", periodic=False)(
        None, layer.real_kernel.shape
    )
    np.testing.assert_array_equal(layer.real_kernel.value, ours)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: jinit.stft("complex"),
            ValueError,
            r"`side` must be one of 'real', 'imag'; got 'complex'.",
        ),
        (
            lambda: jinit.stft(scaling="l2"),
            ValueError,
            r"`scaling` must be one of 'density', 'spectrum'; got 'l2'.",
        ),
        (
            lambda: jinit.stft(window="nope"),
            ValueError,
            r"`window` must be None, a window of scipy.signal.windows",
        ),
        (
            lambda: jinit.stft(window=[1.0, np.nan]),
            ValueError,
            r"`window` values must be a 1-D sequence of finite numbers",
        ),
        (
            lambda: jinit.stft(periodic="yes"),
            TypeError,
            r"`periodic` must be a bool; got str 'yes'.",
        ),
        (
            lambda: jinit.stft()(None, (16, 9)),
            ValueError,
            r"`shape` must have exactly 3 dimensions for `stft`",
        ),
        (
            lambda: jinit.stft()(None, (16, 1, 1)),
            ValueError,
            r"with at least 2 frequencies for `stft`",
        ),
        (
            lambda: jinit.stft(window=[1.0] * 4)(None, (16, 1, 9)),
            ValueError,
            r"`window` has 4 values; the shape \(16, 1, 9\) needs one per frame, "
            r"16.",
        ),
    ],
)
def test_stft_refuses_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()

"""jinit.preset: the closed-form statistics of each framework's defaults,
and the same statistics measured on the framework's own layers."""

import os

os.environ["KERAS_BACKEND"] = "jax"  # before any import of keras

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jinit._presets import preset  # noqa: E402
from jinit._variance_scaling import TRUNCATED_STDDEV  # noqa: E402

FRAMEWORKS = ("flax", "haiku", "keras", "torch", "equinox")
DENSE = (1024, 256)
CONV = (3, 3, 64, 128)  # fans (576, 1152)
EMBEDDING = (4096, 256)
# The standard error of a std from >= 256 * 256 samples is below 0.3 %; 2 %
# never flakes and still tells 0.8796 from 1.
RTOL = 0.02


def kernel_std(framework, fan_in, fan_out):
    """The closed-form standard deviation of the default kernel."""
    return {
        "flax": fan_in**-0.5,
        "haiku": TRUNCATED_STDDEV * fan_in**-0.5,
        "keras": (2 / (fan_in + fan_out)) ** 0.5,
        "torch": (3 * fan_in) ** -0.5,
        "equinox": (3 * fan_in) ** -0.5,
    }[framework]


def embedding_std(framework, features):
    return {
        "flax": features**-0.5,
        "haiku": TRUNCATED_STDDEV,
        "keras": 0.1 / 12**0.5,
        "torch": 1.0,
        "equinox": 1.0,
    }[framework]


def bias_limit(framework, fan_in):
    """The bound of the default bias; 0 for a zero bias."""
    return fan_in**-0.5 if framework in ("torch", "equinox") else 0.0


def assert_default_statistics(framework, dense, bias, conv, embedding):
    """``dense`` is a (1024, 256) kernel, ``bias`` its (256,) bias, ``conv`` a
    (3, 3, 64, 128) kernel (any layout) and ``embedding`` a (4096, 256)
    table, all drawn by ``framework``'s defaults."""
    np.testing.assert_allclose(
        np.std(dense), kernel_std(framework, *DENSE), rtol=RTOL
    )
    np.testing.assert_allclose(
        np.std(conv), kernel_std(framework, 576, 1152), rtol=RTOL
    )
    np.testing.assert_allclose(
        np.std(embedding), embedding_std(framework, 256), rtol=RTOL
    )
    limit = bias_limit(framework, 1024)
    assert np.abs(bias).max() <= limit
    # 256 uniform draws all below 0.9 * limit has probability 0.9**256.
    assert np.abs(bias).max() >= 0.9 * limit


def draw_preset(framework):
    p = preset(framework)
    keys = jax.random.split(jax.random.key(0), 4)
    return (
        p.kernel(keys[0], DENSE),
        p.bias(DENSE[0])(keys[1], (256,)),
        p.kernel(keys[2], CONV),
        p.embedding(keys[3], EMBEDDING),
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_closed_form_statistics(framework):
    assert_default_statistics(framework, *draw_preset(framework))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bounds(framework):
    dense, _, _, embedding = draw_preset(framework)
    kernel_bound = {
        "flax": 2 / TRUNCATED_STDDEV / 32,
        "haiku": 2 / 32,
        "keras": (6 / 1280) ** 0.5,
        "torch": 1 / 32,
        "equinox": 1 / 32,
    }[framework]
    assert np.abs(dense).max() <= kernel_bound
    assert np.abs(dense).max() >= 0.99 * kernel_bound
    embedding_bound = {"haiku": 2.0, "keras": 0.05}.get(framework, np.inf)
    assert np.abs(embedding).max() <= embedding_bound


def test_equinox_is_torch():
    assert preset("equinox") == preset("torch")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bias_fan_in_is_checked(framework):
    with pytest.raises(
        ValueError,
        match=r"`fan_in` must be an int >= 1 "
        r"and < 2\*\*63; got 0",
    ):
        preset(framework).bias(0)
    with pytest.raises(TypeError, match="`fan_in` must be an int"):
        preset(framework).bias(2.0)


def test_unknown_framework():
    with pytest.raises(
        ValueError,
        match=r"`framework` must be one of "
        r"'flax', 'haiku', 'keras', 'torch', 'equinox'; "
        r"got 'pytorch'",
    ):
        preset("pytorch")


def test_flax_layers():
    nn = pytest.importorskip("flax.linen")
    keys = jax.random.split(jax.random.key(0), 3)
    dense = nn.Dense(256).init(keys[0], jnp.zeros((1, 1024)))["params"]
    conv = nn.Conv(128, (3, 3)).init(keys[1], jnp.zeros((1, 8, 8, 64)))
    embed = nn.Embed(*EMBEDDING).init(keys[2], jnp.zeros((1,), jnp.int32))
    assert_default_statistics(
        "flax",
        dense["kernel"],
        dense["bias"],
        conv["params"]["kernel"],
        embed["params"]["embedding"],
    )
    # Flax's default initializers themselves give the same values, bit for
    # bit, with the same key.
    flax_preset, key = preset("flax"), jax.random.key(7)
    for shape in (DENSE, CONV):
        np.testing.assert_array_equal(
            flax_preset.kernel(key, shape), nn.Dense(1).kernel_init(key, shape)
        )
    np.testing.assert_array_equal(
        flax_preset.embedding(key, EMBEDDING),
        nn.Embed(1, 1).embedding_init(key, EMBEDDING),
    )


def test_haiku_layers():
    hk = pytest.importorskip("haiku")

    def layers():
        return (
            hk.Linear(256)(jnp.zeros((1, 1024))),
            hk.Conv2D(128, 3)(jnp.zeros((1, 8, 8, 64))),
            hk.Embed(*EMBEDDING)(jnp.zeros((1,), jnp.int32)),
        )

    params = hk.transform(layers).init(jax.random.PRNGKey(0))
    assert params["conv2_d"]["w"].shape == CONV
    assert_default_statistics(
        "haiku",
        params["linear"]["w"],
        params["linear"]["b"],
        params["conv2_d"]["w"],
        params["embed"]["embeddings"],
    )


def test_keras_layers():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(256)
    dense.build((None, 1024))
    conv = keras.layers.Conv2D(128, 3)
    conv.build((None, 8, 8, 64))
    embedding = keras.layers.Embedding(*EMBEDDING)
    embedding.build()
    assert tuple(conv.kernel.shape) == CONV
    assert_default_statistics(
        "keras",
        np.asarray(dense.kernel),
        np.asarray(dense.bias),
        np.asarray(conv.kernel),
        np.asarray(embedding.embeddings),
    )


def test_torch_layers():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    dense = torch.nn.Linear(1024, 256)
    conv = torch.nn.Conv2d(64, 128, 3)
    embedding = torch.nn.Embedding(*EMBEDDING)

    def array(parameter):
        return parameter.detach().numpy()

    assert_default_statistics(
        "torch",
        array(dense.weight).T,
        array(dense.bias),
        array(conv.weight).transpose(2, 3, 1, 0),
        array(embedding.weight),
    )


def test_equinox_layers():
    eqx = pytest.importorskip("equinox")
    keys = jax.random.split(jax.random.key(0), 3)
    dense = eqx.nn.Linear(1024, 256, key=keys[0])
    conv = eqx.nn.Conv2d(64, 128, 3, key=keys[1])
    embedding = eqx.nn.Embedding(*EMBEDDING, key=keys[2])
    assert_default_statistics(
        "equinox",
        dense.weight.T,
        dense.bias,
        conv.weight.transpose(2, 3, 1, 0),
        embedding.weight,
    )

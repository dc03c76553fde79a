"""convolution_orthogonal (Xiao et al. 2018): with circular padding the
convolution is ``gain`` times an isometry, in 1, 2 and 3 spatial dimensions
and from fewer to more channels; its squares sum to ``gain**2 * in``; its
taps share the energy binomially, as fair random projections make them; and
200 linear layers keep a signal's norm where He-normal kernels blow it up by
30 orders of magnitude and variance-preserving ones drift."""

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit.cli._catalogue import target_moments

GAIN = 1.5
LAYOUTS = {
    1: ("NWC", "WIO", "NWC"),
    2: ("NHWC", "HWIO", "NHWC"),
    3: ("NDHWC", "DHWIO", "NDHWC"),
}


@jax.jit
def circular(x, w):
    """``x`` (batch, *image, in) convolved with ``w``, circularly padded.

    The output has the input's spatial size.
    """
    spatial = w.shape[:-2]
    widths = (
        [(0, 0)]
        + [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in spatial]
        + [(0, 0)]
    )
    return jax.lax.conv_general_dilated(
        jnp.pad(x, widths, mode="wrap"),
        w,
        (1,) * len(spatial),
        "VALID",
        dimension_numbers=LAYOUTS[len(spatial)],
        precision="highest",
    )


def singular_values(w, image):
    """Singular values of the circular convolution, and four norm ratios.

    The convolution with ``w`` on ``image``-sized inputs: its matrix is the
    convolution of each basis vector; the ratios are of random inputs.
    """
    size = math.prod(image) * w.shape[-2]
    basis = jnp.eye(size, dtype=w.dtype).reshape(size, *image, w.shape[-2])
    noise = jnp.asarray(
        np.random.default_rng(5).standard_normal((4, *image, w.shape[-2])),
        w.dtype,
    )
    y = np.asarray(
        circular(jnp.concatenate([basis, noise]), w),
        np.complex128 if w.dtype == jnp.complex64 else np.float64,
    )
    matrix, y_noise = y[:size].reshape(size, -1), y[size:]
    ratios = np.linalg.norm(y_noise.reshape(4, -1), axis=1) / np.linalg.norm(
        np.asarray(noise).reshape(4, -1), axis=1
    )
    gram = matrix @ matrix.conj().T  # gain**2 I for gain times an isometry
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0, None)), ratios


@pytest.mark.parametrize(
    "shape, image, dtype",
    [
        ((5, 4, 8), (7,), "float32"),  # 1-D, in < out
        ((3, 5, 4, 16), (6, 5), "float32"),  # 2-D, unequal extents
        ((2, 3, 3, 6, 6), (3, 4, 4), "float32"),  # 3-D, in = out
        ((3, 3, 4, 8), (4, 4), "complex64"),  # unitary
    ],
)
def test_circular_convolution_is_gain_times_an_isometry(shape, image, dtype):
    """Every singular value is ``gain`` to 1e-5 (measured: within 9.2e-7
    relative), and so is the norm ratio of random inputs (within 2.9e-7);
    a flattened orthogonal kernel, the control, spreads the singular
    values from 0.006 to 2.7 times ``gain`` and the ratios from 0.96 to
    2.08 times."""
    init = jinit.convolution_orthogonal(GAIN)
    w = init(jax.random.key(0), shape, dtype)
    values, ratios = singular_values(w, image)
    np.testing.assert_allclose(values, GAIN, rtol=1e-5)
    np.testing.assert_allclose(ratios, GAIN, rtol=1e-5)

    if dtype == "float32":
        control = jinit.orthogonal(GAIN)(jax.random.key(0), shape)
        values, ratios = singular_values(control, image)
        assert values.max() - values.min() > 0.5 * GAIN
        assert np.abs(ratios / GAIN - 1).max() > 1e-2

    # Parseval: the squares sum to gain**2 * in, so the entries' standard
    # deviation is gain / sqrt(out * taps), as the catalogue says.
    *spatial, inputs, outputs = shape
    squares = np.sum(np.abs(np.asarray(w, np.complex128)) ** 2)
    np.testing.assert_allclose(squares, GAIN**2 * inputs, rtol=1e-5)
    std = GAIN / math.sqrt(outputs * math.prod(spatial))
    assert target_moments(init, shape) == pytest.approx((0.0, std), abs=1e-12)


def test_a_kernel_of_extent_one_is_gain_times_orthonormal_rows():
    w = jinit.convolution_orthogonal(GAIN)(jax.random.key(2), (1, 1, 8, 32))
    np.testing.assert_allclose(
        w[0, 0] @ w[0, 0].T, GAIN**2 * np.eye(8), atol=1e-5
    )


DEPTH, CHANNELS, SIZE = 200, 16, 16


@jax.jit
def log10_norm_ratio(kernels, x):
    """log10(|x_200| / |x_0|) through ``kernels`` (depth, 3, 3, C, C).

    A linear CNN with circular padding, renormalised at each layer so that
    no norm overflows float32.
    """

    def layer(x, w):
        y = circular(x, w)
        norm = jnp.linalg.norm(y)
        return y / norm, jnp.log10(norm)

    _, logs = jax.lax.scan(layer, x / jnp.linalg.norm(x), kernels)
    return jnp.sum(logs)


@functools.cache
def kernels(init):
    """``DEPTH`` kernels (3, 3, C, C) drawn by ``init``, one per layer."""
    keys = jax.random.split(jax.random.key(3), DEPTH)
    return jax.vmap(lambda key: init(key, (3, 3, CHANNELS, CHANNELS)))(keys)


def deep_ratio(init):
    x = np.random.default_rng(4).standard_normal(
        (1, SIZE, SIZE, CHANNELS), np.float32
    )
    return float(log10_norm_ratio(kernels(init), x))


def test_signal_norm_survives_200_layers():
    """Measured log10 ratios: -6.1e-7 (orthogonal convolutions), 29.8 (He
    normal), -0.28 (LeCun normal, variance-preserving only on average: a
    factor 0.52)."""
    assert abs(deep_ratio(jinit.convolution_orthogonal())) < math.log10(1.01)
    assert deep_ratio(jinit.he_normal()) > 2
    assert abs(deep_ratio(jinit.lecun_normal())) > math.log10(1.1)


@pytest.mark.parametrize(
    "shape, message",
    [
        (
            (3, 16),
            r"`shape` must have 3 to 5 dimensions for "
            r"`convolution_orthogonal`; got \(3, 16\) \(2-D\)",
        ),
        ((1, 1, 1, 3, 3, 4, 4), r"3 to 5 dimensions .* \(7-D\)"),
        (
            (3, 3, 16, 8),
            r"`shape` \(3, 3, 16, 8\) has more input channels \(16\) "
            r"than output channels \(8\); `convolution_orthogonal` "
            r"needs in <= out",
        ),
    ],
)
def test_call_time_errors(shape, message):
    with pytest.raises(ValueError, match=message):
        jinit.convolution_orthogonal()(jax.random.key(0), shape)


def test_factory_time_errors():
    with pytest.raises(ValueError, match="`gain` must be finite; got inf"):
        jinit.convolution_orthogonal(math.inf)
    complex_gain: Any = 1j
    with pytest.raises(TypeError, match="`gain` must be a real number"):
        jinit.convolution_orthogonal(complex_gain)


def test_tap_energies_are_binomial():
    """Each block [P, I - P] passes, in expectation, half of the energy on
    to the next tap (E[P] = I / 2 for a Haar-random projection of fair
    rank, and P (I - P) = 0), so a 3-tap axis splits it (1, 2, 1) / 4.
    Checked on the 200 kernels of the deep test, within 6 standard errors
    (measured: within 1.3); projections of rank out / 4 instead of out / 2
    miss by 15 to 180."""
    w = np.asarray(kernels(jinit.convolution_orthogonal()), np.float64)
    shares = np.sum(w**2, axis=(-2, -1)) / CHANNELS  # (DEPTH, 3, 3)
    expected = np.outer([1, 2, 1], [1, 2, 1]) / 16
    error = np.std(shares, axis=0, ddof=1) / math.sqrt(DEPTH)
    np.testing.assert_allclose(shares.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all(np.abs(shares.mean(axis=0) - expected) < 6 * error), (
        shares.mean(axis=0) - expected
    ) / error

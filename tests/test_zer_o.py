"""ZerO: exact values, the rank and norms it exists for, dtypes, transforms
and errors."""

import math
import re

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jinit.schemes._zer_o import zer_o

KEY = jax.random.key(0)


def paper_c(outputs):
    """The paper's c = 2^(-(m-1)/2), m = ceil(log2(out)) (Algorithm 1)."""
    return 2.0 ** (-(math.ceil(math.log2(outputs)) - 1) / 2)


def sylvester(size):
    """H_m by the recursion H_{m+1} = [[H, H], [H, -H]], independent of the
    popcount formula the module uses."""
    h = np.ones((1, 1))
    while h.shape[0] < size:
        h = np.block([[h, h], [h, -h]])
    return h


def expected(inputs, outputs):
    """The paper's W (out x in), transposed to jinit's (in, out) kernel."""
    if outputs <= inputs:
        w = np.eye(outputs, inputs)
    else:
        size = 2 ** math.ceil(math.log2(outputs))
        w = (
            paper_c(outputs)
            * np.eye(outputs, size)
            @ sylvester(size)
            @ np.eye(size, inputs)
        )
    return w.T


SHAPES = [
    (3, 5),
    (5, 3),
    (4, 4),
    (6, 17),
    (64, 256),
    (100, 300),
    (1, 2),
    (2, 4),
    (7, 8),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_exact_values(shape):
    w = np.asarray(zer_o()(KEY, shape), np.float64)
    np.testing.assert_allclose(
        w, expected(*shape).astype(np.float32), rtol=0, atol=0
    )
    inputs, outputs = shape
    if outputs <= inputs:
        np.testing.assert_array_equal(w, np.eye(inputs, outputs))


def test_constant_is_the_papers_not_the_codes():
    # out = 5 -> m = 3: the paper's c = 2^-1 = 0.5; the authors' code would
    # give 2^-1.5 = 0.3536.
    w = np.asarray(zer_o()(KEY, (3, 5)))
    assert np.all(np.abs(w) == 0.5)
    assert w[1, 1] == -0.5 and w[1, 2] == 0.5 and w[2, 3] == -0.5
    # out = 2: m = 1, c = 1: entries are exactly the signs of H_1.
    np.testing.assert_array_equal(zer_o()(KEY, (1, 2)), [[1.0, 1.0]])


@pytest.mark.parametrize(
    "shape", [(3, 5), (6, 17), (64, 256), (100, 300), (5, 3), (16, 16)]
)
def test_every_output_alive_and_rank_full(shape):
    inputs, outputs = shape
    w = np.asarray(zer_o()(KEY, shape), np.float64)
    assert np.linalg.matrix_rank(w) == min(inputs, outputs)
    if outputs > inputs:
        c = paper_c(outputs)
        # No dead output unit: every column has in entries of size c (as
        # rounded to float32), so its squared norm is in c^2; a row's is
        # out c^2.
        assert np.all(np.abs(w) == np.float32(c))
        np.testing.assert_allclose((w * w).sum(0), inputs * c**2, rtol=1e-6)
        np.testing.assert_allclose((w * w).sum(1), outputs * c**2, rtol=1e-6)
        # The zero-padded identity ZerO replaces has out - in dead outputs.
        padded = np.eye(inputs, outputs)
        assert (np.abs(padded).sum(0) == 0).sum() == outputs - inputs
        assert (np.abs(w).sum(0) == 0).sum() == 0


@pytest.mark.parametrize("shape", [(1, 2), (3, 4), (6, 16), (64, 256)])
def test_power_of_two_outputs_give_orthogonal_rows(shape):
    inputs, outputs = shape
    w = np.asarray(zer_o()(KEY, shape), np.float64)
    # kernel @ kernel.T = c^2 2^m I = 2 I with the paper's constant.
    gram = w @ w.T
    np.testing.assert_allclose(
        gram,
        paper_c(outputs) ** 2 * outputs * np.eye(inputs),
        rtol=1e-6,
        atol=1e-6,
    )
    np.testing.assert_allclose(gram, 2 * np.eye(inputs), rtol=1e-6, atol=1e-6)


def test_conv_same_identity():
    w = zer_o()(KEY, (3, 3, 8, 8))
    x = inputs.normal(jax.random.key(1), (1, 6, 6, 8))
    y = jax.lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(
    "shape", [(3, 3, 4, 16), (5, 4, 6), (2, 4, 3, 4, 9), (4, 4, 16, 3)]
)
def test_conv_matrix_at_centre_tap_only(shape):
    *spatial, inputs, outputs = shape
    w = np.asarray(zer_o()(KEY, shape), np.float64)
    centre = tuple((k - 1) // 2 for k in spatial)
    np.testing.assert_array_equal(
        w[centre], expected(inputs, outputs).astype(np.float32)
    )
    rest = w.copy()
    rest[centre] = 0
    assert not rest.any()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("shape", [(6, 17), (3, 3, 4, 16), (5, 3)])
def test_dtypes(shape, dtype):
    w = zer_o()(KEY, shape, dtype)
    assert w.dtype == jnp.dtype(dtype)
    reference = np.zeros(shape)
    *spatial, inputs, outputs = shape
    reference[tuple((k - 1) // 2 for k in spatial)] = expected(inputs, outputs)
    np.testing.assert_array_equal(w, reference.astype(jnp.dtype(dtype)))
    assert zer_o(dtype=dtype)(KEY, shape).dtype == jnp.dtype(dtype)


def test_float64_under_x64(x64):
    w = zer_o()(KEY, (6, 17))
    assert w.dtype == jnp.float64
    np.testing.assert_array_equal(w, expected(6, 17))


@pytest.mark.parametrize("shape", [(6, 17), (3, 3, 4, 16)])
def test_jit_and_vmap_ignore_the_key(shape):
    init = zer_o()
    eager = init(KEY, shape)
    jitted = jax.jit(init, static_argnums=(1, 2))(KEY, shape, None)
    np.testing.assert_array_equal(jitted, eager)
    keys = jax.random.split(KEY, 3)
    batch = jax.vmap(lambda key: init(key, shape))(keys)
    assert batch.shape == (3, *shape)
    for member in batch:
        np.testing.assert_array_equal(member, eager)
    np.testing.assert_array_equal(init(None, shape), eager)


@pytest.mark.parametrize("dtype", ["int32", "bool", "complex64"])
def test_non_floating_dtype_is_refused(dtype):
    message = (
        rf"`dtype` must be a real floating dtype for `zer_o`; got "
        rf"{dtype}\."
    )
    with pytest.raises(TypeError, match=message):
        zer_o()(KEY, (3, 5), dtype)
    with pytest.raises(TypeError, match=message):
        zer_o(dtype=dtype)


@pytest.mark.parametrize("shape", [(5,), (), (1, 2, 3, 4, 5, 6)])
def test_bad_rank_is_refused(shape):
    with pytest.raises(
        ValueError,
        match=(
            r"`shape` must have 2 to 5 dimensions for `zer_o`; got "
            + re.escape(f"{shape} ({len(shape)}-D).")
        ),
    ):
        zer_o()(KEY, shape)

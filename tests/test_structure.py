"""Exact structure: fans, orthogonality and its Haar law, identity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from laws import MIN_P, check_moments
from scipy import stats

import jinit

KEY = jax.random.key(11)

FAN_TABLE = [
    # shape, axes, (fan_in, fan_out) written out by hand
    ((), {}, (1, 1)),
    ((7,), {}, (7, 7)),
    ((256, 128), {}, (256, 128)),
    ((5, 16, 32), {}, (5 * 16, 5 * 32)),  # conv 1-D
    ((3, 3, 64, 128), {}, (9 * 64, 9 * 128)),  # conv 2-D
    ((3, 3, 3, 8, 16), {}, (27 * 8, 27 * 16)),  # conv 3-D
    ((3, 3, 1, 32), {}, (9, 9 * 32)),  # depthwise (HWIO)
    ((512, 8, 64), {"in_axis": 0, "out_axis": (1, 2)}, (512, 512)),
    ((12, 1024, 1024), {"batch_axis": 0}, (1024, 1024)),  # stacked layers
    ((64, 32), {"in_axis": -1, "out_axis": -2}, (32, 64)),  # (out, in)
    ((3, 3, 16, 64), {"groups": 4}, (9 * 16, 9 * 64 // 4)),  # grouped
    ((3, 3, 1, 32), {"groups": 32}, (9, 9)),  # depthwise
    ((5, 8, 24), {"groups": 3}, (5 * 8, 5 * 24 // 3)),  # grouped 1-D
    ((4, 3, 3, 8, 16), {"batch_axis": 0}, (9 * 8, 9 * 16)),  # stacked convs
]


@pytest.mark.parametrize(
    "shape, axes, fans", FAN_TABLE, ids=[str(row[0]) for row in FAN_TABLE]
)
def test_fan_table(shape, axes, fans):
    assert jinit.compute_fans(shape, **axes) == fans


@pytest.mark.parametrize(
    "shape", [(3, 3, 64, 128), (5, 16, 32), (3, 3, 3, 8, 16)]
)
def test_he_normal_std_on_conv_kernels(shape):
    fan_in = np.prod(shape[:-1])
    values = np.asarray(jinit.he_normal()(KEY, shape), np.float64)
    check_moments(values, 0.0, np.sqrt(2 / fan_in))


@pytest.mark.parametrize(
    "dtype, tolerance",
    [
        ("float32", 1e-5),
        ("bfloat16", 2e-2),
        ("float16", 3e-3),
        ("float64", 1e-12),
    ],
)
@pytest.mark.parametrize(
    "shape", [(64, 64), (128, 32), (32, 128), (4, 8, 16), (3, 3, 16, 64)]
)
def test_orthogonal_is_orthogonal(shape, dtype, tolerance, request):
    if dtype == "float64":
        request.getfixturevalue("x64")
    gain = 1.5
    w = jinit.orthogonal(gain=gain)(KEY, shape, dtype)
    assert w.dtype == jnp.dtype(dtype) and w.shape == shape
    flat = np.asarray(
        w.astype(jnp.float64 if dtype == "float64" else jnp.float32), np.float64
    )
    flat = flat.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    error = np.abs(gram - gain**2 * np.eye(len(gram))).max()
    assert error < tolerance * gain**2


def test_orthogonal_is_haar_distributed():
    """For Haar-random Q in O(3), Q[0, 0] ~ U(-1, 1); without the sign
    correction the QR factor's first entry has a fixed sign."""
    keys = jax.random.split(jax.random.key(0), 2**14)
    first = jax.vmap(lambda key: jinit.orthogonal()(key, (3, 3))[0, 0])(keys)
    assert (
        stats.kstest(
            np.asarray(first, np.float64), stats.uniform(-1, 2).cdf
        ).pvalue
        > MIN_P
    )
    # Entries of 8x8 Haar matrices: mean 0, variance 1/8 in every position.
    q = jax.vmap(lambda key: jinit.orthogonal()(key, (8, 8)))(keys[:4096])
    for position in [(0, 0), (7, 7), (3, 5)]:
        entries = np.asarray(q[(slice(None), *position)], np.float64)
        assert abs(entries.mean()) < 6 * np.sqrt(1 / 8 / entries.size)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int32"])
def test_identity(shape, dtype):
    gain = 2.0 if dtype != "int32" else 3
    w = jinit.identity(gain=gain)(None, shape, dtype)
    assert w.dtype == jnp.dtype(dtype)
    np.testing.assert_array_equal(
        np.asarray(w, np.float32), gain * np.eye(*shape, dtype=np.float32)
    )

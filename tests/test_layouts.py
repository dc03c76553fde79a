"""Layouts that other libraries get wrong silently: stacked, attention and
(out, in) kernels, grouped convolutions, batched orthogonal; and the
structured initializers: delta_orthogonal, dirac, sparse, calculate_gain."""

import math

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from laws import MIN_P, check_moments, ks_pvalue
from scipy import stats

import jinit

KEY = jax.random.key(2026)


@pytest.mark.parametrize(
    "shape, axes, fan_in",
    [
        ((4, 512, 512), {"batch_axis": 0}, 512),  # stacked layers
        (
            (512, 8, 64),
            {"in_axis": 0, "out_axis": (1, 2)},
            512,
        ),  # attention q/k/v
        (
            (8, 64, 512),
            {"in_axis": (0, 1), "out_axis": 2},
            512,
        ),  # attention out
        ((256, 1024), {"in_axis": -1, "out_axis": -2}, 1024),  # (out, in)
    ],
)
def test_layouts_get_the_intended_std(shape, axes, fan_in):
    for init, scale in [
        (jinit.lecun_normal(**axes), 1.0),
        (jinit.he_uniform(**axes), 2.0),
    ]:
        values = np.asarray(init(KEY, shape), np.float64)
        check_moments(values, 0.0, math.sqrt(scale / fan_in))


def test_grouped_convolution_divides_fan_out():
    # (3, 3, 16, 64) with 4 groups: fan_in 144, fan_out 144; glorot: 1/144.
    values = np.asarray(
        jinit.glorot_uniform(groups=4)(KEY, (3, 3, 16, 64)), np.float64
    )
    check_moments(values, 0.0, math.sqrt(1 / 144))


def test_stacked_layers_match_one_layer_per_slice_in_law():
    """The whole point of batch_axis: each slice has the law of one layer."""
    stacked = np.asarray(
        jinit.he_normal(batch_axis=0)(KEY, (8, 256, 128)), np.float64
    )
    for layer in stacked:
        assert abs(layer.std() / math.sqrt(2 / 256) - 1) < 0.02


@pytest.mark.parametrize(
    "shape, batch_axis",
    [
        ((4, 8, 8), 0),
        ((4, 16, 8), 0),
        ((4, 8, 16), 0),
        ((8, 3, 8), 1),
        ((2, 3, 6, 4), (0, 1)),
    ],
)
def test_batched_orthogonal_is_orthogonal_per_slice(shape, batch_axis):
    w = jinit.orthogonal(gain=2.0, batch_axis=batch_axis)(KEY, shape)
    batch = (batch_axis,) if isinstance(batch_axis, int) else batch_axis
    matrices = np.moveaxis(np.asarray(w, np.float64), batch, range(len(batch)))
    matrices = matrices.reshape(-1, *matrices.shape[len(batch) :])
    for q in matrices:
        q = q.reshape(-1, q.shape[-1])
        gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
        assert np.abs(gram - 4.0 * np.eye(len(gram))).max() < 1e-5
    # Independent slices: no two are equal.
    assert not np.allclose(matrices[0], matrices[1])


def test_unbatched_orthogonal_is_not_orthogonal_per_slice():
    """What batch_axis fixes: (4, 8, 8) flattened to (32, 8)."""
    w = np.asarray(jinit.orthogonal()(KEY, (4, 8, 8)), np.float64)
    assert np.abs(w[0].T @ w[0] - np.eye(8)).max() > 0.1


def test_batched_orthogonal_slices_are_haar():
    w = jinit.orthogonal(batch_axis=0)(KEY, (2**14, 3, 3))
    assert (
        stats.kstest(
            np.asarray(w[:, 0, 0], np.float64), stats.uniform(-1, 2).cdf
        ).pvalue
        > MIN_P
    )


@pytest.mark.parametrize(
    "column_axis, shape", [(0, (16, 4, 3)), (1, (5, 8, 2))]
)
def test_orthogonal_column_axis_is_jax_s(column_axis, shape):
    ours = jinit.orthogonal(column_axis=column_axis)(KEY, shape)
    theirs = jax.nn.initializers.orthogonal(column_axis=column_axis)(
        KEY, shape, jnp.float32
    )
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "shape", [(3, 8, 16), (3, 3, 8, 8), (5, 3, 3, 4, 8), (2, 2, 4, 4)]
)
def test_delta_orthogonal_centre_tap(shape):
    w = np.asarray(jinit.delta_orthogonal(gain=1.5)(KEY, shape), np.float64)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    tap = w[centre]
    np.testing.assert_allclose(tap @ tap.T, 2.25 * np.eye(shape[-2]), atol=1e-5)
    rest = w.copy()
    rest[centre] = 0
    assert not rest.any()
    np.testing.assert_array_equal(
        jinit.delta_orthogonal(gain=1.5)(KEY, shape),
        jax.nn.initializers.delta_orthogonal(1.5)(KEY, shape, jnp.float32),
    )


def test_delta_orthogonal_centre_tap_is_haar():
    """For a Haar O(3) centre tap, W[c][0, 0] ~ U(-1, 1)."""
    keys = jax.random.split(KEY, 2**13)
    first = jax.vmap(
        lambda key: jinit.delta_orthogonal()(key, (3, 3, 3))[1, 0, 0]
    )(keys)
    assert (
        stats.kstest(
            np.asarray(first, np.float64), stats.uniform(-1, 2).cdf
        ).pvalue
        > MIN_P
    )


def test_delta_orthogonal_convolution_preserves_norm():
    w = jinit.delta_orthogonal()(KEY, (3, 3, 8, 8))
    x = inputs.normal(jax.random.key(1), (2, 10, 10, 8))
    y = jax.lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_allclose(
        jnp.linalg.norm(y, axis=-1), jnp.linalg.norm(x, axis=-1), rtol=1e-5
    )


@pytest.mark.parametrize(
    "spatial, groups, channels",
    [
        ((3,), 1, 4),
        ((3, 3), 1, 6),
        ((3, 3, 3), 1, 2),
        ((3, 5), 2, 8),
        ((4, 4), 1, 3),
        ((1,), 4, 8),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_dirac_convolution_is_the_identity(spatial, groups, channels, dtype):
    w = jinit.dirac(groups=groups)(
        None, (*spatial, channels // groups, channels), dtype
    )
    assert w.dtype == jnp.dtype(dtype)
    x = inputs.normal(
        jax.random.key(3), (2, *[7] * len(spatial), channels)
    ).astype(dtype)
    letters = "DHW"[-len(spatial) :]
    numbers = (f"N{letters}C", f"{letters}IO", f"N{letters}C")
    y = jax.lax.conv_general_dilated(
        x,
        w,
        (1,) * len(spatial),
        "SAME",
        dimension_numbers=numbers,
        feature_group_count=groups,
    )
    np.testing.assert_array_equal(
        np.asarray(y, np.float32), np.asarray(x, np.float32)
    )


def test_dirac_with_more_outputs_passes_inputs_and_zeros_the_rest():
    w = np.asarray(jinit.dirac()(None, (3, 3, 4, 6)))
    np.testing.assert_array_equal(w[1, 1], np.eye(4, 6))
    assert w.sum() == 4


@pytest.mark.parametrize(
    "sparsity, rows, zeros",
    [
        (0.0, 10, 0),
        (0.1, 10, 1),
        (0.3, 10, 3),
        (0.25, 8, 2),
        (0.5, 7, 4),
        (1.0, 6, 6),
        (0.9, 100, 90),
    ],
)
def test_sparse_zero_counts_per_column(sparsity, rows, zeros):
    w = np.asarray(jinit.sparse(sparsity)(KEY, (rows, 37)))
    assert ((w == 0).sum(axis=0) == zeros).all()


def test_sparse_zero_positions_are_uniform_and_independent_per_column():
    w = np.asarray(jinit.sparse(0.5)(KEY, (4, 2**14)))
    zero_share = (w == 0).mean(axis=1)  # each row zero in half the columns
    assert np.abs(zero_share - 0.5).max() < 6 * math.sqrt(0.25 / 2**14)
    patterns = (w[:2] == 0).T  # rows 0 and 1 both zero: 6 choose... = 1/6
    both = float((patterns[:, 0] & patterns[:, 1]).mean())
    assert abs(both - 1 / 6) < 6 * math.sqrt((1 / 6) * (5 / 6) / 2**14)


def test_sparse_non_zeros_are_normal():
    w = np.asarray(jinit.sparse(0.25, stddev=0.5)(KEY, (1024, 512)), np.float64)
    nonzero = w[w != 0]
    assert nonzero.size == 768 * 512
    check_moments(nonzero, 0.0, 0.5)
    assert ks_pvalue(nonzero, stats.norm(scale=0.5), "float32") > MIN_P


@pytest.mark.parametrize(
    "nonlinearity, param, gain",
    [
        ("linear", None, 1.0),
        ("conv1d", None, 1.0),
        ("conv2d", None, 1.0),
        ("conv3d", None, 1.0),
        ("conv_transpose2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, 2**0.5),
        ("leaky_relu", None, (2 / (1 + 0.01**2)) ** 0.5),
        ("leaky_relu", 0.2, (2 / 1.04) ** 0.5),
        ("leaky_relu", 0, 2**0.5),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain_is_pytorch_s_table(nonlinearity, param, gain):
    assert jinit.calculate_gain(nonlinearity, param) == pytest.approx(
        gain, rel=1e-15
    )


def test_gains_compose_in_one_line():
    w = jinit.orthogonal(gain=jinit.calculate_gain("tanh"))(KEY, (64, 64))
    np.testing.assert_allclose(w.T @ w, (5 / 3) ** 2 * jnp.eye(64), atol=1e-4)
    slope = 0.2
    kaiming = jinit.variance_scaling(
        jinit.calculate_gain("leaky_relu", slope) ** 2,
        "fan_in",
        "untruncated_normal",
    )
    check_moments(
        np.asarray(kaiming(KEY, (1024, 1024)), np.float64),
        0.0,
        math.sqrt(2 / (1 + slope**2) / 1024),
    )


def test_identity_for_stacked_layers():
    w = np.asarray(jinit.identity(gain=3.0, batch_axis=1)(None, (4, 5, 6)))
    for layer in np.moveaxis(w, 1, 0):
        np.testing.assert_array_equal(layer, 3.0 * np.eye(4, 6))

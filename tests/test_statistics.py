"""The law of every random initializer, in every floating dtype."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from laws import MIN_P, check_moments, grid_values, ks_pvalue
from registry import RANDOM, STATS_SHAPE, WITH_LAW

import jinit

DTYPES = ["float32", "bfloat16", "float16", "float64"]
KEY = 20260101


def draw(init, shape, dtype):
    values = init(jax.random.key(KEY), shape, dtype)
    assert values.dtype == jnp.dtype(dtype)
    return np.asarray(values.astype(jnp.float32 if dtype != "float64"
                                    else jnp.float64), np.float64)


def lawful(case, dtype):
    sample = draw(case.init, STATS_SHAPE, dtype)
    return case.lawful(sample) if case.lawful else sample


@pytest.fixture(params=DTYPES)
def dtype(request):
    if request.param == "float64":
        request.getfixturevalue("x64")
    return request.param


@pytest.mark.parametrize("case", WITH_LAW, ids=repr)
def test_moments_within_six_standard_errors(case, dtype):
    law = case.law()
    check_moments(lawful(case, dtype), law.mean(), law.std())


@pytest.mark.parametrize("case", WITH_LAW, ids=repr)
def test_kolmogorov_smirnov_against_exact_law(case, dtype):
    assert ks_pvalue(lawful(case, dtype), case.law(), dtype) > MIN_P


@pytest.mark.parametrize("case", [c for c in WITH_LAW if c.bound], ids=repr)
def test_support_bounds_are_exact(case, dtype):
    sample = draw(case.init, STATS_SHAPE, dtype)
    low, high = (float(jnp.asarray(b, dtype)) for b in case.bound)
    assert low <= sample.min() and sample.max() <= high
    # The bounds are reached, not a tighter range: within 1 % of the width.
    width = high - low
    assert sample.min() < low + 0.01 * width
    assert sample.max() > high - 0.01 * width


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", RANDOM, ids=repr)
def test_low_precision_is_a_rounded_float32_draw(case, dtype):
    """16-bit results are the float32 draw rounded once (so equal in law),
    and for a bounded law kept within its support: the values rounded onto
    or past a bound take the nearest value inside."""
    key = jax.random.key(KEY)
    shape = STATS_SHAPE if case.bound else case.shape  # where bound holds
    low = case.init(key, shape, dtype)
    rounded = np.asarray(case.init(key, shape, "float32").astype(dtype))
    if case.bound:
        values = grid_values(dtype)
        bottom, top = (float(np.float32(bound)) for bound in case.bound)
        uniform = case.law().dist.name == "uniform"
        inside = values[(values >= bottom)
                        & ((values < top) if uniform else (values <= top))]
        rounded = np.clip(rounded, inside[0], inside[-1])
    np.testing.assert_array_equal(np.asarray(low), rounded)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_normal_keeps_its_law(dtype):
    """What jax.nn.initializers gets wrong in bfloat16: he_normal at
    (1000, 1000) has mean -0.018 sigma and 128 distinct values there, and its
    normal never goes beyond 2.9 sigma."""
    sigma = np.sqrt(2 / 1000)
    he = draw(jinit.he_normal(), (1000, 1000), dtype)
    assert abs(he.mean()) < 0.004 * sigma
    assert len(np.unique(he)) > 1000
    normal = draw(jinit.random_normal(stddev=1.0), (2**20,), dtype)
    # 2 * Phi(-4) * 2**20 = 66 expected beyond 4 sigma.
    assert np.sum(np.abs(normal) > 4) > 20

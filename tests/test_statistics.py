"""The law of every random initializer, in every floating dtype."""

import functools

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
    return np.asarray(
        values.astype(jnp.float32 if dtype != "float64" else jnp.float64),
        np.float64,
    )


@functools.cache
def float32_draw(case):
    """The float32 draw of a bounded case at STATS_SHAPE, which its 16-bit
    draws are compared with (drawn once per process)."""
    return np.asarray(case.init(jax.random.key(KEY), STATS_SHAPE, "float32"))


def rounded_float32_draw(case, shape, dtype):
    """The float32 draw rounded once to ``dtype`` and, for a bounded law,
    kept within its support: the values rounded onto or past a bound take
    the nearest value inside."""
    if not case.bound:
        return np.asarray(
            case.init(jax.random.key(KEY), shape, "float32").astype(dtype)
        )
    rounded = np.asarray(jnp.asarray(float32_draw(case)).astype(dtype))
    values = grid_values(dtype)
    bottom, top = (float(np.float32(bound)) for bound in case.bound)
    uniform = case.law().dist.name == "uniform"
    inside = values[
        (values >= bottom) & ((values < top) if uniform else (values <= top))
    ]
    return np.clip(rounded, inside[0], inside[-1])


@pytest.fixture(params=DTYPES)
def dtype(request):
    if request.param == "float64":
        request.getfixturevalue("x64")
    return request.param


@pytest.mark.parametrize("case", WITH_LAW, ids=repr)
def test_law_moments_ks_and_bounds(case, dtype):
    """One draw of 2**20 values per case and dtype feeds every check on it:
    the moments within six standard errors, the KS test against the exact
    law, the exact support bounds (reached, not a tighter range), and for
    a bounded law in 16 bits, equality with the rounded float32 draw."""
    sample = draw(case.init, STATS_SHAPE, dtype)
    law = case.law()
    lawful = case.lawful(sample) if case.lawful else sample
    failures = []
    try:
        check_moments(lawful, law.mean(), law.std())
    except AssertionError as error:
        failures.append(f"moments: {error}")
    pvalue = ks_pvalue(lawful, law, dtype)
    if not pvalue > MIN_P:
        failures.append(f"KS p-value {pvalue:.3g} <= {MIN_P}")
    if case.bound:
        low, high = (float(jnp.asarray(b, dtype)) for b in case.bound)
        width = high - low
        if not low <= sample.min() < low + 0.01 * width:
            failures.append(
                f"minimum {sample.min():.6g} not in [{low:.6g}, "
                f"{low:.6g} + 1 % of the width)"
            )
        if not high - 0.01 * width < sample.max() <= high:
            failures.append(
                f"maximum {sample.max():.6g} not in ({high:.6g}"
                f" - 1 % of the width, {high:.6g}]"
            )
        if dtype in ("bfloat16", "float16") and not np.array_equal(
            sample, rounded_float32_draw(case, STATS_SHAPE, dtype)
        ):
            failures.append("not the float32 draw rounded once")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", [c for c in RANDOM if not c.bound], ids=repr)
def test_low_precision_is_a_rounded_float32_draw(case, dtype):
    """16-bit results are the float32 draw rounded once (so equal in law);
    the bounded laws are checked on their 2**20 draw in
    test_law_moments_ks_and_bounds."""
    low = case.init(jax.random.key(KEY), case.shape, dtype)
    np.testing.assert_array_equal(
        np.asarray(low), rounded_float32_draw(case, case.shape, dtype)
    )


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

"""SIREN, mimetic attention and muP at their edges (jinit issue 28).

Arguments whose values would be non-finite or vanish in float32, bfloat16
or float16 are refused at call time, naming the argument and the dtype;
SIREN's biases as its reference keeps them; the fan-axis arguments of
``variance_scaling`` for PyTorch's ``(out, in)`` layout; mimetic's two
value/output products, measured; muP with a width-0 base.
"""

import math
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jinit

KEY = jax.random.key(0)
DTYPES = ("float32", "bfloat16", "float16")


# SIREN.


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("omega_0", [1e300, 1e38, 2e37])
def test_siren_refuses_a_bound_below_the_smallest_normal_value(omega_0, dtype):
    # Measured before: every value 0 (sqrt(6/256)/omega_0 rounds to 0 in
    # float32, or is subnormal and flushed to 0).
    with pytest.raises(
        ValueError,
        match=(
            rf"`siren\(omega_0={re.escape(f'{omega_0:g}')}, "
            r"first_layer=False\)` draws from "
            r"U\(-b, b\) with b = sqrt\(6 / fan_in\) / `omega_0` = sqrt\(6 / "
            r"256\) .* below the smallest normal float32 value 1\.17549e-38 "
            r"\(float32 is the dtype drawn in\): every value would be 0"
        ),
    ):
        jinit.siren(omega_0)(KEY, (256, 256), dtype)


def test_siren_refuses_a_bound_that_rounds_to_0_in_float16():
    # Drawn in float32 (1.5e-9), every value rounds to 0 in float16.
    with pytest.raises(ValueError, match=r"float16"):
        jinit.siren(1e8)(KEY, (256, 256), "float16")


@pytest.mark.parametrize("dtype", DTYPES)
def test_siren_keeps_every_value_it_can_hold(dtype):
    w = jinit.siren(1e6)(KEY, (256, 256), "float32")
    assert float(jnp.abs(w).max()) < math.sqrt(6 / 256) / 1e6
    assert float((w != 0).mean()) == 1.0
    first = jinit.siren(1e300, first_layer=True)(KEY, (2, 256), dtype)
    assert float((first != 0).mean()) > 0.99  # omega_0 is not used there.


def test_siren_bias_is_pytorchs_linear_bias():
    fan_in = 2
    limit = 1 / math.sqrt(fan_in)
    b = np.asarray(jinit.siren_bias(fan_in)(KEY, (2**17,)), np.float64)
    assert -limit <= b.min() and b.max() < limit
    assert stats.kstest(b, stats.uniform(-limit, 2 * limit).cdf).pvalue > 1e-3
    # The first layer's phases omega_0 b span several periods.
    assert float(np.abs(30 * b).max()) > 3 * math.pi
    np.testing.assert_array_equal(
        jinit.siren_bias(256)(KEY, (64,)),
        jinit.random_uniform(-1 / 16, 1 / 16)(KEY, (64,)),
    )


@pytest.mark.parametrize(
    "fan_in, error, message",
    [
        (0, ValueError, r"`fan_in` must be an int >= 1 and < 2\*\*63; got 0"),
        (2.0, TypeError, r"`fan_in` must be an int >= 1; got float 2\.0"),
    ],
)
def test_siren_bias_errors(fan_in, error, message):
    with pytest.raises(error, match=message):
        jinit.siren_bias(fan_in)


def test_siren_takes_the_fan_axes_of_variance_scaling():
    # PyTorch's (out, in): fan_in 1024, not 64.
    w = jinit.siren(in_axis=-1, out_axis=-2)(KEY, (64, 1024))
    assert float(jnp.abs(w).max()) < math.sqrt(6 / 1024) / 30
    assert float(jnp.abs(w).max()) > 0.99 * math.sqrt(6 / 1024) / 30
    # Axis 0 ignored (per-head weights): fan_in 64, not 4 * 64.
    init = jinit.siren(in_axis=1, out_axis=2, other_axes="ignored")
    w = init(KEY, (4, 64, 16))
    assert float(jnp.abs(w).max()) > 0.99 * math.sqrt(6 / 64) / 30
    with pytest.raises(ValueError, match=r"`other_axes` must be one of"):
        jinit.siren(other_axes="spatial")  # pyright: ignore[reportArgumentType]


# Mimetic attention.


def attention(width, heads, dtype="float32"):
    return {
        name: {"kernel": jax.ShapeDtypeStruct((width, width), dtype)}
        for name in ("query", "key", "value", "out")
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "argument", ["alpha_qk", "beta_qk", "alpha_vo", "beta_vo"]
)
def test_mimetic_refuses_constants_that_overflow_float32(argument, dtype):
    # Measured before: NaN query and key (or value and output) kernels.
    with pytest.raises(
        ValueError,
        match=(
            rf"`{argument}` = 1e\+39.* give the target .* of the attention "
            r"layer '\*', computed in float32, values up to 1e\+39 in "
            r"magnitude, beyond the largest finite float32 value"
        ),
    ):
        constants: dict[str, Any] = {argument: 1e39}
        jinit.mimetic(0, attention(64, 4, dtype), num_heads=4, **constants)


@pytest.mark.parametrize(
    "argument, kernel", [("alpha_qk", "query"), ("beta_vo", "value")]
)
def test_mimetic_refuses_constants_that_overflow_float16(argument, kernel):
    # Measured before: infinite float16 kernels for 1e20.
    with pytest.raises(
        ValueError,
        match=(
            rf"`{argument}` = 1e\+20.* give the {kernel} kernel "
            rf"'{kernel}/kernel', of dtype float16, values up to .* beyond "
            r"the largest finite float16 value 65504"
        ),
    ):
        constants: dict[str, Any] = {argument: 1e20}
        jinit.mimetic(0, attention(64, 4, "float16"), num_heads=4, **constants)


@pytest.mark.parametrize(
    "dtype, value, where",
    [
        ("float32", 0.0, "the target"),
        ("bfloat16", 1e-38, "the target"),
        ("float16", 1e-20, "the query kernel 'query/kernel', of dtype float16"),
    ],
)
def test_mimetic_refuses_constants_whose_kernels_vanish(dtype, value, where):
    # Measured before: all-zero query and key kernels.
    with pytest.raises(
        ValueError,
        match=(
            rf"`alpha_qk` = {value:g} and `beta_qk` = {value:g} give "
            rf"{where}.* every value would be 0 or subnormal"
        ),
    ):
        jinit.mimetic(
            0,
            attention(64, 4, dtype),
            num_heads=4,
            alpha_qk=value,
            beta_qk=value,
        )


def test_mimetic_refuses_under_jit_too():
    arrays = jax.tree.map(
        lambda s: jnp.zeros(s.shape, s.dtype), attention(16, 2)
    )
    with pytest.raises(ValueError, match=r"`alpha_vo` = 1e\+39"):
        jax.jit(
            lambda key, params: jinit.mimetic(
                key, params, num_heads=2, alpha_vo=1e39
            )
        )(KEY, arrays)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mimetic_keeps_every_pair_it_can_hold(dtype):
    params = jinit.mimetic(
        0,
        attention(64, 4, dtype),
        num_heads=4,
        alpha_qk=1e3,
        beta_qk=0.0,
        alpha_vo=0.0,
    )
    for name in ("query", "key", "value", "out"):
        kernel = np.asarray(params[name]["kernel"], np.float64)
        assert np.isfinite(kernel).all() and kernel.any(), name


def diagonal_spread(width, vo_product):
    params = jinit.mimetic(
        KEY, attention(width, 1), num_heads=1, vo_product=vo_product
    )
    vo = np.asarray(params["value"]["kernel"], np.float64) @ np.asarray(
        params["out"]["kernel"], np.float64
    )
    return float(np.diag(vo).std()), float(np.trace(vo) / width)


@pytest.mark.parametrize("width", [64, 256, 512])
def test_mimetic_authors_code_product_keeps_its_diagonal_spread(width):
    """Measured: 0.242, 0.238, 0.237 (authors' code) and 0.047, 0.025,
    0.018 (paper, 0.4 / sqrt(d) = 0.05, 0.025, 0.018); mean -0.39, -0.40,
    -0.40 both. (At d = 1024, 53 s here: 0.236 and 0.0124.)"""
    authors, authors_mean = diagonal_spread(width, "authors_code")
    paper, paper_mean = diagonal_spread(width, "paper")
    print(
        f"d = {width}: diagonal std {authors:.3f} (authors' code), "
        f"{paper:.4f} (paper); means {authors_mean:.3f}, {paper_mean:.3f}"
    )
    assert 0.2 < authors < 0.28
    assert 0.75 < paper / (0.4 / math.sqrt(width)) < 1.25
    assert authors_mean == pytest.approx(paper_mean, abs=1e-4)
    assert authors_mean == pytest.approx(-0.4, abs=0.02)


def test_mimetic_default_product_is_the_authors_codes():
    default = jinit.mimetic(KEY, attention(64, 4), num_heads=4)
    authors_code = jinit.mimetic(
        KEY, attention(64, 4), num_heads=4, vo_product="authors_code"
    )
    np.testing.assert_array_equal(
        default["value"]["kernel"], authors_code["value"]["kernel"]
    )


def test_mimetic_takes_pytorchs_out_in_layout():
    ours = jinit.mimetic(
        KEY,
        {
            name: {"kernel": jax.ShapeDtypeStruct(shape, "float32")}
            for name, shape in (
                ("query", (32, 16)),
                ("key", (32, 16)),
                ("value", (32, 32)),
                ("out", (32, 32)),
            )
        },
        num_heads=2,
    )
    torch = jinit.mimetic(
        KEY,
        {
            name: {"kernel": jax.ShapeDtypeStruct(shape, "float32")}
            for name, shape in (
                ("query", (16, 32)),
                ("key", (16, 32)),
                ("value", (32, 32)),
                ("out", (32, 32)),
            )
        },
        num_heads=2,
        in_axis=-1,
        out_axis=-2,
    )
    for name in ("query", "key", "value", "out"):
        np.testing.assert_array_equal(
            torch[name]["kernel"], ours[name]["kernel"].T
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"vo_product": "torch"},
            r"`vo_product` must be one of 'authors_code', 'paper'; got 'torch'",
        ),
        (
            {"in_axis": -1},
            r"`in_axis` and `out_axis` go together: got in_axis=-1, "
            r"out_axis=None",
        ),
        (
            {"in_axis": 0, "out_axis": 0},
            r"`in_axis` and `out_axis` both "
            r"contain axis 0",
        ),
    ],
)
def test_mimetic_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jinit.mimetic(KEY, attention(16, 2), num_heads=2, **kwargs)


def test_mimetic_authors_code_needs_square_value_weights():
    abstract = {
        "query": {"kernel": jax.ShapeDtypeStruct((48, 16), "float32")},
        "key": {"kernel": jax.ShapeDtypeStruct((48, 16), "float32")},
        "value": {"kernel": jax.ShapeDtypeStruct((48, 16), "float32")},
        "out": {"kernel": jax.ShapeDtypeStruct((16, 48), "float32")},
    }
    with pytest.raises(
        ValueError,
        match=(
            r"`vo_product` 'authors_code' .* the attention layer '\*' has 2 "
            r"x 8 = 16 value features for a width of 48: use "
            r"vo_product='paper'"
        ),
    ):
        jinit.mimetic(KEY, abstract, num_heads=2)
    made = jinit.mimetic(KEY, abstract, num_heads=2, vo_product="paper")
    assert made["value"]["kernel"].shape == (48, 16)


# muP.


@pytest.mark.parametrize(
    "function", [jinit.mup, jinit.mup_scaling, jinit.mup_learning_rates]
)
@pytest.mark.parametrize(
    "target, base, argument, shape",
    [(64, 0, "base", r"\(0, 0\)"), (0, 64, "specs", r"\(0, 0\)")],
)
def test_mup_refuses_a_width_of_0(function, target, base, argument, shape):
    def specs(width):
        return jinit.assign(
            {"hidden": jax.ShapeDtypeStruct((width, width), "float32")},
            [(".*", jinit.random_normal())],
        )

    # Before: ZeroDivisionError.
    with pytest.raises(
        ValueError,
        match=(
            rf"`{argument}` has shape {shape} at 'hidden': its fan axes "
            r"\[0, 1\] have size 0"
        ),
    ):
        function(specs(target), specs(base))

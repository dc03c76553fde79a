"""Narrow dtypes: every floating dtype JAX names is drawn exactly (the
float32 draw rounded to nearest, a bounded law kept inside its support) or
refused, never all zeros, NaN or an XLA error; and ``python -m jinit show``
ends every failure with one line, never a traceback."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from laws import grid_values
from test_cli import ROOT, assert_one_line_error, run  # noqa: F401

import jinit
from jinit._registry import FACTORIES
from jinit.cli import _main
from jinit.cli._catalogue import example

KEY = jax.random.key(7)
# Every floating dtype of at most 16 bits that jinit draws in.
DRAWN = [
    "bfloat16",
    "float16",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e3m4",
    "float8_e4m3",
    "float4_e2m1fn",
]
REFUSED = ["float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn"]


def test_every_floating_dtype_jax_names_is_drawn_or_refused():
    """The lists above are all of them: a new one gets a decision."""
    names = {
        name
        for name in dir(jnp)
        if name.startswith(("float", "bfloat"))
        and name not in ("floating", "float_power")
        and jnp.dtype(getattr(jnp, name)).itemsize < 4
    }
    assert names == {*DRAWN, *REFUSED}


# (initializer, shape, its support's values in the unit of the law:
# None for a normal, closed or not).
LAWS = [
    (jinit.he_normal(), (8, 512), True),
    (jinit.he_uniform(), (16, 256), False),
    (jinit.glorot_uniform(), (4, 4), False),
    (jinit.truncated_normal(stddev=0.02), (64, 64), True),
    (jinit.truncated_normal(0.5, 0.3), (64, 64), True),
    (jinit.random_uniform(-1.0, 1.0), (64, 64), False),
    (jinit.random_uniform(-0.6, 0.6), (64, 64), False),
    (jinit.random_normal(stddev=0.3), (64, 64), None),
    (jinit.random_normal(0.5, 0.3), (64, 64), None),
]


@pytest.mark.parametrize("dtype", DRAWN)
@pytest.mark.parametrize(
    ("init", "shape", "closed"), LAWS, ids=[repr(init) for init, _, _ in LAWS]
)
def test_laws_are_the_float32_draw_rounded_to_nearest_and_kept_inside(
    init, shape, closed, dtype
):
    """Each value is the float32 draw's rounded to nearest; a bounded law's
    values rounded past a bound take the nearest value inside. Refused only
    where every value would be 0 (truncated_normal(stddev=0.02) in
    float4_e2m1fn)."""
    dtype = jnp.dtype(dtype)
    if init == jinit.truncated_normal(stddev=0.02) and dtype.name == (
        "float4_e2m1fn"
    ):
        with pytest.raises(ValueError, match="round to 0 in float4_e2m1fn"):
            init(KEY, shape, dtype)
        return
    values = np.asarray(init(KEY, shape, dtype)).astype(np.float64)
    wide = np.asarray(init(KEY, shape, "float32"))
    rounded = wide.astype(dtype).astype(np.float64)
    assert np.isfinite(values).all()
    assert np.count_nonzero(values) > values.size // 4
    if closed is None:  # A normal: no bounds to keep.
        np.testing.assert_array_equal(values, rounded)
        return
    law = init.law(shape, jnp.dtype(jnp.float32))
    low, high = law.support(jnp.dtype(jnp.float32))
    grid = grid_values(dtype)
    inside = grid[(grid >= low) & ((grid <= high) if closed else (grid < high))]
    np.testing.assert_array_equal(
        values, np.clip(rounded, inside[0], inside[-1])
    )


def test_a_support_with_non_zero_values_keeps_its_halves_in_float4():
    """he_uniform with fan_in 16, in [-0.612, 0.612): -0.5, 0 and 0.5 as
    rounding to nearest gives them (the issue's 'keep +-0.5')."""
    values = np.asarray(jinit.he_uniform()(KEY, (16, 4096), "float4_e2m1fn"))
    kept, counts = np.unique(values.astype(np.float64), return_counts=True)
    np.testing.assert_array_equal(kept, [-0.5, 0.0, 0.5])
    assert min(counts) > values.size // 4


@pytest.mark.parametrize(
    ("init", "shape", "dtype", "match"),
    [
        # The three: cut at +-0.402, in [-0.306, 0.306), up to 0.04.
        (
            jinit.he_normal(),
            (64, 64),
            "float4_e2m1fn",
            r"`he_normal\(\)`: the only float4_e2m1fn value in the support "
            r"\[-0.401936, 0.401936\] of the law is 0 \(the smallest non-zero "
            r"float4_e2m1fn value is 0.5\): every value would be 0",
        ),
        (
            jinit.he_uniform(),
            (64, 64),
            "float4_e2m1fn",
            r"the only float4_e2m1fn value in the support \[-0.306186, 0.306186\) "
            r"of the law is 0",
        ),
        (
            jinit.truncated_normal(stddev=0.02),
            (64, 64),
            "float4_e2m1fn",
            r"`truncated_normal\(stddev=0.02\)` computes values up to 0.04 in "
            r"magnitude, which round to 0 in float4_e2m1fn \(smallest non-zero "
            r"value 0.5\): every value would be 0",
        ),
        # The example shape's he_normal, below 0.25: all round to 0.
        (
            jinit.he_normal(),
            (256, 128),
            "float4_e2m1fn",
            r"values up to 0.200968 in magnitude, which round to 0",
        ),
        (
            jinit.lecun_normal(),
            (64, 64),
            "float4_e2m1fn",
            r"the only float4_e2m1fn value in the support",
        ),
        (
            jinit.random_uniform(0.0, 0.4),
            (64,),
            "float4_e2m1fn",
            r"the only float4_e2m1fn value in the support \[0, 0.4\)",
        ),
        (
            jinit.random_normal(stddev=0.01),
            (64,),
            "float4_e2m1fn",
            r"values up to 0.0541998 in magnitude, which round to 0 in "
            r"float4_e2m1fn",
        ),
        (
            jinit.random_normal(0.1, 0.0),
            (64,),
            "float4_e2m1fn",
            r"values up to 0.1 in magnitude, which round to 0",
        ),
        (
            jinit.random_normal(stddev=1e-6),
            (64,),
            "float8_e4m3fn",
            r"round to 0 in float8_e4m3fn \(smallest non-zero value 0.00195312\)",
        ),
        (
            jinit.random_normal(stddev=1e-45),
            (64,),
            "bfloat16",
            r"round to 0 in bfloat16 \(smallest non-zero value 9.18355e-41\)",
        ),
        (
            jinit.random_uniform(-0.012, 0.012),
            (64,),
            "float8_e3m4",
            r"the only float8_e3m4 value in the support \[-0.012, 0.012\) of the "
            r"law is 0 \(the smallest non-zero float8_e3m4 value is 0.015625\)",
        ),
    ],
)
def test_laws_whose_values_would_all_be_0_are_refused(
    init, shape, dtype, match
):
    """Before: all zeros (he_normal in float4_e2m1fn: the clamp moved the
    18 % of values that round to +-0.5, beyond the cut at 0.402, to 0)."""
    for call in (
        lambda: init(KEY, shape, dtype),
        lambda: jax.jit(init, static_argnums=(1, 2))(KEY, shape, dtype),
        lambda: jinit.materialize(KEY, {"w": jinit.Param(shape, init, dtype)}),
    ):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize(
    ("init", "dtype"),
    [
        (jinit.constant(0.1), "float4_e2m1fn"),
        (jinit.constant(1e-50), "float32"),
        (jinit.constant(-1e-4), "float8_e4m3fn"),
        (jinit.skip_init(1e-9), "float16"),
    ],
    ids=repr,
)
def test_constants_that_round_to_0_are_refused(init, dtype):
    """``constant(0.1)`` in float4 was silently all 0."""
    with pytest.raises(
        ValueError,
        match=(
            rf"rounds to 0 in {dtype} \(smallest non-zero value .*\): "
            "every value would be 0"
        ),
    ):
        init(None, (3,), dtype)
    assert jinit.constant(0.0)(None, (2,), dtype).tolist() == [0.0, 0.0]


def test_degenerate_laws_of_0_are_still_drawn():
    """A law whose only value is 0 is exact: not refused."""
    for init in (
        jinit.random_normal(stddev=0.0),
        jinit.random_uniform(0.0, 0.0),
    ):
        values = init(KEY, (4,), "float4_e2m1fn")
        np.testing.assert_array_equal(values.astype(np.float32), 0.0)


@pytest.mark.parametrize("dtype", REFUSED)
@pytest.mark.parametrize(
    "init",
    [
        jinit.zeros(),
        jinit.ones(),
        jinit.constant(2.0),
        jinit.identity(),
        jinit.he_normal(),
        jinit.random_uniform(),
        jinit.orthogonal(),
        jinit.skip_init(),
    ],
    ids=repr,
)
def test_dtypes_that_cannot_hold_the_values_are_refused_up_front(init, dtype):
    """Before, in float8_e8m0fnu: zeros() 2**-127, identity() 2**-127 off
    the diagonal, he_normal() half NaN; in the float6 types XLA's
    'Invalid XLA PrimitiveType' (or 'Unknown NumPy dtype')."""
    reason = (
        "it holds only powers of two, with no zero and no negative value"
        if dtype == "float8_e8m0fnu"
        else "XLA makes no arrays of it"
    )
    with pytest.raises(
        TypeError,
        match=(
            rf"`dtype` {dtype} is refused by `{init.name}` and every jinit "
            rf"initializer: {reason}"
        ),
    ):
        init(KEY, (4, 4), dtype)
    # Refused when the factory is built with that dtype, too.
    with pytest.raises(TypeError, match=rf"`dtype` {dtype} is refused"):
        FACTORIES[init.name](**{**init.get_config(), "dtype": dtype})


def test_the_drawn_dtypes_still_hold_constants_and_structure_exactly():
    """identity and dirac need 0 and 1, orthogonal negative values: every
    drawn dtype holds them."""
    for dtype in DRAWN:
        eye = np.asarray(jinit.identity()(None, (3, 4), dtype), np.float64)
        np.testing.assert_array_equal(eye, np.eye(3, 4))
        q = np.asarray(jinit.orthogonal()(KEY, (8, 8), dtype), np.float64)
        assert np.isfinite(q).all() and (q < 0).any() and (q > 0).any()


# The command line.


@pytest.mark.parametrize(
    ("arguments", "hint"),
    [
        (
            ["show", "he_normal", "--dtype", "float8_e8m0fnu"],
            "`dtype` float8_e8m0fnu is refused by `he_normal`",
        ),
        (
            ["show", "orthogonal", "--dtype", "float8_e8m0fnu"],
            "`dtype` float8_e8m0fnu is refused by `orthogonal`",
        ),
        (
            ["show", "zeros", "--dtype", "float6_e2m3fn"],
            "`dtype` float6_e2m3fn is refused by `zeros`",
        ),
        (
            ["compare", "he_normal", "--dtype", "float6_e3m2fn"],
            "`dtype` float6_e3m2fn is refused by `he_normal`",
        ),
        (
            ["show", "he_normal", "--dtype", "float4_e2m1fn"],
            "which round to 0 in float4_e2m1fn",
        ),
        (
            [
                "compare",
                "he_normal",
                "--dtype",
                "float4_e2m1fn",
                "--shape",
                "64,64",
            ],
            "the only float4_e2m1fn value in the support",
        ),
    ],
)
def test_show_refuses_narrow_dtypes_in_one_line(run, arguments, hint):  # noqa: F811
    """Before: 'cannot convert float NaN to integer' or XLA's 'Invalid XLA
    PrimitiveType', with a traceback, exit status 1; float4 all zeros."""
    assert_one_line_error(run(*arguments), hint)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("command", ["show", "compare"])
def test_a_non_finite_draw_is_one_line(run, monkeypatch, command, bad):  # noqa: F811
    """Whatever drew it: jinit in show, jax.nn.initializers in compare."""
    draw = _main._draw

    def with_bad_value(init, seed, shape, dtype):
        values = draw(init, seed, shape, dtype)
        ours = isinstance(init, jinit.ConfiguredInitializer)
        return (
            values.at[0, 1].set(bad)
            if ours == (command == "show")
            else (values)
        )

    monkeypatch.setattr(_main, "_draw", with_bad_value)
    drawer = (
        "he_normal()" if command == "show" else "jax.nn.initializers' he_normal"
    )
    assert_one_line_error(
        run(command, "he_normal", "--shape", "8,8"),
        f"{drawer} drew non-finite values (NaN or infinity), 1 of 64, at "
        "shape (8, 8) in float32",
    )


def test_any_other_failure_is_one_line_naming_the_exception(
    run,  # noqa: F811
    monkeypatch,
):
    def fails(*arguments):
        raise jax.errors.JaxRuntimeError("INTERNAL: something broke")

    monkeypatch.setattr(_main, "_draw", fails)
    assert_one_line_error(
        run("show", "he_normal"),
        "jinit: error: JaxRuntimeError: INTERNAL: something broke "
        "(unexpected: please report it to jinit with this command line)",
    )
    monkeypatch.undo()
    monkeypatch.setattr(_main, "law", lambda *arguments: 1 / 0)
    assert_one_line_error(
        run("show", "he_normal"), "ZeroDivisionError: division by zero"
    )


def _arguments(name, dtype):
    init, shape = example(name)
    small = shape if len(shape) > 2 else (8, 8)
    return [
        "show",
        name,
        "--dtype",
        dtype,
        "--shape",
        ",".join(map(str, small)),
    ]


@pytest.mark.parametrize(
    "dtype", ["float4_e2m1fn", "float8_e8m0fnu", "float8_e4m3b11fnuz"]
)
def test_show_never_prints_a_traceback_for_any_initializer(run, dtype):  # noqa: F811
    """Every initializer at a small shape: drawn (0) or refused (2)."""
    for name in FACTORIES:
        result = run(*_arguments(name, dtype))
        assert result.returncode in (0, 2), (name, result.stderr)
        if result.returncode:
            assert_one_line_error(result, "jinit: error: ")


def test_python_m_jinit_show_ends_without_a_traceback():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jinit",
            "show",
            "he_normal",
            "--dtype",
            "float8_e8m0fnu",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("jinit: error: `dtype` float8_e8m0fnu")
    assert "Traceback" not in result.stderr

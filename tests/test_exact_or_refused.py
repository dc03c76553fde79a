"""Every value exact or refused: shifted laws rounded as JAX rounds them in
every mode, exact counters along dimensions of 2**32 and more, laws that do
not fit their dtype refused, bounded laws kept inside their support after
the cast to a narrow dtype, sizes XLA cannot build refused before it is
called, empty shapes made without compiling, and the commonest mistakes
answered with the fix."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from laws import grid_values

import jinit

KEY = jax.random.key(7)
SHAPE = (48, 763)  # 36,624 elements: enough to hit every rounding case.


def _shifted(unit, stddev, mean):
    """JAX's eager ``unit(key, shape, dtype) * stddev + mean``: each
    operation rounded on its own."""

    def reference(key, shape, dtype):
        z = np.asarray(unit(key, shape, dtype))
        product = (z * np.asarray(stddev, dtype)).astype(dtype)
        return (product + np.asarray(mean, dtype)).astype(dtype)

    return reference


def _normal(key, shape, dtype):
    return jax.random.normal(key, shape, dtype)


def _truncated(key, shape, dtype):
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)


# Initializers whose laws have a shift or bounds, and JAX's eager values.
SHIFTED = [
    (jinit.random_normal(2.0, 1.0), _shifted(_normal, 1.0, 2.0)),
    (jinit.random_normal(0.5, 0.02), _shifted(_normal, 0.02, 0.5)),
    (jinit.random_normal(-1.7, 0.3), _shifted(_normal, 0.3, -1.7)),
    (jinit.truncated_normal(0.5, 0.02), _shifted(_truncated, 0.02, 0.5)),
    (
        jinit.random_uniform(-0.3, 0.7),
        lambda key, shape, dtype: np.asarray(
            jax.random.uniform(key, shape, dtype, -0.3, 0.7)
        ),
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("init", "reference"), SHIFTED, ids=[repr(init) for init, _ in SHIFTED]
)
def test_shifted_laws_are_jax_bits_in_every_mode(
    init, reference, dtype, request
):
    """Before: 8,127 of 36,648 elements differed between eager and jit for
    random_normal(2, 1), ~600 from JAX's ``z * s + m`` for (0.5, 0.02) (one
    fused multiply-add instead of two roundings), and every element of
    random_uniform(-0.3, 0.7) under jit (XLA folded the constant bounds)."""
    if dtype == "float64":
        request.getfixturevalue("x64")
    want = reference(KEY, SHAPE, jnp.dtype(dtype))
    drawn = {
        "eager": init(KEY, SHAPE, dtype),
        "jit": jax.jit(init, static_argnums=(1, 2))(KEY, SHAPE, dtype),
        "vmap": jax.vmap(lambda k: init(k, SHAPE, dtype))(KEY[None])[0],
    }
    for mode, values in drawn.items():
        np.testing.assert_array_equal(np.asarray(values), want, err_msg=mode)
    # materialize draws its packed rows with the leaf's path key.
    packed = jinit.materialize(KEY, {"w": jinit.Param(SHAPE, init, dtype)})
    np.testing.assert_array_equal(
        np.asarray(packed["w"]),
        reference(jinit.path_key(KEY, "w"), SHAPE, jnp.dtype(dtype)),
    )


def _iotas(init, shape):
    """The (dimensions, element type) of every iota in the lowered draw."""
    text = jax.jit(lambda k: init(k, shape)).lower(KEY).as_text()
    return set(re.findall(r"iota.*?tensor<([0-9x]+)x(ui\d+)>", text))


@pytest.mark.parametrize(
    "init",
    [jinit.random_uniform(), jinit.he_normal(), jinit.random_normal(1.0, 2.0)],
    ids=repr,
)
@pytest.mark.parametrize("shape", [(2**32 + 3,), (3, 2**32 + 1)])
def test_dimensions_of_2_32_and_more_count_in_64_bits(init, shape):
    """An element's counter is its 64-bit row-major index. Before, a 32-bit
    iota along an axis of 2**32 + 3 elements wrapped: elements 2**32.. were
    elements 0, 1, 2 again. Lowered only: the draw itself is 16 GB."""
    iotas = _iotas(init, shape)
    assert iotas, "no iota in the lowered draw"
    assert all(kind == "ui64" for _, kind in iotas), iotas
    # Ordinary shapes still count in 32 bits, on the fused kernel.
    assert ("4x5", "ui32") in _iotas(init, (4, 5))


OVERFLOWS = [
    (
        lambda: jinit.random_uniform(-1e39, 1e39)(KEY, (4,)),
        r"`random_uniform\(minval=-1e\+39, maxval=1e\+39\)` computes values up "
        r"to 2e\+39 .* largest finite float32 value 3.40282e\+38",
    ),
    (
        lambda: jinit.random_uniform(-3e38, 3e38)(KEY, (4,)),
        r"values up to 6e\+38 .* float32",
    ),
    (
        lambda: jinit.random_normal(mean=1e39)(KEY, (4,)),
        r"`random_normal\(mean=1e\+39\)` computes values up to 1e\+39",
    ),
    (
        lambda: jinit.random_normal(stddev=1e38)(KEY, (4,)),
        r"values up to 5.41998e\+38 .* float32",
    ),
    (
        lambda: jinit.random_normal(stddev=1e6)(KEY, (4,), "float16"),
        r"values up to 5.41998e\+06 .* largest finite float16 value 65504",
    ),
    (
        lambda: jinit.orthogonal(gain=1000.0)(KEY, (4, 4), "float8_e4m3fn"),
        r"`orthogonal\(gain=1000.0\)` computes values up to 1000 .* "
        r"float8_e4m3fn value 448",
    ),
    (
        lambda: jinit.delta_orthogonal(gain=1e5)(KEY, (3, 3, 4, 4), "float16"),
        r"values up to 100000 .* float16",
    ),
    (
        lambda: jinit.sparse(0.5, stddev=1e38)(KEY, (4, 4)),
        r"`sparse\(sparsity=0.5, stddev=1e\+38\)` computes values up to",
    ),
    (
        lambda: jinit.random_normal(stddev=1e38)(KEY, (4,), "complex64"),
        r"values up to 3.83251e\+38 .* complex64",
    ),
    (lambda: jinit.he_uniform()(KEY, (4, 4), "float8_e5m2"), None),
    (
        lambda: jinit.random_normal(stddev=1e-50)(KEY, (4,)),
        r"scales its values by 1e-50, which rounds to 0 in float32",
    ),
    (
        lambda: jinit.random_uniform(0.1, 0.1001)(KEY, (4,), "float8_e4m3fn"),
        r"no float8_e4m3fn value lies in the support \[0.1, 0.1001\)",
    ),
]


@pytest.mark.parametrize(("call", "match"), OVERFLOWS)
def test_laws_that_overflow_their_dtype_are_refused(call, match):
    """Before: all NaN, all inf, inf with a NumPy warning, or all zeros."""
    if match is None:  # A law that fits draws finite values.
        assert bool(jnp.isfinite(call().astype(jnp.float32)).all())
        return
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: jinit.variance_scaling(10**400),
            r"`scale` must be finite; got an int of 401 digits",
        ),
        (
            lambda: jinit.random_normal(stddev=10**400),
            r"`stddev` must be finite; got an int of 401 digits",
        ),
        (
            lambda: jinit.small_init(10**400),
            r"`dim` must be an int >= 1 and < 2\*\*63; got an int of 401 digits",
        ),
        (lambda: jinit.wang_init(12, 10**400), r"`dim` must be an int >= 1"),
        (
            lambda: jinit.constant(float("nan")),
            r"`value` must be finite; got nan",
        ),
        (
            lambda: jinit.constant(float("inf")),
            r"`value` must be finite; got inf",
        ),
        (
            lambda: jinit.constant([1.0, float("-inf")]),
            r"`value` must be finite",
        ),
        (
            lambda: jinit.constant(complex(1, float("nan"))),
            r"`value` must be finite",
        ),
        (
            lambda: jinit.random_uniform(0.0, float("inf")),
            r"`maxval` must be finite; got inf",
        ),
    ],
)
def test_non_finite_arguments_are_refused_by_the_factory(build, match):
    with pytest.raises(ValueError, match=match):
        build()


NARROW = ["bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"]


@pytest.mark.parametrize("dtype", NARROW)
@pytest.mark.parametrize(
    ("init", "low", "high", "closed"),
    [
        (jinit.random_uniform(-1.0, 1.0), -1.0, 1.0, False),
        (jinit.random_uniform(-0.05, 0.05), -0.05, 0.05, False),
        (jinit.he_uniform(), -np.sqrt(6 / 256), np.sqrt(6 / 256), False),
        (jinit.truncated_normal(0.0, 1.0), -2.0, 2.0, True),
        (jinit.glorot_normal(), None, None, True),
    ],
    ids=repr,
)
def test_bounded_laws_stay_in_their_support_after_the_cast(
    init, low, high, closed, dtype
):
    """Before: random_uniform(-1, 1) gave 980 of 1M values equal to maxval in
    bfloat16 (16,193 in float8), and he_uniform overshot its limit by 0.15 %
    (bfloat16) and 2 % (float8)."""
    dtype = jnp.dtype(dtype)
    shape = (256, 4096)
    if low is None:  # glorot_normal: 2 sigma of a normal cut there.
        sigma = np.sqrt(2 / (256 + 4096)) / 0.87962566103423978
        low, high = -2 * float(np.float32(sigma)), 2 * float(np.float32(sigma))
    low, high = float(np.float32(low)), float(np.float32(high))
    values = np.asarray(init(KEY, shape, dtype)).astype(np.float64)
    assert values.min() >= low
    assert values.max() <= high if closed else values.max() < high
    # Only the values rounded past a bound moved: to the nearest inside.
    wide = (
        np.asarray(init(KEY, shape, "float32")).astype(dtype).astype(np.float64)
    )
    grid = grid_values(dtype)
    inside = grid[(grid >= low) & ((grid <= high) if closed else (grid < high))]
    np.testing.assert_array_equal(values, np.clip(wide, inside[0], inside[-1]))


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((2**31, 2**31), "float32"),
        ((2**61, 2), "float32"),
        ((2**62, 2**62), "float32"),
        ((2**59, 2), "float64"),
        ((2**60, 2), "bfloat16"),  # drawn in float32: 2**63 bytes there
    ],
)
@pytest.mark.parametrize(
    "init",
    [jinit.he_normal(), jinit.zeros(), jinit.orthogonal(), jinit.constant(2.0)],
    ids=repr,
)
def test_sizes_xla_cannot_build_are_refused_before_it_is_called(
    init, shape, dtype, request
):
    """Before: SIGABRT inside XLA ('overflow in static extent product')."""
    if dtype == "float64":
        request.getfixturevalue("x64")
    if not init.random and dtype == "bfloat16":
        pytest.skip("made in bfloat16 itself: 2**62 bytes, buildable")
    with pytest.raises(
        ValueError,
        match=r"`shape` .* more than XLA can "
        r"address \(2\*\*63 bytes\)",
    ):
        init(KEY, shape, dtype)


@pytest.mark.parametrize("shape", [(2**63, 2), (2, 2**64), (2**63, 0)])
def test_dimensions_beyond_int64_are_refused(shape):
    """Before: JAX's iota error, or an OverflowError naming nothing."""
    with pytest.raises(ValueError, match=r"dimensions below 2\*\*63"):
        jinit.he_normal()(KEY, shape)


def test_large_shapes_still_evaluate_abstractly():
    """Refusing what XLA cannot build refuses nothing it can describe."""
    out = jax.eval_shape(lambda k: jinit.he_normal()(k, (2**20, 2**20)), KEY)
    assert out.shape == (2**20, 2**20) and out.dtype == jnp.float32
    out = jax.eval_shape(
        lambda k: jinit.ensemble(jinit.zeros(), 2**20)(k, (2**20, 2**10)), KEY
    )
    assert out.shape == (2**20, 2**20, 2**10)


@pytest.mark.parametrize(
    "init",
    [
        jinit.he_normal(),
        jinit.zeros(),
        jinit.orthogonal(),
        jinit.constant(1.0),
        jinit.identity(),
    ],
    ids=repr,
)
def test_an_empty_shape_compiles_nothing(init):
    """Before: he_normal at (1021, 409, 500, 0) compiled for 14-26 s."""
    compiled = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, seconds, **kwargs: (
            compiled.append(event)
            if event == "/jax/core/compile/backend_compile_duration"
            else None
        )
    )
    shape = (1021, 409, 500, 0) if init.name != "identity" else (409, 0)
    values = init(KEY, shape)
    assert values.shape == shape and values.dtype == jnp.float32
    assert compiled == []


def test_shape_must_be_a_sequence_not_a_mapping_or_set():
    """Before: the dict {8: 1, 4: 2} was read as the shape (8, 4)."""
    for shape in ({8: 1, 4: 2}, {8, 4}, "84"):
        with pytest.raises(TypeError, match=r"`shape` must be a sequence"):
            jinit.he_normal()(KEY, shape)


def test_an_uncalled_factory_says_to_call_it():
    """Before: 'he_normal(): too many positional arguments'."""
    for key in (KEY, jax.random.PRNGKey(0)):
        for factory in (jinit.he_normal, jinit.random_normal, jinit.zeros):
            with pytest.raises(
                TypeError,
                match=re.escape(
                    f"`{factory.__name__}` is a factory: build the "
                    f"initializer first, then call it: "
                    f"{factory.__name__}()(key, shape, dtype)"
                ),
            ):
                factory(key, (4, 3), jnp.float32)


def test_a_haiku_style_call_says_the_key_comes_first():
    """Before: "`shape` must be a sequence ...; got Float32DType"."""
    for dtype in (jnp.float32, np.dtype("float32"), "float32"):
        with pytest.raises(
            TypeError,
            match=r"called as init\(shape, dtype\)"
            r".*jinit.haiku.initializer",
        ):
            jinit.he_normal()((4, 3), dtype)


def test_jit_without_static_shape_says_how():
    """Before: a bare tracer message; the recipe in the error works."""
    init = jinit.he_normal()
    with pytest.raises(
        TypeError,
        match=re.escape(
            "jax.jit(init, static_argnums=(1, 2))(key, (256, 128))"
        ),
    ):
        jax.jit(init)(KEY, (256, 128))
    jitted = jax.jit(init, static_argnums=(1, 2))(KEY, (256, 128))
    np.testing.assert_array_equal(jitted, init(KEY, (256, 128)))


def test_arguments_read_as_attributes_and_clone():
    init = jinit.random_normal(stddev=0.02, seed=3)
    assert (init.mean, init.stddev, init.seed, init.dtype) == (
        0.0,
        0.02,
        3,
        None,
    )
    assert init.clone() == init and init.clone() is not init
    assert init.from_config({**init.get_config(), "stddev": 0.5}) == (
        jinit.random_normal(stddev=0.5, seed=3)
    )
    with pytest.raises(
        AttributeError,
        match=r"no attribute 'scale'; its "
        r"arguments are mean, stddev",
    ):
        _ = init.scale


def test_constant_takes_an_array_broadcast_to_the_shape():
    row = np.array([1.0, 2.0, 3.0], np.float32)
    want = jax.nn.initializers.constant(row)(KEY, (2, 3))
    for value in (row, jnp.asarray(row), [1.0, 2.0, 3.0]):
        init = jinit.constant(value)
        np.testing.assert_array_equal(init(None, (2, 3)), want)
        assert init == jinit.constant((1.0, 2.0, 3.0))
        assert jinit.deserialize(jinit.serialize(init)) == init
    with pytest.raises(
        ValueError,
        match=r"`value` of shape \(3,\) does not "
        r"broadcast to `shape` \(2, 4\)",
    ):
        jinit.constant(row)(None, (2, 4))
    with pytest.raises(
        ValueError,
        match=r"`value` 300.0 cannot be "
        r"represented in int8",
    ):
        jinit.constant([1.0, 300.0])(None, (2,), "int8")
    with pytest.raises(ValueError, match=r"rectangular"):
        jinit.constant([[1, 2], [3]])


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_random_normal_draws_jax_complex_normal(dtype, request):
    if dtype == "complex128":
        request.getfixturevalue("x64")
    want = jax.nn.initializers.normal(0.3)(KEY, (64, 32), dtype)
    got = jinit.random_normal(stddev=0.3)(KEY, (64, 32), dtype)
    assert got.dtype == jnp.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    shifted = jinit.random_normal(0.5, 0.3)(KEY, (64, 32), dtype)
    np.testing.assert_array_equal(shifted, want + np.asarray(0.5, dtype))

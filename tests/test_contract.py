"""The contract every initializer keeps, eagerly, under jit and under vmap."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import CONTRACT_CASES, FACTORY_CASES

import jinit

FLOAT_DTYPES = ["float32", "bfloat16", "float16"]
EXACT_DTYPES = ["int8", "int32", "uint8", "bool", "complex64"]
# Deterministic initializers whose values are real, not integers.
FLOATING = (
    "zer_o",
    "hippo_legs",
    "hippo_legs_nplr",
    "s4d",
    "mamba_a_log",
    "stft",
)
KEY = jax.random.key(7)
MEMBERS = 5


def call(transform, init, shape, dtype):
    """Draws ``init`` eagerly, under jit, or as member 0 of a vmap; ``init``
    may return a list of arrays of ``shape``."""
    if transform == "eager":
        return init(KEY, shape, dtype)
    if transform == "jit":
        return jax.jit(init, static_argnums=(1, 2))(KEY, shape, dtype)
    keys = jnp.stack([KEY, *jax.random.split(KEY, MEMBERS - 1)])
    batch = jax.vmap(lambda key: init(key, shape, dtype))(keys)
    chex.assert_tree_shape_prefix(batch, (MEMBERS, *shape))
    return jax.tree.map(lambda member: member[0], batch)


@pytest.fixture(params=["eager", "jit", "vmap"])
def transform(request):
    return request.param


_EAGER = {}


def eager(case, dtype):
    """``case`` drawn eagerly at ``KEY`` in ``dtype``: drawn once, for the
    three transforms."""
    at = (case.id, dtype, jax.config.read("jax_enable_x64"))
    if at not in _EAGER:
        _EAGER[at] = case.init(KEY, case.shape, dtype)
    return _EAGER[at]


@pytest.mark.parametrize("case", CONTRACT_CASES, ids=repr)
def test_shape_dtype_finite_and_agrees_with_eager(case, transform):
    """Every float dtype, drawn by one program per transform (a program
    per dtype would compile three times as often); under vmap, also every
    member of the default dtype equals its own call."""

    def every_dtype(key):
        return [case.init(key, case.shape, dtype) for dtype in FLOAT_DTYPES] + [
            case.init(key, case.shape)
        ]

    if transform == "eager":  # Drawn again: the same key, the same values.
        drawn = every_dtype(KEY)
    elif transform == "jit":
        drawn = jax.jit(every_dtype)(KEY)
    else:
        keys = jnp.stack([KEY, *jax.random.split(KEY, MEMBERS - 1)])
        batches = jax.vmap(every_dtype)(keys)
        for batch in batches:
            chex.assert_shape(batch, (MEMBERS, *case.shape))
        for member, key in enumerate(keys):
            np.testing.assert_allclose(
                batches[-1][member],
                case.init(key, case.shape),
                rtol=1e-6,
                atol=1e-7,
            )
        drawn = [batch[0] for batch in batches]
    *drawn, default = drawn
    chex.assert_type(default, jnp.float32)
    for dtype, values in zip(FLOAT_DTYPES, drawn, strict=True):
        chex.assert_shape(values, case.shape)
        chex.assert_type(values, jnp.dtype(dtype))
        chex.assert_tree_all_finite(values)
        tolerance = 4 * float(jnp.finfo(dtype).eps)
        np.testing.assert_allclose(
            np.asarray(values, np.float32),
            np.asarray(eager(case, dtype), np.float32),
            rtol=tolerance,
            atol=tolerance,
            err_msg=dtype,
        )


@pytest.mark.parametrize("case", CONTRACT_CASES, ids=repr)
def test_same_key_same_values_and_keys_matter(case):
    first = case.init(KEY, case.shape)
    np.testing.assert_array_equal(first, case.init(KEY, case.shape))
    other = case.init(jax.random.key(8), case.shape)
    assert np.array_equal(first, other) != case.random


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_default_dtype_follows_x64(case, x64):
    assert case.init(KEY, case.shape).dtype == jnp.float64
    assert case.init(KEY, case.shape, "float32").dtype == jnp.float32


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_factory_dtype_is_the_default_and_the_call_overrides_it(case):
    init = case.init
    built = jinit.get(
        {
            "name": init.name,
            "config": {**init.get_config(), "dtype": "bfloat16"},
        }
    )
    assert built(KEY, case.shape).dtype == jnp.bfloat16
    assert built(KEY, case.shape, None).dtype == jnp.bfloat16
    assert built(KEY, case.shape, "float16").dtype == jnp.float16


@pytest.mark.parametrize("case", CONTRACT_CASES, ids=repr)
def test_zero_size_shapes_give_empty_arrays(case):
    for axis in range(len(case.shape)):
        shape = case.shape[:axis] + (0,) + case.shape[axis + 1 :]
        chex.assert_shape(case.init(KEY, shape), shape)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4, 5)])
@pytest.mark.parametrize(
    "case",
    [
        c
        for c in FACTORY_CASES
        if c.init.name
        not in (
            "identity",
            "orthogonal",
            "dirac",
            "delta_orthogonal",
            "sparse",
            "convolution_orthogonal",
            "t_fixup_embedding",
            "zer_o",
            "hippo_legs",
            "hippo_legs_nplr",
            "s4d",
            "mamba_a_log",
            "stft",
        )
    ],
    ids=repr,
)
def test_any_rank(case, shape):
    chex.assert_shape(case.init(KEY, shape), shape)


@pytest.mark.parametrize(
    "case",
    [c for c in CONTRACT_CASES if not c.random and c.init.name not in FLOATING],
    ids=repr,
)
def test_deterministic_initializers_take_every_dtype(case, transform):
    """Every exact dtype, drawn by one program per transform."""
    scalar = {
        "constant": "value",
        "identity": "gain",
        "skip_init": "alpha",
    }.get(case.init.name)
    inits = {}
    for dtype in EXACT_DTYPES:
        inits[dtype] = case.init
        if scalar and dtype in ("int8", "int32", "uint8", "bool"):
            # 0.25 and 1.5 are not integers: use a value the dtype holds.
            inits[dtype] = jinit.get(
                {
                    "name": case.init.name,
                    "config": {**case.init.get_config(), scalar: 1},
                }
            )

    def every_dtype(key, shape, _):
        return [inits[dtype](key, shape, dtype) for dtype in EXACT_DTYPES]

    for dtype, values in zip(
        EXACT_DTYPES,
        call(transform, every_dtype, case.shape, None),
        strict=True,
    ):
        chex.assert_type(values, jnp.dtype(dtype))
        np.testing.assert_array_equal(
            values,
            inits[dtype](None, case.shape, "float32").astype(dtype),
            err_msg=dtype,
        )


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize(
    "case", [c for c in CONTRACT_CASES if c.complex], ids=repr
)
def test_complex_dtypes(case, dtype, transform, request):
    if dtype == "complex128":
        request.getfixturevalue("x64")
    values = call(transform, case.init, case.shape, dtype)
    chex.assert_type(values, jnp.dtype(dtype))
    chex.assert_tree_all_finite(values)
    np.testing.assert_allclose(values, eager(case, dtype), rtol=1e-5, atol=1e-6)

"""The contract every initializer keeps, eagerly, under jit and under vmap."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import CONTRACT_SHAPE, FACTORY_CASES

import jinit

FLOAT_DTYPES = ["float32", "bfloat16", "float16"]
EXACT_DTYPES = ["int8", "int32", "uint8", "bool", "complex64"]
KEY = jax.random.key(7)
MEMBERS = 3


def call(transform, init, shape, dtype):
    """Draws ``init`` eagerly, under jit, or as member 0 of a vmap."""
    if transform == "eager":
        return init(KEY, shape, dtype)
    if transform == "jit":
        return jax.jit(init, static_argnums=(1, 2))(KEY, shape, dtype)
    keys = jnp.stack([KEY, *jax.random.split(KEY, MEMBERS - 1)])
    batch = jax.vmap(lambda key: init(key, shape, dtype))(keys)
    chex.assert_shape(batch, (MEMBERS, *shape))
    return batch[0]


@pytest.fixture(params=["eager", "jit", "vmap"])
def transform(request):
    return request.param


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_shape_dtype_finite_and_agrees_with_eager(case, dtype, transform):
    values = call(transform, case.init, CONTRACT_SHAPE, dtype)
    chex.assert_shape(values, CONTRACT_SHAPE)
    chex.assert_type(values, jnp.dtype(dtype))
    chex.assert_tree_all_finite(values)
    eager = case.init(KEY, CONTRACT_SHAPE, dtype)
    tolerance = 4 * float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(values, np.float32),
                               np.asarray(eager, np.float32),
                               rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_same_key_same_values_and_keys_matter(case):
    first = case.init(KEY, CONTRACT_SHAPE)
    np.testing.assert_array_equal(first, case.init(KEY, CONTRACT_SHAPE))
    other = case.init(jax.random.key(8), CONTRACT_SHAPE)
    assert np.array_equal(first, other) != case.random


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_vmap_members_equal_individual_calls(case):
    keys = jax.random.split(KEY, 4)
    batch = jax.vmap(lambda key: case.init(key, CONTRACT_SHAPE))(keys)
    for member, key in enumerate(keys):
        np.testing.assert_allclose(batch[member],
                                   case.init(key, CONTRACT_SHAPE),
                                   rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_default_dtype_follows_x64(case, x64):
    assert case.init(KEY, CONTRACT_SHAPE).dtype == jnp.float64
    assert case.init(KEY, CONTRACT_SHAPE, "float32").dtype == jnp.float32


@pytest.mark.parametrize("case", FACTORY_CASES, ids=repr)
def test_factory_dtype_is_the_default_and_the_call_overrides_it(case):
    init = case.init
    built = jinit.get({"name": init.name,
                       "config": {**init.get_config(), "dtype": "bfloat16"}})
    assert built(KEY, CONTRACT_SHAPE).dtype == jnp.bfloat16
    assert built(KEY, CONTRACT_SHAPE, None).dtype == jnp.bfloat16
    assert built(KEY, CONTRACT_SHAPE, "float16").dtype == jnp.float16


def _valid(case, shape):
    name = case.init.name
    return not ((name == "identity" and len(shape) != 2)
                or (name == "orthogonal" and len(shape) < 2))


@pytest.mark.parametrize("case, shape", [
    (case, shape) for case in FACTORY_CASES
    for shape in [(0,), (0, 4), (3, 0, 5), (2, 0)] if _valid(case, shape)],
    ids=repr)
def test_zero_size_shapes_give_empty_arrays(case, shape):
    chex.assert_shape(case.init(KEY, shape), shape)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4, 5)])
@pytest.mark.parametrize("case", [c for c in FACTORY_CASES
                                  if c.init.name not in
                                  ("identity", "orthogonal")], ids=repr)
def test_any_rank(case, shape):
    chex.assert_shape(case.init(KEY, shape), shape)


@pytest.mark.parametrize("dtype", EXACT_DTYPES)
@pytest.mark.parametrize("case", [c for c in FACTORY_CASES if not c.random],
                         ids=repr)
def test_deterministic_initializers_take_every_dtype(case, dtype, transform):
    init = case.init
    if init.name in ("constant", "identity") and dtype in ("int8", "int32",
                                                           "uint8", "bool"):
        # 0.25 and 1.5 are not integers: use a value the dtype holds.
        init = jinit.get({"name": init.name, "config": {
            "value" if init.name == "constant" else "gain": 1}})
    values = call(transform, init, CONTRACT_SHAPE, dtype)
    chex.assert_type(values, jnp.dtype(dtype))
    np.testing.assert_array_equal(values,
                                  init(None, CONTRACT_SHAPE, "float32")
                                  .astype(dtype))


def test_initializers_satisfy_the_protocol():
    for case in FACTORY_CASES:
        assert isinstance(case.init, jinit.Initializer)
    assert isinstance(jax.nn.initializers.zeros, jinit.Initializer)

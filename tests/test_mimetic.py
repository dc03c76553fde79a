"""Mimetic initialization of self-attention (Trockman & Kolter, 2023).

The products W_q W_k^T (per head) and W_v W_o (per layer) against their
targets, rebuilt here in NumPy from the documented draws with the paper's
constants written out (not read from jinit), W_v W_o both as the paper
writes it (L R = T) and as the authors' code computes it ((R L)^T); the
property the scheme exists for, self-attention maps concentrated on the
diagonal at initialization, against Glorot-initialized kernels; Flax NNX
states, jit, keys and paths; and the errors.
"""

import math
import typing

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

KEY = jax.random.key(0)
# Trockman & Kolter (2023) / the authors' mimetic_init: alpha = beta = 0.7
# for W_q W_k^T ~ alpha Z + beta I, and 0.4, 0.4 with the sign -1 for
# W_v W_o ~ alpha Z - beta I.
ALPHA_QK, BETA_QK, ALPHA_VO, BETA_VO = 0.7, 0.7, 0.4, -0.4


def sds(*shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


def attention(
    width, heads, head_dim=None, *, flax_layout=False, dtype=jnp.float32
):
    """Abstract kernels of one attention layer at {query,key,value,out}."""
    head_dim = head_dim or width // heads
    if flax_layout:
        shapes = {
            "query": (width, heads, head_dim),
            "key": (width, heads, head_dim),
            "value": (width, heads, head_dim),
            "out": (heads, head_dim, width),
        }
    else:
        shapes = {
            "query": (width, heads * head_dim),
            "key": (width, heads * head_dim),
            "value": (width, heads * head_dim),
            "out": (heads * head_dim, width),
        }
    return {
        name: {
            "kernel": sds(*shape, dtype=dtype),
            "bias": sds(shape[-1], dtype=dtype),
        }
        for name, shape in shapes.items()
    }


def targets(key, layer, width, heads, distribution="uniform"):
    """The documented noise, in float64: Z_h (heads, d, d) and Z (d, d)."""
    qk_key, vo_key, _, _ = jax.random.split(jinit.path_key(key, layer), 4)
    if distribution == "uniform":
        limit = math.sqrt(3 / width)
        law = jinit.random_uniform(-limit, limit)
    else:
        law = jinit.random_normal(stddev=math.sqrt(1 / width))
    return (
        np.asarray(law(qk_key, (heads, width, width)), np.float64),
        np.asarray(law(vo_key, (width, width)), np.float64),
    )


def authors_product(z, width):
    """(R L)^T for T = 0.4 Z - 0.4 I = L R, L = U S^(1/2), R = S^(1/2) V^T.

    What the authors' code's value and projection weights compute, in
    float64, each singular pair's sign fixed as documented (the largest
    entry of U's column positive).
    """
    u, s, vt = np.linalg.svd(ALPHA_VO * z + BETA_VO * np.eye(width))
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(width)])
    u, vt = u * signs, vt * signs[:, None]
    root = np.sqrt(s)
    return (root[:, None] * u.T) @ (vt.T * root)


def best_rank(matrix, rank):
    """The best rank-``rank`` approximation (Eckart-Young), in NumPy."""
    u, s, vt = np.linalg.svd(matrix)
    return (u[:, :rank] * s[:rank]) @ vt[:rank]


def per_head(kernel, heads):
    """(heads, d, head_dim) from (d, heads * k) or (d, heads, k)."""
    kernel = np.asarray(kernel, np.float64)
    return np.moveaxis(kernel.reshape(kernel.shape[0], heads, -1), 1, 0)


def products(params, heads):
    """W_q^h W_k^h^T for each head, and W_v W_o, in float64."""
    query = per_head(params["query"]["kernel"], heads)
    key = per_head(params["key"]["kernel"], heads)
    value = np.asarray(params["value"]["kernel"], np.float64)
    out = np.asarray(params["out"]["kernel"], np.float64)
    value = value.reshape(value.shape[0], -1)
    out = out.reshape(-1, out.shape[-1])
    return query @ np.swapaxes(key, 1, 2), value @ out


# 1. The products are the (truncated) factorizations of the targets.


@pytest.mark.parametrize(
    "width, heads, head_dim, flax_layout, distribution",
    [
        (64, 4, 16, False, "uniform"),  # rank 16 of each 64 x 64 target
        (64, 4, 16, True, "normal"),  # Flax's (d, heads, k) / (heads, k, d)
        (48, 2, 8, True, "uniform"),  # W_v W_o truncated to rank 16 of 48
        (12, 2, 16, False, "uniform"),  # head_dim > d: the targets exactly
    ],
)
def test_products_are_the_best_approximations_of_the_targets(
    width, heads, head_dim, flax_layout, distribution
):
    abstract = attention(width, heads, head_dim, flax_layout=flax_layout)
    params = jinit.mimetic(
        KEY,
        abstract,
        num_heads=heads,
        distribution=distribution,
        vo_product="paper",
    )
    z_heads, z = targets(KEY, "*", width, heads, distribution)
    qk, vo = products(params, heads)
    eye = np.eye(width)
    for head in range(heads):
        wanted = best_rank(ALPHA_QK * z_heads[head] + BETA_QK * eye, head_dim)
        error = np.abs(qk[head] - wanted).max()
        print(
            f"head {head}: max |W_q W_k^T - target_{head_dim}| = "
            f"{error:.2e} (target max {np.abs(wanted).max():.3f})"
        )
        np.testing.assert_allclose(qk[head], wanted, atol=2e-5)
    wanted = best_rank(ALPHA_VO * z + BETA_VO * eye, heads * head_dim)
    print(f"max |W_v W_o - target| = {np.abs(vo - wanted).max():.2e}")
    np.testing.assert_allclose(vo, wanted, atol=2e-5)
    # Biases are not kernels: left as they were.
    assert params["query"]["bias"] is abstract["query"]["bias"]


def test_value_heads_share_the_singular_directions():
    # P mixes the value/output factors: no head holds only the largest
    # singular values of W_v W_o (which slicing U S^(1/2) would give).
    params = jinit.mimetic(KEY, attention(64, 4), num_heads=4)
    value = per_head(params["value"]["kernel"], 4)
    norms = [float(np.linalg.norm(value[head])) for head in range(4)]
    assert max(norms) / min(norms) < 1.3, norms


@pytest.mark.usefixtures("x64")
def test_float64_kernels_are_computed_in_float64():
    abstract = attention(32, 2, dtype=jnp.float64)
    params = jinit.mimetic(KEY, abstract, num_heads=2, vo_product="paper")
    assert params["query"]["kernel"].dtype == jnp.float64
    z_heads, z = targets(KEY, "*", 32, 2)
    qk, vo = products(params, 2)
    np.testing.assert_allclose(
        qk[1],
        best_rank(ALPHA_QK * z_heads[1] + BETA_QK * np.eye(32), 16),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        vo, ALPHA_VO * z + BETA_VO * np.eye(32), atol=1e-12
    )
    _, vo = products(jinit.mimetic(KEY, abstract, num_heads=2), 2)
    np.testing.assert_allclose(vo, authors_product(z, 32), atol=1e-12)


def test_low_precision_kernels_are_the_float32_values_cast_once():
    single = jinit.mimetic(KEY, attention(32, 2), num_heads=2)
    half = jinit.mimetic(KEY, attention(32, 2, dtype=jnp.bfloat16), num_heads=2)
    for name in ("query", "key", "value", "out"):
        assert half[name]["kernel"].dtype == jnp.bfloat16
        np.testing.assert_array_equal(
            half[name]["kernel"], single[name]["kernel"].astype(jnp.bfloat16)
        )


# 2. The property: attention maps concentrated on the diagonal at init.

WIDTH, HEADS, TOKENS = 256, 4, 64
HEAD_DIM = WIDTH // HEADS


def diagonal_mass(query, key, tokens):
    """Mean over heads and queries of A[i, i] for A = softmax(q k^T / sqrt k).

    In float64 NumPy, from (d, heads * k) kernels.
    """
    masses = []
    for head in range(HEADS):
        columns = slice(head * HEAD_DIM, (head + 1) * HEAD_DIM)
        q = tokens @ np.asarray(query, np.float64)[:, columns]
        k = tokens @ np.asarray(key, np.float64)[:, columns]
        logits = q @ k.T / math.sqrt(HEAD_DIM)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=1, keepdims=True)
        masses.append(np.diag(weights).mean())
    return float(np.mean(masses))


def test_attention_maps_are_far_more_diagonal_than_with_glorot():
    tokens = np.asarray(
        inputs.normal(jax.random.key(7), (TOKENS, WIDTH)), np.float64
    )
    abstract = attention(WIDTH, HEADS)
    params = jinit.mimetic(KEY, abstract, num_heads=HEADS)
    mimetic = diagonal_mass(
        params["query"]["kernel"], params["key"]["kernel"], tokens
    )
    # Control: Glorot-uniform query and key kernels, no mimetic code.
    glorot_keys = jax.random.split(jax.random.key(1))
    glorot = diagonal_mass(
        jinit.glorot_uniform()(glorot_keys[0], (WIDTH, WIDTH)),
        jinit.glorot_uniform()(glorot_keys[1], (WIDTH, WIDTH)),
        tokens,
    )
    # Measured 0.980 and 0.014: each token attends mostly to itself,
    # against about 1/64 for random kernels (and 0.017 with beta_qk = 0:
    # the margin is the identity term's).
    assert mimetic > 0.5
    assert glorot < 0.1
    assert mimetic > 10 * glorot


# 3. Trees: Flax NNX, Param specs, jit, keys and paths.


def test_flax_nnx_multi_head_attention_under_jit():
    nnx = pytest.importorskip("flax.nnx")
    abstract = nnx.eval_shape(
        lambda: nnx.MultiHeadAttention(
            num_heads=2, in_features=32, decode=False, rngs=nnx.Rngs(0)
        )
    )
    graphdef, state, rest = nnx.split(abstract, nnx.Param, ...)
    # The state of NNX's (d, heads, k) kernels, as arrays: paths such as
    # "query/kernel/value", "out/bias/value".
    state = jax.tree.map(
        lambda leaf: np.full(leaf.shape, 0.5, leaf.dtype), state
    )

    @jax.jit
    def init(key, state):
        return jinit.mimetic(key, state, num_heads=2)

    z_heads, z = targets(KEY, "*/value", 32, 2)
    jitted, eager = init(KEY, state), jinit.mimetic(KEY, state, num_heads=2)
    # Under jit and eagerly, the same values, bit for bit.
    for a, b in zip(
        jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    for made in (jitted, eager):
        qk, vo = products(
            {
                name: {"kernel": made[name]["kernel"][...]}
                for name in ("query", "key", "value", "out")
            },
            2,
        )
        for head in range(2):
            np.testing.assert_allclose(
                qk[head],
                best_rank(ALPHA_QK * z_heads[head] + BETA_QK * np.eye(32), 16),
                atol=2e-5,
            )
        np.testing.assert_allclose(vo, authors_product(z, 32), atol=5e-5)
        np.testing.assert_array_equal(
            made["query"]["bias"][...], np.full((2, 16), 0.5, np.float32)
        )
    layer = nnx.merge(graphdef, init(KEY, state), rest)
    assert layer.query.kernel[...].shape == (32, 2, 16)
    assert layer.out.kernel[...].shape == (2, 16, 32)


def test_param_specs_become_params_that_materialize_the_values():
    abstract = {
        "blocks": [attention(32, 2), attention(32, 2)],
        "head": sds(32, 10),
    }
    specs = jinit.assign(
        abstract, [(r"bias", jinit.zeros()), (r".*", jinit.glorot_uniform())]
    )
    specs = jinit.mimetic(KEY, specs, num_heads=2)
    assert isinstance(specs["blocks"][1]["query"]["kernel"], jinit.Param)
    assert specs["head"].init == jinit.glorot_uniform()
    params = jinit.materialize(jax.random.key(3), specs)
    direct = jinit.mimetic(KEY, abstract, num_heads=2)
    for block in range(2):
        for name in ("query", "key", "value", "out"):
            np.testing.assert_array_equal(
                params["blocks"][block][name]["kernel"],
                direct["blocks"][block][name]["kernel"],
            )
    # Each layer draws from its own path key.
    assert not np.allclose(
        params["blocks"][0]["query"]["kernel"],
        params["blocks"][1]["query"]["kernel"],
    )


def test_values_follow_the_key_not_the_order_of_the_tree():
    one = jinit.mimetic(
        KEY, {"a": attention(16, 2), "b": attention(16, 2)}, num_heads=2
    )
    other = jinit.mimetic(
        KEY,
        {"z": sds(3), "b": attention(16, 2), "a": attention(16, 2)},
        num_heads=2,
    )
    again = jinit.mimetic(
        KEY, {"a": attention(16, 2), "b": attention(16, 2)}, num_heads=2
    )
    seeded = jinit.mimetic(0, {"a": attention(16, 2)}, num_heads=2)
    moved = jinit.mimetic(
        jax.random.key(1), {"a": attention(16, 2)}, num_heads=2
    )
    for name in ("query", "key", "value", "out"):
        np.testing.assert_array_equal(
            one["a"][name]["kernel"], other["a"][name]["kernel"]
        )
        np.testing.assert_array_equal(
            one["a"][name]["kernel"], again["a"][name]["kernel"]
        )
        np.testing.assert_array_equal(
            one["a"][name]["kernel"], seeded["a"][name]["kernel"]
        )
        assert not np.allclose(
            one["a"][name]["kernel"], moved["a"][name]["kernel"]
        )


def test_custom_patterns_for_other_names():
    abstract = {
        "layers": [
            {
                "attn": {
                    "wq": sds(16, 16),
                    "wk": sds(16, 16),
                    "wv": sds(16, 16),
                    "wo": sds(16, 16),
                },
                "mlp": sds(16, 64),
            }
        ]
    }
    params = jinit.mimetic(
        KEY,
        abstract,
        num_heads=2,
        query_kernel=r"wq$",
        key_kernel=r"wk$",
        value_kernel=r"wv$",
        output_kernel=r"wo$",
    )
    assert params["layers"][0]["mlp"] is abstract["layers"][0]["mlp"]
    vo = np.asarray(params["layers"][0]["attn"]["wv"], np.float64) @ np.asarray(
        params["layers"][0]["attn"]["wo"], np.float64
    )
    _, z = targets(KEY, "layers/0/attn/*", 16, 2)
    np.testing.assert_allclose(vo, authors_product(z, 16), atol=5e-5)


# Errors.


def layer(**shapes):
    base = {
        "query": (16, 16),
        "key": (16, 16),
        "value": (16, 16),
        "out": (16, 16),
    }
    base.update(shapes)
    return {name: {"kernel": sds(*shape)} for name, shape in base.items()}


@pytest.mark.parametrize(
    "params, kwargs, error, message",
    [
        (
            layer(),
            {"num_heads": 3},
            ValueError,
            r"the query kernel 'query/kernel' has shape \(16, 16\): its 16 output "
            r"features do not split into `num_heads` 3 heads",
        ),
        (
            layer(),
            {"num_heads": 0},
            ValueError,
            r"`num_heads` must be an int >= 1 and < 2\*\*63; got 0",
        ),
        (
            layer(),
            {"num_heads": 2, "query_kernel": "attention/q"},
            ValueError,
            r"`query_kernel` 'attention/q' matches no path of `params`; the paths "
            r"are: 'key/kernel', 'out/kernel', 'query/kernel', 'value/kernel'",
        ),
        (
            layer(),
            {"num_heads": 2, "value_kernel": "("},
            ValueError,
            r"`value_kernel` '\(' is not a regular expression",
        ),
        (
            layer(),
            {"num_heads": 2, "key_kernel": 3},
            TypeError,
            r"`key_kernel` must be a regular expression \(a str\)",
        ),
        (
            layer(),
            {"num_heads": 2, "alpha_qk": math.inf},
            ValueError,
            r"`alpha_qk` must be finite; got inf",
        ),
        (
            layer(),
            {"num_heads": 2, "beta_vo": math.nan},
            ValueError,
            r"`beta_vo` must be finite; got nan",
        ),
        (
            layer(),
            {"num_heads": 2, "distribution": "gaussian"},
            ValueError,
            r"`distribution` must be one of 'uniform', 'normal'; got 'gaussian'",
        ),
        (
            layer(key=(16, 8)),
            {"num_heads": 2},
            ValueError,
            r"the key kernel 'key/kernel' has shape \(16, 8\) and the query kernel "
            r"'query/kernel' \(16, 16\); mimetic initialization needs the same "
            r"shape",
        ),
        (
            layer(out=(16, 12)),
            {"num_heads": 2},
            ValueError,
            r"the output kernel 'out/kernel' has shape \(16, 12\) and the value "
            r"kernel 'value/kernel' \(16, 16\)",
        ),
        (
            layer(query=(16, 4, 4), key=(16, 4, 4)),
            {"num_heads": 2},
            ValueError,
            r"the query kernel 'query/kernel' has shape \(16, 4, 4\), \(width, "
            r"num_heads, head_dim\) with 4 heads; `num_heads` is 2",
        ),
        (
            layer(value=(16,)),
            {"num_heads": 2},
            ValueError,
            r"the value kernel 'value/kernel' has shape \(16,\); allowed are",
        ),
        (
            {**layer(), "other": {"query": {"kernel": sds(16, 16)}}},
            {"num_heads": 2},
            ValueError,
            r"the attention layer 'other/\*' has query 'other/query/kernel' but "
            r"nothing matched by key_kernel, value_kernel, output_kernel",
        ),
        (
            layer(),
            {"num_heads": 2, "query_kernel": "kernel"},
            ValueError,
            r"the path 'key/kernel' matches query_kernel and key_kernel",
        ),
        (
            {
                name: {"kernel": sds(16, 16, dtype=jnp.int32)}
                for name in ("query", "key", "value", "out")
            },
            {"num_heads": 2},
            TypeError,
            r"the query kernel 'query/kernel' has dtype int32; mimetic "
            r"initialization needs a real floating dtype",
        ),
    ],
)
def test_errors(params, kwargs, error, message):
    with pytest.raises(error, match=message):
        jinit.mimetic(KEY, params, **kwargs)


def test_key_errors():
    with pytest.raises(TypeError, match=r"`key` must be a PRNG key"):
        jinit.mimetic(typing.cast(typing.Any, "0"), layer(), num_heads=2)
    with pytest.raises(ValueError, match=r"`seed` must be in \[0, 2\*\*32\)"):
        jinit.mimetic(-1, layer(), num_heads=2)
    specs = jinit.assign(layer(), [(".*", jinit.zeros())])
    with pytest.raises(TypeError, match=r"`params` holds jinit.Param leaves"):
        jax.jit(lambda key: jinit.mimetic(key, specs, num_heads=2))(KEY)

"""The property each residual-network initializer exists for, shown on small
networks written in pure JAX, each next to a negative control without the
scheme, so that the test can fail.

The formulas and the laws of these initializers are tested against the
registry elsewhere (test_statistics.py, test_contract.py); this file checks
what the formulas are for: a residual stream, an output or an update that
stays bounded however deep the network is. Kernels are (in, out): y = x @ W.

Every figure comes from fixed keys; the comment beside each assertion gives
the range measured over keys 0-4, and the thresholds lie far from both the
scheme's range and the control's, so they cannot flake, yet a scheme that
loses its depth scaling lands on the control's side.

Weights and inputs are drawn eagerly (jinit compiles nothing per shape;
``inputs.normal`` is ``jax.random.normal``'s draw) and each network is one
jitted function of them: one compilation per depth, shared by the scheme and
its control.
"""

import inputs
import jax
import jax.numpy as jnp
import pytest

import jinit

KEYS = (0, 1, 2)


def _layer_norm(x):
    """LayerNorm over the last axis, without gain or bias."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-5)


def _sign_step(loss, params, lr):
    """The first Adam step: every parameter moves by ``lr`` against the sign
    of its gradient."""
    grads = jax.grad(loss)(params)
    return jax.tree.map(lambda p, g: p - lr * jnp.sign(g), params, grads)


# 1. GPT-2 / Megatron and GPT-NeoX: the residual stream of a transformer with
#    L blocks sums 2 L branch outputs h_i @ W_i (attention output, width d;
#    second MLP matrix, width 4 d) onto the embedding x_0.

STREAM_WIDTH = 64
STREAM_ROWS = 128
STREAM_DEPTHS = (2, 48)

STREAM_SCHEMES = {
    # name: (the init of W_i for L blocks, Var(x_L) ~ L**exponent)
    # depth_scaled_normal: 2 L branches of variance 0.02**2 fan / (2 L).
    "depth_scaled_normal": (lambda n: jinit.depth_scaled_normal(n), 0),
    # wang_init: 4 fan / (L**2 d), so the sum is 4 (1 + 4) / L = 20 / L.
    "wang_init": (lambda n: jinit.wang_init(n, STREAM_WIDTH), -1),
}


def _plain_normal(n_layers):
    del n_layers
    return jinit.random_normal(stddev=0.02)


def _stream_variance(make_init, n_layers, key):
    """Var(x_L) for x_L = x_0 + sum_i h_i @ W_i, h_i independent standard
    normal activations, W_i drawn from ``make_init(n_layers)``."""
    d, rows = STREAM_WIDTH, STREAM_ROWS
    k_x, k_attn, k_mlp, k_ha, k_hm = jax.random.split(key, 5)
    init = make_init(n_layers)
    gpt2_embeddings = jinit.random_normal(stddev=0.02)(k_x, (rows, d))
    return _stream(
        gpt2_embeddings,
        inputs.normal(k_ha, (n_layers, rows, d)),
        jinit.ensemble(init, n_layers)(k_attn, (d, d)),
        inputs.normal(k_hm, (n_layers, rows, 4 * d)),
        jinit.ensemble(init, n_layers)(k_mlp, (4 * d, d)),
    )


@jax.jit
def _stream(x, h_attn, w_attn, h_mlp, w_mlp):
    x = x + jnp.einsum("lbi,lio->bo", h_attn, w_attn)
    x = x + jnp.einsum("lbi,lio->bo", h_mlp, w_mlp)
    return jnp.var(x)


def _stream_variances(n_layers, key):
    """Var(x_L) for each scheme and for the control."""
    makers = {name: make for name, (make, _) in STREAM_SCHEMES.items()}
    makers["control"] = _plain_normal
    return {
        name: _stream_variance(make, n_layers, key)
        for name, make in makers.items()
    }


def _depth_ratio(name, key):
    shallow, deep = (
        float(_stream_variances(n, key)[name]) for n in STREAM_DEPTHS
    )
    return deep / shallow


@pytest.mark.parametrize("name", sorted(STREAM_SCHEMES))
def test_residual_stream_variance_does_not_grow_with_depth(name):
    _, exponent = STREAM_SCHEMES[name]
    shallow, deep = STREAM_DEPTHS
    expected = (deep / shallow) ** exponent
    for seed in KEYS:
        key = jax.random.key(seed)
        ratio = _depth_ratio(name, key)
        # ratio / expected: measured 0.96-1.01; the control: 23-24.
        assert 0.7 < ratio / expected < 1.4, (seed, ratio, expected)
        assert ratio < 1.4, (seed, ratio)
        control = _depth_ratio("control", key)
        assert control > 10, (seed, control)


# 2. DeepNorm: a decoder-only Post-LN stack of M layers, each an attention
#    sublayer on one token (softmax over one key is 1, so it is
#    x @ W_v @ W_o) and an MLP, x <- LN(alpha x + G(x)).

DEEPNORM_WIDTH = 32
DEEPNORM_ROWS = 64
DEEPNORM_DEPTHS = (4, 64)
DEEPNORM_LR = 1e-5


def _post_ln(params, x, alpha):
    def layer(x, p):
        w_v, w_o, w_1, w_2 = p
        x = _layer_norm(alpha * x + x @ w_v @ w_o)
        x = _layer_norm(alpha * x + jax.nn.relu(x @ w_1) @ w_2)
        return x, None

    return jax.lax.scan(layer, x, params)[0]


def _post_ln_update(n_layers, deepnorm, key):
    """Mean square of F(theta_new) - F(theta) after one Adam step on the loss
    mean(F(x) * P), for a fixed batch x and projection P."""
    d = DEEPNORM_WIDTH
    if deepnorm:
        alpha = jinit.deepnorm_scales("decoder", decoder_layers=n_layers).alpha
        init = jinit.deepnorm("decoder", decoder_layers=n_layers)
    else:  # Post-LN: alpha = 1, Xavier normal with gain 1.
        alpha = 1.0
        init = jinit.variance_scaling(1.0, "fan_avg", "untruncated_normal")
    k_params, k_x, k_proj = jax.random.split(key, 3)
    k_v, k_o, k_1, k_2 = jax.random.split(k_params, 4)
    params = (
        jinit.ensemble(init, n_layers)(k_v, (d, d)),
        jinit.ensemble(init, n_layers)(k_o, (d, d)),
        jinit.ensemble(init, n_layers)(k_1, (d, 4 * d)),
        jinit.ensemble(init, n_layers)(k_2, (4 * d, d)),
    )
    return _post_ln_change(
        params,
        inputs.normal(k_x, (DEEPNORM_ROWS, d)),
        inputs.normal(k_proj, (DEEPNORM_ROWS, d)),
        alpha,
    )


@jax.jit
def _post_ln_change(params, x, proj, alpha):
    new = _sign_step(
        lambda p: jnp.mean(_post_ln(p, x, alpha) * proj), params, DEEPNORM_LR
    )
    return jnp.mean(
        jnp.square(_post_ln(new, x, alpha) - _post_ln(params, x, alpha))
    )


def _post_ln_updates(n_layers, key):
    """The updates of DeepNorm and of Post-LN."""
    return (
        _post_ln_update(n_layers, True, key),
        _post_ln_update(n_layers, False, key),
    )


def test_deepnorm_update_grows_far_slower_with_depth_than_post_ln():
    """The paper bounds ||F(theta_new) - F(theta)|| independently of depth.
    One sign step, whose effects on the loss all add up, gives DeepNorm a
    mean-square update proportional to M (its norm grows as sqrt(M)): a
    ratio near 64 / 4 = 16 between the depths. Post-LN's grows hundreds of
    times more."""
    shallow, deep = DEEPNORM_DEPTHS
    for seed in KEYS:
        key = jax.random.key(seed)
        ratio, control = (
            float(d) / float(s)
            for d, s in zip(
                _post_ln_updates(deep, key),
                _post_ln_updates(shallow, key),
                strict=True,
            )
        )
        # Measured 14.9-16.2 for DeepNorm, 760-9600 for Post-LN.
        assert ratio < 2 * deep / shallow, (seed, ratio)
        assert control > 150, (seed, control)


@pytest.mark.parametrize("layers", [1, 2, 6, 64, 1000])
@pytest.mark.parametrize(
    "sublayers, counts",
    [
        (2, lambda m: {"decoder_layers": m}),  # decoder only
        (3, lambda m: {"encoder_layers": 6, "decoder_layers": m}),  # enc-dec
    ],
    ids=["decoder-only", "encoder-decoder"],
)
def test_deepnorm_update_bound_is_one_at_every_depth(layers, sublayers, counts):
    """The paper's bound on the update, sum over the decoder's sublayers of
    (v**2 + w**2) / alpha**2 with v = w = beta, is 1 for every depth."""
    alpha, beta = jinit.deepnorm_scales("decoder", **counts(layers))
    bound = sublayers * layers * 2 * beta**2 / alpha**2
    assert bound == pytest.approx(1.0, rel=1e-12)


# 3. T-Fixup: a transformer encoder without LayerNorm,
#    x <- x + attn(x), x <- x + mlp(x).

TFIXUP_WIDTH = 32
TFIXUP_VOCAB = 64
TFIXUP_TOKENS = (4, 16)  # sequences, tokens each
TFIXUP_DEPTHS = (6, 24)  # Xavier overflows float32 by N = 48
TFIXUP_LR = 1e-4


def _encoder(params, x):
    scale = TFIXUP_WIDTH**-0.5

    def layer(x, p):
        w_q, w_k, w_v, w_o, w_1, w_2 = p
        logits = (x @ w_q) @ jnp.swapaxes(x @ w_k, -1, -2) * scale
        x = x + (jax.nn.softmax(logits, axis=-1) @ (x @ w_v)) @ w_o
        x = x + jax.nn.relu(x @ w_1) @ w_2
        return x, None

    return jax.lax.scan(layer, x, params)[0]


def _encoder_scale_and_update(n_layers, t_fixup, key):
    """std(x_N) / std(x_0), and the mean square of the change of x_N after
    one Adam step on mean(x_N * P) over every weight and the embeddings."""
    d = TFIXUP_WIDTH
    xavier = jinit.glorot_uniform()
    if t_fixup:
        init = jinit.t_fixup(n_layers)
        embedding = jinit.t_fixup_embedding(n_layers)
    else:  # Xavier everywhere, fairseq's N(0, 1 / d) embeddings.
        init, embedding = xavier, jinit.random_normal(stddev=d**-0.5)
    k_params, k_tokens, k_proj = jax.random.split(key, 3)
    ks = jax.random.split(k_params, 7)
    params = (
        embedding(ks[0], (TFIXUP_VOCAB, d)),
        (
            jinit.ensemble(xavier, n_layers)(ks[1], (d, d)),  # q
            jinit.ensemble(xavier, n_layers)(ks[2], (d, d)),  # k
            jinit.ensemble(init, n_layers)(ks[3], (d, d)),  # v
            jinit.ensemble(init, n_layers)(ks[4], (d, d)),  # out
            jinit.ensemble(init, n_layers)(ks[5], (d, 4 * d)),
            jinit.ensemble(init, n_layers)(ks[6], (4 * d, d)),
        ),
    )
    tokens = jax.random.randint(k_tokens, TFIXUP_TOKENS, 0, TFIXUP_VOCAB)
    return _encoder_change(
        params, tokens, inputs.normal(k_proj, (*TFIXUP_TOKENS, d))
    )


@jax.jit
def _encoder_change(params, tokens, proj):
    def model(p):
        return _encoder(p[1], p[0][tokens])

    out = model(params)
    new = _sign_step(lambda p: jnp.mean(model(p) * proj), params, TFIXUP_LR)
    return (
        jnp.std(out) / jnp.std(params[0][tokens]),
        jnp.mean(jnp.square(model(new) - out)),
    )


def _encoder_runs(n_layers, key):
    """(scale, update) with T-Fixup and with Xavier."""
    return (
        _encoder_scale_and_update(n_layers, True, key),
        _encoder_scale_and_update(n_layers, False, key),
    )


def test_t_fixup_output_scale_stays_bounded_without_layer_norm():
    shallow, deep = TFIXUP_DEPTHS
    for seed in KEYS:
        key = jax.random.key(seed)
        ((s_shallow, _), (x_shallow, _)), ((s_deep, _), (x_deep, _)) = (
            _encoder_runs(n, key) for n in TFIXUP_DEPTHS
        )
        s_shallow, s_deep = float(s_shallow), float(s_deep)
        x_shallow, x_deep = float(x_shallow), float(x_deep)
        # Measured: T-Fixup 1.02-1.05 at both depths; Xavier 5.3-8.7 at
        # N = 6 and 1.1e4-2.5e4 at N = 24 (a ratio of 1800-3200).
        assert 0.8 < s_shallow < 1.25 and 0.8 < s_deep < 1.25, (
            seed,
            s_shallow,
            s_deep,
        )
        assert x_deep / x_shallow > 100, (seed, x_shallow, x_deep)


def test_t_fixup_update_grows_far_slower_with_depth_than_xavier():
    """The paper bounds the update by Theta(lr) at any depth; as for
    DeepNorm, a sign step's mean-square update grows about as N (ratio near
    24 / 6 = 4), while Xavier's explodes with the output."""
    shallow, deep = TFIXUP_DEPTHS
    for seed in KEYS:
        key = jax.random.key(seed)
        ratio, control = (
            float(d[1]) / float(s[1])
            for d, s in zip(
                _encoder_runs(deep, key),
                _encoder_runs(shallow, key),
                strict=True,
            )
        )
        # Measured 3.3-3.9 for T-Fixup, 1.3e8-7.3e8 for Xavier.
        assert ratio < 2 * deep / shallow, (seed, ratio)
        assert control > 1e3, (seed, control)


# 4. Fixup: L residual branches of m layers, ReLU, no normalization,
#    x <- x + W_m relu(... relu(W_1 x)).

FIXUP_WIDTH = 64
FIXUP_ROWS = 128
FIXUP_DEPTHS = (4, 64)
FIXUP_DELTA = 0.1


@jax.jit
def _resnet(x, inner, last):
    def block(x, ws):
        w_inner, w_last = ws
        h = x
        for i in range(w_inner.shape[0]):
            h = jax.nn.relu(h @ w_inner[i])
        return x + h @ w_last, None

    return jax.lax.scan(block, x, (inner, last))[0]


def _fixup_net(n_branches, branch_layers, fixup, key):
    """The input and the outputs of the network, the first m - 1 layers of
    each branch drawn from Fixup (or plain He), for three last layers of the
    branches: Fixup's zeros, He, and FIXUP_DELTA times He."""
    d = FIXUP_WIDTH
    k_x, k_inner, k_last = jax.random.split(key, 3)
    init = (
        jinit.fixup(n_branches, branch_layers) if fixup else jinit.he_normal()
    )
    inner = jinit.ensemble(jinit.ensemble(init, branch_layers - 1), n_branches)(
        k_inner, (d, d)
    )
    zeros = jinit.ensemble(jinit.zeros(), n_branches)(k_last, (d, d))
    he = jinit.ensemble(jinit.he_normal(), n_branches)(k_last, (d, d))
    x = inputs.normal(k_x, (FIXUP_ROWS, d))
    return x, tuple(
        _resnet(x, inner, last) for last in (zeros, he, FIXUP_DELTA * he)
    )


def _fixup_nets(n_branches, branch_layers, key):
    """_fixup_net with Fixup and with plain He."""
    return {
        fixup: _fixup_net(n_branches, branch_layers, fixup, key)
        for fixup in (True, False)
    }


@pytest.mark.parametrize("branch_layers", [2, 3])
@pytest.mark.parametrize("n_branches", FIXUP_DEPTHS)
def test_fixup_network_is_the_identity_at_init(n_branches, branch_layers):
    x, (y, y_he, _) = _fixup_nets(n_branches, branch_layers, jax.random.key(0))[
        True
    ]
    assert jnp.array_equal(y, x)
    # Control: a He-initialized last layer makes it no identity (measured
    # max |y - x| 7.8-13).
    assert float(jnp.max(jnp.abs(y_he - x))) > 0.1


@pytest.mark.parametrize("branch_layers", [2, 3])
def test_fixup_update_of_the_last_layers_is_bounded_in_depth(branch_layers):
    """Setting every branch's last layer to the same-sized perturbation (one
    step of fixed size away from Fixup's zeros) changes the output by an
    amount independent of L with Fixup's L^(-1/(2m-2)); with plain He, by
    an amount growing with L."""

    def change(n_branches, fixup, key):
        x, (_, _, y) = _fixup_nets(n_branches, branch_layers, key)[fixup]
        return float(jnp.var(y - x))

    shallow, deep = FIXUP_DEPTHS
    for seed in KEYS:
        key = jax.random.key(seed)
        ratio = change(deep, True, key) / change(shallow, True, key)
        control = change(deep, False, key) / change(shallow, False, key)
        # Measured 0.80-1.24 with Fixup, 24-38 with plain He.
        assert 0.5 < ratio < 2, (seed, ratio)
        assert control > 8, (seed, control)


# 5. SkipInit / ReZero: x <- x + alpha_l f_l(x) over 100 layers, with
#    f_l(x) = relu(x @ W1) @ W2 drawn from He (it explodes ungated).

GATED_WIDTH = 32
GATED_LAYERS = 100


def _gated(gates, weights, x):
    def layer(x, p):
        gate, w_1, w_2 = p
        return x + gate * (jax.nn.relu(x @ w_1) @ w_2), None

    return jax.lax.scan(layer, x, (gates, *weights))[0]


@jax.jit
def _gated_net(gates, key):
    """Input, output and the gradients, with respect to the gates and the
    weights, of the loss mean(out * P)."""
    d, n = GATED_WIDTH, GATED_LAYERS
    k_1, k_2, k_x, k_proj = jax.random.split(key, 4)
    weights = (
        jinit.ensemble(jinit.he_normal(), n)(k_1, (d, d)),
        jinit.ensemble(jinit.he_normal(), n)(k_2, (d, d)),
    )
    x = jax.random.normal(k_x, (16, d))
    proj = jax.random.normal(k_proj, (16, d))

    def loss(gates, weights):
        return jnp.mean(_gated(gates, weights, x) * proj)

    grad_gates, grad_weights = jax.grad(loss, argnums=(0, 1))(gates, weights)
    return x, _gated(gates, weights, x), grad_gates, grad_weights


def test_skip_init_network_is_the_identity_and_its_gates_learn():
    for seed in KEYS:
        gates = jinit.skip_init()(None, (GATED_LAYERS,))
        assert gates.shape == (GATED_LAYERS,)
        x, y, grad_gates, grad_weights = _gated_net(gates, jax.random.key(seed))
        assert jnp.array_equal(y, x)
        # Every gate gets a gradient; the branches get none until it opens.
        assert bool(jnp.all(grad_gates != 0)), seed
        assert bool(jnp.all(jnp.isfinite(grad_gates))), seed
        assert all(bool(jnp.all(g == 0)) for g in grad_weights), seed
        # Control: gates at 0.1 make a network far from the identity.
        gates = jinit.skip_init(0.1)(None, (GATED_LAYERS,))
        x, y, _, _ = _gated_net(gates, jax.random.key(seed))
        assert float(jnp.max(jnp.abs(y - x))) > 0.1, seed

"""LSUV (Mishkin & Matas 2016) on a tanh MLP, a ReLU CNN and a Flax linen
model: every listed layer's output variance, recomputed with the returned
parameters, is within ``tol`` of 1 (and was not before), the weights are the
orthonormal pre-initialization times a scalar, jit and vmap agree with eager
runs, ``max_iters`` bounds the work and misses are reported, and every bad
argument gets a message that names it."""

import functools

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit import LsuvResult, lsuv

KEY = jax.random.key(42)
TOL = 0.05
WIDTHS = (64, 256, 256, 128, 10)
MLP_LAYERS = [f"layers/{i}/w" for i in range(len(WIDTHS) - 1)]
CNN_LAYERS = ["conv/0", "conv/1", "conv/2", "head/w"]


def mlp_params(key, widths=WIDTHS, bias=0.1):
    keys = jax.random.split(key, 2 * (len(widths) - 1))
    return {
        "layers": [
            {
                "w": inputs.normal(keys[2 * i], (n_in, n_out)) / n_in**0.5,
                "b": bias * inputs.normal(keys[2 * i + 1], (n_out,)),
            }
            for i, (n_in, n_out) in enumerate(
                zip(widths[:-1], widths[1:], strict=True)
            )
        ]
    }


def mlp(params, x):
    """The pre-activation output of every layer (tanh between layers)."""
    outputs = []
    for layer in params["layers"]:
        x = x @ layer["w"] + layer["b"][None, :]
        outputs.append(x)
        x = jnp.tanh(x)
    return outputs


def cnn_params(key):
    keys = jax.random.split(key, 4)
    return {
        "conv": [
            inputs.normal(keys[0], (3, 3, 3, 16)),
            inputs.normal(keys[1], (3, 3, 16, 32)),
            inputs.normal(keys[2], (3, 3, 32, 32)),
        ],
        "head": {
            "w": inputs.normal(keys[3], (32, 10)),
            "b": jnp.full((10,), 0.05),
        },
    }


def cnn(params, x):
    """Three NHWC/HWIO convolutions (the second with stride 2) with ReLU,
    global average pooling and a dense head."""
    outputs = []
    for kernel, stride in zip(params["conv"], (1, 2, 1), strict=True):
        x = jax.lax.conv_general_dilated(
            x,
            kernel,
            (stride, stride),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        outputs.append(x)
        x = jax.nn.relu(x)
    head = params["head"]
    outputs.append(x.mean(axis=(1, 2)) @ head["w"] + head["b"][None, :])
    return outputs


MODELS = ("cnn", "mlp")


@functools.cache
def model_inputs(name):
    """(apply_fn, params, batch, layers) of the model ``name``, drawn when a
    test first asks for them (never at import)."""
    if name == "mlp":
        return (
            mlp,
            mlp_params(jax.random.key(0)),
            inputs.normal(jax.random.key(1), (256, 64)),
            MLP_LAYERS,
        )
    return (
        cnn,
        cnn_params(jax.random.key(2)),
        inputs.normal(jax.random.key(3), (16, 12, 12, 3)),
        CNN_LAYERS,
    )


def get(params, path):
    node = params
    for part in path.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def replace(params, path, value):
    """``params`` with the leaf at ``path`` replaced by ``value``."""

    def leaf(key_path, old):
        return value if jinit._keys.path_string(key_path) == path else old

    return jax.tree_util.tree_map_with_path(leaf, params)


def pre_init(params, layers, key=KEY):
    """The paper's orthonormal pre-initialization, done here by hand."""
    for path in layers:
        w = get(params, path)
        params = replace(
            params,
            path,
            jinit.orthogonal()(jinit.path_key(key, path), w.shape, w.dtype),
        )
    return params


def variances(apply_fn, params, batch):
    """Each output's variance, recomputed outside lsuv (one compilation per
    ``apply_fn``: jit caches on the function)."""
    return np.array(
        [
            np.var(np.asarray(out, np.float64))
            for out in jax.jit(apply_fn)(params, batch)
        ]
    )


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    """(name, apply_fn, params, batch, layers, lsuv result with KEY,
    params with the orthonormal pre-initialization done by hand)."""
    apply_fn, params, batch, layers = model_inputs(request.param)
    result = lsuv(apply_fn, params, batch, layers, key=KEY, tol=TOL)
    return (
        request.param,
        apply_fn,
        params,
        batch,
        layers,
        result,
        jax.jit(lambda p: pre_init(p, layers))(params),
    )


def test_every_layer_reaches_unit_variance(model):
    name, apply_fn, params, batch, layers, result, initial = model
    assert isinstance(result, LsuvResult)
    before = variances(apply_fn, initial, batch)
    after = variances(apply_fn, result.params, batch)
    print(
        name,
        "before",
        before.round(4),
        "after",
        after.round(4),
        "iterations",
        result.iterations.tolist(),
    )
    assert np.all(np.abs(before - 1.0) > TOL), before  # The test can fail.
    assert np.all(np.abs(after - 1.0) < TOL), after
    np.testing.assert_allclose(result.variances, after, rtol=1e-5)
    assert result.variances.shape == (len(layers),)
    assert result.iterations.dtype == jnp.int32
    assert np.all(result.iterations >= 1)
    assert np.all(result.iterations <= 10)
    assert jax.tree.structure(result.params) == jax.tree.structure(params)
    for new, old in zip(
        jax.tree.leaves(result.params), jax.tree.leaves(params), strict=True
    ):
        assert new.shape == old.shape and new.dtype == old.dtype
        assert np.all(np.isfinite(new))


def test_weights_are_scaled_orthonormal_matrices(model):
    """Each weight is the orthonormal pre-init times one positive scalar,
    so its flattened columns stay orthogonal; the rest is untouched."""
    _, _, params, _, layers, result, expected = model
    for path in layers:
        q = np.asarray(get(expected, path), np.float64)
        w = np.asarray(get(result.params, path), np.float64)
        q2 = q.reshape(-1, q.shape[-1])
        if q2.shape[0] >= q2.shape[1]:
            np.testing.assert_allclose(
                q2.T @ q2, np.eye(q2.shape[1]), atol=1e-5
            )
        else:
            np.testing.assert_allclose(
                q2 @ q2.T, np.eye(q2.shape[0]), atol=1e-5
            )
        scale = np.vdot(w, q) / np.vdot(q, q)
        assert scale > 0
        np.testing.assert_allclose(w, scale * q, rtol=1e-5, atol=1e-6)
        if q.shape == (256, 256):  # The MLP's square layer: W^T W = c^2 I.
            gram = w.T @ w
            np.testing.assert_allclose(
                gram / gram[0, 0], np.eye(256), atol=1e-4
            )
    for path in set(
        map(
            jinit._keys.path_string,
            [p for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]],
        )
    ) - set(layers):
        np.testing.assert_array_equal(
            get(result.params, path), get(params, path)
        )


def test_jit_matches_eager(model):
    _, apply_fn, params, batch, layers, eager, _ = model
    jitted = jax.jit(
        lambda p, x, k: lsuv(apply_fn, p, x, layers, key=k, tol=TOL)
    )(params, batch, KEY)
    np.testing.assert_array_equal(jitted.iterations, eager.iterations)
    np.testing.assert_allclose(jitted.variances, eager.variances, rtol=1e-5)
    for a, b in zip(
        jax.tree.leaves(jitted.params),
        jax.tree.leaves(eager.params),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_vmap_over_params_matches_an_unbatched_call():
    widths = (8, 16, 4)
    layers = ["layers/0/w", "layers/1/w"]
    members = [mlp_params(jax.random.key(k), widths) for k in (5, 6)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *members)
    x = inputs.normal(jax.random.key(7), (64, 8))
    batched = jax.vmap(lambda p: lsuv(mlp, p, x, layers, tol=TOL))(stacked)
    assert batched.variances.shape == batched.iterations.shape == (2, 2)
    assert np.all(np.abs(batched.variances - 1.0) < TOL)
    alone = lsuv(mlp, members[1], x, layers, tol=TOL)
    np.testing.assert_array_equal(batched.iterations[1], alone.iterations)
    np.testing.assert_allclose(batched.variances[1], alone.variances, rtol=1e-5)
    for a, b in zip(
        jax.tree.leaves(batched.params),
        jax.tree.leaves(alone.params),
        strict=True,
    ):
        np.testing.assert_allclose(a[1], b, rtol=1e-5, atol=1e-7)


def test_without_key_rescales_the_given_weights():
    _, params, batch, layers = model_inputs("mlp")
    result = lsuv(mlp, params, batch, layers, tol=TOL)
    assert np.all(np.abs(variances(mlp, result.params, batch) - 1) < TOL)
    for path in layers:
        w = np.asarray(get(result.params, path), np.float64)
        w0 = np.asarray(get(params, path), np.float64)
        scale = np.vdot(w, w0) / np.vdot(w0, w0)
        np.testing.assert_allclose(w, scale * w0, rtol=1e-5, atol=1e-6)


def test_max_iters_bounds_the_rescalings_and_misses_are_reported():
    """Every layer starts outside the tolerance (else it would report 0
    iterations), and max_iters=1 stops each after one rescaling. The last
    layer gets a bias whose spread alone exceeds the target: no scale of its
    weight gives unit variance, and the result says so instead of failing
    silently."""
    widths = (32, 64, 64, 16)
    layers = ["layers/0/w", "layers/1/w", "layers/2/w"]
    params = replace(
        mlp_params(jax.random.key(11), widths),
        "layers/2/b",
        6.0 * jnp.arange(16.0) / 16,
    )  # Variance 3.
    x = inputs.normal(jax.random.key(12), (128, 32))
    result = lsuv(mlp, params, x, layers, key=KEY, tol=TOL, max_iters=1)
    np.testing.assert_array_equal(result.iterations, [1, 1, 1])
    assert float(result.variances[2]) > 2.0
    np.testing.assert_allclose(
        result.variances, variances(mlp, result.params, x), rtol=1e-5
    )


def test_zero_variance_leaves_the_weight_alone():
    params = {"w": jnp.zeros((8, 4))}
    x = jnp.ones((16, 8))
    result = lsuv(lambda p, x: [x @ p["w"]], params, x, ["w"])
    assert int(result.iterations[0]) == 0
    assert float(result.variances[0]) == 0.0
    np.testing.assert_array_equal(result.params["w"], params["w"])


def _tiny(dtype):
    params = {"w0": jnp.ones((16, 32), dtype), "w1": jnp.ones((32, 8), dtype)}
    x = inputs.normal(jax.random.key(10), (128, 16)).astype(dtype)

    def apply_fn(params, x):
        h = x @ params["w0"]
        return [h, jnp.tanh(h) @ params["w1"]]

    result = lsuv(apply_fn, params, x, ["w0", "w1"], key=KEY)
    for w in jax.tree.leaves(result.params):
        assert w.dtype == dtype
    assert np.all(np.abs(variances(apply_fn, result.params, x) - 1) < 0.1)
    return result


def test_bfloat16_weights_stay_bfloat16():
    assert _tiny(jnp.bfloat16).variances.dtype == jnp.float32


def test_flax_linen_with_capture_intermediates():
    nn = pytest.importorskip("flax.linen")

    class Mlp(nn.Module):
        @nn.compact
        def __call__(self, x):
            for width in (64, 64):
                x = jnp.tanh(nn.Dense(width)(x))
            return nn.Dense(10)(x)

    model = Mlp()
    x = 3.0 * inputs.normal(jax.random.key(8), (128, 32))
    variables = jax.jit(model.init)(jax.random.key(9), x)
    names = ["Dense_0", "Dense_1", "Dense_2"]
    layers = [f"params/{name}/kernel" for name in names]

    def apply_fn(variables, x):
        _, state = model.apply(
            variables,
            x,
            mutable=["intermediates"],
            capture_intermediates=lambda mdl, _: isinstance(mdl, nn.Dense),
        )
        captured = state["intermediates"]
        return {
            f"params/{name}/kernel": captured[name]["__call__"][0]
            for name in names
        }

    def measured(variables):
        outputs = jax.jit(apply_fn)(variables, x)
        return np.array(
            [np.var(np.asarray(outputs[p], np.float64)) for p in layers]
        )

    assert np.all(np.abs(measured(variables) - 1.0) > TOL)
    result = jax.jit(lambda v: lsuv(apply_fn, v, x, layers, key=KEY, tol=TOL))(
        variables
    )
    assert np.all(np.abs(measured(result.params) - 1.0) < TOL)
    assert jax.tree.structure(result.params) == jax.tree.structure(variables)


def _apply_one(params, x):
    return [x @ params["w"]]


def _params():
    return {
        "w": jnp.ones((4, 3)),
        "b": jnp.zeros((3,)),
        "n": jnp.ones((4, 3), jnp.int32),
    }


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(layers=[]),
            ValueError,
            r"`layers` must name at least one weight",
        ),
        (
            dict(layers="w"),
            TypeError,
            r"`layers` must be a sequence .* str 'w'",
        ),
        (dict(layers=[0]), TypeError, r"`layers` entries must be path strings"),
        (dict(layers=["w", "w"]), ValueError, r"each weight once; got 'w'"),
        (
            dict(layers=["v"]),
            ValueError,
            r"`layers` entry 'v' is not a path of `params`; the paths are: "
            r"'b', 'n', 'w'",
        ),
        (
            dict(layers=["n"]),
            TypeError,
            r"`layers` entry 'n' must name a floating-point array .* got int32",
        ),
        (
            dict(layers=["b"], key=KEY),
            ValueError,
            r"`layers` entry 'b' has shape \(3,\); the orthonormal",
        ),
        (
            dict(
                apply_fn=lambda p, x: [x @ p["w"], x @ p["w"]],
                find_layers=False,
            ),
            ValueError,
            r"`apply_fn` must return one output per entry of `layers` \(1\); "
            r"got a list of 2",
        ),
        (
            dict(apply_fn=lambda p, x: {"v": x @ p["w"]}, find_layers=False),
            ValueError,
            r"Mapping lacks the keys 'w' \(it has 'v'\)",
        ),
        (
            dict(apply_fn=lambda p, x: x @ p["w"], find_layers=False),
            TypeError,
            r"`apply_fn` must return a sequence .* got a single array of "
            r"shape \(2, 3\)",
        ),
        (
            dict(apply_fn=lambda p, x: [jnp.ones((2,), jnp.int32)]),
            TypeError,
            r"`apply_fn` must return floating-point arrays; .* 'w' is int32",
        ),
        (
            dict(apply_fn="mlp"),
            TypeError,
            r"`apply_fn` must be a function .* got str 'mlp'",
        ),
        (dict(tol=0.0), ValueError, r"`tol` must be > 0; got 0.0"),
        (dict(tol=-1), ValueError, r"`tol` must be > 0; got -1"),
        (dict(target=0.0), ValueError, r"`target` must be > 0; got 0.0"),
        (
            dict(max_iters=0),
            ValueError,
            r"`max_iters` must be an int >= 1 "
            r"and < 2\*\*63; got 0",
        ),
        (
            dict(max_iters=2.5),
            TypeError,
            r"`max_iters` must be an int >= 1; "
            r"got float 2.5",
        ),
        (dict(key=3), TypeError, r"`key` must be a PRNG key"),
    ],
)
def test_errors(kwargs, error, match):
    arguments = dict(
        apply_fn=_apply_one,
        params=_params(),
        batch=jnp.ones((2, 4)),
        layers=["w"],
    )
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        lsuv(
            arguments.pop("apply_fn"),
            arguments.pop("params"),
            arguments.pop("batch"),
            arguments.pop("layers"),
            **arguments,
        )


def test_errors_are_raised_under_jit_too():
    with pytest.raises(ValueError, match=r"not a path of `params`"):
        jax.jit(lambda p: lsuv(_apply_one, p, jnp.ones((2, 4)), ["v"]))(
            _params()
        )

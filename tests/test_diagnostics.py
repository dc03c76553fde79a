"""jinit.diagnose and jinit.coord_check: exact statistics, the same layers in
every framework, He told from Glorot, muP told from the standard
parametrization, and every bad input named before anything runs."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

optax = pytest.importorskip("optax")

KEY = jax.random.key(0)
TRANSFORMS = {"eager": lambda f: f, "jit": jax.jit}


def _mlp(params, x):
    """A plain MLP: ReLU between the layers, a bias on each."""
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"][None])
    return x @ params[-1]["w"] + params[-1]["b"][None]


def _mlp_params(init, sizes, key=KEY):
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": init(k, (n, m)), "b": jnp.full((m,), 0.1)}
        for k, n, m in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def _by_hand(params, x, loss):
    """The statistics of every layer, computed directly: zero probes on the
    pre-bias outputs, differentiated with the parameters."""

    def forward(params, probes):
        outs, h = [], x
        for i, layer in enumerate(params):
            y = h @ layer["w"]
            outs.append(y)
            h = y + probes[i] + layer["b"][None]
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return loss(h), outs

    probes = [jnp.zeros((x.shape[0], layer["w"].shape[1])) for layer in params]
    (param_grads, grads), outs = jax.grad(
        forward, argnums=(0, 1), has_aux=True
    )(params, probes)
    rms = lambda v: jnp.sqrt(jnp.mean(jnp.square(v)))  # noqa: E731
    return {
        "forward_mean": [jnp.mean(y) for y in outs],
        "forward_std": [jnp.std(y) for y in outs],
        "forward_rms": [rms(y) for y in outs],
        "backward_rms": [rms(g) for g in grads],
        "weight_rms": [rms(layer["w"]) for layer in params],
        "weight_grad_rms": [rms(layer["w"]) for layer in param_grads],
    }


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_statistics_are_those_computed_by_hand(transform):
    params = _mlp_params(jinit.he_normal(), [24, 48, 32, 10])
    x = jax.random.normal(jax.random.key(1), (64, 24))
    target = jax.random.normal(jax.random.key(2), (64, 10))
    loss = lambda out: jnp.mean((out - target) ** 2)  # noqa: E731
    report = TRANSFORMS[transform](
        lambda p, x: jinit.diagnose(_mlp, p, x, loss=loss)
    )(params, x)
    assert isinstance(report, jinit.Diagnosis)
    assert report.names == ("0/w", "1/w", "2/w")
    assert report.output_shapes == ((64, 48), (64, 32), (64, 10))
    expected = _by_hand(params, x, loss)
    for field, values in expected.items():
        np.testing.assert_allclose(
            getattr(report, field), values, rtol=2e-6, err_msg=field
        )
    layer = report.layers[1]
    assert (layer.index, layer.path, layer.primitive) == (
        1,
        "1/w",
        "dot_general",
    )
    np.testing.assert_allclose(
        layer.forward_std, expected["forward_std"][1], rtol=2e-6
    )


def test_random_cotangent_is_the_documented_one():
    """Without a loss, the gradients are those of <c, fn(...)> with c drawn
    from the first half of split(key), one key per output leaf."""
    params = _mlp_params(jinit.glorot_uniform(), [16, 32, 8])
    x = jax.random.normal(jax.random.key(1), (32, 16))
    key = jax.random.key(7)
    two = lambda p, x: (_mlp(p, x), 2.0 * _mlp(p, x))  # noqa: E731
    report = jinit.diagnose(two, params, x, key=key)
    assert report.backward == "random cotangent"
    k0, k1 = jax.random.split(jax.random.split(key)[0], 2)
    c0 = jax.random.normal(k0, (32, 8))
    c1 = jax.random.normal(k1, (32, 8))
    explicit = jinit.diagnose(
        two,
        params,
        x,
        loss=lambda out: jnp.sum(out[0] * c0) + jnp.sum(out[1] * c1),
    )
    assert explicit.backward == "loss"
    np.testing.assert_allclose(
        report.backward_rms, explicit.backward_rms, rtol=1e-6
    )
    np.testing.assert_allclose(
        report.weight_grad_rms, explicit.weight_grad_rms, rtol=1e-6
    )


def _deep_relu(init, depth=16, width=256):
    keys = jax.random.split(KEY, depth)
    params = [init(k, (width, width)) for k in keys]
    x = jax.random.normal(jax.random.key(1), (256, width))

    def fn(params, x):
        for w in params[:-1]:
            x = jax.nn.relu(x @ w)
        return x @ params[-1]

    return fn, params, x


def test_he_and_glorot_told_apart_on_a_deep_relu_network():
    fn, he, x = _deep_relu(jinit.he_normal())
    he_report = jinit.diagnose(fn, he, x)
    _, glorot, _ = _deep_relu(jinit.glorot_normal())
    glorot_report = jinit.diagnose(fn, glorot, x)
    # He keeps the forward signal (ReLU halves the variance, fan_in doubles
    # it back); Glorot's 1/fan_avg halves it at every layer: x0.707 per
    # layer, (1/sqrt 2)^14 = 0.0078 from the second layer to the last.
    he_total = he_report.forward_rms[-1] / he_report.forward_rms[1]
    glorot_total = glorot_report.forward_rms[-1] / glorot_report.forward_rms[1]
    assert 0.7 < he_total < 1.4
    assert 0.004 < glorot_total < 0.016
    np.testing.assert_allclose(
        np.nanmedian(glorot_report.ratios("forward_rms")), 2**-0.5, rtol=0.05
    )
    assert he_report.flags == ()
    assert any(
        flag.startswith("the forward RMS shrinks")
        for flag in glorot_report.flags
    )
    assert any(
        flag.startswith("the backward RMS shrinks")
        for flag in glorot_report.flags
    )
    assert "Flag: the forward RMS shrinks" in str(glorot_report)


def test_a_layer_that_blows_up_is_flagged():
    params = [jinit.he_normal()(k, (64, 64)) for k in jax.random.split(KEY, 4)]
    params[2] = params[2] * 10.0
    fn, _, _ = _deep_relu(jinit.he_normal(), depth=4, width=64)
    x = jax.random.normal(jax.random.key(1), (128, 64))
    report = jinit.diagnose(fn, params, x, flag_factor=3.0)
    # Layer 2's output is 10 times layer 1's, and the gradient at it a
    # tenth of the gradient at layer 1's: both ratios to the previous row.
    assert report.flags[:2] == ("2: forward ×9.945", "2: backward ×0.09969")
    row = str(report).splitlines()[2 + 2]
    assert row.split()[:2] == ["2", "2"]
    assert row.endswith("forward ×9.945, backward ×0.09969")


def test_table_is_aligned_and_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    params = _mlp_params(jinit.he_normal(), [8, 16, 16, 4])
    report = jinit.diagnose(_mlp, params, jnp.ones((4, 8)), jacobian=True)
    lines = str(report).splitlines()
    header = lines[1]
    assert header.split()[:4] == ["#", "path", "output", "fwd"]
    column = header.index("fwd rms") + len("fwd rms")
    for row in lines[2:5]:  # numbers right-aligned under their header
        assert row[column - 1] != " "
        assert row[column] == " "
    assert lines[-1].startswith(
        "Input-output Jacobian: mean squared singular value"
    )
    file = tmp_path / "report.png"
    report.plot(file)
    assert file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _framework_models():
    """(name, fn, params, args, expected paths) in each framework's own
    calling convention, each a 2-layer MLP on (4, 8)."""
    x = jnp.ones((4, 8))
    models = []
    linen = pytest.importorskip("flax.linen")
    nnx = pytest.importorskip("flax.nnx")

    class Linen(linen.Module):
        @linen.compact
        def __call__(self, x):
            x = linen.relu(linen.Dense(16)(x))
            return linen.Dense(3)(x)

    variables = Linen().init(KEY, x)
    models.append(
        (
            "linen",
            Linen().apply,
            variables,
            (x,),
            ["params/Dense_0/kernel", "params/Dense_1/kernel"],
        )
    )

    class Nnx(nnx.Module):
        def __init__(self, rngs):
            self.layers = nnx.List(
                [nnx.Linear(8, 16, rngs=rngs), nnx.Linear(16, 3, rngs=rngs)]
            )

        def __call__(self, x):
            return self.layers[1](nnx.relu(self.layers[0](x)))

    model = Nnx(nnx.Rngs(0))
    graphdef, state = nnx.split(model)
    models.append(
        (
            "nnx",
            lambda state, x: nnx.merge(graphdef, state)(x),
            state,
            (x,),
            ["layers/0/kernel", "layers/1/kernel"],
        )
    )
    models.append(
        (
            "nnx-module",
            lambda model, x: model(x),
            model,
            (x,),
            ["layers/0/kernel", "layers/1/kernel"],
        )
    )
    hk = pytest.importorskip("haiku")
    transformed = hk.transform(lambda x: hk.nets.MLP([16, 3])(x))
    models.append(
        (
            "haiku",
            transformed.apply,
            transformed.init(KEY, x),
            (None, x),
            ["mlp/~/linear_0/w", "mlp/~/linear_1/w"],
        )
    )
    eqx = pytest.importorskip("equinox")
    mlp = eqx.nn.MLP(8, 3, 16, 1, key=KEY)
    models.append(
        (
            "equinox",
            lambda model, x: jax.vmap(model)(x),
            mlp,
            (x,),
            ["layers/0/weight", "layers/1/weight"],
        )
    )
    return models


@pytest.mark.parametrize("case", range(5))
def test_the_same_layers_are_found_in_every_framework(case):
    name, fn, params, args, paths = _framework_models()[case]
    report = jinit.diagnose(fn, params, *args)
    assert list(report.names) == paths, name
    # (Equinox's vmapped weight @ x puts the batch last: (3, 4).)
    assert sorted(report.output_shapes[-1]) == [3, 4]
    assert np.all(np.isfinite(report.backward_rms))
    assert np.all(np.asarray(report.weight_rms) > 0)


def test_keras_stateless_call_is_diagnosed(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras is not on the JAX backend")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3),
        ]
    )

    def fn(trainable, x):
        out, _ = model.stateless_call(trainable, [], x)
        return out

    trainable = [v.value for v in model.trainable_variables]
    with jax.numpy_rank_promotion("allow"):  # Keras adds its bias so
        report = jinit.diagnose(fn, trainable, jnp.ones((4, 8)))
    assert report.names == ("0", "2")


def test_scan_gives_one_record_per_iteration_named_with_its_index():
    blocks = jinit.orthogonal()(KEY, (5, 16, 16))
    readout = jinit.lecun_normal()(jax.random.key(1), (16, 4))
    x = jax.random.normal(jax.random.key(2), (8, 16))

    def scanned(params, x):
        def block(h, w):
            return jnp.tanh(h @ w), None

        h, _ = jax.lax.scan(block, x, params["blocks"])
        return h @ params["readout"]

    def unrolled(params, x):
        h = x
        for i in range(5):
            h = jnp.tanh(
                jax.checkpoint(lambda h, w: h @ w)(h, params["blocks"][i])
            )
        return jax.jit(lambda h, w: h @ w)(h, params["readout"])

    params = {
        "blocks": blocks * jnp.arange(1.0, 6.0)[:, None, None],
        "readout": readout,
    }
    report = jinit.diagnose(scanned, params, x)
    assert report.names == (*(f"blocks[{i}]" for i in range(5)), "readout")
    plain = jinit.diagnose(unrolled, params, x)
    assert plain.names == ("blocks",) * 5 + ("readout",)
    for field in ("forward_mean", "forward_rms", "backward_rms"):
        np.testing.assert_allclose(
            getattr(report, field),
            getattr(plain, field),
            rtol=1e-5,
            err_msg=field,
        )
    # Each iteration's slice of the stacked parameter, and of its gradient.
    grads = jax.grad(
        lambda p: jnp.sum(
            scanned(p, x)
            * jax.random.normal(
                jax.random.split(jax.random.split(KEY)[0], 1)[0], (8, 4)
            )
        )
    )(params)
    rms = lambda v: jnp.sqrt(jnp.mean(jnp.square(v), axis=(-2, -1)))  # noqa
    np.testing.assert_allclose(
        report.weight_rms[:5], rms(params["blocks"]), rtol=1e-6
    )
    np.testing.assert_allclose(
        report.weight_grad_rms[:5], rms(grads["blocks"]), rtol=1e-5
    )
    # Unrolled, the whole stacked parameter at every use.
    np.testing.assert_allclose(
        plain.weight_rms[:5],
        [jnp.sqrt(jnp.mean(params["blocks"] ** 2))] * 5,
        rtol=1e-6,
    )


def test_reverse_scan_records_in_execution_order():
    blocks = jnp.stack([jnp.eye(4) * scale for scale in (1.0, 2.0, 4.0)])

    def fn(w, x):
        h, _ = jax.lax.scan(lambda h, w: (h @ w, None), x, w, reverse=True)
        return h

    report = jinit.diagnose(fn, blocks, jnp.ones((2, 4)))
    assert report.names == ("[2]", "[1]", "[0]")
    np.testing.assert_allclose(
        report.weight_rms, [4 / 2, 2 / 2, 1 / 2], rtol=1e-5
    )


def test_operations_not_followed_are_named_in_a_warning():
    w = jnp.eye(4)

    @jax.custom_vjp
    def linear(x, w):
        return x @ w

    linear.defvjp(
        lambda x, w: (x @ w, (x, w)),
        lambda res, g: (g @ res[1].T, res[0].T @ g),
    )

    def fn(params, x):
        h = linear(x, params["hidden"])
        h = jax.lax.fori_loop(
            0, jnp.int32(x[0, 0] > 0) + 2, lambda i, h: h @ params["loop"], h
        )
        return h @ params["out"]

    params = {"hidden": w, "loop": w, "out": w}
    with pytest.warns(UserWarning) as caught:
        report = jinit.diagnose(fn, params, jnp.ones((2, 4)))
    messages = [str(warning.message) for warning in caught]
    assert any("'hidden'" in m and "'custom_vjp_call" in m for m in messages), (
        messages
    )
    assert any("'loop'" in m and "'while'" in m for m in messages), messages
    assert report.names == ("out",)


def test_jacobian_spectrum_of_orthogonal_and_gaussian_deep_linear_nets():
    width, depth = 64, 8
    x = jax.random.normal(jax.random.key(1), (16, width))

    def fn(params, x):
        for w in params:
            x = x @ w
        return x

    keys = jax.random.split(KEY, depth)
    orthogonal = [jinit.orthogonal()(k, (width, width)) for k in keys]
    gaussian = [jinit.lecun_normal()(k, (width, width)) for k in keys]
    iso = jinit.diagnose(fn, orthogonal, x, jacobian=True).jacobian
    assert iso is not None
    np.testing.assert_allclose(iso.mean_squared_singular_value, 1.0, atol=1e-4)
    assert abs(float(iso.variance)) < 1e-3
    # A product of 8 Gaussian matrices: E[σ²] = 1 (up to the estimate and
    # truncation), the variance of σ² about `depth` (Pennington et al.).
    spread = jinit.diagnose(
        fn, gaussian, x, jacobian=True, jacobian_probes=16
    ).jacobian
    assert spread is not None
    assert 0.5 < float(spread.mean_squared_singular_value) < 1.5
    assert float(spread.variance) > 3.0


def test_diagnosis_is_a_pytree_returned_from_jit():
    params = _mlp_params(jinit.he_normal(), [8, 16, 4])
    report = jax.jit(lambda p, x: jinit.diagnose(_mlp, p, x, jacobian=True))(
        params, jnp.ones((4, 8))
    )
    leaves = jax.tree.leaves(report)
    assert len(leaves) == 8  # six statistics and the Jacobian's two
    assert report.names == ("0/w", "1/w")


@pytest.mark.parametrize(
    "kwargs, args, error, match",
    [
        (
            dict(fn=lambda p, x: x @ p["w"] if x.sum() > 0 else x),
            None,
            TypeError,
            r"`fn` must trace with jax.make_jaxpr: .* raised "
            r"TracerBoolConversionError",
        ),
        (
            dict(fn=lambda p, x: x * p["b"][None]),
            None,
            ValueError,
            r"`fn` has no weight operation: .* \(the array paths of `params`: "
            r"'b', 'w'\)",
        ),
        (
            dict(fn="mlp"),
            None,
            TypeError,
            r"`fn` must be a function fn\(params, \*args\).* got str 'mlp'",
        ),
        (
            dict(params={"w": [1.0, 2.0]}),
            None,
            TypeError,
            r"`params` must be a pytree of arrays .* got dict whose leaves are "
            r"float",
        ),
        (
            dict(loss=lambda out: out),
            None,
            ValueError,
            r"`loss` must return a floating-point scalar, such as .* it returns "
            r"float32\[2, 3\]",
        ),
        (dict(loss=3.0), None, TypeError, r"`loss` must be a function"),
        (dict(key=3), None, TypeError, r"`key` must be a PRNG key"),
        (
            dict(jacobian=1),
            None,
            TypeError,
            r"`jacobian` must be True or False; got int 1",
        ),
        (
            dict(jacobian_probes=0),
            None,
            ValueError,
            r"`jacobian_probes` must be "
            r"an int >= 1",
        ),
        (
            dict(flag_factor=1.0),
            None,
            ValueError,
            r"`flag_factor` must be > 1 .* got 1.0",
        ),
        (
            dict(jacobian=True, fn=lambda p, x: x.astype(jnp.float32) @ p["w"]),
            (jnp.ones((2, 4), jnp.int32),),
            ValueError,
            r"`jacobian=True` needs a floating-point array in `args`.* "
            r"\['int32'\]",
        ),
        (
            dict(fn=lambda p, x: jnp.argmax(x @ p["w"])),
            None,
            ValueError,
            r"`fn` must return at least one floating-point array",
        ),
    ],
)
def test_bad_input_is_named(kwargs, args, error, match):
    arguments = dict(
        fn=lambda p, x: x @ p["w"],
        params={"w": jnp.ones((4, 3)), "b": jnp.ones((4,))},
    )
    arguments.update(kwargs)
    fn, params = arguments.pop("fn"), arguments.pop("params")
    with pytest.raises(error, match=match):
        jinit.diagnose(fn, params, *(args or (jnp.ones((2, 4)),)), **arguments)


# The coordinate check of the 3-layer ReLU MLP of the issue: input 32,
# output 10, widths 64..1024, Adam at 0.01, 3 steps, cross-entropy.
WIDTHS = [64, 128, 256, 512, 1024]
BASE = 64


def _shapes(width):
    return {
        "0_in": jax.ShapeDtypeStruct((32, width), jnp.float32),
        "1_hidden": jax.ShapeDtypeStruct((width, width), jnp.float32),
        "2_out": jax.ShapeDtypeStruct((width, 10), jnp.float32),
    }


def _specs(width):
    return jinit.assign(_shapes(width), [(".*", jinit.lecun_normal())])


def _three_layers(params, x):
    h = jax.nn.relu(x @ params["0_in"])
    h = jax.nn.relu(h @ params["1_hidden"])
    return h @ params["2_out"]


def _cross_entropy(out, labels):
    return jnp.mean(
        optax.softmax_cross_entropy_with_integer_labels(out, labels)
    )


BATCH = (
    jax.random.normal(jax.random.key(1), (64, 32)),
    jax.random.randint(jax.random.key(2), (64,), 0, 10),
)


def _mup_adam(width):
    factors = jinit.mup_learning_rates(_shapes(width), _shapes(BASE))
    return optax.chain(
        optax.adam(0.01),
        optax.GradientTransformation(
            lambda params: optax.EmptyState(),
            lambda updates, state, params=None: (
                jax.tree.map(lambda u, f: u * f, updates, factors),
                state,
            ),
        ),
    )


@pytest.fixture
def standard_promotion():
    """optax's Adam mixes int32 and float: it needs standard promotion."""
    with jax.numpy_dtype_promotion("standard"):
        yield


@pytest.mark.usefixtures("standard_promotion")
def test_coord_check_separates_standard_parametrization_from_mup():
    standard = jinit.coord_check(
        lambda width: (_three_layers, jinit.materialize(KEY, _specs(width))),
        WIDTHS,
        BATCH,
        loss=_cross_entropy,
        optimizer=optax.adam(0.01),
        progress=False,
    )
    mup = jinit.coord_check(
        lambda width: (
            _three_layers,
            jinit.materialize(KEY, jinit.mup(_specs(width), _specs(BASE))),
        ),
        WIDTHS,
        BATCH,
        loss=_cross_entropy,
        optimizer=_mup_adam,
        progress=False,
    )
    assert standard.names == mup.names == ("0_in", "1_hidden", "2_out")
    sp, mu = standard.exponents, mup.exponents
    # At initialization both are flat but muP's readout, std 1/width:
    # width^(-1/2).
    for name in ("0_in", "1_hidden"):
        assert abs(sp[name][0]) < 0.05 and abs(mu[name][0]) < 0.05
    assert -0.6 < mu["2_out"][0] < -0.4
    # Standard parametrization: the hidden layer grows as width^0.4-0.7
    # once trained, the readout as width^1.1-1.3.
    assert np.all((sp["1_hidden"][1:] > 0.35) & (sp["1_hidden"][1:] < 0.8))
    assert np.all(sp["2_out"][1:] > 1.0)
    # muP: the hidden layers flat within 0.02; the readout converging from
    # width^(-1/2) to flat.
    assert np.all(np.abs(mu["0_in"]) < 0.02)
    assert np.all(np.abs(mu["1_hidden"]) < 0.02)
    assert np.all(np.diff(mu["2_out"]) > 0) and abs(mu["2_out"][-1]) < 0.1
    assert standard.verdicts == {
        "0_in": "flat",
        "1_hidden": "growing",
        "2_out": "growing",
    }
    assert set(mup.verdicts.values()) == {"flat"}
    assert mup.mean_abs.shape == (5, 4, 3)
    assert np.all(np.isfinite(standard.losses))
    table = str(mup).splitlines()
    assert table[1].split() == [
        "#",
        "path",
        "t=0",
        "t=1",
        "t=2",
        "t=3",
        "verdict",
    ]
    assert table[4].split()[1] == "2_out"


def _tiny_make(width):
    w = jnp.ones((4, width)) / 2
    return (lambda p, x: x @ p["w"] @ p["v"]), {
        "w": w,
        "v": jnp.ones((width, 2)),
    }


class _Counting:
    """An optax-like transformation counting its updates."""

    def __init__(self):
        self.updates = 0

    def init(self, params):
        return ()

    def update(self, updates, state, params=None):
        self.updates += 1
        return jax.tree.map(lambda u: -0.01 * u, updates), state


def test_coord_check_progress_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    batch = (jnp.ones((3, 4)), jnp.zeros((3, 2)))
    mse = lambda out, y: jnp.mean((out - y) ** 2)  # noqa: E731
    check = jinit.coord_check(
        _tiny_make,
        [2, 4],
        batch,
        loss=mse,
        optimizer=_Counting(),
        steps=2,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "coord_check [" in err and "6/6" in err and err.endswith("\n")
    jinit.coord_check(
        _tiny_make, [2, 4], batch, loss=mse, optimizer=_Counting(), steps=1
    )  # stderr: no terminal
    assert capsys.readouterr().err == ""
    # x @ w has mean |.| = 2 at every width; (x @ w) @ v grows as width.
    np.testing.assert_allclose(check.exponents["w"][0], 0.0, atol=1e-6)
    np.testing.assert_allclose(check.exponents["v"][0], 1.0, atol=1e-6)
    file = tmp_path / "coord.png"
    check.plot(file)
    assert file.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(widths=[64, 64]),
            ValueError,
            r"`widths` must be at least 2 increasing positive ints .* got \[64, 64\]",
        ),
        (dict(widths=[8]), ValueError, r"`widths` must be at least 2"),
        (dict(widths=[0, 8]), ValueError, r"got \[0, 8\]"),
        (dict(widths=[2.0, 4.0]), ValueError, r"got \[2.0, 4.0\]"),
        (
            dict(widths=8),
            TypeError,
            r"`widths` must be a sequence .* got int 8",
        ),
        (
            dict(optimizer="adam"),
            TypeError,
            r"`optimizer` must be an optax GradientTransformation .* got str",
        ),
        (
            dict(optimizer=lambda width: "adam"),
            TypeError,
            r"`optimizer\(2\)` must return an optax GradientTransformation",
        ),
        (
            dict(loss=lambda out, y: out),
            ValueError,
            r"`loss` must return a floating-point scalar, such as .* it returns "
            r"float32\[3, 2\]",
        ),
        (dict(loss="mse"), TypeError, r"`loss` must be a function"),
        (
            dict(batch=jnp.ones((3, 4))),
            TypeError,
            r"`batch` must be a pair \(x, y\) .* got ArrayImpl",
        ),
        (
            dict(make=lambda width: {"w": jnp.ones((4, width))}),
            TypeError,
            r"`make\(2\)` must return a pair \(fn, params\)",
        ),
        (
            dict(
                make=lambda width: (
                    lambda p, x: x + 1.0,
                    {"w": jnp.ones((4, width))},
                )
            ),
            ValueError,
            r"the model of `make\(2\)` has no weight operation",
        ),
        (dict(steps=0), ValueError, r"`steps` must be an int >= 1"),
        (
            dict(progress="yes"),
            TypeError,
            r"`progress` must be True, False or "
            r"None; got str 'yes'",
        ),
        (dict(key=1), TypeError, r"`key` must be a PRNG key"),
    ],
)
def test_coord_check_bad_input_is_named_before_training(kwargs, error, match):
    optimizer = _Counting()
    arguments = dict(
        make=_tiny_make,
        widths=[2, 4],
        batch=(jnp.ones((3, 4)), jnp.zeros((3, 2))),
        loss=lambda out, y: jnp.mean((out - y) ** 2),
        optimizer=optimizer,
    )
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        jinit.coord_check(
            arguments.pop("make"),
            arguments.pop("widths"),
            arguments.pop("batch"),
            **arguments,
        )
    assert optimizer.updates == 0


def test_coord_check_refuses_layers_that_change_with_width():
    def make(width):
        params = {f"w{i}": jnp.ones((4, 4)) for i in range(width // 2)}
        return (lambda p, x: sum(x @ w for w in p.values())), params

    with pytest.raises(
        ValueError,
        match=r"`make` must give the same weight "
        r"operations at every width; "
        r"make\(2\) has \['w0'\] and "
        r"make\(4\) has \['w0', 'w1'\]",
    ):
        jinit.coord_check(
            make,
            [2, 4],
            (jnp.ones((3, 4)), None),
            loss=lambda out, y: jnp.mean(out),
            optimizer=_Counting(),
        )


def test_coord_check_passes_the_key_to_make():
    seen = []

    def make(width, key):
        seen.append((width, jax.random.key_data(key).tolist()))
        return _tiny_make(width)

    jinit.coord_check(
        make,
        [2, 4],
        (jnp.ones((3, 4)), jnp.zeros((3, 2))),
        loss=lambda out, y: jnp.mean((out - y) ** 2),
        optimizer=_Counting(),
        steps=1,
        key=jax.random.key(3),
    )
    data = jax.random.key_data(jax.random.key(3)).tolist()
    assert seen == [(2, data), (4, data)]


def test_lsuv_runs_on_an_unmodified_flax_model():
    linen = pytest.importorskip("flax.linen")

    class Model(linen.Module):
        @linen.compact
        def __call__(self, x):
            x = linen.tanh(linen.Dense(64)(x))
            x = linen.tanh(linen.Dense(32)(x))
            return linen.Dense(10)(x)

    x = jax.random.normal(jax.random.key(1), (256, 20))
    variables = Model().init(KEY, x)
    layers = [
        "params/Dense_0/kernel",
        "params/Dense_1/kernel",
        "params/Dense_2/kernel",
    ]
    result = jinit.lsuv(
        Model().apply, variables, x, layers, key=jax.random.key(2)
    )
    assert np.all(np.abs(np.asarray(result.variances) - 1.0) < 0.1)
    # Each variance is that of the Dense layer's x @ kernel, by hand.
    p = result.params["params"]
    h0 = x @ p["Dense_0"]["kernel"]
    h1 = jnp.tanh(h0 + p["Dense_0"]["bias"][None]) @ p["Dense_1"]["kernel"]
    h2 = jnp.tanh(h1 + p["Dense_1"]["bias"][None]) @ p["Dense_2"]["kernel"]
    np.testing.assert_allclose(
        result.variances, [jnp.var(h0), jnp.var(h1), jnp.var(h2)], rtol=1e-5
    )
    # Under jit too, with the same values.
    jitted = jax.jit(
        lambda v, x: jinit.lsuv(
            Model().apply, v, x, layers, key=jax.random.key(2)
        )
    )(variables, x)
    np.testing.assert_allclose(jitted.variances, result.variances, rtol=1e-6)


def test_lsuv_names_a_layer_it_cannot_find():
    params = {"w": jnp.ones((4, 4)), "v": jnp.ones((4, 4))}
    x = jnp.ones((2, 4))
    with pytest.raises(
        ValueError,
        match=r"`layers` entry 'v' is the weight "
        r"of no weight operation",
    ):
        jinit.lsuv(lambda p, x: x @ p["w"], params, x, ["v"])
    with pytest.raises(
        ValueError,
        match=r"`layers` entry 'w' is the weight "
        r"of 2 weight operations",
    ):
        jinit.lsuv(lambda p, x: x @ p["w"] @ p["w"], params, x, ["w"])
    with pytest.raises(
        TypeError,
        match=r"`find_layers` must be True, False "
        r"or None; got str 'yes'",
    ):
        jinit.lsuv(lambda p, x: x @ p["w"], params, x, ["w"], find_layers="yes")


def test_python_m_jinit_check_prints_the_demonstration_and_its_figures(
    tmp_path,
):
    pytest.importorskip("matplotlib")
    result = subprocess.run(
        [sys.executable, "-m", "jinit", "check", "--plot", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "== A 20-layer ReLU MLP, width 256, under jinit.he_normal()" in out
    assert "Flag: the forward RMS shrinks" in out  # Glorot's, not He's
    assert out.count("Flag: ") == 2
    sections = out.split("== Coordinate check")
    assert len(sections) == 3
    standard, mup = sections[1], sections[2]
    assert "1_hidden" in standard and "growing" in standard
    assert "growing" not in mup and mup.count("flat") >= 3
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "coord_check_mup.png",
        "coord_check_standard.png",
        "diagnose_glorot_normal.png",
        "diagnose_he_normal.png",
    ]


def test_python_m_jinit_check_names_a_plot_folder_it_cannot_use(
    tmp_path, capsys
):
    from jinit.cli import main

    file = tmp_path / "taken"
    file.write_text("")
    assert main(["check", "--plot", str(file)]) == 2
    assert capsys.readouterr().err == (
        f"jinit: error: --plot {file}: File exists\n"
    )

"""The first mistakes of Keras and Haiku users get the fix in the message:
an initializer called without a key, as the frameworks call theirs; a
factory passed where an initializer was wanted; and the small ones: a
non-list ``rules`` for ``jinit.haiku.path_stable`` and setting an argument
of an (immutable) initializer. The frameworks call the initializers with
their own conventions: a real ``keras.layers.Dense`` build and a real
``hk.Linear`` inside ``hk.transform``."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Before any import of keras.

import pickle  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jinit  # noqa: E402

keras = pytest.importorskip("keras")
hk = pytest.importorskip("haiku")
jk = pytest.importorskip("jinit.keras")
jinit_haiku = pytest.importorskip("jinit.haiku")

KEY = jax.random.key(0)
# An initializer called with a shape first, as Keras and Haiku call theirs.
CALLED_WITHOUT_KEY = (
    r"`{name}` was called as init\(shape, dtype\), as Keras and Haiku call "
    r"their initializers; a jinit initializer takes a PRNG key first: "
    r"init\(key, shape, dtype\). In Keras, pass kernel_initializer="
    r"jinit.keras.initializer\(init\); in Haiku, "
    r"w_init=jinit.haiku.initializer\(init\)."
)
# A factory called with a shape, as the initializer it builds.
FACTORY_CALLED = (
    r"`{name}` is a factory, called here as an initializer with .*: build "
    r"the initializer first, jinit.{name}\(\), and call that as init\(key, "
    r"shape, dtype\). In Keras pass kernel_initializer=jinit.keras."
    r"initializer\(jinit.{name}\(\)\); in Haiku w_init=jinit.haiku."
    r"initializer\(jinit.{name}\(\)\); in Flax kernel_init=jinit.{name}\(\)."
)


def keras_dense(init):
    dense = keras.layers.Dense(8, kernel_initializer=init)
    dense.build((None, 16))
    return np.asarray(dense.kernel.value)


def haiku_linear(w_init):
    model = hk.transform(lambda x: hk.Linear(4, w_init=w_init)(x))
    return model.init(KEY, jnp.ones((2, 3)))["linear"]["w"]


@pytest.mark.parametrize(
    "name", ["he_normal", "random_normal", "zeros", "orthogonal"]
)
def test_keras_dense_with_an_initializer_names_the_adapter(name):
    with pytest.raises(TypeError, match=CALLED_WITHOUT_KEY.format(name=name)):
        keras_dense(getattr(jinit, name)())
    # The fix the message gives works.
    assert keras_dense(jk.initializer(getattr(jinit, name)())).shape == (16, 8)


@pytest.mark.parametrize(
    "name", ["he_normal", "glorot_uniform", "zeros", "random_normal"]
)
def test_keras_dense_with_a_factory_says_to_build_it(name):
    with pytest.raises(TypeError, match=FACTORY_CALLED.format(name=name)):
        keras_dense(getattr(jinit, name))


@pytest.mark.parametrize(
    "name", ["random_normal", "he_normal", "zeros", "truncated_normal"]
)
def test_haiku_linear_with_a_factory_says_to_build_it(name):
    with pytest.raises(TypeError, match=FACTORY_CALLED.format(name=name)):
        haiku_linear(getattr(jinit, name))
    assert haiku_linear(
        jinit_haiku.initializer(getattr(jinit, name)())
    ).shape == (3, 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda init: init((16, 8)),
        lambda init: init((16, 8), dtype="float32"),
        lambda init: init([16, 8], dtype=jnp.float32),
    ],
    ids=["init(shape)", "init(shape, dtype=)", "init(list, dtype=)"],
)
def test_a_call_without_key_names_both_adapters(call):
    with pytest.raises(
        TypeError, match=CALLED_WITHOUT_KEY.format(name="he_normal")
    ):
        call(jinit.he_normal())


def test_a_call_without_shape_says_so():
    with pytest.raises(
        TypeError,
        match=(
            r"`he_normal` takes \(key, shape, dtype=None\); got no `shape` "
            r"\(key "
        ),
    ):
        jinit.he_normal()(KEY)  # pyright: ignore[reportCallIssue]


@pytest.mark.parametrize(
    "call",
    [
        lambda: jinit.he_normal((16, 8)),
        lambda: jinit.he_normal((16, 8), dtype="float32"),
        lambda: jinit.he_normal((16, 8), jnp.float32),
    ],
    ids=["factory(shape)", "factory(shape, dtype=)", "factory(shape, dtype)"],
)
def test_a_factory_called_with_a_shape_says_to_build_it(call):
    with pytest.raises(
        TypeError, match=FACTORY_CALLED.format(name="he_normal")
    ):
        call()


def test_valid_calls_are_unchanged():
    # A tuple first argument that the factory takes is still its argument.
    assert (
        np.asarray(jinit.constant((1.0, 2.0))(None, (3, 2))).tolist()
        == [[1.0, 2.0]] * 3
    )
    assert jinit.zeros(dtype=jnp.float16)(None, (2,)).dtype == jnp.float16
    with pytest.raises(TypeError, match=r"^zeros\(\): too many positional "):
        jinit.zeros(jnp.float16)  # A dtype first is not a shape.
    init = jinit.he_normal()
    np.testing.assert_array_equal(init(KEY, (16, 8)), init(KEY, (16, 8), None))
    np.testing.assert_array_equal(
        init(KEY, shape=(16, 8)), init(KEY, (16, 8), dtype=jnp.float32)
    )
    # Other bad factory arguments keep their own message.
    with pytest.raises(ValueError, match="`mode` must be one of"):
        jinit.variance_scaling(mode="fan")


# The two small ones.


@pytest.mark.parametrize("rules", [None, "/w$", 3])
def test_path_stable_rules_must_be_a_list(rules):
    def forward(x):
        with jinit_haiku.path_stable(rules):
            return hk.Linear(2)(x)

    with pytest.raises(
        TypeError,
        match=(
            r"`rules` must be a list of rules, each a \(pattern, init\) pair "
            r"\(Haiku places its parameters itself\), such as \[\(r\"kernel"
            r"\$\", jinit.he_normal\(\)\)\]; got " + type(rules).__name__
        ),
    ):
        hk.transform(forward).init(KEY, jnp.ones((1, 3)))


@pytest.mark.parametrize("rules", [None, "kernel$"])
def test_assign_rules_must_be_a_list(rules):
    with pytest.raises(
        TypeError,
        match=(
            r"`rules` must be a list of rules, each a \(pattern, init\) or "
            r"\(pattern, init, sharding\) tuple, .*; got "
            + type(rules).__name__
        ),
    ):
        jinit.assign({"kernel": jnp.zeros((2, 2))}, rules)


def test_setting_an_argument_says_initializers_are_immutable():
    init = jinit.he_normal()
    with pytest.raises(
        AttributeError,
        match=(
            r"initializers are immutable: `seed` of he_normal\(\) cannot be "
            r"set. Build a new one with it changed: init.clone\(seed=3\)."
        ),
    ):
        init.seed = 3
    with pytest.raises(
        AttributeError,
        match=(
            r"initializers are immutable: he_normal\(\) has no attribute "
            r"'sed' to set; its arguments are seed, in_axis"
        ),
    ):
        init.sed = 3  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="initializers are immutable"):
        del init.seed
    assert init == jinit.he_normal()


def test_clone_changes_arguments():
    init = jinit.he_normal(in_axis=0)
    assert init.clone(seed=3) == jinit.he_normal(3, in_axis=0)
    assert init.clone() == init
    with pytest.raises(
        TypeError, match="got an unexpected keyword argument 'sed'"
    ):
        init.clone(sed=3)
    assert pickle.loads(pickle.dumps(init.clone(seed=3))) == init.clone(seed=3)

"""Lookup by name is exact: the factories' names, their CamelCase class names
and Keras 3's aliases, each standing for one initializer; every other name
is an error suggesting close names. Where Keras is installed, every name
``keras.initializers.get`` accepts stands for the same law in jinit, or is
an error saying jinit does not provide it."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Before any import of keras.

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jinit  # noqa: E402
from jinit._registry import FACTORIES, camel_case  # noqa: E402

# Keras 3's aliases (keras/src/initializers/__init__.py), and its names of
# initializers jinit does not have.
ALIASES = [
    ("zero", "zeros"),
    ("one", "ones"),
    ("normal", "random_normal"),
    ("uniform", "random_uniform"),
    ("IdentityInitializer", "identity"),
    ("OrthogonalInitializer", "orthogonal"),
    ("STFT", "stft"),
    ("STFTInitializer", "stft"),
]
NOT_PROVIDED = ["Initializer", "initializer"]
# Every name jinit accepts, and the factory it stands for.
NAMES = {
    **FACTORIES,
    **{camel_case(name): f for name, f in FACTORIES.items()},
    **{alias: FACTORIES[name] for alias, name in ALIASES},
    "ensemble": jinit.ensemble,
}  # Built from another: no defaults.


@pytest.mark.parametrize("alias, name", ALIASES)
def test_keras_aliases_stand_for_keras_initializers(alias, name):
    # "zero" was folded into zer_o: a silent wrong value. A Keras dict
    # draws Keras's bits (its scale rounded once from float64).
    expected = FACTORIES[name]()
    assert jinit.get(alias) == expected
    assert jinit.get({"class_name": alias, "config": {}}) == (
        expected.with_rounding("keras")
    )


def test_the_registry_has_these_names():
    from jinit import _registry

    assert _registry.KERAS_ALIASES == dict(ALIASES)
    assert sorted(_registry.NOT_PROVIDED) == NOT_PROVIDED
    assert _registry.NAMES == NAMES
    assert len(NAMES) == 2 * len(FACTORIES) + len(ALIASES) + 1
    for name in ("he_normal", "zeros", "zer_o", "delta_orthogonal"):
        assert (
            jinit.get(name) == FACTORIES[name]() == jinit.get(camel_case(name))
        )


def test_name_and_class_name_may_agree():
    assert jinit.get(
        {"name": "he_normal", "class_name": "HeNormal", "config": {"seed": 1}}
    ) == jinit.he_normal(seed=1).with_rounding("keras")


@pytest.mark.parametrize(
    "name, first",
    [
        ("henormal", "HeNormal"),
        ("HENORMAL", "HeNormal"),
        ("He_Normal", "he_normal"),
        ("glorotnormal", "GlorotNormal"),
        ("ZERO", "ZerO' or 'zero"),
        ("Zer_O", "zer_o"),
        ("randomNormal", "RandomNormal"),
        ("variancescaling", "VarianceScaling"),
        ("Orthogonal_", "orthogonal"),
    ],
)
def test_folded_spellings_are_unknown_and_suggest_the_name(name, first):
    with pytest.raises(
        ValueError,
        match=(
            rf"Unknown initializer '{name}'. Did you mean '{first}'.*"
            r"`identifier` must be one of them exactly \(case and "
            r"underscores included\)"
        ),
    ):
        jinit.get(name)


def misspellings(name):
    """Unknown names a slip away from ``name``."""
    variants = {
        name.swapcase(),
        name.upper(),
        name + "x",
        name[:-1],
        name[1:],
        name.replace("_", ""),
    }
    return sorted(
        v for v in variants if v and v not in NAMES and v not in NOT_PROVIDED
    )


MISSPELLED = [(name, wrong) for name in NAMES for wrong in misspellings(name)]


def test_every_misspelled_name_raises_and_suggests_its_initializer():
    assert len(MISSPELLED) > 250
    for name, wrong in MISSPELLED:
        with pytest.raises(ValueError, match="Unknown initializer") as error:
            jinit.get(wrong)
        suggested = str(error.value).split("Did you mean ")[1].split("?")[0]
        assert any(
            NAMES[s.strip("'")] is NAMES[name] for s in suggested.split(" or ")
        ), (wrong, suggested)


@pytest.mark.parametrize("name", NOT_PROVIDED)
def test_keras_names_jinit_does_not_provide(name):
    with pytest.raises(
        ValueError,
        match=(
            rf"`identifier` '{name}' is Keras's .*; jinit does not provide "
            r"it. Its initializers are: zeros, ones, "
        ),
    ):
        jinit.get(name)


# Where Keras is installed: every string keras.initializers.get accepts.


def keras_names():
    keras = pytest.importorskip("keras")
    from keras.src.initializers import ALL_OBJECTS_DICT

    assert keras.backend.backend() == "jax"
    return ALL_OBJECTS_DICT


def keras_values(init, shape):
    """Keras's draw, outside the suite's strict promotion (Keras's
    Orthogonal broadcasts by rank promotion)."""
    with (
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        return np.asarray(init(shape, dtype="float32"))


def jinit_values(init, keras_init, shape):
    """``init`` drawn with the key Keras drew ``keras_init``'s values with."""
    seed = getattr(keras_init, "seed", None)
    key = (
        None
        if seed is None
        else jax.random.wrap_key_data(np.array([seed, 0], np.uint32))
    )
    return np.asarray(init(key, shape, "float32"))


def test_every_keras_name_stands_for_the_same_law():
    from keras.src.utils.naming import to_snake_case

    names = keras_names()
    assert len(names) == 41
    # Every name is one of jinit's, or one it says it does not provide.
    assert set(names) == {n for n in names if n in NAMES} | set(NOT_PROVIDED)
    assert {alias for alias, _ in ALIASES} <= set(names)
    compared = 0
    for name, cls in sorted(names.items()):
        if name in NOT_PROVIDED:
            with pytest.raises(ValueError, match="jinit does not provide it"):
                jinit.get(name)
            continue
        init = jinit.get(name)
        assert init.name == to_snake_case(cls.__name__), name
        # keras.initializers.get(name) is cls(), but for "constant" and
        # "Constant" it raises KeyError (Keras 3.15's Constant.from_config
        # needs a value).
        keras_init = cls()
        if init.name == "stft":
            continue  # 3-D kernels only: compared in test_keras_exact.py.
        for shape in ((48, 40), (3, 3, 16, 32)):
            if init.name == "identity" and len(shape) > 2:
                continue  # Keras's Identity is 2-D only.
            np.testing.assert_allclose(
                jinit_values(init, keras_init, shape),
                keras_values(keras_init, shape),
                rtol=1e-5,
                atol=1e-6,
                err_msg=name,
            )
            compared += 1
    # identity, Identity, IdentityInitializer are 2-D only; the three STFT
    # names are compared elsewhere.
    assert compared == 2 * 36 - 3

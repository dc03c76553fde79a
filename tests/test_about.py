"""What a factory's ``about`` says agrees with its code and its docstring.

Each law's formula is written once, in ``About.formula`` (which the
command line, the catalogue and the docs' table print); the docstring,
which the API reference shows, must state it word for word. ``About.fixed``
names the arguments a named special case fixes (a preset's
``scale``, ``mode`` and ``distribution``): they must be the ones its body
passes to the general factory, not a second copy that can drift.
"""

import inspect

import pytest

from jinit._registry import FACTORIES

FIXING = sorted(name for name, f in FACTORIES.items() if f.about.fixed)


def test_the_presets_fix_their_arguments():
    assert {
        "glorot_normal",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
    } <= set(FIXING)


@pytest.mark.parametrize("name", FIXING)
def test_fixed_arguments_are_those_the_body_passes(name):
    factory = FACTORIES[name]
    # The undecorated function returns the general initializer it is a
    # case of, built from the arguments its body passes.
    general = inspect.unwrap(factory)(**factory.about.example)
    config = general.get_config()
    fixed = dict(factory.about.fixed)
    assert {argument: config[argument] for argument in fixed} == fixed


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_the_docstring_states_the_formula(name):
    factory = FACTORIES[name]
    assert _words(factory.about.formula) in _words(
        inspect.getdoc(factory) or ""
    )

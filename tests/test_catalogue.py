"""``python -m jinit``, the README's main job: every initializer with target
and measured moments; and what the registry, the catalogue and the README's
table read from each factory's ``about``."""

import math
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from registry import CASES

import jinit
from jinit._about import About
from jinit._registry import FACTORIES
from jinit.cli._catalogue import example, target_moments, with_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_main_prints_every_initializer_with_measured_std_near_target():
    output = subprocess.run(
        [sys.executable, "-m", "jinit"], check=True, capture_output=True,
        text=True, timeout=300, cwd=README.parent,
        env={**os.environ, "PYTHONPATH": str(README.parent)}).stdout
    rows = {line.split()[0]: line.split()[1:7] for line in
            output.splitlines()[3:]}
    assert list(rows) == list(FACTORIES)
    for name, row in rows.items():
        target_std, std, target_mean, mean, low, high = map(float, row)
        assert abs(std - target_std) <= 0.03 * target_std + 1e-9, name
        assert abs(mean - target_mean) <= 0.05 * target_std + 1e-9, name
        assert low <= mean <= high


def test_the_registry_is_every_public_factory_with_an_about():
    public = {name for name in jinit.__all__
              if getattr(getattr(jinit, name), "about", None) is not None}
    assert set(FACTORIES) == public
    assert {"zeros", "he_normal", "orthogonal", "zer_o"} <= public


def test_every_registered_initializer_has_cases_in_the_test_registry():
    # tests/registry.py drives the contract and statistics tests.
    assert {case.init.name for case in CASES} == set(FACTORIES)


@pytest.mark.parametrize("init, shape, moments", [
    (jinit.he_normal(), (256, 128), (0.0, math.sqrt(2 / 256))),
    (jinit.glorot_uniform(), (3, 3, 8, 16), (0.0, math.sqrt(2 / 216))),
    (jinit.truncated_normal(0.5, 2.0), (4,), (0.5, 2 * 0.87962566103423978)),
    (jinit.random_uniform(-3.0, 1.0), (4,), (-1.0, 4 / math.sqrt(12))),
    (jinit.fixup(16, 2), (64, 32), (0.0, math.sqrt(2 / 32) / 4)),
    (jinit.skip_init(0.25), (3,), (0.25, 0.0)),
    (jinit.constant((1.0, 3.0)), (5, 2), (2.0, 1.0)),
    (jinit.identity(2.0), (4, 2), (0.5, math.sqrt(4 * 0.25 * 0.75))),
    (jinit.orthogonal(), (3, 8, 4), (0.0, 1 / math.sqrt(24))),
])
def test_target_moments_come_from_the_law_or_the_about(init, shape, moments):
    assert target_moments(init, shape) == pytest.approx(moments, abs=1e-12)


def test_the_jax_equivalents_draw_the_same_values():
    key, checked = jax.random.key(3), []
    for name, build in FACTORIES.items():
        about = build.about
        init, shape = example(name)
        theirs = (None if about.jax is None
                  else about.jax({**about.fixed, **init.get_config()}))
        if theirs is None or isinstance(theirs, str):
            continue
        np.testing.assert_array_equal(init(key, shape, "float32"),
                                      theirs(key, shape, "float32"), name)
        checked.append(name)
    assert {"zeros", "he_normal", "orthogonal", "delta_orthogonal"} <= set(
        checked)


def test_about_refuses_an_unknown_family_and_a_multiline_formula():
    with pytest.raises(ValueError, match="`family` must be one of 'constant'"
                                         ".*; got 'random'"):
        About(family="random", formula="N(0, 1)")
    with pytest.raises(ValueError, match="`formula` must be one line"):
        About(family="distribution", formula="N(0, 1)\n")


def test_the_readme_table_of_initializers_is_up_to_date():
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, (
        "README.md's table of initializers differs from the factories' "
        "signatures and `about`; regenerate it with "
        "`python -m jinit.cli._catalogue README.md`.")

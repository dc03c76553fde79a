"""``python -m jinit``, the README's main job: every initializer with target
and measured moments; and what the registry, the catalogue and the docs'
table of initializers (docs/semantics.md) read from each factory's
``about``."""

import math
from pathlib import Path

import jax
import numpy as np
import pytest
from registry import CASES

import jinit
from jinit._about import About
from jinit._registry import FACTORIES
from jinit.cli import main
from jinit.cli._catalogue import (
    TABLE_PAGE,
    example,
    initializer_table,
    target_moments,
    with_table,
)
from jinit.cli._catalogue import main as write_table

ROOT = Path(__file__).resolve().parents[1]


def test_main_prints_every_initializer_with_measured_std_near_target(capsys):
    # In process: what `python -m jinit` prints (tests/test_cli.py runs the
    # command line end to end).
    assert main([]) == 0
    output = capsys.readouterr().out
    rows = {
        line.split()[0]: line.split()[1:7] for line in output.splitlines()[3:]
    }
    assert list(rows) == list(FACTORIES)
    for name, row in rows.items():
        target_std, std, target_mean, mean, low, high = map(float, row)
        assert abs(std - target_std) <= 0.03 * target_std + 1e-9, name
        assert abs(mean - target_mean) <= 0.05 * target_std + 1e-9, name
        assert low <= mean <= high


def test_the_registry_is_every_public_factory_with_an_about():
    public = {
        name
        for name in jinit.__all__
        if getattr(getattr(jinit, name), "about", None) is not None
    }
    assert set(FACTORIES) == public
    assert {"zeros", "he_normal", "orthogonal", "zer_o"} <= public


def test_every_registered_initializer_has_cases_in_the_test_registry():
    # tests/registry.py drives the contract and statistics tests.
    assert {case.init.name for case in CASES} == set(FACTORIES)


@pytest.mark.parametrize(
    "init, shape, moments",
    [
        (jinit.he_normal(), (256, 128), (0.0, math.sqrt(2 / 256))),
        (jinit.glorot_uniform(), (3, 3, 8, 16), (0.0, math.sqrt(2 / 216))),
        (
            jinit.truncated_normal(0.5, 2.0),
            (4,),
            (0.5, 2 * 0.87962566103423978),
        ),
        (jinit.random_uniform(-3.0, 1.0), (4,), (-1.0, 4 / math.sqrt(12))),
        (jinit.fixup(16, 2), (64, 32), (0.0, math.sqrt(2 / 32) / 4)),
        (jinit.skip_init(0.25), (3,), (0.25, 0.0)),
        (jinit.constant((1.0, 3.0)), (5, 2), (2.0, 1.0)),
        (jinit.identity(2.0), (4, 2), (0.5, math.sqrt(4 * 0.25 * 0.75))),
        (jinit.orthogonal(), (3, 8, 4), (0.0, 1 / math.sqrt(24))),
    ],
)
def test_target_moments_come_from_the_law_or_the_about(init, shape, moments):
    assert target_moments(init, shape) == pytest.approx(moments, abs=1e-12)


def test_the_jax_equivalents_draw_the_same_values():
    key, checked = jax.random.key(3), []
    for name, build in FACTORIES.items():
        about = build.about
        init, shape = example(name)
        theirs = (
            None
            if about.jax is None
            else about.jax({**about.fixed, **init.get_config()})
        )
        if theirs is None or isinstance(theirs, str):
            continue
        np.testing.assert_array_equal(
            init(key, shape, "float32"), theirs(key, shape, "float32"), name
        )
        checked.append(name)
    assert {"zeros", "he_normal", "orthogonal", "delta_orthogonal"} <= set(
        checked
    )


def test_about_refuses_an_unknown_family_and_a_multiline_formula():
    with pytest.raises(
        ValueError, match="`family` must be one of 'constant'.*; got 'random'"
    ):
        About(family="random", formula="N(0, 1)")
    with pytest.raises(ValueError, match="`formula` must be one line"):
        About(family="distribution", formula="N(0, 1)\n")


def test_the_docs_table_of_initializers_is_up_to_date():
    text = (ROOT / TABLE_PAGE).read_text(encoding="utf-8")
    assert with_table(text) == text, (
        f"{TABLE_PAGE}'s table of initializers differs from the factories' "
        "signatures and `about`; regenerate it with "
        f"`python -m jinit.cli._catalogue {TABLE_PAGE}`."
    )


def test_the_table_has_a_row_per_factory_read_from_its_about():
    rows = initializer_table().splitlines()[2:]
    assert len(rows) == len(FACTORIES)
    for row, (name, build) in zip(rows, FACTORIES.items(), strict=True):
        assert row.startswith(f"| `{name}("), row
        law = (build.about.details or build.about.formula).replace("|", r"\|")
        assert law in row, name


def test_writing_the_table_replaces_only_what_is_between_the_markers(
    tmp_path, capsys
):
    page = tmp_path / "page.md"
    page.write_text(
        "# Laws\n\n<!-- initializers:start -->\n| stale |\n"
        "<!-- initializers:end -->\n\nAfter.\n",
        encoding="utf-8",
    )
    assert write_table([str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text == (
        "# Laws\n\n<!-- initializers:start -->\n\n"
        f"{initializer_table()}\n\n<!-- initializers:end -->\n"
        "\nAfter.\n"
    )
    assert capsys.readouterr().out == (
        f"{page}: wrote the table of initializers\n"
    )
    assert write_table([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == text
    assert "is up to date" in capsys.readouterr().out


def test_a_page_without_the_markers_is_refused():
    with pytest.raises(
        ValueError, match="the page has no <!-- initializers:start -->"
    ):
        with_table("# Laws\n\nNo table here.\n")

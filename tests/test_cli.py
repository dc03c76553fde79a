"""The command line: output, exit statuses, and one-line errors without
tracebacks for bad input. ``jinit.cli._main.main`` runs in-process; one test
starts ``python -m jinit`` to check the entry point."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jax
import pytest

from jinit._registry import FACTORIES
from jinit.cli import _main

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys):
    """Runs ``main`` on its arguments as the console script would."""

    def run(*arguments):
        capsys.readouterr()
        try:
            returncode = _main.main(list(arguments))
        except SystemExit as exit_:  # argparse's errors.
            returncode = exit_.code
        return Result(returncode, *capsys.readouterr())

    return run


@pytest.fixture
def no_draws(monkeypatch):
    """Fails the test if the command line makes a key, as every draw and
    every timing does: a shape refused must be refused before that."""

    def key(*arguments):
        pytest.fail("made a key to draw a shape that should be refused")

    monkeypatch.setattr(jax.random, "key", key)


def assert_one_line_error(result, hint):
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


def stat(output, name):
    """The numbers on the line of ``output`` that starts with ``name``."""
    line = next(
        line for line in output.splitlines() if line.startswith(f"{name} ")
    )
    return [float(x) for x in line[len(name) :].split()]


def test_python_m_jinit_lists_every_initializer_with_its_formula():
    result = subprocess.run(
        [sys.executable, "-m", "jinit", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    rows = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    assert set(rows) == set(FACTORIES)
    assert rows["he_normal"] == "truncated normal, stddev = sqrt(2 / fan_in)"


def test_show_prints_fans_moments_and_histogram_with_expected_counts(run):
    result = run("show", "he_normal", "--shape", "256,128")
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "fan_in=256, fan_out=128" in output
    assert "cut at 0 +- 0.201" in output  # sigma = std / 0.8796, cut at 2.
    target, measured = stat(output, "std")
    assert target == pytest.approx(2**0.5 / 16, rel=1e-4)
    assert measured == pytest.approx(target, rel=0.02)
    bins = output.split("bin from")[1].splitlines()[1:]
    assert len(bins) == 24
    counts = [line.split()[-2:] for line in bins]
    assert sum(int(count) for count, _ in counts) == 256 * 128
    for count, expected in counts:  # Within 5 binomial sigmas.
        assert abs(int(count) - float(expected)) < 5 * float(expected) ** 0.5


def test_show_in_bfloat16_with_settings(run):
    result = run(
        "show",
        "VarianceScaling",
        "--dtype",
        "bfloat16",
        "--set",
        "mode=fan_out",
        "--set",
        "scale=2.0",
        "--set",
        "distribution='uniform'",
        "--seed",
        "3",
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "bfloat16, key jax.random.key(3)" in output
    assert "mode fan_out: n=128" in output
    assert "U(-0.2165, 0.2165)" in output  # sqrt(3 * 2 / 128)
    target, measured = stat(output, "std")
    assert measured == pytest.approx(target, rel=0.02)


def test_show_says_when_there_is_no_density(run):
    assert "no closed form; histogram only" in run("show", "dirac").stdout
    assert "a spike, no density" in run("show", "ones").stdout


def test_show_a_degenerate_law_is_a_spike(run):
    """Before: random_normal(stddev=0) died with a NaN in the histogram."""
    for settings in (
        ["--set", "stddev=0"],
        ["--set", "mean=2.5", "--set", "stddev=0"],
    ):
        result = run("show", "random_normal", *settings)
        assert result.returncode == 0, result.stderr
        assert "a spike, no density" in result.stdout


def test_every_initializer_shows_at_its_example_shape(run):
    for name in FACTORIES:
        result = run("show", name)
        assert result.returncode == 0, (name, result.stderr)
        assert "law: " in result.stdout


def test_compare_with_jax_in_bfloat16_shows_both_columns(run):
    result = run("compare", "he_normal", "--dtype", "bfloat16")
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert re.search(r"^\s+jinit\s+jax$", output, re.MULTILINE)
    ours, theirs = stat(output, "distinct values")
    assert ours > 4 * theirs  # jax draws in bfloat16, jinit casts.
    assert "same values: no" in output


def test_compare_with_jax_in_float32_gives_the_same_values(run):
    assert "same values: yes" in run("compare", "glorot_uniform").stdout


@pytest.mark.parametrize(
    "arguments, hint",
    [
        (["show", "he_normla"], "Did you mean 'he_normal'"),
        (["show", "he_normal", "--shape", "3,x"], "such as 256,128"),
        (["show", "he_normal", "--set", "nokey"], "key=value"),
        (
            ["show", "variance_scaling", "--set", "mode=fan_sideways"],
            "must be one of 'fan_in'",
        ),
        (
            ["show", "he_normal", "--set", "mode=fan_out"],
            "its arguments are seed",
        ),
        (["show", "he_normal", "--dtype", "float33"], "such as 'float32'"),
        (["show", "orthogonal", "--shape", "7"], "at least 2 dimensions"),
        (["compare", "random_uniform"], "use --set minval=0"),
        (["compare", "dirac"], "no jax.nn.initializers equivalent of dirac"),
        (["show", "he_normal", "--seed", "-1"], "an int in [0, 4294967296)"),
        (["show", "he_normal", "--shape", "0,5"], "(0, 5) has no entries"),
        (["compare", "he_normal", "--shape", "5,0"], "(5, 0) has no entries"),
        (
            ["compare", "orthogonal", "--dtype", "bfloat16"],
            "jax.nn.initializers cannot draw orthogonal in bfloat16 on",
        ),
        (["frobnicate"], "invalid choice"),
        # Timings are python -m benchmarks's; compare draws against jax only.
        (["bench"], "invalid choice: 'bench'"),
        (
            ["compare", "he_normal", "--with", "jax"],
            "unrecognized arguments: --with jax",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(run, arguments, hint):
    assert_one_line_error(run(*arguments), hint)


def test_shape_parts_may_have_spaces_and_empty_is_a_scalar(run):
    assert (
        "at shape (4, 3),"
        in run("show", "he_normal", "--shape", " 4, 3").stdout
    )
    assert "at shape ()," in run("show", "he_normal", "--shape", "").stdout


@pytest.mark.parametrize(
    "text, hint",
    [
        ("4,,4", "such as 256,128 (or '' for a scalar); got '4,,4'"),
        ("4,", "got '4,'"),
        ("-4,4", "got '-4,4'"),
        ("\u00b2", "got '\u00b2'"),  # str.isdigit() but not int().
        (
            "99999999999999999999,2",
            "'99999999999999999999,2' is too large: XLA "
            "arrays hold at most 2**63 - 1 entries",
        ),
        (
            "0,9223372036854775808",
            "is too large",
        ),  # A dimension over 2**63 - 1.
        ("3037000500,3037000500", "is too large"),  # Entries over 2**63 - 1.
    ],
)
def test_bad_shapes_are_refused_when_parsed(run, no_draws, text, hint):
    # "4,,4" drew (4, 4); the large ones printed MLIR's message or aborted.
    for command in (["show", "he_normal"], ["compare", "he_normal"]):
        assert_one_line_error(run(*command, f"--shape={text}"), hint)


@pytest.mark.parametrize(
    "arguments",
    [
        ["show", "he_normal", "--shape", "100000,100000"],
        ["show", "he_normal", "--shape", "2147483648,2147483648"],
        ["compare", "he_normal", "--shape", "100000,100000"],
    ],
)
def test_shapes_over_the_cap_are_refused(run, no_draws, arguments):
    # With about 23 GiB free, show aborted the process (SIGABRT in XLA).
    assert_one_line_error(
        run(*arguments),
        "entries are over the cap of 67,108,864 (2**26) entries drawn; use a "
        "smaller --shape",
    )


def test_the_cap_is_checked_before_anything_is_allocated(
    run, monkeypatch, no_draws
):
    monkeypatch.setattr(_main, "MAX_DRAWN_ENTRIES", 2**16)
    for command in (["show", "he_normal"], ["compare", "glorot_uniform"]):
        assert_one_line_error(
            run(*command, "--shape", "1000,1000"),
            f"too large for {command[0]}: its 1,000,000 entries are over the "
            "cap of 65,536 (2**16)",
        )


def test_shapes_under_the_cap_are_drawn(run):
    assert run("show", "he_normal", "--shape", "1000,1000").returncode == 0


def test_running_out_of_memory_anyway_is_one_line(run, monkeypatch):
    def exhausted(*arguments):
        raise jax.errors.JaxRuntimeError(
            "RESOURCE_EXHAUSTED: Out of memory allocating 40000000000 bytes."
        )

    def no_memory(values):
        raise MemoryError

    monkeypatch.setattr(_main, "_draw", exhausted)
    assert_one_line_error(
        run("compare", "he_normal", "--shape", "64,64"),
        "out of memory at --shape (64, 64) "
        "(RESOURCE_EXHAUSTED: Out of memory allocating",
    )
    monkeypatch.undo()
    monkeypatch.setattr(_main, "_as_floats", no_memory)
    assert_one_line_error(
        run("show", "he_normal"),
        "out of memory (MemoryError); use a smaller --shape",
    )


def test_plot_writes_a_png(run, tmp_path):
    path = tmp_path / "he.png"
    result = run("show", "he_normal", "--plot", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_bytes().startswith(b"\x89PNG")
    assert path.stat().st_size > 1000


def test_plot_without_matplotlib_says_how_to_install_it(
    run, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = tmp_path / "he.png"
    result = run("show", "he_normal", "--plot", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        "jinit: error: matplotlib is needed for --plot: "
        "pip install matplotlib\n"
    )
    assert not path.exists()

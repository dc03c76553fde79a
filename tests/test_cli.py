"""The command line, run as ``python -m jinit`` in a subprocess: output,
exit statuses, and one-line errors without tracebacks for bad input."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jinit._registry import FACTORIES

ROOT = Path(__file__).resolve().parents[1]
# Runs the command line with matplotlib unimportable.
NO_MATPLOTLIB = ("import sys; sys.modules['matplotlib'] = None; "
                 "from jinit.__main__ import main; "
                 "sys.exit(main(sys.argv[1:]))")


def run(*arguments, code=None):
    command = ([sys.executable, "-c", code] if code
               else [sys.executable, "-m", "jinit"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*command, *arguments], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)


def stat(output, name):
    """The numbers on the line of ``output`` that starts with ``name``."""
    line = next(line for line in output.splitlines()
                if line.startswith(f"{name} "))
    return [float(x) for x in line[len(name):].split()]


def test_list_names_every_initializer_with_its_formula():
    result = run("list")
    assert result.returncode == 0
    rows = dict(line.split(maxsplit=1) for line in
                result.stdout.splitlines())
    assert set(rows) == set(FACTORIES)
    assert rows["he_normal"] == "truncated normal, stddev = sqrt(2 / fan_in)"


def test_show_prints_fans_moments_and_histogram_with_expected_counts():
    result = run("show", "he_normal", "--shape", "256,128")
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "fan_in=256, fan_out=128" in output
    assert "cut at 0 +- 0.201" in output  # sigma = std / 0.8796, cut at 2.
    target, measured = stat(output, "std")
    assert target == pytest.approx(2 ** 0.5 / 16, rel=1e-4)
    assert measured == pytest.approx(target, rel=0.02)
    bins = output.split("bin from")[1].splitlines()[1:]
    assert len(bins) == 24
    counts = [line.split()[-2:] for line in bins]
    assert sum(int(count) for count, _ in counts) == 256 * 128
    for count, expected in counts:  # Within 5 binomial sigmas.
        assert abs(int(count) - float(expected)) < 5 * float(expected) ** 0.5


def test_show_in_bfloat16_with_settings():
    result = run("show", "VarianceScaling", "--dtype", "bfloat16",
                 "--set", "mode=fan_out", "--set", "scale=2.0",
                 "--set", "distribution='uniform'", "--seed", "3")
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "bfloat16, key jax.random.key(3)" in output
    assert "mode fan_out: n=128" in output
    assert "U(-0.2165, 0.2165)" in output  # sqrt(3 * 2 / 128)
    target, measured = stat(output, "std")
    assert measured == pytest.approx(target, rel=0.02)


def test_show_says_when_there_is_no_density():
    assert "no closed form; histogram only" in run("show", "dirac").stdout
    assert "a spike, no density" in run("show", "ones").stdout


def test_compare_with_jax_in_bfloat16_shows_both_columns():
    result = run("compare", "he_normal", "--with", "jax", "--dtype",
                 "bfloat16")
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert re.search(r"^\s+jinit\s+jax$", output, re.MULTILINE)
    ours, theirs = stat(output, "distinct values")
    assert ours > 4 * theirs  # jax draws in bfloat16, jinit casts.
    assert "same values: no" in output


def test_compare_with_jax_in_float32_gives_the_same_values():
    assert "same values: yes" in run("compare", "glorot_uniform").stdout


def test_bench_prints_a_ratio_table():
    result = run("bench", "--shape", "64,64", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[3:]
    assert [row.split()[0] for row in rows] == [
        "he_normal", "glorot_uniform", "truncated_normal", "random_normal"]
    assert all(float(row.split()[-1]) > 0 for row in rows)


@pytest.mark.parametrize("arguments, hint", [
    (["show", "he_normla"], "Did you mean 'he_normal'"),
    (["show", "he_normal", "--shape", "3,x"], "such as 256,128"),
    (["show", "he_normal", "--set", "nokey"], "key=value"),
    (["show", "variance_scaling", "--set", "mode=fan_sideways"],
     "must be one of 'fan_in'"),
    (["show", "he_normal", "--set", "mode=fan_out"],
     "its arguments are seed"),
    (["show", "he_normal", "--dtype", "float33"], "such as 'float32'"),
    (["show", "orthogonal", "--shape", "7"], "at least 2 dimensions"),
    (["compare", "random_uniform"], "use --set minval=0"),
    (["compare", "dirac"], "no jax.nn.initializers equivalent of dirac"),
    (["show", "he_normal", "--seed", "-1"], "an int in [0, 4294967296)"),
    (["bench", "--repeats", "0"], "an int in [1, 1000)"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_status_2(arguments, hint):
    result = run(*arguments)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "he.png"
    result = run("show", "he_normal", "--plot", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_bytes().startswith(b"\x89PNG")
    assert path.stat().st_size > 1000


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path):
    path = tmp_path / "he.png"
    result = run("show", "he_normal", "--plot", str(path), code=NO_MATPLOTLIB)
    assert result.returncode == 2
    assert result.stderr == ("jinit: error: matplotlib is needed for --plot: "
                             "pip install matplotlib\n")
    assert not path.exists()

"""The notebooks run: every code cell of every notebook in notebooks/ executes
in order without error, prints something, and is committed with its outputs.

Each notebook runs in a fresh namespace, as in a fresh Jupyter kernel: with
JAX's default configuration (not this suite's strict promotion), matplotlib
drawing off screen, warnings as errors (as in this suite) except a
framework's DeprecationWarning about the installed JAX. Most run in this
process, which they must leave as they found it (JAX's configuration,
matplotlib's settings, ``XLA_FLAGS``); those in :data:`OWN_PROCESS` run in a
fresh Python process, being ones that configure JAX before it starts."""

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import warnings

import pytest

NOTEBOOKS = sorted(
    (pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb")
)
# A notebook that must start JAX itself, and why.
OWN_PROCESS = {
    "scale.ipynb": "asks XLA for 8 CPU devices in its first cell, "
    "before JAX starts"
}


def run_cells(path):
    """Runs the code cells of the notebook at ``path`` in order, in a fresh
    namespace, warnings as errors but for the frameworks'
    DeprecationWarnings, each cell's printing captured; matplotlib's
    settings are restored and its figures closed afterwards. JAX is not
    imported before the first cell: a notebook may configure it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [
        cell
        for cell in json.loads(path.read_text())["cells"]
        if cell["cell_type"] == "code"
    ]
    namespace = {"__name__": "__main__"}
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("error")
        # A framework release may warn about the JAX it runs on while
        # importing; as in the suite (whose test modules import the
        # frameworks at collection), that is not an error. Warnings raised
        # by the notebooks' own code still are.
        warnings.filterwarnings(
            "ignore",
            category=DeprecationWarning,
            module=r"(equinox|flax|haiku|keras)(\.|$)",
        )
        try:
            for number, cell in enumerate(cells):
                assert cell["outputs"], (
                    f"{path.name}: code cell {number} was committed without "
                    "outputs; re-execute the notebook"
                )
                with contextlib.redirect_stdout(io.StringIO()) as printed:
                    exec(
                        compile(
                            "".join(cell["source"]),
                            f"{path.name}[{number}]",
                            "exec",
                        ),
                        namespace,
                    )
                assert printed.getvalue(), (
                    f"{path.name}: code cell {number} printed nothing"
                )
        finally:
            plt.close("all")


def test_there_are_notebooks():
    assert NOTEBOOKS
    assert set(OWN_PROCESS) <= {path.name for path in NOTEBOOKS}


@pytest.fixture
def notebook_environment(monkeypatch):
    """The notebooks' directory as the working directory, this checkout's
    jinit first on the path of any process they start, and no
    ``XLA_FLAGS`` (a notebook sets its own)."""
    root = str(pathlib.Path(__file__).parents[1])
    monkeypatch.chdir(NOTEBOOKS[0].parent)
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    monkeypatch.delenv("XLA_FLAGS", raising=False)


@pytest.mark.parametrize(
    "path",
    [path for path in NOTEBOOKS if path.name not in OWN_PROCESS],
    ids=lambda path: path.name,
)
def test_notebook_runs_and_has_outputs(path, notebook_environment):
    import jax

    config = dict(jax.config.values)
    try:
        # A fresh kernel's rules, not this suite's strict promotion.
        with (
            jax.numpy_dtype_promotion("standard"),
            jax.numpy_rank_promotion("allow"),
        ):
            run_cells(path)
    finally:
        changed = sorted(
            name
            for name, value in jax.config.values.items()
            if config.get(name) != value
        )
        for name in changed:
            jax.config.update(name, config[name])
    assert not changed, (
        f"{path.name} changed jax.config ({', '.join(changed)}): restore it "
        "in the notebook, or run the notebook in its own process "
        "(OWN_PROCESS)"
    )
    assert "XLA_FLAGS" not in os.environ, (
        f"{path.name} sets XLA_FLAGS, which only a fresh process reads: run "
        "it in its own process (OWN_PROCESS)"
    )


@pytest.mark.parametrize(
    "path",
    [path for path in NOTEBOOKS if path.name in OWN_PROCESS],
    ids=lambda path: path.name,
)
def test_notebook_runs_in_its_own_process(path, notebook_environment):
    runner = (
        "import pathlib, sys; sys.path.insert(0, sys.argv[1]); "
        "import test_notebooks; "
        "test_notebooks.run_cells(pathlib.Path(sys.argv[2]))"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            runner,
            str(pathlib.Path(__file__).parent),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]

"""The notebooks run: every code cell of every notebook in notebooks/ executes
in order without error, and each is committed with its outputs.

Each notebook runs in a fresh Python process, as in a fresh Jupyter kernel, so
a notebook may configure JAX before importing it (``scale.ipynb`` asks XLA for
8 simulated CPU devices in its first cell) and none sees another's state.
Warnings are errors there, as in this test suite, except a framework's
DeprecationWarning about the installed JAX."""

import os
import pathlib
import subprocess
import sys

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks")
                   .glob("*.ipynb"))

RUNNER = r"""
import contextlib, io, json, pathlib, sys, warnings

warnings.simplefilter("error")
# A framework release may warn about the JAX it runs on while importing; as in
# the suite (whose test modules import the frameworks at collection), that is
# not an error. Warnings raised by the notebooks' own code still are.
warnings.filterwarnings("default", category=DeprecationWarning,
                        module=r"(equinox|flax|haiku|keras)(\.|$)")
path = pathlib.Path(sys.argv[1])
cells = [cell for cell in json.loads(path.read_text())["cells"]
         if cell["cell_type"] == "code"]
namespace = {"__name__": "__main__"}
for number, cell in enumerate(cells):
    if not cell["outputs"]:
        sys.exit(f"code cell {number} was committed without outputs; "
                 "re-execute the notebook")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile("".join(cell["source"]), f"{path.name}[{number}]",
                     "exec"), namespace)
    if not printed.getvalue():
        sys.exit(f"code cell {number} printed nothing")
"""


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_and_has_outputs(path):
    root = str(path.parents[1])  # this checkout's jinit, as in the suite
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(
               [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("XLA_FLAGS", None)  # a notebook sets its own
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path)],
                            cwd=path.parent, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]

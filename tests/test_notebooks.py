"""The notebooks run: every code cell of every notebook in notebooks/ executes
in order without error, and each is committed with its outputs."""

import contextlib
import io
import json
import pathlib

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks")
                   .glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_and_has_outputs(path):
    cells = [cell for cell in json.loads(path.read_text())["cells"]
             if cell["cell_type"] == "code"]
    namespace = {"__name__": "__main__"}
    for number, cell in enumerate(cells):
        assert cell["outputs"], f"code cell {number} was committed without " \
            "outputs; re-execute the notebook"
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(compile("".join(cell["source"]), f"{path.name}[{number}]",
                         "exec"), namespace)
        assert printed.getvalue(), f"code cell {number} printed nothing"

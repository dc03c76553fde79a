"""Every Python example in the README runs (and its asserts hold)."""

import pathlib
import re

import pytest

README = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_example_runs(number):
    exec(compile(BLOCKS[number], f"README.md[python block {number}]", "exec"),
         {"__name__": "__main__"})

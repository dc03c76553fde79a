"""Every docstring of jinit opens with a one-line summary.

Generated API tables show a docstring's first line, so the summary (the text
before the first blank line) of every module, class, function and method,
public or private, must be that one line, of at most 79 characters.
"""

import ast
import pathlib

import pytest

import jinit

SOURCES = sorted(pathlib.Path(jinit.__file__).parent.rglob("*.py"))
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def multi_line_summaries(source):
    """(line, name) of each docstring in ``source`` with a long summary.

    Long: on more than one line, or on a first line over 79 characters.
    """
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, DOCUMENTED):
            continue
        docstring = ast.get_docstring(node, clean=True)
        line = node.body[0].lineno if docstring else 0
        if docstring and (
            "\n" in docstring.split("\n\n")[0].strip()
            or len(lines[line - 1]) > 79
        ):
            found.append((line, getattr(node, "name", "<module>")))
    return found


def test_the_checker_finds_a_multi_line_summary():
    source = (
        '"""One line."""\n\ndef f():\n    """A summary that\n'
        '    goes on.\n\n    Body.\n    """\n\nclass C:\n'
        '    """Fine.\n\n    Body\n    on two lines.\n    """\n\n'
        f'def g():\n    """{"long " * 15}."""\n'
    )
    assert multi_line_summaries(source) == [(4, "f"), (18, "g")]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_docstring_summaries_are_one_line(path):
    found = multi_line_summaries(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.name}: multi-line docstring summaries at "
        + ", ".join(f"line {line} ({name})" for line, name in found)
    )

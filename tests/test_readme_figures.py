"""The README quotes only figures that BENCHMARKS.md holds.

Its measured figures sit between ``<!-- figures: BENCHMARKS.md -->`` and
``<!-- end figures -->`` markers; each number there (seconds, milliseconds,
ratios) must be a cell of a table of BENCHMARKS.md, as printed there (a
ratio with its ``×``), the record ``python -m benchmarks --markdown
BENCHMARKS.md`` writes, so that regenerating the record without updating
the README (or the reverse) fails.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"<!--\s*figures:\s*BENCHMARKS\.md\s*-->(.*?)<!--\s*end\s+figures\s*-->",
    re.DOTALL,
)
# A decimal number, as the record prints its figures (0.86, 1.7, 124.3),
# with its "×" where it is a ratio.
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?:×)?(?![\w.])")


def _figures(text: str) -> list[str]:
    blocks = BLOCK.findall(text)
    return [number for block in blocks for number in NUMBER.findall(block)]


def _cells(record: str) -> set[str]:
    """Every cell of the record's tables, as printed."""
    return {
        cell.strip()
        for line in record.splitlines()
        if line.startswith("|")
        for cell in line.strip("|").split("|")
    }


def test_readme_has_figure_blocks():
    readme = (ROOT / "README.md").read_text()
    assert len(BLOCK.findall(readme)) >= 3
    assert len(_figures(readme)) >= 6


def test_every_readme_figure_is_in_the_record():
    quoted = _cells((ROOT / "BENCHMARKS.md").read_text())
    missing = [
        number
        for number in _figures((ROOT / "README.md").read_text())
        if number not in quoted
    ]
    assert not missing, (
        f"README.md quotes {missing}, which BENCHMARKS.md does not contain: "
        "regenerate the record (python -m benchmarks --markdown "
        "BENCHMARKS.md) and quote its figures."
    )


def test_a_figure_missing_from_the_record_is_found():
    text = (
        "<!-- figures: BENCHMARKS.md -->0.12 s and 3.45×<!-- end figures -->"
        " 9.99 <!-- figures: BENCHMARKS.md\n-->1.5 ms<!-- end\nfigures -->"
    )
    assert _figures(text) == ["0.12", "3.45×", "1.5"]
    assert _cells("| a | 0.12 | 3.45× |\n0.5 in text") == {"a", "0.12", "3.45×"}

"""The README quotes only figures that BENCHMARKS.md holds.

Its measured figures sit between ``<!-- figures: BENCHMARKS.md -->`` and
``<!-- end figures -->`` markers; each number there (seconds, milliseconds,
ratios) must appear in BENCHMARKS.md, the record ``python -m benchmarks
--markdown BENCHMARKS.md`` writes, so that regenerating the record without
updating the README (or the reverse) fails.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"<!-- figures: BENCHMARKS\.md -->(.*?)<!-- end figures -->", re.DOTALL
)
# A decimal number, as the record prints its figures (0.86, 1.7, 124.3).
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")


def _figures(text: str) -> list[str]:
    blocks = BLOCK.findall(text)
    return [number for block in blocks for number in NUMBER.findall(block)]


def test_readme_has_figure_blocks():
    readme = (ROOT / "README.md").read_text()
    assert len(BLOCK.findall(readme)) >= 2
    assert len(_figures(readme)) >= 6


def test_every_readme_figure_is_in_the_record():
    record = (ROOT / "BENCHMARKS.md").read_text()
    quoted = set(NUMBER.findall(record))
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
    text = "<!-- figures: BENCHMARKS.md -->0.12 s and 3.45×<!-- end figures -->"
    assert _figures(text) == ["0.12", "3.45"]

"""CHANGELOG.md keeps Keep a Changelog 1.1.0's form, and its paths exist.

https://keepachangelog.com/en/1.1.0/: ``## [Unreleased]``, then released
versions ``## [X.Y.Z] - YYYY-MM-DD``, each with only the standard ``###``
sections, each at most once; every ``jinit/...py`` path it names is a file
of the tree.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"
STANDARD = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
VERSION = re.compile(r"^\[(Unreleased|\d+\.\d+\.\d+)\]( - \d{4}-\d{2}-\d{2})?$")
PATH = re.compile(r"\bjinit/[\w/]*\w\.py\b")


def versions(text: str) -> list[tuple[str, list[str]]]:
    """Each ``##`` heading with the ``###`` headings under it, in order."""
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            found.append((line[3:].strip(), []))
        elif line.startswith("### "):
            assert found, f"{line!r} comes before any version"
            found[-1][1].append(line[4:].strip())
    return found


def problems(text: str, root: Path = ROOT) -> list[str]:
    """What makes ``text`` not a Keep a Changelog 1.1.0 file of this tree."""
    found = []
    headings = versions(text)
    if not headings or headings[0][0] != "[Unreleased]":
        found.append("the first version is not '## [Unreleased]'")
    for version, sections in headings:
        match = VERSION.match(version)
        if match is None:
            found.append(f"'## {version}' is not '[X.Y.Z] - YYYY-MM-DD'")
        elif match[1] != "Unreleased" and not match[2]:
            found.append(f"'## {version}' has no release date")
        for section in sections:
            if section not in STANDARD:
                found.append(f"{version}: '### {section}' is not standard")
        for section in sorted(set(sections)):
            if sections.count(section) > 1:
                found.append(f"{version}: '### {section}' is repeated")
    for path in sorted(set(PATH.findall(text))):
        if not (root / path).is_file():
            found.append(f"{path} does not exist")
    return found


def test_the_changelog_keeps_the_form_and_names_real_paths():
    assert problems(CHANGELOG.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "## [Unreleased]\n### Values drawn\n",
            "[Unreleased]: '### Values drawn' is not standard",
        ),
        (
            "## [Unreleased]\n### Fixed (nothing silently wrong)\n",
            "[Unreleased]: '### Fixed (nothing silently wrong)' is not "
            "standard",
        ),
        (
            "## [Unreleased]\n### Added\n### Fixed\n### Added\n",
            "[Unreleased]: '### Added' is repeated",
        ),
        (
            "## [Unreleased]\n### Added\n- `jinit/_nowhere.py`.\n",
            "jinit/_nowhere.py does not exist",
        ),
        (
            "## [Unreleased]\n## [0.1.0]\n### Added\n",
            "'## [0.1.0]' has no release date",
        ),
        ("## [0.1.0] - 2026-01-01\n", "the first version is not"),
    ],
)
def test_the_check_can_fail(text, problem):
    assert any(found.startswith(problem) for found in problems(text))


def test_a_good_changelog_passes():
    text = (
        "# Changelog\n\n## [Unreleased]\n\n### Added\n- `jinit/_draws.py`.\n"
        "\n### Fixed\n- x\n\n## [0.1.0] - 2026-11-29\n\n### Added\n- y\n"
    )
    assert problems(text) == []

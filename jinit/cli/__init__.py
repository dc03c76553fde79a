"""The command line, ``python -m jinit`` or ``jinit``."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line on ``argv`` (default: ``sys.argv[1:]``).

    Imported when called, so that ``python -m jinit.cli._catalogue`` (which
    writes the docs' table) runs its module only once.
    """
    from jinit.cli._main import main as run

    return run(argv)


__all__ = ["main"]

"""The command line, ``python -m jinit`` or ``jinit``."""

from jinit.cli._main import main

__all__ = ["main"]

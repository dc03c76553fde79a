"""``python -m jinit`` and the ``jinit`` console script.

With no command, the catalogue of every initializer; ``list``, ``show``,
``compare``, ``bench``.
"""

import sys

from jinit.cli._main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())

"""``python -m jinit`` and the ``jinit`` console script.

With no command, the catalogue of every initializer; ``list``, ``show``,
``compare`` and ``check``.
"""

import sys

from jinit.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())

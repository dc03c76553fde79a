"""Doctests of the framework adapters run only where their framework is
installed (``import jinit.flax`` and the like import it). The record of
kernel checks that passed is off (``JINIT_CACHE_DIR=""``, see
``jinit._cache``) for this process and every process it starts: each starts
like a fresh machine, runs the check on its first draw, and nothing reads or
writes the user's cache. (The record itself is tested with directories of
the tests' own.)"""

import importlib.util
import os

os.environ["JINIT_CACHE_DIR"] = ""

ADAPTERS = {
    "jinit/flax.py": "flax",
    "jinit/haiku.py": "haiku",
    "jinit/equinox.py": "equinox",
    "jinit/keras.py": "keras",
}

collect_ignore = [
    path
    for path, framework in ADAPTERS.items()
    if importlib.util.find_spec(framework) is None
]

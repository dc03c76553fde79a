"""Doctests of the framework adapters run only where their framework is
installed (``import jinit.flax`` and the like import it). The kernel checks
that pass are remembered in a directory of this run's own
(``JINIT_CACHE_DIR``, see ``jinit._cache``), never in the user's cache, so
that every test process checks afresh and leaves nothing behind."""

import atexit
import importlib.util
import os
import shutil
import tempfile

os.environ["JINIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="jinit-checks-")
atexit.register(shutil.rmtree, os.environ["JINIT_CACHE_DIR"],
                ignore_errors=True)

ADAPTERS = {"jinit/flax.py": "flax", "jinit/haiku.py": "haiku",
            "jinit/equinox.py": "equinox", "jinit/keras.py": "keras"}

collect_ignore = [path for path, framework in ADAPTERS.items()
                  if importlib.util.find_spec(framework) is None]

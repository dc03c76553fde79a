"""Doctests of the framework adapters run only where their framework is
installed (``import jinit.flax`` and the like import it)."""

import importlib.util

ADAPTERS = {"jinit/flax.py": "flax", "jinit/haiku.py": "haiku",
            "jinit/equinox.py": "equinox", "jinit/keras.py": "keras"}

collect_ignore = [path for path, framework in ADAPTERS.items()
                  if importlib.util.find_spec(framework) is None]

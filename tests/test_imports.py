"""``import jinit`` loads none of the optional libraries (the framework
adapters are submodules that import their framework themselves)."""

import os
import pathlib
import subprocess
import sys

OPTIONAL = ("flax", "haiku", "equinox", "scipy", "matplotlib", "keras", "torch")


def test_import_jinit_loads_no_optional_library():
    code = (
        "import sys, jinit; print(sorted(name for name in "
        f"{OPTIONAL!r} if name in sys.modules))"
    )
    root = str(pathlib.Path(__file__).parents[1])
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout

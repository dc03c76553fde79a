"""What ``tools/regenerate.py`` derives from the code is up to date.

Adding an initializer is four hand edits (its module, its case in
``tests/registry.py``, CHANGELOG.md and its import in ``jinit/__init__.py``);
the command writes ``__all__``, the pinned public API, the API reference's
entries and index, and the docs' table of initializers. These tests fail
while any of them is stale, and check that the command notices.
"""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "regenerate.py"


@pytest.fixture(scope="module")
def regenerate():
    spec = importlib.util.spec_from_file_location("regenerate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_derived_file_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}: run python tools/regenerate.py"
    )
    assert result.stdout.strip() == "up to date"


def test_a_stale_all_is_rewritten(regenerate):
    source = regenerate.INIT.read_text(encoding="utf-8")
    stale = source.replace('    "he_normal",\n', "", 1)
    assert stale != source
    assert regenerate.init_module(stale) == source


def test_a_scheme_is_exported_by_both_modules(regenerate):
    schemes = regenerate.SCHEMES_INIT.read_text(encoding="utf-8")
    stale = schemes.replace('    "zer_o",\n', "", 1)
    assert stale != schemes
    assert regenerate.schemes_module(stale) == schemes
    init = regenerate.INIT.read_text(encoding="utf-8")
    missing = init.replace("    zer_o,\n", "", 1).replace(
        '    "zer_o",\n', "", 1
    )
    assert missing != init
    assert regenerate.init_module(missing) == init


def test_a_stale_pin_is_rewritten(regenerate):
    source = regenerate.PUBLIC_API.read_text(encoding="utf-8")
    stale = source.replace("seed: 'int | None' = None", "seed: 'int' = 0", 1)
    assert stale != source
    assert regenerate.public_api(stale) == source


def test_every_public_name_is_on_one_page_of_the_reference(regenerate):
    pages = regenerate.page_names()
    listed = [name for names in pages.values() for name in names]
    assert sorted(listed) == regenerate.public_names()


def test_a_name_of_an_unlisted_module_is_refused(regenerate, monkeypatch):
    monkeypatch.setitem(regenerate.PAGES, "constants.md", ())
    with pytest.raises(ValueError, match=r"documents \['constant', 'ones'"):
        regenerate.page_names()

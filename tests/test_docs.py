"""The documentation: every Python example of the README and of the pages of
the site runs (and its asserts hold), and the API reference names every
public name.

The blocks of one page run in order in one namespace, as a reader would run
them in one session; a failure names the page and the line its block starts
at. Other fences (``bash``, ``text``) are not run. ``mkdocs build --strict``
(``.ci/run``) checks the rest: links, the nav, the docstrings.
"""

import dataclasses
import importlib
import inspect
import pathlib
import re
import textwrap
import traceback

import jax
import pytest

import jinit

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    flags=re.MULTILINE | re.DOTALL,
)
RUN = ("python", "py")
# pymdownx.snippets, as configured in mkdocs.yml (base path: the root).
SNIPPET = re.compile(
    r'^-{1,}8<-{1,}[ \t]+"(?P<path>[^"]+)"[ \t]*$', flags=re.MULTILINE
)
# The jax options a page could change for the rest of the session.
OPTIONS = (
    "jax_enable_x64",
    "jax_numpy_dtype_promotion",
    "jax_numpy_rank_promotion",
    "jax_default_matmul_precision",
    "jax_default_prng_impl",
)
ADAPTERS = ("jinit.flax", "jinit.haiku", "jinit.equinox", "jinit.keras")


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced code block: its language, code and first line of code."""

    lang: str
    code: str
    line: int


def with_snippets(text: str) -> str:
    """``text`` with its ``--8<-- "FILE"`` lines replaced by FILE's text."""
    return SNIPPET.sub(
        lambda match: (ROOT / match["path"]).read_text(encoding="utf-8"), text
    )


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of ``text``, in order.

    A block's line is that of its first line of code in ``text``.
    """
    return [
        Block(
            match["lang"].lower(),
            textwrap.dedent(match["body"]),
            text.count("\n", 0, match.start("body")) + 1,
        )
        for match in FENCE.finditer(text)
    ]


def name(page: pathlib.Path) -> str:
    return page.relative_to(ROOT).as_posix()


def python_blocks(page: pathlib.Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    if SNIPPET.search(text):  # Line numbers then count the included lines.
        text = with_snippets(text)
    return [block for block in blocks(text) if block.lang in RUN]


RUNNABLE = [page for page in PAGES if python_blocks(page)]


def run_page(page_name: str, page_blocks: list[Block]) -> dict:
    """Runs ``page_blocks`` in order in one namespace, which it returns.

    Tracebacks point at the page's own lines.

    Raises:
      AssertionError: a block raised; it names the page and the block's line.
    """
    namespace = {"__name__": "__main__"}
    for block in page_blocks:
        # Padded so that the lines of a traceback are the page's.
        source = "\n" * (block.line - 1) + block.code
        try:
            exec(compile(source, page_name, "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"{page_name}: the python block at line {block.line} raised "
                f"{type(error).__name__}: {error}"
            ) from error
    return namespace


def test_fences_are_found_with_their_lines_and_indent():
    text = (
        "# T\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n"
        '!!! note\n    ```python title="y"\n    y = x + 1\n    ```\n'
    )
    assert blocks(text) == [
        Block("python", "x = 1\n", 4),
        Block("bash", "ls\n", 8),
        Block("python", "y = x + 1\n", 13),
    ]


def test_a_failing_block_names_its_page_and_line():
    page = [
        Block("python", "x = 1\n", 3),
        Block("python", "y = x\n\n", 7),
        Block("python", "assert y == 2\n", 10),
    ]
    with pytest.raises(
        AssertionError,
        match=r"^page\.md: the python block at line 10 raised "
        r"AssertionError",
    ) as caught:
        run_page("page.md", page)
    frames = traceback.extract_tb(caught.value.__cause__.__traceback__)
    assert ("page.md", 10) in [
        (frame.filename, frame.lineno) for frame in frames
    ]


def test_snippets_are_included_as_mkdocs_includes_them():
    speed = DOCS / "speed.md"
    text = speed.read_text(encoding="utf-8")
    assert '--8<-- "BENCHMARKS.md"' in text
    included = with_snippets(text)
    assert (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8") in included
    assert not SNIPPET.search(included)


def test_the_readme_and_the_pages_have_examples():
    runnable = {name(page) for page in RUNNABLE}
    assert {
        "README.md",
        "docs/getting-started.md",
        "docs/frameworks.md",
    } <= runnable
    assert sum(len(python_blocks(page)) for page in RUNNABLE) >= 20


@pytest.fixture
def restored_options():
    """Restores the jax options a page may change."""
    before = {option: getattr(jax.config, option) for option in OPTIONS}
    yield
    for option, value in before.items():
        jax.config.update(option, value)


@pytest.mark.usefixtures("restored_options")
@pytest.mark.parametrize("page", RUNNABLE, ids=name)
def test_every_python_block_of_the_page_runs(page):
    run_page(name(page), python_blocks(page))


# The API reference.

DIRECTIVE = re.compile(r"^::: (?P<path>[\w.]+)[ \t]*$", flags=re.MULTILINE)


def documented() -> set[str]:
    """The objects of the ``:::`` directives of docs/api/."""
    return {
        match["path"]
        for page in sorted((DOCS / "api").glob("*.md"))
        for match in DIRECTIVE.finditer(page.read_text(encoding="utf-8"))
    }


def test_the_api_reference_names_every_public_name():
    # jinit.schemes is re-exported at the top: jinit.fixup documents it.
    assert set(importlib.import_module("jinit.schemes").__all__) <= set(
        jinit.__all__
    )
    wanted = {f"jinit.{public}" for public in jinit.__all__}
    for adapter in ADAPTERS:
        module = importlib.import_module(adapter)
        wanted |= {adapter} | {
            f"{adapter}.{public}" for public in module.__all__
        }
    missing = sorted(wanted - documented())
    assert not missing, (
        f"docs/api/ has no `::: NAME` directive for {', '.join(missing)}; "
        "add one to the page of its kind."
    )


def test_the_index_pages_are_complete():
    """docs/index.md links every page; docs/api/index.md's table names every
    public name; mkdocs.yml's nav holds every page and notebook."""
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    unlinked = [
        page.name
        for page in sorted(DOCS.glob("*.md"))
        if page.name != "index.md" and f"]({page.name}" not in home
    ]
    assert not unlinked, f"docs/index.md does not link {unlinked}"
    table = (DOCS / "api" / "index.md").read_text(encoding="utf-8")
    unlisted = [name for name in jinit.__all__ if f"`{name}`" not in table]
    assert not unlisted, f"docs/api/index.md's table lacks {unlisted}"
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [
        page.relative_to(DOCS).as_posix() for page in sorted(DOCS.rglob("*.md"))
    ]
    notebooks = [
        f"notebooks/{notebook.name}"
        for notebook in sorted((ROOT / "notebooks").glob("*.ipynb"))
    ]
    outside = [page for page in pages + notebooks if f" {page}" not in nav]
    assert not outside, f"mkdocs.yml's nav lacks {outside}"


def test_the_api_reference_names_only_what_exists():
    for path in documented():
        module, _, attribute = path.rpartition(".")
        if path in ADAPTERS:
            importlib.import_module(path)
        else:
            assert hasattr(importlib.import_module(module), attribute), path


# What the API reference reads (griffe, with docs/_griffe_jinit.py).


@pytest.fixture(scope="module")
def reference():
    """The package as the API reference reads it (the docs extra)."""
    griffe = pytest.importorskip("griffe")
    extension = griffe.load_extensions(f"{DOCS / '_griffe_jinit.py'}:JinitDocs")
    return griffe.load(
        "jinit",
        search_paths=[str(ROOT)],
        extensions=extension,
        docstring_parser="google",
    )


def test_the_reference_shows_each_factory_as_jinit_exports_it(reference):
    factories = [
        public
        for public in jinit.__all__
        if getattr(getattr(jinit, public), "about", None)
    ]
    assert {"he_normal", "variance_scaling", "zeros"} <= set(factories)
    for public in factories:
        shown = reference[public].final_target
        signature = inspect.signature(getattr(jinit, public))
        assert shown.is_function, public
        assert str(shown.returns) == "ConfiguredInitializer", public
        assert [parameter.name for parameter in shown.parameters] == list(
            signature.parameters
        ), public
        summary = inspect.getdoc(getattr(jinit, public)).splitlines()[0]
        assert shown.docstring.value.splitlines()[0] == summary, public


def test_the_reference_turns_rest_roles_into_links(reference):
    text = reference["variance_scaling"].final_target.docstring.value
    assert ":func:" in inspect.getdoc(jinit.variance_scaling)
    assert ":func:" not in text
    assert (
        '<autoref identifier="jinit.compute_fans" optional>'
        "<code>jinit.compute_fans</code></autoref>"
    ) in text

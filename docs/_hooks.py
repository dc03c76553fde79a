"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

Some files of the site live outside ``docs/``, where they are made, run and
tested: the notebooks in ``notebooks/`` and the benchmark chart that
``BENCHMARKS.md`` (included by ``docs/speed.md``) shows. :func:`on_files`
adds each to the site at its path in the repository, read in place (no copy
under ``docs/``), before mkdocs-jupyter turns the notebooks into pages with
their committed outputs.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
# Globs relative to the repository's root.
OUTSIDE_DOCS = ("notebooks/*.ipynb", "benchmarks/results/speedups.png")


# Before every plugin (mkdocs-jupyter's `on_files` wraps the notebooks).
@event_priority(100)
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds the files of :data:`OUTSIDE_DOCS` to the site's files."""
    for pattern in OUTSIDE_DOCS:
        paths = sorted(ROOT.glob(pattern))
        if not paths:
            raise ValueError(f"no file matches {pattern!r} in {ROOT}.")
        for path in paths:
            uri = path.relative_to(ROOT).as_posix()
            if files.get_file_from_path(uri) is not None:
                raise ValueError(
                    f"docs/{uri} shadows {path}; keep that file in "
                    f"{path.parent.relative_to(ROOT)}/ only."
                )
            # A file of the site read from the repository's root rather than
            # docs/ (not File.generated, which mkdocs-jupyter cannot read).
            files.append(
                File(
                    uri,
                    src_dir=str(ROOT),
                    dest_dir=config.site_dir,
                    use_directory_urls=config.use_directory_urls,
                )
            )
    return files

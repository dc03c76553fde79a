"""matplotlib, imported when a diagnostic is drawn (an optional extra)."""

from __future__ import annotations

from typing import Any


def new_figure(file: Any, **subplots: Any) -> tuple[Any, Any]:
    """A figure and its axes (``Figure.subplots(**subplots)``).

    For a ``file``, a bare ``matplotlib.figure.Figure`` (no pyplot, so no
    backend is touched); without one, a pyplot figure, which Jupyter shows
    inline.

    Raises:
      ImportError: matplotlib is not installed (with the command that
        installs it).
    """
    figure_size = subplots.pop("figsize")
    try:
        if file is None:
            from matplotlib import pyplot

            figure = pyplot.figure(figsize=figure_size)
        else:
            from matplotlib.figure import Figure

            figure = Figure(figsize=figure_size)
    except ImportError as error:
        raise ImportError(
            "drawing a diagnostic needs matplotlib: pip install "
            "'jinit[plot]' (or pip install matplotlib)"
        ) from error
    return figure, figure.subplots(**subplots)


def save(figure: Any, file: Any) -> Any:
    """Writes ``figure`` to ``file``; returns it when ``file`` is None."""
    if file is None:
        return figure
    figure.savefig(file, bbox_inches="tight", dpi=120)
    return None

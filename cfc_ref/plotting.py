"""matplotlib for files only: the Agg back end (no screen), imported where a figure is drawn, never at import time.

    plt = pyplot()                     # every figure of the package is drawn through this
    warm = warm_up()                   # a thread that imports it and loads its fonts while other work runs
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg back end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw_nothing() -> None:
    import io

    plt = pyplot()
    figure = plt.figure(figsize=(1, 1))
    try:
        figure.text(0.5, 0.5, "0")  # the first text drawn loads the font (and builds matplotlib's font cache once)
        figure.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(figure)


def warm_up() -> threading.Thread:
    """Import pyplot and load its fonts in a daemon thread (about 0.3 s of work, more on a machine whose font cache
    is not yet built), so that a report drawn later does not wait for them; join the thread before drawing. Any
    error is left for the drawing itself to raise."""

    def run() -> None:
        try:
            _draw_nothing()
        except Exception:  # noqa: BLE001 - the report raises it again where it can say what failed
            pass

    thread = threading.Thread(target=run, name="cfc-ref plotting warm-up", daemon=True)
    thread.start()
    return thread


def png_bytes(fig, dpi: int = 110) -> bytes:  # type: ignore[no-untyped-def]
    """A figure as PNG bytes (cropped to what is drawn)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(fig, path: Path, dpi: int = 110) -> None:  # type: ignore[no-untyped-def]
    """A PNG of the package's own (a report's figure) written atomically (never through a symbolic link, E-9.1)."""
    from cfc_ref.fileio import write_atomic

    write_atomic(path, png_bytes(fig, dpi))

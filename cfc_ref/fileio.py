"""Atomic file writes: a file is either complete or absent, so a run killed at any moment leaves no half file.

The rename is what makes a killed process safe; ``durable=True`` also flushes to disk first, which protects
against a power cut as well, at a cost of milliseconds per file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes, durable: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path`` (flushed to disk if ``durable``), then rename it in place."""
    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""What a conformance report certifies besides the outcomes (spec C-2.8): which suite ran — the package and spec
versions, and a digest of the vector catalogue it read — and where it ran (Python, OS, CPU)."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any


def catalogue_digest(golden: Path) -> str:
    """SHA-256 of the catalogue: for every file under ``golden`` in sorted order of its POSIX path relative to
    ``golden``, the line ``<path> <SHA-256 of its bytes>\\n`` (C-2.8; anyone can recompute it with sha256sum)."""
    lines = []
    for path in sorted(golden.rglob("*"), key=lambda p: p.relative_to(golden).as_posix()):
        if path.is_file():
            lines.append(f"{path.relative_to(golden).as_posix()} {hashlib.sha256(path.read_bytes()).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def suite() -> dict[str, Any]:
    from cfc_ref import SPEC_VERSION, __version__
    from cfc_ref.conformance.paths import golden_root
    from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS
    from cfc_ref.conformance.vectors import profile_vectors

    golden = golden_root()
    return {"name": "cfc-ref conformance suite", "version": __version__, "spec_version": SPEC_VERSION,
            "catalogue_sha256": catalogue_digest(golden),
            "vectors": {p: len(profile_vectors(golden, p)) for p in PROFILE_FUNCTIONS}}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    import numpy

    return {"python": sys.version.split()[0], "python_implementation": platform.python_implementation(),
            "os": platform.platform(), "machine": platform.machine(), "cpu": _cpu(), "cpu_count": os.cpu_count(),
            "numpy": numpy.__version__}

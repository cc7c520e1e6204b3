"""Running an external codec program safely (spec H-5.3): time-out, private temp directory, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cfc_ref.errors import CodecError

DEFAULT_TIMEOUT_S = 120.0


def timeout_seconds() -> float:
    return float(os.environ.get("CFC_CODEC_TIMEOUT", DEFAULT_TIMEOUT_S))


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory removed afterwards, whatever happens (H-5.3)."""
    path = Path(tempfile.mkdtemp(prefix="cfc-ref-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_tool(args: list[str], cwd: Path, what: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a program; a crash or a time-out (and, with ``check``, a non-zero exit) is a CodecError with the
    program's last words."""
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, timeout=timeout_seconds(), check=False)
    except subprocess.TimeoutExpired:
        raise CodecError(f"{what} timed out after {timeout_seconds():.0f} s") from None
    except OSError as err:
        raise CodecError(f"{what} could not be started: {err}") from None
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).decode(errors="replace").strip()[-400:]
        raise CodecError(f"{what} failed (exit {result.returncode}): {tail}")
    return result


def banner(program: str, args: list[str], what: str) -> str:
    """What a program prints about itself (HM exits 1 after printing its help)."""
    with scratch_dir() as tmp:
        try:
            out = run_tool([program, *args], tmp, what, check=False)
        except CodecError as err:
            return str(err)
        return (out.stdout + out.stderr).decode(errors="replace")


def find_program(names: tuple[str, ...], env_dir: str | None = None) -> str | None:
    """First of ``names`` in ``env_dir`` (if given) or on PATH."""
    for name in names:
        if env_dir:
            candidate = Path(env_dir) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        found = shutil.which(name)
        if found:
            return found
    return None

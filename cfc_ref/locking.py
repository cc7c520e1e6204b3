"""One process per output directory (spec E-3.1, R-3.3): an advisory lock that dies with its holder."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.fileio import no_link


class RunLocked(CfcError):
    """Another run (or training) is using the directory (spec E-3.1)."""


@contextmanager
def run_lock(output: Path, what: str = "cfc-ref run") -> Iterator[None]:
    """E-3.1: one run per directory. The lock is held by this process only (workers come from a fork server and
    inherit none of its files), so it vanishes with a killed run and never blocks the next one."""
    output.mkdir(parents=True, exist_ok=True)
    no_link(output / ".lock")
    fd = os.open(output / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise RunLocked(f"{output} is in use by another {what} (pid {holder}); wait for it or use another "
                            "--output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)

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
    inherit none of its files), so it vanishes with a killed run and never blocks the next one. A run that fails
    removes the lock file it made, and the directories it made while they are empty (E-6.4)."""
    created = []
    missing = output
    while not os.path.lexists(missing) and missing != missing.parent:
        created.append(missing)
        missing = missing.parent
    output.mkdir(parents=True, exist_ok=True)
    no_link(output / ".lock")
    lock_created = not os.path.lexists(output / ".lock")
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
        try:
            yield
        except BaseException:
            if lock_created:
                _remove_created(output, created)
            raise
        os.ftruncate(fd, 0)  # a finished run's lock file names no process (issue 32)
    finally:
        os.close(fd)


def _remove_created(output: Path, created: list[Path]) -> None:
    """E-6.4: the lock file this run made, then each directory it made, deepest first, while it is empty."""
    try:
        (output / ".lock").unlink()
        for directory in created:
            directory.rmdir()
    except OSError:
        pass  # the directory holds something else: it stays

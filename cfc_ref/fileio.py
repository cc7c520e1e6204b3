"""Atomic file writes: a file is either complete or absent, so a run killed at any moment leaves no half file.

The rename is what makes a killed process safe (spec E-3.2); no fsync, so a power cut may lose the last files, never
leave half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it in place (a symbolic link at ``path`` is
    replaced, never written through). The file gets the usual mode (0666 less the umask), like any other."""
    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except OSError as err:  # a full disk: the message names the file it could not write (E-6.1)
            raise OSError(err.errno, err.strerror, str(path)) from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def no_link(path: str | Path) -> None:
    """Refuse a symbolic link where cfc-ref is about to write (spec E-9.1): it would write through to the target."""
    from cfc_ref.errors import CfcError

    if Path(path).is_symlink():
        raise CfcError(f"{path} is a symbolic link; cfc-ref writes no file through a link (remove it)")


def append_bytes(path: str | Path, data: bytes) -> None:
    """Append with a single write (O_APPEND, so concurrent writers never interleave within one), never through a
    symbolic link."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666 & ~_UMASK)
    except OSError as err:
        if Path(path).is_symlink():
            no_link(path)
        raise err
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def append_line(path: str | Path, line: str) -> None:
    """Append one line (see :func:`append_bytes`)."""
    append_bytes(path, (line + "\n").encode())


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

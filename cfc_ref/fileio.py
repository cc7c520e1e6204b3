"""Files in and out, one helper for each rule (spec E-3.2, E-3.4, E-6.3):

    write_atomic(path, data)                 # the package's own files: complete or absent, never through a link
    write_output("out.json", data, "--json") # a path the user names: a run's own files refused, devices as streams
    data = read_bounded(path, limit)         # every file a command reads: regular files only, at most ``limit``
    text = read_text_bounded(path)           # the same for text, UTF-8 with or without a byte-order mark

The rename is what makes a killed process safe (E-3.2); no fsync, so a power cut may lose the last files, never
leave half of one.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from cfc_ref.errors import CfcError

MAX_TEXT_BYTES = 64 << 20  # a text or JSON input larger than this is refused unread (spec E-6.1)

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
    except OSError as err:  # a full disk: the message names the file (E-6.1)
        raise OSError(err.errno, err.strerror, str(path)) from None
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


# ------------------------------------------------------------------ reading: regular files only, bounded (E-3.4)


def open_regular(path: str | Path, error: type[CfcError] = CfcError) -> BinaryIO:
    """``path`` open for reading when it is a regular file; a FIFO, device or directory is refused by name without
    being waited on (the open does not block), and so is a missing file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{path} does not exist") from None
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path}: not a regular file (a directory, FIFO or device is not read)")
    return os.fdopen(fd, "rb")


def read_bounded(path: str | Path, limit: int = MAX_TEXT_BYTES, error: type[CfcError] = CfcError) -> bytes:
    """A regular file's bytes, at most ``limit``; every refusal is an ``error`` (a CfcError class) naming the file."""
    with open_regular(path, error) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as err:
            raise error(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {limit} bytes")
    return data


def read_text_bounded(path: str | Path, limit: int = MAX_TEXT_BYTES, error: type[CfcError] = CfcError) -> str:
    """A UTF-8 text file read as :func:`read_bounded`; a leading byte-order mark (as spreadsheet programs write it)
    is dropped."""
    data = read_bounded(path, limit, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None


# ------------------------------------------------------------------ writing where a user says (E-6.3)

# A run directory's own files (E-9.1), what each is, for the refusal's message
RUN_FILES = {"results.sqlite": "the results store", "results.sqlite-wal": "the results store's log",
             "results.sqlite-shm": "the results store's index", "results.json": "the results",
             "results.csv": "the results", "table1.json": "Table 1", "table1.csv": "Table 1",
             "report.md": "the report", "config.json": "the run's config", "failed.json": "the failed units",
             ".lock": "the run's lock", ".worker-error": "the workers' error file"}
_FIGURE_FILE = re.compile(r"fig\d+_[A-Za-z0-9_]+\.(png|csv|json)")
# <run>/cache: unfinished bitstreams (E-3.3); <run>/data: its dataset; <run>/compressai-vision: the exports (E-15.1)
_RUN_DIRECTORIES = ("cache", "data", "compressai-vision")


def _is_run_directory(directory: Path, also: tuple[Path, ...]) -> bool:
    return directory in also or (directory / "results.sqlite").exists() or (directory / ".lock").exists()


def run_file_role(path: str | Path, run_directories: tuple[str | Path, ...] = ()) -> str | None:
    """What ``path`` is in a run directory (E-9.1) — its store, results, Table 1, report, figures, lock, caches —
    or None. A run directory holds a results store or a lock, or is one of ``run_directories``."""
    real = Path(os.path.realpath(path))
    also = tuple(Path(os.path.realpath(d)) for d in run_directories)
    if _is_run_directory(real.parent, also):
        if real.name in RUN_FILES:
            return RUN_FILES[real.name]
        if _FIGURE_FILE.fullmatch(real.name):
            return "a figure of the report"
        if real.name in _RUN_DIRECTORIES and real.is_dir():
            return f"the run's {real.name} directory"
    for above in list(real.parents)[:-1]:
        if above.name in _RUN_DIRECTORIES and _is_run_directory(above.parent, also):
            return f"inside the run's {above.name} directory"
    return None


def check_output(target: str, what: str, run_directories: tuple[str | Path, ...] = ()) -> None:
    """The refusals of :func:`write_output`, before any work is done: an empty name, a run directory's own file,
    a directory, a path neither a regular file nor a character device or FIFO."""
    if target == "-":
        return
    if not target:
        raise CfcError(f"{what} needs a file name ('-' for standard output)")
    role = run_file_role(target, run_directories)
    if role:
        raise CfcError(f"{what} {target}: that is {role} of a run directory; cfc-ref writes it itself (name "
                       "another file)")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise CfcError(f"{what} {target}: {err.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        kind = "a directory" if stat.S_ISDIR(mode) else "neither a file, a character device nor a FIFO"
        raise CfcError(f"{what} {target}: {kind}")


def _is_stream(target: str) -> bool:
    """A character device, a FIFO, or a path through /proc or /dev/fd (such as /dev/stdout): written as a stream."""
    real = os.path.realpath(target)
    if real.startswith(("/proc/", "/dev/fd/")):
        return True
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _write_stream(target: str, data: bytes, what: str) -> None:
    flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        reason = "a FIFO that nobody reads" if err.errno == 6 else err.strerror  # ENXIO: no reader
        raise CfcError(f"{what} {target}: cannot write ({reason})") from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as err:
        raise CfcError(f"{what} {target}: cannot write ({err.strerror})") from None
    finally:
        os.close(fd)


def write_output(target: str, data: bytes, what: str, run_directories: tuple[str | Path, ...] = ()) -> None:
    """E-6.3: ``data`` to the path a user named: ``-`` is standard output; a character device, a FIFO or a path such
    as /dev/stdout is written as a stream (never replaced by a file); a regular file (or a new one) is written
    atomically. Refused with one line naming ``target``: an empty name, a run directory's own file (its store and
    log, results, Table 1, report, figures, config, lock, caches; ``run_directories`` count as run directories
    before they exist), a directory or any other kind of file."""
    check_output(target, what, run_directories)
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if _is_stream(target):
        _write_stream(target, data, what)
        return
    try:
        write_atomic(os.path.realpath(target), data)
    except OSError as err:
        raise CfcError(f"{what} {target}: cannot write ({err.strerror})") from None

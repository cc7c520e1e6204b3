"""Shared paths and helpers for the test suite (imported by tests; conftest.py holds only pytest hooks)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (a run's fork server, resource tracker and workers)."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_cli(argv: list[str], capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """``cfc-ref ARGV`` in process: its exit status (argparse's exits count as exits) and what it wrote to stderr."""
    from cfc_ref.cli import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def stop_when(process, condition, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it holds, then SIGSTOP ``process``'s whole process group at once (it must have been
    started with ``start_new_session=True``), so that nothing moves between seeing it hold and the signal the test
    sends next — whatever the load of the machine (issue 32: a test must not depend on timing). The caller sends
    its signal, then :func:`resume`."""
    import os
    import signal
    import time

    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline or process.poll() is not None:
            raise AssertionError("the condition never held while the process ran")
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGSTOP)


def resume(process) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    try:
        os.killpg(process.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass

"""Worker processes that behave (spec E-3.1): started from a fork server, so they inherit none of the parent's open
files (a run's lock, its results store); ended when the process that made them ends, however it ends; deaf to
Ctrl-C, which their parent handles; and a worker that cannot start says why in one line.

    pool = worker_pool(2, initializer, initargs)      # a concurrent.futures.ProcessPoolExecutor
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext

PRELOAD = ["cfc_ref.experiment.local_engine"]  # imported once by the fork server, not by every worker


def usable_cpus() -> int:
    """The CPUs this process may run on (spec E-10.5): its affinity mask where the platform has one (``taskset``, a
    container's cpuset), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_server_context() -> ForkServerContext:
    import multiprocessing

    _quiet_resource_tracker()
    context: ForkServerContext = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (the fork server and every worker share it) with its own warnings
    off. When a run is killed it cleans up the pools' semaphores, as it should, and would print a "leaked semaphore
    objects" warning that nobody can act on (issue 31)."""
    import sys
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # the process-wide tracker multiprocessing uses
    if getattr(tracker, "_fd", None) is not None:
        return  # already running (with whatever standard error it was started with)
    quiet = "ignore:resource_tracker:UserWarning"  # its -W option: its "leaked …" warnings, nothing else
    sys.warnoptions.append(quiet)
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions.remove(quiet)


def start_fork_server() -> None:
    """Start the fork server now rather than with the first pool: it imports ``PRELOAD`` (torch, PyAV, the package;
    about 1.5 s) in its own process while this one goes on preparing the run (E-10.3). It ends with this process."""
    from multiprocessing import forkserver

    _fork_server_context()
    forkserver.ensure_running()


def start_errors() -> Any:
    """Where a worker whose initializer fails leaves its one-line reason: a pipe between the processes (nothing on
    disk, so a run killed at any moment leaves no file behind, E-6.1); read it with :func:`start_error`."""
    return _fork_server_context().SimpleQueue()


def worker_pool(workers: int, initializer: Callable | None = None, initargs: tuple = (),
                errors: Any = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes as described above; ``errors`` (from :func:`start_errors`) receives the
    one-line reason a worker's initializer failed."""
    context = _fork_server_context()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(initializer, initargs, os.getpid(), errors))


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """End every worker at once (an interrupted or failed sweep leaves nothing running)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def start_error(errors: Any) -> str | None:
    """The reason a worker could not start, if one said so."""
    try:
        return str(errors.get()).strip() or None if not errors.empty() else None
    except (OSError, EOFError, ValueError):
        return None


def _start_worker(initializer: Callable | None, initargs: tuple, parent: int, errors: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with(parent)
    if initializer is None:
        return
    try:
        initializer(*initargs)
    except Exception as err:  # E-6.1: the cause of a worker that cannot start, for the parent to name in one line
        from cfc_ref.errors import CfcError

        message = str(err) if isinstance(err, CfcError) else f"a worker could not start: {type(err).__name__}: {err}"
        try:
            if errors is not None:
                errors.put(message)  # written to the pipe before the process ends
        finally:
            os._exit(1)  # no traceback: the parent says why


def end_with(pid: int) -> None:
    """A daemon thread that ends this process when process ``pid`` ends. A worker's parent is the fork server, which
    itself lives as long as any worker does, so the process that made the pool is watched directly (a pidfd where
    the kernel has them, else a poll)."""

    def watch() -> None:
        try:
            import select

            fd = os.pidfd_open(pid)
            select.select([fd], [], [])  # readable when the process has ended
        except (AttributeError, OSError):
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="cfc-ref parent watch", daemon=True).start()

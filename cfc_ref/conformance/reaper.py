"""Every process an adapter started, found and ended (spec C-2.5: nothing is left running).

An adapter is started in a session of its own, so killing its process group ends what it forks plainly. A child
that calls ``setsid`` (or ``setpgid``) leaves that group, and once its parent exits, the kernel hands it to the
nearest *child subreaper* — by default init, where nobody would find it. So the harness makes itself a subreaper
(Linux ``PR_SET_CHILD_SUBREAPER``, through ``prctl``) and marks the adapter's environment with a token that every
descendant inherits; ending an adapter then ends, until none is left:

- the adapter's process group,
- every process below the adapter in the process tree (read from ``/proc``, taken before anything is killed),
- every process whose environment carries the adapter's token (a ``setsid`` child, wherever it was reparented),

and reaps those of them that were handed to the harness. Elsewhere than Linux only the process group is ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

TOKEN_VARIABLE = "CFC_ADAPTER_TOKEN"
PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")
_subreaper = False


def become_subreaper() -> bool:
    """Make this process the child subreaper of everything it starts (Linux; once per process)."""
    global _subreaper
    if _subreaper:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def new_token() -> str:
    return uuid.uuid4().hex


def _parents() -> dict[int, int]:
    """pid → parent pid of every process visible in /proc."""
    parents = {}
    for entry in _PROC.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (comm) ": state, ppid, …
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    return parents


def _carries(pid: int, token: str) -> bool:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"{TOKEN_VARIABLE}={token}".encode() in environ.split(b"\0")


def tree(root: int, token: str | None = None) -> set[int]:
    """The processes below ``root``, and every process carrying ``token``, except this one and ``root`` (which its
    ``Popen`` reaps)."""
    parents = _parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    if token:
        found |= {pid for pid in parents if _carries(pid, token)}
    return found - {os.getpid(), root}


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _reap(pids: set[int]) -> None:
    """Collect the exit status of those of ``pids`` that are (now) children of this process."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def end_all(root: int, token: str | None, rounds: int = 20) -> None:
    """End ``root``'s process group, its descendants and every process with ``token``; a process forking while it
    is ended is found in the next round. Those handed to this process (the subreaper) are reaped."""
    ended: set[int] = set()
    for _ in range(rounds):
        pids = tree(root, token) if _PROC.is_dir() else set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGKILL)
        for pid in pids:
            _kill(pid)
        ended |= pids
        if not pids:
            break
        time.sleep(0.01)
    for _ in range(50):  # SIGKILL is delivered asynchronously: reap each as it dies
        _reap(ended)
        ended = {pid for pid in ended if (_PROC / str(pid)).exists() and _is_child(pid)}
        if not ended:
            return
        time.sleep(0.01)


def _is_child(pid: int) -> bool:
    return _parents().get(pid) == os.getpid()

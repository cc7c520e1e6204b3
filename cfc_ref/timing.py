"""Seconds per stage of a run (spec E-10): where the time of a sweep goes, the codec's share first — wall time and
CPU time, each labelled.

    watch = Stopwatch()
    with watch.active():                 # every ``stage()`` below, in this thread, adds to ``watch``
        with stage("coding"):
            with stage("encode"):        # nested: encode's time is not also counted as coding's
                ...
    watch.seconds                        # {"coding": exclusive wall seconds, "encode": ...}
    watch.cpu                            # {"coding": exclusive CPU seconds, "encode": ...}

CPU time comes from the operating system: the process's (all its threads: x265's own included) in a process's main
thread, as in a worker; the thread's own in any other thread (an aggregation beside the next sweep, E-10.4), so
that nothing the process does meanwhile is counted twice. A ``stage`` outside an active stopwatch costs one lookup
and records nothing, so library code (the HEVC codec) can mark its stages unconditionally.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_ACTIVE: ContextVar[Stopwatch | None] = ContextVar("cfc_ref_stopwatch", default=None)


def cpu_clock() -> Callable[[], float]:
    """The CPU clock for stages timed in this thread: the process's in the main thread, the thread's elsewhere."""
    return time.process_time if threading.current_thread() is threading.main_thread() else time.thread_time


@dataclass
class Stopwatch:
    """Exclusive wall and CPU seconds per stage name (a nested stage's time is taken out of its parent's)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _stack: list[list[float]] = field(default_factory=list)

    @contextmanager
    def active(self) -> Iterator[Stopwatch]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def add(self, seconds: Mapping[str, float], cpu: Mapping[str, float] | None = None) -> None:
        for name, value in seconds.items():
            self.seconds[name] += value
        for name, value in (cpu or {}).items():
            self.cpu[name] += value

    def as_dict(self) -> dict[str, float]:
        return dict(self.seconds)

    def cpu_dict(self) -> dict[str, float]:
        return dict(self.cpu)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` of the active stopwatch, if any."""
    watch = _ACTIVE.get()
    if watch is None:
        yield
        return
    clock = cpu_clock()
    frame = [time.perf_counter(), clock(), 0.0, 0.0]  # starts, and the wall and CPU seconds of nested stages
    watch._stack.append(frame)
    try:
        yield
    finally:
        watch._stack.pop()
        wall, cpu = time.perf_counter() - frame[0], clock() - frame[1]
        watch.seconds[name] += wall - frame[2]
        watch.cpu[name] += cpu - frame[3]
        if watch._stack:
            watch._stack[-1][2] += wall
            watch._stack[-1][3] += cpu


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from /proc (Linux); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None

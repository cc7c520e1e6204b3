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
from contextlib import AbstractContextManager, contextmanager, nullcontext
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


_UNTIMED = nullcontext()


def stage(name: str) -> AbstractContextManager[None]:
    """Time the block as stage ``name`` of the active stopwatch, if any (else a shared do-nothing context: no
    generator is made, so a stage costs a lookup where nothing is timed)."""
    watch = _ACTIVE.get()
    return _UNTIMED if watch is None else _timed(watch, name)


@contextmanager
def _timed(watch: Stopwatch, name: str) -> Iterator[None]:
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


@dataclass
class SettingSeconds:
    """Wall seconds per setting and stage (spec E-15.3): work done for one setting charged to it whole, work shared by
    several split equally among them, so that per stage the charges add up to what the stopwatch measured.

    shares = SettingSeconds(watch)
    with shares.charge(["max_17-8bit-qp32", "max_17-8bit-qp37"]):     # the stages this block adds to ``watch``,
        ...                                                           # half to each
    shares.add({"front": 0.2}, ["max_17-8bit-qp32"])                  # seconds measured elsewhere (a Ray actor)
    """

    watch: Stopwatch | None = None
    charged: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, seconds: Mapping[str, float], keys: list[str] | tuple[str, ...]) -> None:
        """``seconds`` per stage, split equally among ``keys`` (none: nobody is charged)."""
        for key in keys:
            row = self.charged.setdefault(key, {})
            for name, value in seconds.items():
                row[name] = row.get(name, 0.0) + value / len(keys)

    def merge(self, other: Mapping[str, Mapping[str, float]]) -> None:
        """Charges made elsewhere, per setting (each charged whole to its own)."""
        for key, seconds in other.items():
            self.add(seconds, [key])

    @contextmanager
    def charge(self, keys: list[str] | tuple[str, ...]) -> Iterator[None]:
        """Split what the block adds to the stopwatch's stages among ``keys``; blocks do not nest."""
        assert self.watch is not None
        before = dict(self.watch.seconds)
        try:
            yield
        finally:
            self.add({name: value - before.get(name, 0.0) for name, value in self.watch.seconds.items()
                      if value != before.get(name, 0.0)}, keys)


def stage_totals(charged: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Per stage, the seconds charged to all settings together (E-15.3: what the stopwatches measured)."""
    totals: dict[str, float] = defaultdict(float)
    for seconds in charged.values():
        for name, value in seconds.items():
            totals[name] += value
    return dict(totals)

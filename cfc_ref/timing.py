"""Seconds per stage of a run (spec E-10): where the time of a sweep goes, the codec's share first.

    watch = Stopwatch()
    with watch.active():                 # every ``stage()`` below, in this thread, adds to ``watch``
        with stage("coding"):
            with stage("encode"):        # nested: encode's time is not also counted as coding's
                ...
    watch.seconds                        # {"coding": exclusive seconds, "encode": ...}

A ``stage`` outside an active stopwatch costs one lookup and records nothing, so library code (the HEVC codec) can
mark its stages unconditionally.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_ACTIVE: ContextVar[Stopwatch | None] = ContextVar("cfc_ref_stopwatch", default=None)


@dataclass
class Stopwatch:
    """Exclusive seconds per stage name (a nested stage's time is taken out of its parent's)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _stack: list[list[float]] = field(default_factory=list)

    @contextmanager
    def active(self) -> Iterator[Stopwatch]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def add(self, other: Mapping[str, float]) -> None:
        for name, value in other.items():
            self.seconds[name] += value

    def as_dict(self) -> dict[str, float]:
        return dict(self.seconds)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` of the active stopwatch, if any."""
    watch = _ACTIVE.get()
    if watch is None:
        yield
        return
    frame = [time.perf_counter(), 0.0]  # start, seconds spent in nested stages
    watch._stack.append(frame)
    try:
        yield
    finally:
        watch._stack.pop()
        elapsed = time.perf_counter() - frame[0]
        watch.seconds[name] += elapsed - frame[1]
        if watch._stack:
            watch._stack[-1][1] += elapsed

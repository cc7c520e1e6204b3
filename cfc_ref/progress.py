"""Progress of long loops that reads well on a terminal and in a log (tqdm either way).

On a terminal: tqdm's live bar. In a pipe or CI log: one plain line every 5 % (and the last), never a bar redraw.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
LOG_STEPS = 20  # lines per loop in a log: one every 5 %
LOG_FORMAT = ("{desc}: {n_fmt}/{total_fmt} ({percentage:.0f} %), {rate_fmt}, elapsed {elapsed}, ETA {remaining}"
              "{postfix}")


class _Lines:
    """A stream for tqdm that turns each status redraw ('\\r…') into one line of the underlying stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip("\n")
        if text.strip():
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(total: int, desc: str, unit: str = "it") -> tqdm:
    """A bar to ``update()`` by hand (a context manager): live on a terminal, a line every 5 % in a log."""
    stream = sys.stderr
    if stream.isatty():
        return tqdm(total=total, desc=desc, unit=unit, file=stream)
    return tqdm(total=total, desc=desc, unit=unit, file=_Lines(stream), mininterval=0,
                miniters=max(1, total // LOG_STEPS), maxinterval=float("inf"), bar_format=LOG_FORMAT)


def progress(items: Iterable[T], total: int, desc: str, unit: str = "it") -> Iterator[T]:
    with progress_bar(total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update(1)


class JobProgress:
    """One progress line for a whole job of several sweeps (spec E-10.2): the phase it is in, units done of the
    job's total, and an ETA for the whole job, not only the current sweep. ``total`` counts the units still to
    compute (a resumed run's finished units are not work); None takes the first sweep's."""

    def __init__(self, total: int | None = None, enabled: bool = True) -> None:
        self.total, self.enabled = total, enabled
        self.bar: tqdm | None = None
        self.began = time.perf_counter()
        self.label = ""

    def named(self, label: str) -> JobProgress:
        """Call the next sweep ``label`` (e.g. "default weights", "re-trained max 11") instead of its config name."""
        self.label = label
        return self

    def _line(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None and sys.stderr.isatty():
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def start_sweep(self, name: str, units: int, done: int, workers: int) -> None:
        """A sweep begins: say what it will compute, and whether it resumes."""
        name = self.label or name
        if self.total is None:
            self.total = units - done
        todo = units - done
        resumed = f"; resuming: {done:,} of {units:,} units already finished" if done else ""
        if not todo:
            self._line(f"{name}: nothing to compute, all {units:,} units already finished")
            return
        self._line(f"{name}: {todo:,} units to compute on {workers} worker{'s' if workers != 1 else ''}{resumed}")
        label = f"job [{name}]"  # the count is the whole job's (E-10.2), the label says which sweep runs now
        if self.enabled and self.bar is None and self.total:
            self.bar = progress_bar(self.total, label, "unit")
        elif self.bar is not None:
            self.bar.set_description_str(label, refresh=True)

    def phase(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(text, refresh=True)
        if not (self.bar is not None and sys.stderr.isatty()):
            self._line(text)

    def advance(self, units: int, failed: int = 0) -> None:
        """``units`` more done, ``failed`` of them failed (E-8.3: the failed count stays on the line)."""
        self.failed = getattr(self, "failed", 0) + failed
        if self.bar is not None:
            if self.failed:
                self.bar.set_postfix_str(f"failed {self.failed}", refresh=False)
            self.bar.update(units)

    def message(self, text: str) -> None:
        self._line(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

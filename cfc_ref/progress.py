"""Progress of long loops that reads well on a terminal and in a log (tqdm either way).

On a terminal: tqdm's live bar. In a pipe or CI log: one plain line every 5 % (and the last), never a bar redraw.
"""

from __future__ import annotations

import sys
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

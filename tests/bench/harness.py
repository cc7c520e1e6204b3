"""The benchmark harness (spec C-3): a group's paths timed in interleaved rounds beside an A/A pair, on a CPU clock,
and an injected slowdown to prove that the tracker catches one.

    group = Group("glue decode 64x128 8-bit QP 27", {"baseline": bare, "cfc_ref HevcCodec.decode": ours}, number=25)
    rows = measure(group)          # {"baseline": {...}, "baseline (A/A)": {...}, "cfc_ref HevcCodec.decode": {...}}

Every round times each path once (``number`` calls), in an order that rotates from round to round, so a change of
load during the group touches every path alike; the baseline is timed a second time as ``baseline (A/A)``, a path of
its own, whose ratio shows what the method makes of two identical paths. ``clock="cpu"`` reads the CPU seconds of
this process and of its waited-for children (a busy machine slows a path's wall time, hardly its CPU time);
``clock="wall"`` is for parallel paths, whose point is the elapsed time.

``CFC_BENCH_SLOWDOWN="<part of a row name>=0.2"`` (several separated by commas) makes every matching path do 20 %
more of its own work: its calls are batched so that a fifth more of them can run inside each timing (and inside each
instruction count) while the row still divides by the calls it was asked for. It exists to test the tracker
(``tools/bench_history.py compare`` must then fail, naming the row) and is recorded in the run's record.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cfc_ref.benchhistory import group_rows

BASELINE = "baseline"
AA = "baseline (A/A)"
SLOWDOWN_ENV = "CFC_BENCH_SLOWDOWN"
RESULTS: dict[str, dict[str, dict]] = {}  # group -> rows, for the terminal summary and the history record
COUNTER: dict[str, str] = {}  # "name": what counted the instructions (test_bench_counts.py sets it)


def cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of its children that were waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


CLOCKS: dict[str, Callable[[], float]] = {"cpu": cpu_seconds, "wall": time.perf_counter}


@dataclass
class Group:
    """Paths that do the same job, the first the ``baseline`` that the others are divided by."""

    name: str
    paths: dict[str, Callable[[], object]]
    number: int = 1  # calls per timing
    rounds: int = 9  # at least; rounded up so that every path takes every place in the order equally often
    clock: str = "cpu"
    parallel: bool = False  # several processes: its ratio depends on the free cores (compared at like load only)
    check: Callable[[dict[str, object]], None] | None = None  # asserts on one output of every path
    warm_for_counts: bool = True  # False: an earlier counted group of the same process calls the same code
    notes: dict[str, str] = field(default_factory=dict)  # row -> what it measures, kept in the record
    rebuild: Callable[[], dict[str, Callable[[], object]]] | None = None  # fresh paths for every round (warmed)
    floor: float | None = None  # the least move of a time ratio that compare flags, where TIME_FLOOR is too little

    def __post_init__(self) -> None:
        if next(iter(self.paths)) != BASELINE:
            raise ValueError(f"{self.name}: the first path must be {BASELINE!r}")

    def with_aa(self, paths: dict[str, Callable[[], object]] | None = None) -> dict[str, Callable[[], object]]:
        """The paths with the baseline once more as its own A/A path, just after it."""
        paths = self.paths if paths is None else paths
        out = {BASELINE: paths[BASELINE], AA: paths[BASELINE]}
        out.update({name: fn for name, fn in paths.items() if name != BASELINE})
        return out


def slowdowns() -> dict[str, float]:
    """The injected slowdowns of ``CFC_BENCH_SLOWDOWN``: {part of a row name: fraction}."""
    out = {}
    for item in filter(None, (part.strip() for part in os.environ.get(SLOWDOWN_ENV, "").split(","))):
        target, _, fraction = item.rpartition("=")
        if not target or not 0 < float(fraction) <= 10:
            raise ValueError(f"{SLOWDOWN_ENV}: expected '<part of a row name>=<fraction>', got {item!r}")
        out[target] = float(fraction)
    return out


def calls(row: str, number: int) -> tuple[int, int]:
    """(calls it is asked for, extra calls of an injected slowdown) per timing of ``row``; with a slowdown the batch
    grows to the least multiple of ``number`` whose extra fraction is a whole number of calls."""
    fraction = next((f for target, f in slowdowns().items() if target in row), 0.0)
    if not fraction:
        return number, 0
    for k in range(1, 101):
        extra = number * k * fraction
        if abs(extra - round(extra)) < 1e-9:
            return number * k, round(extra)
    raise ValueError(f"{SLOWDOWN_ENV}: {fraction} is not a fraction of at most 100 calls")


def _busy_cores_seconds() -> float:
    """CPU seconds every core of the machine spent busy so far (/proc/stat), 0 where unreadable."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(group: Group) -> dict[str, dict]:
    """Time ``group`` (one warm-up call of each path first, checked by ``group.check``) and record its rows."""
    paths = group.with_aa()
    outputs = {name: fn() for name, fn in paths.items()}  # warm-up, and the outputs to check
    if group.check is not None:
        group.check(outputs)
    clock = CLOCKS[group.clock]
    plan = {name: calls(f"{group.name} / {name}", group.number) for name in paths}
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    busy0, own0, wall0 = _busy_cores_seconds(), cpu_seconds(), time.perf_counter()
    rounds = -(-group.rounds // len(names)) * len(names)
    for r in range(rounds):
        if group.rebuild is not None and r:
            paths = group.with_aa(group.rebuild())
            for fn in dict.fromkeys(paths.values()):
                fn()  # warm (outside the timings)
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn, (asked, extra) = paths[name], plan[name]
            start = clock()
            for _ in range(asked + extra):
                fn()
            seconds[name].append((clock() - start) / asked)
    wall = time.perf_counter() - wall0
    load = max(0.0, (_busy_cores_seconds() - busy0 - (cpu_seconds() - own0)) / wall) if wall > 0 else 0.0
    rows = group_rows(seconds, BASELINE, AA)
    for name, row in rows.items():
        row.update(clock=group.clock, load=round(load, 2))
        if group.parallel:
            row["parallel"] = True
        if group.floor is not None:
            row["floor"] = group.floor
        if name in group.notes:
            row["note"] = group.notes[name]
    RESULTS.setdefault(group.name, {}).update(rows)
    return rows


def merge_counts(counts: dict[str, dict[str, float]]) -> None:
    """Instruction counts per call (``{group: {path: count}}``) into the recorded rows, with each count's ratio to
    its group's baseline count."""
    for group, paths in counts.items():
        rows = RESULTS.setdefault(group, {})
        base = paths.get(BASELINE)
        for name, count in paths.items():
            row = rows.setdefault(name, {})
            row["instructions"] = count
            if base:
                row["instructions_ratio"] = count / base


def summary_lines() -> list[str]:
    lines = []
    for group, rows in sorted(RESULTS.items()):
        for name, row in rows.items():
            ratio = row.get("ratio", math.nan)
            noise = row.get("noise", math.nan)
            seconds = row.get("seconds", math.nan)
            text = f"{group:46} {name:38} {seconds * 1e6:11.1f} us {ratio:7.3f}x ±{100 * math.expm1(noise):5.1f} %"
            if "instructions" in row:
                text += f"  {row['instructions'] / 1e6:9.3f} M instr {row.get('instructions_ratio', math.nan):7.4f}x"
            lines.append(text)
    return lines

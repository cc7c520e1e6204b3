"""Instruction counts per call of the CPU hot paths (spec C-3.3): a count that load does not change.

``perf stat -e instructions:u`` where the machine's counters can be read (checked with ``perf stat -e
instructions:u true``; a VM often has none), else callgrind (Debian's valgrind) on the same short, fixed inputs.
``$CFC_BENCH_COUNTER`` = ``perf``, ``callgrind`` or ``none`` chooses. Under callgrind one child process runs every
path of the given groups, each between two marks on which callgrind writes its counts (``count_paths.py``); under
perf each path is counted in two child processes that call it once and three times, and the difference is the count
of two calls. Counts are per call; torch runs on one thread, so they do not depend on scheduling.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).resolve().parent / "count_paths.py"
COUNTER_ENV = "CFC_BENCH_COUNTER"
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
                 "PYTHONHASHSEED": "0"}


def perf_supported() -> bool:
    if shutil.which("perf") is None:
        return False
    try:
        done = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", "true"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and perf_count(done.stderr) is not None


def perf_count(text: str) -> int | None:
    """The instructions count of ``perf stat -x,`` output (``<not supported>`` or ``<not counted>``: None)."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].strip().isdigit():
            return int(fields[0])
    return None


def callgrind_count(path: Path) -> int:
    """The total instructions (event Ir) of one callgrind dump file."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            match = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if match:
                return int(match.group(1))
    raise RuntimeError(f"{path}: no instruction total in this callgrind file")


def counter() -> str:
    """The counter to use here: $CFC_BENCH_COUNTER, else perf where it counts, else callgrind where installed."""
    chosen = os.environ.get(COUNTER_ENV, "")
    if chosen:
        if chosen not in ("perf", "callgrind", "none"):
            raise ValueError(f"{COUNTER_ENV} must be perf, callgrind or none, got {chosen!r}")
        return chosen
    if perf_supported():
        return "perf"
    return "callgrind" if shutil.which("valgrind") else "none"


def describe(name: str) -> str:
    """The counter's name and version, for the record."""
    program = {"perf": ["perf", "--version"], "callgrind": ["valgrind", "--version"]}.get(name)
    if program is None:
        return name
    try:
        return f"{name} ({subprocess.run(program, capture_output=True, text=True, timeout=30).stdout.strip()})"
    except (OSError, subprocess.TimeoutExpired):
        return name


def _child(spec: Path, out: Path, *extra: str, prefix: tuple[str, ...] = (), env: dict | None = None,
           timeout: float = 1800) -> subprocess.CompletedProcess:
    done = subprocess.run([*prefix, sys.executable, str(CHILD), str(spec), str(out), *extra], capture_output=True,
                          text=True, env={**os.environ, **SINGLE_THREAD, **(env or {})}, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the counting child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def count(refs: list[dict], workdir: Path, name: str, env: dict | None = None) -> dict[str, dict[str, float]]:
    """Instructions per call, ``{group: {path: count}}``, of every path (with the A/A) of the groups ``refs``."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = workdir / "spec.json"
    spec.write_text(json.dumps(refs))
    counts: dict[str, dict[str, float]] = {}
    if name == "callgrind":
        dump = workdir / "cg.out"
        _child(spec, workdir / "phases.json", env=env,
               prefix=("valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", "--dump-before=getsid",
                       "--collect-systime=no", "--dump-instr=no", "--dump-line=no"))
        phases = json.loads((workdir / "phases.json").read_text())["phases"]
        dumps = sorted(workdir.glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) != 2 * len(phases):
            raise RuntimeError(f"callgrind wrote {len(dumps)} dumps for {len(phases)} phases: something else called "
                               "getsid, so the phases cannot be told apart")
        for (group, path, calls), dump_file in zip(phases, dumps[1::2], strict=True):
            counts.setdefault(group, {})[path] = callgrind_count(dump_file) / calls
        return counts
    if name == "perf":
        listing = workdir / "list.json"
        _child(spec, listing, "--repeat", "0", env=env)
        for index, (group, path, _) in enumerate(_indexed(json.loads(listing.read_text())["phases"], refs)):
            totals = []
            for repeat in (1, 3):
                out = workdir / f"perf-{index}-{repeat}.txt"
                _child(spec, workdir / "phase.json", "--only", str(group[0]), path, "--repeat", str(repeat), env=env,
                       prefix=("perf", "stat", "-x,", "-e", "instructions:u", "-o", str(out), "--"))
                value = perf_count(out.read_text())
                if value is None:
                    raise RuntimeError(f"perf counted no instructions: {out.read_text()[-500:]}")
                calls = json.loads((workdir / "phase.json").read_text())["phases"][0][2]
                totals.append((value, calls))
            (low, low_calls), (high, high_calls) = totals
            counts.setdefault(group[1], {})[path] = (high - low) / (high_calls - low_calls)
        return counts
    raise ValueError(f"no counter {name!r}")


def _indexed(phases: list, refs: list[dict]) -> list[tuple[tuple[int, str], str, int]]:
    """The perf listing's phases with the index of their group in ``refs`` (phases come group by group)."""
    out, index, last = [], -1, None
    for group, path, calls in phases:
        if group != last:
            index, last = index + 1, group
        out.append(((index, group), path, calls))
    return out

"""Benchmark history (spec C-3): every ``tox -e bench`` run saved with its machine, each row with the noise measured
in that run, compared with the machine's previous run so that only a move beyond the noise is flagged, and plotted.

A record is ``benchmarks/history/<machine>/<UTC time>.json``::

    {"format": 2, "suite": "bench", "machine": {...}, "when", "commit", "versions": {...}, "counter": "callgrind …",
     "ratios": {"<group> / <name>": {"seconds", "ratio", "noise", "rounds", "clock",
                                      "instructions", "instructions_ratio", "parallel", "load", "floor"}}}

``ratio`` is the median over interleaved rounds of the row's time over its group's baseline in the same round
(C-3.1); ``noise`` is how far that ratio could move by chance, measured in the same run (C-3.2): three standard
errors of the median of the rounds' log ratios, plus the group's A/A bias (the baseline timed a second time as if it
were another path: its ratio should be 1). ``instructions`` is a count per call that load does not change (C-3.3).
Runs of different machines are never compared.
"""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.fileio import write_atomic

DEFAULT_DIR = Path("benchmarks/history")
FORMAT = 2
Z = 3.0  # noise: this many standard errors of the row's median (C-3.2)
# A time ratio is flagged only beyond its noise and beyond this (C-3.2): what one run cannot see. Measured on this
# project's shared 2-core VM, two runs of one commit moved a ratio of paths that use memory differently (the ×1.0
# network's back end over the whole network: weights streamed vs arithmetic) by up to 12 % with no change of its
# within-run noise, as the neighbours' load changed between the runs; counts (C-3.3) catch the small moves.
TIME_FLOOR = 0.15
COUNT_TOLERANCE = 0.02  # an instruction count is flagged when it grew by more than this (C-3.3)
LOAD_TOLERANCE = 0.5  # a parallel row is compared only between runs whose other load differs by less (cores)


def machine_info() -> dict:
    """What identifies the machine a run was measured on: CPU model and count, GPU if any."""
    try:
        import cpuinfo  # py-cpuinfo, which pytest-benchmark brings

        cpu = cpuinfo.get_cpu_info().get("brand_raw", "") or platform.processor()
    except ImportError:
        cpu = platform.processor()
    import os

    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {"cpu": cpu or "unknown CPU", "cores": os.cpu_count(), "gpu": gpu, "machine": platform.machine(),
            "python": platform.python_version()}


def machine_key(info: dict) -> str:
    text = f"{info['cpu']}-{info['cores']}cpu-{info['gpu'] or 'nogpu'}"
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def save_run(ratios: dict, directory: str | Path = DEFAULT_DIR, info: dict | None = None,
             when: datetime | None = None, **extra: object) -> Path:
    """Write one run's rows (and ``extra`` keys: versions, counter) as a record of this machine."""
    info = info or machine_info()
    moment = when or datetime.now(timezone.utc)
    path = Path(directory) / machine_key(info) / f"{moment.strftime('%Y%m%dT%H%M%SZ')}.json"
    record = {"format": FORMAT, "suite": "bench", "machine": info, "when": moment.isoformat(), "commit": _commit(),
              **extra, "ratios": ratios}
    write_atomic(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def load_runs(directory: str | Path, key: str) -> list[dict]:
    """Every run of one machine, oldest first."""
    runs = []
    for path in sorted((Path(directory) / key).glob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CfcError(f"{path}: not a benchmark record ({err})") from None
        if not isinstance(run, dict) or not isinstance(run.get("ratios"), dict):
            raise CfcError(f"{path}: not a benchmark record (no ratios)")
        runs.append(run)
    return runs


def suite_of(run: Mapping) -> str:
    """Which suite a record comes from: ``bench`` (tox -e bench, also before format 2) or ``gpu-bench``."""
    return str(run.get("suite") or ("gpu-bench" if "steps" in run else "bench"))


def last_pair(runs: Sequence[dict]) -> tuple[dict, dict] | None:
    """The latest run and the run of the same suite before it, or None."""
    if not runs:
        return None
    latest = runs[-1]
    earlier = [run for run in runs[:-1] if suite_of(run) == suite_of(latest)]
    return (earlier[-1], latest) if earlier else None


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        raise ValueError("median of nothing")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def median_noise(ratios: Sequence[float]) -> float:
    """Z standard errors of the median of ``log(ratios)``, estimated robustly (1.4826 × MAD for σ, and the median's
    standard error 1.2533 σ / √n); 0 for fewer than three rounds would be a lie, so it is infinite there."""
    if len(ratios) < 3:
        return math.inf
    logs = [math.log(r) for r in ratios]
    centre = _median(logs)
    sigma = 1.4826 * _median([abs(x - centre) for x in logs])
    return Z * 1.2533 * sigma / math.sqrt(len(logs))


def group_rows(seconds: Mapping[str, Sequence[float]], baseline: str, aa: str) -> dict[str, dict]:
    """The rows of one group from each path's per-call seconds in interleaved rounds (round i of every path measured
    back to back): ``ratio`` is the median of the rounds' ratios to the baseline of the same round, ``noise`` its
    :func:`median_noise` plus the A/A bias ``|log ratio(aa)|``; the baseline row carries the A/A row's noise."""
    base = seconds[baseline]
    if any(len(times) != len(base) for times in seconds.values()) or any(t <= 0 for t in base):
        raise ValueError("every path needs one positive time per round")
    per_round = {name: [t / b for t, b in zip(times, base, strict=True)] for name, times in seconds.items()}
    bias = abs(math.log(_median(per_round[aa])))
    rows = {}
    for name, ratios in per_round.items():
        rows[name] = {"seconds": _median(seconds[name]), "ratio": math.exp(_median([math.log(r) for r in ratios])),
                      "noise": median_noise(ratios) + bias, "rounds": len(ratios)}
    rows[baseline] = dict(rows[baseline], noise=rows[aa]["noise"])
    return rows


@dataclass(frozen=True)
class Change:
    """One row's move between two runs, in one metric (``time`` ratio or ``instructions`` per call)."""

    name: str
    metric: str
    before: float
    after: float
    band: float  # a relative increase beyond this is flagged

    @property
    def change(self) -> float:
        return self.after / self.before - 1.0

    @property
    def flagged(self) -> bool:
        return self.change > self.band


@dataclass
class Comparison:
    changes: list[Change] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # row -> why it was not compared
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Change]:
        return [c for c in self.changes if c.flagged]


def time_band(before: Mapping, after: Mapping) -> float:
    """C-3.2: the relative move of a time ratio that counts: both runs' noise together, at least TIME_FLOOR or the
    row's own floor (recorded with it: paths whose ratio moves between processes more than within one)."""
    floor = max(TIME_FLOOR, float(before.get("floor", 0)), float(after.get("floor", 0)))
    return max(floor, math.expm1(math.hypot(float(before["noise"]), float(after["noise"]))))


def compare(previous: Mapping, latest: Mapping) -> Comparison:
    """Every row both runs have, by time ratio (when both recorded its noise) and by instruction count (when both
    counted it); rows that cannot be compared are listed with the reason."""
    out = Comparison()
    for label, run in (("previous", previous), ("latest", latest)):
        if run.get("slowdown_injected"):
            out.notes.append(f"the {label} run had a slowdown injected: {run['slowdown_injected']}")
    old_versions, new_versions = previous.get("versions") or {}, latest.get("versions") or {}
    for name in sorted(set(old_versions) & set(new_versions)):
        if old_versions[name] != new_versions[name]:
            out.notes.append(f"{name} changed: {old_versions[name]} -> {new_versions[name]} (counts may move with it)")
    for name, row in latest["ratios"].items():
        old = previous["ratios"].get(name)
        if not isinstance(old, Mapping):
            continue
        if "noise" not in row or "noise" not in old or not old.get("ratio"):
            out.skipped[name] = "no noise recorded in both runs"
        elif row.get("parallel") and abs(float(row.get("load", 0)) - float(old.get("load", 0))) > LOAD_TOLERANCE:
            out.skipped[name] = (f"parallel, and the machine's other load differed ({old.get('load', 0):.1f} -> "
                                 f"{row.get('load', 0):.1f} cores busy)")
        else:
            out.changes.append(Change(name, "time", float(old["ratio"]), float(row["ratio"]), time_band(old, row)))
        if row.get("instructions") and old.get("instructions"):
            out.changes.append(Change(name, "instructions", float(old["instructions"]), float(row["instructions"]),
                                      COUNT_TOLERANCE))
    return out


def report(comparison: Comparison, before: Mapping, after: Mapping) -> Iterable[str]:
    """The lines ``tools/bench_history.py compare`` prints: every change, the largest share of its band first,
    flagged ones marked."""
    for note in comparison.notes:
        yield f"note: {note}"
    for c in sorted(comparison.changes, key=lambda c: -c.change / c.band):
        flag = "WORSE" if c.flagged else "     "
        unit = "instr" if c.metric == "instructions" else "time "
        yield (f"{flag} {unit} {c.name:78} {c.before:12.4g} -> {c.after:12.4g}  {100 * c.change:+6.1f} %  "
               f"(beyond {100 * c.band:.1f} % counts)")
    for name, why in sorted(comparison.skipped.items()):
        yield f"      not compared: {name}: {why}"
    flagged = comparison.flagged
    times = [c for c in comparison.changes if c.metric == "time"]
    counts = [c for c in comparison.changes if c.metric == "instructions"]
    yield (f"{sum(c.metric == 'time' for c in flagged)} of {len(times)} time ratios moved beyond their noise, "
           f"{sum(c.metric == 'instructions' for c in flagged)} of {len(counts)} instruction counts grew by more "
           f"than {100 * COUNT_TOLERANCE:.0f} % ({str(before['when'])[:19]} -> {str(after['when'])[:19]})")
    for c in flagged:
        yield f"WORSE: {c.name} ({c.metric} {100 * c.change:+.1f} %, beyond {100 * c.band:.1f} %)"


def plot(runs: list[dict], path: str | Path, title: str) -> Path:
    """Each row's ratio over the runs, with its noise as an error bar where recorded."""
    from cfc_ref.plotting import pyplot

    plt = pyplot()

    names = sorted({name for run in runs for name in run["ratios"]})
    fig, ax = plt.subplots(figsize=(9, 5))
    for name in names:
        points = [(i, run["ratios"][name]) for i, run in enumerate(runs) if name in run["ratios"]]
        xs = [p[0] for p in points]
        ys = [float(p[1]["ratio"]) for p in points]
        noise = [min(float(p[1].get("noise", 0.0)), 1.0) for p in points]
        low = [y - y * math.exp(-n) for y, n in zip(ys, noise, strict=True)]
        high = [y * math.exp(n) - y for y, n in zip(ys, noise, strict=True)]
        ax.errorbar(xs, ys, yerr=[low, high], fmt="o-", ms=3, lw=0.8, capsize=2, label=name)
    ax.set_xticks(range(len(runs)), [run["when"][:16] + "\n" + run.get("commit", "") for run in runs], fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("ratio to the run's own baseline (lower is better)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if len(names) <= 40:
        ax.legend(fontsize=5, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)

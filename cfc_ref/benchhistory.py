"""Benchmark history (spec C-3.2): every ``tox -e bench`` run saved with its machine, compared with the last run of
the same machine, and plotted.

A record is ``benchmarks/history/<machine>/<UTC time>.json``: ``{"machine": {...}, "when", "commit", "ratios":
{"<group> / <name>": {"seconds", "ratio"}}}``. Ratios are to a baseline measured in the same run (C-3.1), so runs of
one machine compare; runs of different machines are kept apart.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.fileio import write_atomic

DEFAULT_DIR = Path("benchmarks/history")
WORSE = 0.10  # a ratio more than 10 % above the previous run's is flagged


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
             when: datetime | None = None) -> Path:
    info = info or machine_info()
    moment = when or datetime.now(timezone.utc)
    path = Path(directory) / machine_key(info) / f"{moment.strftime('%Y%m%dT%H%M%SZ')}.json"
    record = {"machine": info, "when": moment.isoformat(), "commit": _commit(), "ratios": ratios}
    write_atomic(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def load_runs(directory: str | Path, key: str) -> list[dict]:
    """Every run of one machine, oldest first."""
    runs = []
    for path in sorted((Path(directory) / key).glob("*.json")):
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CfcError(f"{path}: not a benchmark record ({err})") from None
    return runs


@dataclass(frozen=True)
class Change:
    name: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after / self.before - 1.0


def compare(previous: dict, latest: dict, threshold: float = WORSE) -> tuple[list[Change], list[Change]]:
    """(every common ratio's change, the ones worse by more than ``threshold``)."""
    changes = [Change(name, previous["ratios"][name]["ratio"], row["ratio"]) for name, row in latest["ratios"].items()
               if name in previous["ratios"] and previous["ratios"][name]["ratio"] > 0]
    return changes, [c for c in changes if c.change > threshold]


def plot(runs: list[dict], path: str | Path, title: str) -> Path:
    from cfc_ref.plotting import pyplot

    plt = pyplot()

    names = sorted({name for run in runs for name in run["ratios"]})
    fig, ax = plt.subplots(figsize=(9, 5))
    for name in names:
        points = [(i, run["ratios"][name]["ratio"]) for i, run in enumerate(runs) if name in run["ratios"]]
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", ms=3, label=name)
    ax.set_xticks(range(len(runs)), [run["when"][:16] + "\n" + run.get("commit", "") for run in runs], fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("ratio to the run's own baseline (lower is better)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=5, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)

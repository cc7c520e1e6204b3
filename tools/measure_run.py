#!/usr/bin/env python3
"""Measure a command the way the README states the main job's cost: wall time, CPU time of every process it starts
(workers and fork servers included), peak resident memory (summed over its processes, sampled), and what it
leaves in a directory (bytes, files).

    python tools/measure_run.py --dir runs/x -- cfc-ref run --output runs/x
    python tools/measure_run.py --dir runs/x --pin -- cfc-ref run --output runs/x   # also writes the README's pin
    python tools/measure_run.py --dir runs/bench-real-size --pin real-size -- \
        cfc-ref run tools/configs/bench-real-size.json

``--pin`` (with ``--dir`` a run directory) writes the measurement, the job's own timing from its results store
(``meta.job_timing``, spec E-10.1), the machine and the versions to ``benchmarks/main-job/<machine>.json``: the file
the README's cost paragraph is written from and checked against (``tests/test_readme_numbers.py``);
``--pin real-size``: ``benchmarks/real-size/<machine>.json``, the real-size job's (issue 34), whose projection to
VOC2007 the README and docs/distributed.md quote.

CPU time comes from a cpuacct cgroup (Linux cgroup v1, needs root) when one can be made, so that processes the
command's children start are counted too; otherwise from the command's waited-for children (resource.getrusage),
which misses processes that are not waited for — the output says which. Needs psutil (the test extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil  # the test extra has it

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _cgroup() -> Path | None:
    group = CPUACCT / f"cfc-measure-{os.getpid()}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def _rss(pids: list[int]) -> int:
    """Resident bytes of these processes now (those that ended meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return total


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    try:
        process = psutil.Process(root)
        return [root] + [child.pid for child in process.children(recursive=True)]
    except psutil.Error:
        return []


def measure(command: list[str], directory: Path | None) -> dict:
    group = _cgroup()
    began = time.perf_counter()
    process = subprocess.Popen(command, preexec_fn=(lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
                               if group else None)
    peak_sum = peak_one = 0
    while process.poll() is None:
        pids = [int(p) for p in (group / "cgroup.procs").read_text().split()] if group else _tree(process.pid)
        peak_sum = max(peak_sum, _rss(pids))
        peak_one = max(peak_one, max((_rss([p]) for p in pids), default=0))
        time.sleep(0.2)
    wall = time.perf_counter() - began
    result = {"command": command, "exit": process.returncode, "wall_s": round(wall, 2),
              "peak_rss_sum_mb": round(peak_sum / 1e6), "peak_rss_largest_process_mb": round(peak_one / 1e6),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    if group:
        deadline = time.time() + 30  # processes the command left behind (a fork server ending) are waited for
        while (group / "cgroup.procs").read_text().split() and time.time() < deadline:
            time.sleep(0.1)
        left = (group / "cgroup.procs").read_text().split()
        result["processes_left_behind"] = len(left)
        usage = dict(line.split() for line in (group / "cpuacct.stat").read_text().splitlines())
        ticks = os.sysconf("SC_CLK_TCK")
        result.update(cpu_user_s=round(int(usage["user"]) / ticks, 1),
                      cpu_system_s=round(int(usage["system"]) / ticks, 1), cpu_source="cgroup cpuacct (every process)")
        if not left:
            group.rmdir()
    else:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.update(cpu_user_s=round(usage.ru_utime, 1), cpu_system_s=round(usage.ru_stime, 1),
                      cpu_source="getrusage of waited-for children (processes not waited for are missed)")
    if directory is not None:
        files = [p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()]
        result.update(dir_bytes=sum(p.stat().st_size for p in files), dir_files=len(files),
                      dir_disk_bytes=sum(p.stat().st_blocks * 512 for p in files))
    return result


def pin(result: dict, directory: Path, name: str = "main-job", root: Path | None = None) -> Path:
    """The measurement with the run's job timing, machine and versions, as ``benchmarks/<name>/<machine>.json``."""
    from datetime import datetime, timezone

    from cfc_ref.benchhistory import _commit, machine_info, machine_key
    from cfc_ref.errors import CfcError
    from cfc_ref.experiment.store import RunStore

    if result["exit"] != 0:
        raise CfcError(f"the command exited with {result['exit']}: nothing to pin")
    with RunStore.open(directory, create=False) as store:
        timing = json.loads(store.meta("job_timing") or "null")
        images = store.connection.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        sweeps = store.sweeps()
    if not timing:
        raise CfcError(f"{directory} has no job timing (meta.job_timing): not a finished main job")
    if len(sweeps) != 1:  # a resumed run's timing covers only its last sweep, the images all of them
        raise CfcError(f"{directory} records {len(sweeps)} sweeps: pin a run made in one go, in a fresh directory")
    info = machine_info()
    info["memory_gib"] = round(psutil.virtual_memory().total / 2**30)
    report = (directory / "report.md").read_text(encoding="utf-8").splitlines()
    codec_line = next((line for line in report if line.startswith("Encoder:")), "")
    doc = {"format": "cfc-ref-main-job-cost/1", "when": datetime.now(timezone.utc).date().isoformat(),
           "commit": _commit(), "machine": info, "codecs": codec_line.split(";")[:2], "images": images,
           "units": sum(sweep["units"] for sweep in timing.get("sweeps", {}).values()),
           "measured": result,
           "job_timing": {key: timing[key] for key in ("wall", "workers", "cpu", "codec_cpu", "codec",
                                                       "cpu_ratio_to_codec", "ratio_to_codec")},
           "stages_cpu": timing["stages_cpu"]}
    out = (root or Path(__file__).resolve().parent.parent) / "benchmarks" / name / f"{machine_key(info)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="directory whose size and file count to report afterwards")
    parser.add_argument("--pin", nargs="?", const="main-job", metavar="NAME",
                        help="write benchmarks/NAME/<machine>.json (NAME: main-job, the default, or real-size)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    if args.pin and args.dir is None:
        parser.error("--pin needs --dir, the run directory")
    result = measure(command, args.dir)
    print(json.dumps(result, indent=1))
    if args.pin:
        print(f"pinned: {pin(result, args.dir, args.pin)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

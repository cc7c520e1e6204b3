#!/usr/bin/env python3
"""Benchmark history (spec C-3.2): compare the latest run of this machine with the one before, or plot them.

    python tools/bench_history.py compare [--history DIR] [--machine KEY] [--threshold 0.10]   # exit 1 if worse
    python tools/bench_history.py plot [--history DIR] [--machine KEY] [-o history.png]
"""

from __future__ import annotations

import argparse
import sys

from cfc_ref.benchhistory import DEFAULT_DIR, WORSE, compare, load_runs, machine_info, machine_key, plot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["compare", "plot"])
    parser.add_argument("--history", default=str(DEFAULT_DIR))
    parser.add_argument("--machine", help="the machine's key (default: this machine's)")
    parser.add_argument("--threshold", type=float, default=WORSE)
    parser.add_argument("-o", "--output", default="benchmark-history.png")
    args = parser.parse_args(argv)
    key = args.machine or machine_key(machine_info())
    runs = load_runs(args.history, key)
    if args.command == "plot":
        if not runs:
            print(f"no runs of {key} in {args.history}", file=sys.stderr)
            return 2
        print(plot(runs, args.output, f"benchmark ratios on {key} ({len(runs)} runs)"))
        return 0
    if len(runs) < 2:
        print(f"{len(runs)} run(s) of {key} in {args.history}: nothing to compare yet")
        return 0
    changes, worse = compare(runs[-2], runs[-1], args.threshold)
    for c in sorted(changes, key=lambda c: -c.change):
        flag = "WORSE" if c in worse else "     "
        print(f"{flag} {c.name:70} {c.before:9.3f} -> {c.after:9.3f}  {100 * c.change:+6.1f} %")
    print(f"{len(worse)} of {len(changes)} ratios worse by more than {100 * args.threshold:.0f} % "
          f"({runs[-2]['when'][:19]} -> {runs[-1]['when'][:19]})")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())

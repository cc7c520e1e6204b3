#!/usr/bin/env python3
"""Benchmark history (spec C-3.2, C-3.3): compare this machine's latest run with its previous one, or plot them.

    python tools/bench_history.py compare [--history DIR] [--machine KEY]   # exit 1 if a row moved beyond its noise
    python tools/bench_history.py plot [--history DIR] [--machine KEY] [-o history.png]

A time ratio is flagged when it grew beyond both runs' noise (and beyond 15 %), an instruction count when it grew
by more than 2 %; each flagged row is named on a line of its own.
"""

from __future__ import annotations

import argparse
import sys

from cfc_ref.benchhistory import DEFAULT_DIR, compare, last_pair, load_runs, machine_info, machine_key, plot, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["compare", "plot"])
    parser.add_argument("--history", default=str(DEFAULT_DIR))
    parser.add_argument("--machine", help="the machine's key (default: this machine's)")
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
    pair = last_pair(runs)
    if pair is None:
        print(f"{len(runs)} run(s) of {key} in {args.history}: nothing to compare yet")
        return 0
    comparison = compare(*pair)
    for line in report(comparison, *pair):
        print(line)
    return 1 if comparison.flagged else 0


if __name__ == "__main__":
    sys.exit(main())

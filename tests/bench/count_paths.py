"""The child process of the instruction counter (``counting.py``; spec C-3.3), run under callgrind or perf.

    python tests/bench/count_paths.py SPEC.json OUT.json                     # callgrind: every phase, marked
    python tests/bench/count_paths.py SPEC.json OUT.json --only I P --repeat K   # perf: one path, K batches

SPEC lists the groups as ``{"module", "builder", "args"}`` (a builder of ``tests/bench``'s *_paths modules). Under
callgrind (``--dump-before=getsid``) every path's calls run between two calls of ``os.getsid``, so that each
phase's instructions are one dump file of their own; OUT lists the phases in order. A path is called once before
its phase (unless its group says an earlier group warmed its code), so one-time costs stay out of the count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Group, calls  # noqa: E402


def build(ref: dict) -> Group:
    return getattr(import_module(ref["module"]), ref["builder"])(*ref["args"])


def mark() -> None:
    """A call of the C function ``getsid``, on which callgrind dumps its counts (--dump-before=getsid)."""
    os.getsid(0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("out")
    parser.add_argument("--only", nargs=2, metavar=("INDEX", "PATH"), help="perf: count this path of group INDEX")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    phases = []
    for index, ref in enumerate(json.loads(Path(args.spec).read_text())):
        if args.only and index != int(args.only[0]):
            continue
        group = build(ref)
        paths = group.with_aa()
        if group.warm_for_counts:
            for fn in dict.fromkeys(paths.values()):
                fn()
        for name, fn in paths.items():
            if args.only and name != args.only[1]:
                continue
            asked, extra = calls(f"{group.name} / {name}", 1)
            mark()
            for _ in range(args.repeat * (asked + extra)):
                fn()
            mark()
            phases.append([group.name, name, asked * args.repeat])
    Path(args.out).write_text(json.dumps({"phases": phases}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The example adapter with one fault (spec C-2.5's harness must end, and say why, whatever an adapter does):

    misbehaving.py MODE [N]    MODE: hang, hang-profiles, stray-line, no-newline, huge-line, crash, wrong-id,
                               slow-start, child-hangs, ignore-input; the fault hits request N (default 3)
"""

import json
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from wire_server import answer  # noqa: E402  (the example's own answers)

MODE = sys.argv[1]
AT = int(sys.argv[2]) if len(sys.argv) > 2 else 3
BIG = 5 << 20  # bytes: over the cap the tests give the harness (1 MiB)

if MODE == "slow-start":
    time.sleep(2)
if MODE == "hang-profiles":
    print("about to hang", file=sys.stderr, flush=True)
    time.sleep(3600)
for line in sys.stdin:
    request = json.loads(line)
    reply = json.dumps({"id": request["id"], **answer(request)})
    if request["id"] == AT:
        if MODE in ("hang", "child-hangs"):
            if MODE == "child-hangs":
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
                print(f"child {child.pid}", file=sys.stderr, flush=True)
            print("stuck on request", request["id"], file=sys.stderr, flush=True)
            time.sleep(3600)
        if MODE == "stray-line":
            print('{"note": "a line nobody asked for"}', flush=True)
        if MODE == "no-newline":
            sys.stdout.write("x" * BIG)
            sys.stdout.flush()
            time.sleep(3600)
        if MODE == "huge-line":
            print("y" * BIG, flush=True)
        if MODE == "crash":
            raise RuntimeError("the implementation crashed on purpose")
        if MODE == "wrong-id":
            reply = json.dumps({"id": request["id"] + 7, **answer(request)})
        if MODE == "ignore-input":
            sys.stdin.close()
            time.sleep(3600)
    print(reply, flush=True)

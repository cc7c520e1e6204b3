#!/usr/bin/env python3
"""The example adapter with one fault (spec C-2.5's harness must end, and say why, whatever an adapter does):

    misbehaving.py MODE [N]    MODE: hang, hang-profiles, stray-line, no-newline, huge-line, crash, wrong-id,
                               slow-start, child-hangs, ignore-input, hang-from, exit-at-once, setsid-child,
                               deep, nan, bad-base64, bad-array, big-answer, stderr-flood, unknown-function,
                               named; the fault hits request N (default 3; hang-from: every request from N on)
"""

import base64
import json
import os
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
if MODE == "stderr-flood":  # 4 MiB of standard error before the first answer
    sys.stderr.write(("e" * 1023 + "\n") * 4096)
    sys.stderr.flush()
if MODE == "hang-profiles":
    print("about to hang", file=sys.stderr, flush=True)
    time.sleep(3600)
for line in sys.stdin:
    request = json.loads(line)
    reply = json.dumps({"id": request["id"], **answer(request)})
    if MODE == "named" and request["function"] == "profiles":
        reply = json.dumps({"id": request["id"], "result": {"profiles": ["wire"], "name": "misbehaving example",
                                                            "version": "0.0.1"}})
    if MODE == "hang-from" and request["id"] >= AT:
        print("stuck from request", AT, file=sys.stderr, flush=True)
        time.sleep(3600)
    if request["id"] == AT:
        if MODE == "exit-at-once":
            os._exit(7)
        if MODE in ("setsid-child", "setsid-orphan"):  # a child in a session of its own (argv[3] marks it)
            sleeper = [sys.executable, "-c", "import time; time.sleep(3600)", sys.argv[3]]
            if MODE == "setsid-orphan":  # and whose parent has exited: handed to the nearest subreaper
                sleeper = [sys.executable, "-c", "import subprocess, sys; subprocess.Popen(sys.argv[1:], "
                           "start_new_session=True)", *sleeper]
            subprocess.Popen(sleeper, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        if MODE == "deep":
            reply = f'{{"id": {request["id"]}, "result": {"[" * 200_000 + "]" * 200_000}}}'
        if MODE == "nan":
            reply = f'{{"id": {request["id"]}, "result": [NaN, 1.0]}}'
        if MODE == "bad-base64":
            reply = json.dumps({"id": request["id"], "result": {"$bytes": "not base64!"}})
        if MODE == "bad-array":
            reply = json.dumps({"id": request["id"], "result": {"$array": base64.b64encode(b"abc").decode(),
                                                                "dtype": "<f4", "shape": [2]}})
        if MODE == "big-answer":  # one valid answer line just under 64 MiB: a byte string of 48 MiB
            size = 3 * (((64 << 20) - 64) // 4)
            reply = json.dumps({"id": request["id"], "result": {"$bytes": base64.b64encode(bytes(size)).decode()}})
        if MODE == "unknown-function":
            reply = json.dumps({"id": request["id"], "error": {"category": "UnknownFunction",
                                                               "message": request["function"]}})
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

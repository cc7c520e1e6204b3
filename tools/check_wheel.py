#!/usr/bin/env python3
"""What a user gets from a wheel (spec C-2.8; issue 19): build the wheel, install it with the extra `conformance` into a
fresh virtual environment, and run `cfc-ref conformance` from a directory outside the checkout — a module adapter
there, and the Node.js example through --impl-cmd; then without the extra, where one line must name it.

    python tools/check_wheel.py WORKDIR        # run by tox -e wheel; exits 1 on any difference
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(args: list, cwd: Path, env: dict | None = None, expect: int = 0) -> subprocess.CompletedProcess:
    print("$", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=3000)
    if done.returncode != expect:
        sys.exit(f"exit {done.returncode}, expected {expect}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def main() -> int:
    work = Path(sys.argv[1]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    dist = work / "dist"
    sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT], ROOT)
    wheel = next(dist.glob("cfc_ref-*.whl"))
    user = work / "elsewhere"  # a directory that is not the checkout
    user.mkdir()
    (user / "mymod.py").write_text("from cfc_ref.conformance.reference import *  # noqa: F403\nPROFILES = ('wire',)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for name, extra in (("with-extra", "[conformance]"), ("without-extra", "")):
        home = work / name
        venv.create(home, with_pip=True)
        python = home / "bin" / "python"
        sh([python, "-m", "pip", "install", "-q", "torch==2.13.0", f"{wheel}{extra}"], user, env)
        cli = home / "bin" / "cfc-ref"
        if extra:
            done = sh([cli, "conformance", "--impl", "mymod"], user, env)
            assert "wire               pass" in done.stdout, done.stdout[-2000:]
            if shutil.which("node"):
                done = sh([cli, "conformance", "--impl-cmd", f"node {ROOT / 'tests/process_example/wire_server.js'}",
                           "--profile", "wire"], user, env)
                assert "wire               pass" in done.stdout, done.stdout[-2000:]
            print(done.stdout.splitlines()[-1])
        else:
            done = sh([cli, "conformance", "--impl", "mymod"], user, env, expect=2)
            assert "pip install 'cfc-ref[conformance]'" in done.stderr and done.stderr.count("\n") == 1, done.stderr
            print(done.stderr.strip())
    print("wheel check: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What an implementer gets from a wheel (spec C-2.8; issues 19 and 30): build the wheel, install it with the extra
`conformance` — and no torch — into a fresh virtual environment, and from a directory outside the checkout run
`cfc-ref conformance --profile wire` through a process adapter (the Python example, and the Node.js one where Node
is installed) and a module adapter; check the report (suite version, the catalogue digest recomputed here from the
checkout's golden/, the example's declared name) and the JUnit XML; check that a command needing torch says which
extra in one line; then, without the extra, that one line names it. States the environment's size and the time the
install took.

    python tools/check_wheel.py WORKDIR        # run by tox -e wheel; exits 1 on any difference
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "process_example"


def sh(args: list, cwd: Path, env: dict | None = None, expect: int = 0) -> subprocess.CompletedProcess:
    print("$", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=3000)
    if done.returncode != expect:
        sys.exit(f"exit {done.returncode}, expected {expect}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def size_of(directory: Path) -> int:
    return sum(p.lstat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def catalogue_digest(golden: Path) -> str:
    """C-2.8's digest, written out again here: the SHA-256 of `<path> <sha256>\\n` per file, sorted by path."""
    files = sorted((p for p in golden.rglob("*") if p.is_file()), key=lambda p: p.relative_to(golden).as_posix())
    lines = "".join(f"{p.relative_to(golden).as_posix()} {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                    for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"wheel check: FAIL: {what}")


def with_extra(home: Path, user: Path, env: dict) -> None:
    python, cli = home / "bin" / "python", home / "bin" / "cfc-ref"
    shown = sh([python, "-c", "import importlib.util as u; print(u.find_spec('torch'))"], user, env)
    check(shown.stdout.strip() == "None", "torch was installed with cfc-ref[conformance]")
    server = user / "wire_server.py"
    shutil.copyfile(EXAMPLES / "wire_server.py", server)
    junit = user / "wire.xml"
    done = sh([cli, "conformance", "--impl-cmd", f"{python} {server}", "--profile", "wire", "--json", "wire.json",
               "--junit-xml", junit.name], user, env)
    check("wire               pass" in done.stdout, f"the process example did not pass wire:\n{done.stdout[-2000:]}")
    report = json.loads((user / "wire.json").read_text())
    check(report["suite"]["catalogue_sha256"] == catalogue_digest(ROOT / "golden"),
          "the wheel's catalogue digest differs from the checkout's golden/")
    check(report["implementation"]["name"].startswith("wire_server.py"), "the example's declared name is missing")
    root = ET.parse(junit).getroot()
    check(root.tag == "testsuites" and int(root.get("tests")) == len(report["results"]), "JUnit XML")
    print(done.stdout.splitlines()[-1], "| catalogue", report["suite"]["catalogue_sha256"][:16])
    done = sh([cli, "conformance", "--impl", "mymod", "--profile", "wire"], user, env)
    check("wire               pass" in done.stdout, f"the module adapter did not pass wire:\n{done.stdout[-2000:]}")
    print(done.stdout.splitlines()[-1])
    if shutil.which("node"):
        done = sh([cli, "conformance", "--impl-cmd", f"node {EXAMPLES / 'wire_server.js'}", "--profile", "wire"],
                  user, env)
        check("wire               pass" in done.stdout, "the Node.js example did not pass wire")
        print(done.stdout.splitlines()[-1])
    done = sh([cli, "layers", "--png", ""], user, env, expect=2)  # needs torch: one line naming the extra
    check("python -m pip install torch==2.13.0" in done.stderr and done.stderr.count("\n") == 1, done.stderr)
    print(done.stderr.strip())
    leftovers = sorted(p.name for p in user.iterdir())
    check(leftovers == ["mymod.py", "wire.json", "wire.xml", "wire_server.py"], f"files left in the user's "
                                                                                 f"directory: {leftovers}")


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
        bare = size_of(home)
        began = time.monotonic()
        sh([python, "-m", "pip", "install", "-q", f"{wheel}{extra}"], user, env)
        print(f"{name}: pip install took {time.monotonic() - began:.0f} s; the environment is "
              f"{size_of(home) / 1e6:.0f} MB ({(size_of(home) - bare) / 1e6:.0f} MB installed into a fresh venv)")
        if extra:
            with_extra(home, user, env)
        else:
            done = sh([home / "bin" / "cfc-ref", "conformance", "--impl", "mymod"], user, env, expect=2)
            check("python -m pip install " in done.stderr and "the extra 'conformance'" in done.stderr
                  and done.stderr.count("\n") == 1, done.stderr)
            print(done.stderr.strip())
    print("wheel check: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

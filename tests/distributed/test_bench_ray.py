"""Scale of the Ray engine, measured (issue 11): units/s of the local engine and of Ray with one and with two nodes
on this machine, in one run, and Ray's per-unit cost over the bare coding call. A report, not a timed assertion
(spec C-3.1): ``tox -e distributed -- -m bench -s``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (python -m pip install 'ray>=2.60,<3'; tox -e distributed)")

from test_ray import ROOT, cluster, small, write  # noqa: E402
from test_ray import pytestmark as namespace_mark

from cfc_ref.experiment.local_engine import LocalPoolExecutor, run  # noqa: E402

pytestmark = [pytest.mark.bench, namespace_mark]


def _json_line(result) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_units_per_second_local_vs_ray_one_and_two_nodes(tmp_path):
    tool = ROOT / "tools" / "bench_ray.py"
    base = small(tmp_path, "local", images=8)
    began = time.perf_counter()
    run(base, LocalPoolExecutor(2), progress=False)
    local_s = time.perf_counter() - began
    sys.path.insert(0, str(ROOT / "tools"))
    from bench_ray import steady

    rows = {"local engine, 2 processes": steady(Path(base.output), local_s)}
    for label, nodes, cpus in (("ray, 1 node × 2 CPUs", 1, 2), ("ray, 2 nodes × 1 CPU", 2, 1)):
        config = write(small(tmp_path, f"ray{nodes}", images=8), tmp_path / f"{nodes}.json")
        rows[label] = _json_line(cluster(f"python {tool} sweep {config}", tmp_path, nodes=nodes, cpus=cpus))
    overhead = _json_line(cluster(f"python {tool} overhead {write(base, tmp_path / 'o.json')} 30", tmp_path,
                                  nodes=1, cpus=1))
    local = rows["local engine, 2 processes"]
    report = {"rows": rows, "steady_ratio_to_local": {k: v["steady_units_per_s"] / local["steady_units_per_s"]
                                                      for k, v in rows.items()},
              "per_unit": overhead}
    print("\n" + json.dumps(report, indent=1))
    (tmp_path.parent / "ray-bench.json").write_text(json.dumps(report, indent=1))
    assert all(v["units"] == local["units"] for v in rows.values()) and overhead["ratio"] > 0

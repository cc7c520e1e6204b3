"""tools/gpu_bench.py (issue 35): its CPU dry run runs every step on tiny sizes and writes a record of the right
format, so the script a GPU session runs cannot rot; ``check`` catches a wrong record, ``place`` files it.

Nothing here asserts a time: the dry run's figures are never read as speeds.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys

import pytest

from cfc_ref.benchhistory import machine_key

from cfc_testing import GOLDEN, ROOT

spec = pytest.mark.spec
SCRIPT = ROOT / "tools" / "gpu_bench.py"


def _bench(*args: str, cwd=None) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> dict:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("gpu-bench")
    done = _bench("run", "--device", "cpu", "--quick", "--out", str(out), cwd=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"doc": json.loads((out / "gpu-bench.json").read_text()), "path": out / "gpu-bench.json",
            "stdout": done.stdout}


@pytest.fixture(scope="module")
def gpu_bench():  # type: ignore[no-untyped-def]
    loader = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
    sys.modules["gpu_bench"] = module  # its dataclasses look their module up
    try:
        loader.loader.exec_module(module)  # type: ignore[union-attr]
        yield module
    finally:
        del sys.modules["gpu_bench"]


@spec("C-3.1")
def test_the_dry_run_runs_every_step(dry_run, gpu_bench):
    doc = dry_run["doc"]
    assert [name for name, _, _ in gpu_bench.STEPS] == list(doc["steps"])
    assert {name: step["status"] for name, step in doc["steps"].items()} == {n: "done" for n in doc["steps"]}
    assert gpu_bench.problems(doc) == []
    assert {row["step"] for row in doc["rows"]} == set(doc["steps"]) - {"ray"}  # the actors give checks, not rows


@spec("C-3.1")
def test_every_row_names_the_card_and_its_in_run_baseline(dry_run):
    doc = dry_run["doc"]
    assert doc["card"]["name"].startswith("cpu: ")
    for row in doc["rows"]:
        assert row["card"] == doc["card"]["name"]
        base = [r for r in doc["rows"] if r["group"] == row["group"] and r["name"] == row["baseline"]["name"]]
        assert len(base) == 1 and base[0]["seconds"] == row["baseline"]["seconds"]
        assert row["ratio"] == pytest.approx(row["seconds"] / row["baseline"]["seconds"], rel=1e-12)
    inference = [r for r in doc["rows"] if r["group"].startswith("inference")]
    assert all(r["baseline"]["name"] == "DarknetModel fp32" and r["peak_fraction"] > 0 for r in inference)
    names = {r["name"] for r in inference}
    assert {"DarknetModel fp32", "DarknetModel bf16 channels_last", "FastDarknet bf16 channels_last eager"} <= names
    assert any(n.startswith("peer (BN folded") for n in names) and any("FastDarknet" in n and "compiled" in n
                                                                        for n in names)
    assert doc["ratios"] == {f"{r['group']} / {r['name']}": {"seconds": r["seconds"], "ratio": r["ratio"]}
                             for r in doc["rows"]}


@spec("Q-6.1", "C-1.3")
def test_the_device_paths_pass_every_golden_vector_and_the_actors_match(dry_run):
    checks = {c["name"]: c for c in dry_run["doc"]["checks"]}
    for component in ("qlayer", "tiling"):
        count = len(json.loads((GOLDEN / component / "vectors.json").read_text())["vectors"])
        check = checks[f"golden {component} vectors bit-exact on cpu"]
        assert check["passed"] and check["detail"] == {"vectors": count, "failed": {}}
    assert checks["Q-layer + tiling and the inverse run on the meta device (no value read back)"]["passed"]
    actors = [c for name, c in checks.items() if name.startswith("model actor")]
    assert len(actors) == 2 and all(c["passed"] and c["detail"]["front features equal"] for c in actors)
    assert all(c["passed"] for c in checks.values())
    assert "_ModelHolder" in dry_run["doc"]["ray_path"]


def test_what_needs_cuda_is_listed_with_its_reason(dry_run):
    missing = [entry["what"] for entry in dry_run["doc"]["not_run"] if entry["reason"] == "needs CUDA"]
    assert any("set_sync_debug_mode" in what for what in missing)
    assert sum("CUDA graph" in what for what in missing) >= 5  # Q-layer (2 shapes), FastDarknet eager, 2 compiled
    goals = {g["goal"]: g for g in dry_run["doc"]["goals"]}
    assert goals["FastDarknet at batch 1 (best CUDA graph row)"]["met"] is None
    assert goals["half-GPU model actors equal the local engine"]["met"] is True
    assert "goals below say nothing about the paths' speed" in dry_run["stdout"]


def test_check_finds_a_wrong_record(dry_run, gpu_bench, capsys):
    doc = dry_run["doc"]

    def broken(change) -> list[str]:  # type: ignore[no-untyped-def]
        copied = copy.deepcopy(doc)
        change(copied)
        return gpu_bench.problems(copied)

    assert any("ratio" in p for p in broken(lambda d: d["rows"][1].update(ratio=d["rows"][1]["ratio"] * 1.1)))
    assert any("card" in p for p in broken(lambda d: d["rows"][0].update(card="another card")))
    assert any("baseline" in p for p in broken(lambda d: d["rows"][2]["baseline"].update(name="nothing")))
    assert any("reason" in p for p in broken(lambda d: d["steps"]["card"].update(status="failed")))
    assert any("seconds" in p for p in broken(lambda d: d["rows"][0].update(seconds=0)))
    assert broken(lambda d: d.pop("goals"))
    assert any("no row" in p for p in broken(lambda d: d["ratios"].update({"x / y": {"seconds": 1, "ratio": 1}})))
    wrong = dry_run["path"].parent / "wrong.json"
    wrong.write_text(json.dumps(dict(doc, schema="something else")))
    assert gpu_bench.main(["check", str(wrong)]) == 1 and "schema" in capsys.readouterr().out
    assert gpu_bench.main(["check", str(dry_run["path"])]) == 0


def test_a_budget_too_small_skips_every_step_with_the_reason(tmp_path):
    done = _bench("run", "--device", "cpu", "--budget", "5", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "gpu-bench.json").read_text())
    assert doc["rows"] == [] and doc["steps"]
    assert all(s["status"] == "skipped" and "of the budget left" in s["reason"] for s in doc["steps"].values())
    assert all(g["met"] is None for g in doc["goals"])


def test_usage_errors_are_one_line(gpu_bench, tmp_path, capsys):
    import torch

    if not torch.cuda.is_available():
        assert gpu_bench.main(["run", "--out", str(tmp_path)]) == 2
        assert "no CUDA device here" in capsys.readouterr().err
    assert gpu_bench.main(["run", "--device", "cpu", "--only", "card,nothing", "--out", str(tmp_path)]) == 2
    assert "unknown steps nothing" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@spec("C-3.2")
def test_place_files_the_record_under_the_machine_it_was_measured_on(dry_run, gpu_bench, tmp_path, capsys):
    doc = copy.deepcopy(dry_run["doc"])
    doc["machine"] = dict(doc["machine"], gpu="NVIDIA H100 80GB HBM3", cores=16)
    source = tmp_path / "record.json"
    source.write_text(json.dumps(doc))
    assert gpu_bench.main(["place", str(source), "--history", str(tmp_path / "history")]) == 0
    key = machine_key(doc["machine"])
    assert key.endswith("16cpu-nvidia-h100-80gb-hbm3")
    placed = list((tmp_path / "history" / key).glob("*-gpu-bench.json"))
    assert [p.as_posix() for p in placed] == [capsys.readouterr().out.strip()]
    assert json.loads(placed[0].read_text())["ratios"] == doc["ratios"]
    compare = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_history.py"), "compare", "--history",
                              str(tmp_path / "history"), "--machine", key], capture_output=True, text=True)
    assert compare.returncode == 0 and "1 run(s)" in compare.stdout


def test_the_watchdog_ends_an_overrunning_step_and_keeps_the_record(dry_run, gpu_bench, tmp_path, monkeypatch):
    import threading

    import torch

    ended = threading.Event()
    codes = []
    monkeypatch.setattr(gpu_bench.os, "_exit", lambda code: (codes.append(code), ended.set()))
    bench = gpu_bench.Bench(torch.device("cpu"), True, -gpu_bench.GRACE_S - 1, tmp_path / "gpu-bench.json",
                            gpu_bench.Sizes.of(True), {}, doc=copy.deepcopy(dry_run["doc"]))
    bench.current = "sweep"
    bench.doc["steps"]["sweep"]["status"] = "running"
    bench.watchdog()
    assert ended.wait(30) and codes == [3]
    doc = json.loads((tmp_path / "gpu-bench.json").read_text())
    assert doc["steps"]["sweep"]["status"] == "failed" and "watchdog" in doc["steps"]["sweep"]["reason"]
    assert doc["aborted"] == "the budget ran out in sweep"
    assert gpu_bench.problems(doc) == [] and doc["goals"] and doc["rows"] == dry_run["doc"]["rows"]

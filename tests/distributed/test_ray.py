"""The Ray engine (spec E-8) on a real two-node cluster: a head and a second node started with ``ray start`` on this
machine, inside a network namespace of the test's own with only loopback up (``unshare -n``), so that nothing Ray
does can leave the machine. Run by ``tox -e distributed``; skipped with the reason where Ray or namespaces are
missing."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (python -m pip install 'ray>=2.60,<3'; tox -e distributed)")

from cfc_ref.data.synthetic import CLASSES, write_dataset  # noqa: E402
from cfc_ref.experiment.config import ExperimentConfig  # noqa: E402
from cfc_ref.experiment.local_engine import run  # noqa: E402
from cfc_ref.experiment.store import RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
spec = pytest.mark.spec
PORT = 6391


def _namespaces_work() -> bool:
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces_work(),
                                reason="cannot make a loopback-only network namespace here (unshare -n needs root)")


def cluster(body: str, workdir: Path, nodes: int = 2, timeout: int = 240, cpus: int = 1, gpus: int = 0
            ) -> subprocess.CompletedProcess:
    """Run ``body`` (bash) with a Ray cluster of ``nodes`` nodes, ``cpus`` CPUs (and ``gpus`` GPUs) each, in a
    fresh loopback-only network namespace."""
    bin_dir = Path(sys.executable).parent
    second = (f"ray start --address=127.0.0.1:{PORT} --node-ip-address=127.0.0.1 --num-cpus={cpus} --num-gpus={gpus} "
              "--disable-usage-stats >/dev/null" if nodes > 1 else "true")  # joins the head's session dir
    home = workdir / "home"  # Ray keeps tokens and logs under $HOME: the test's own, not the user's
    home.mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="cfcray-", dir="/tmp"))  # Ray's sessions and sockets (short path)
    script = f"""
set -e
ip link set lo up
export PATH="{bin_dir}:$PATH" HOME="{home}" RAY_USAGE_STATS_ENABLED=0 RAY_ADDRESS=127.0.0.1:{PORT}
trap 'ray stop --force >/dev/null 2>&1 || true' EXIT
ray start --head --node-ip-address=127.0.0.1 --port={PORT} --num-cpus={cpus} --num-gpus={gpus} \\
  --include-dashboard=false \\
  --disable-usage-stats --temp-dir={state} >/dev/null
{second}
{body}
"""
    try:
        return subprocess.run(["unshare", "-n", "bash", "-c", script], cwd=workdir, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-9", "-f", str(state)], check=False)  # every process of this cluster
        raise
    finally:
        shutil.rmtree(state, ignore_errors=True)


def small(tmp_path: Path, output: str, images: int = 3) -> ExperimentConfig:
    return ExperimentConfig(name="ray test", dataset_root=str(tmp_path / "data"), dataset_kind="synthetic",
                            synthetic_test_images=images, classes=CLASSES, splits=("max_11", "max_17"),
                            lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(37,), jpeg_qualities=(50,),
                            accountings=("deployable", "paper"), workers=1, output=str(tmp_path / output))


def unit_files(output: Path) -> dict[tuple[str, str], bytes]:
    """Every unit of a run's results store, as comparable bytes (E-8.2)."""
    if not (output / "results.sqlite").exists():
        return {}
    with RunStore.open(output, create=False) as store:
        return store.unit_contents()


# A reader of a run directory's store for the shell bodies: the unit count (0 before the store exists), or with
# --ids every unit's (setting, image, row id) as JSON — read as any SQLite reader would, while the run writes.
UNITS_PY = """import json, sqlite3, sys
try:
    db = sqlite3.connect(f"file:{sys.argv[1]}/results.sqlite?mode=ro", uri=True, timeout=1)
    if sys.argv[2:] == ["--ids"]:
        print(json.dumps(db.execute("SELECT setting, image, id FROM units").fetchall()))
    else:
        print(db.execute("SELECT count(*) FROM units").fetchone()[0])
except sqlite3.Error:
    print(0)
"""
UNITS = "units() { python units.py \"$@\"; }\n"


def command(config_path: Path) -> str:
    return f"cfc-ref run {config_path} --engine ray --address 127.0.0.1:{PORT} --quiet"


def write(config: ExperimentConfig, path: Path) -> Path:
    path.write_text(config.to_json())
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The local engine's results for the test sweep."""
    tmp = tmp_path_factory.mktemp("reference")
    run(small(tmp, "local"), progress=False)
    return tmp


@spec("E-8.1", "E-8.2", "E-15.3", "E-15.2")
def test_two_nodes_give_the_local_engines_files(tmp_path, reference):
    config = write(replace(small(tmp_path, "ray"), dataset_root=str(reference / "data")), tmp_path / "c.json")
    result = cluster(f"python -c 'import ray; ray.init(); print(len(ray.nodes()))' && {command(config)}", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[0] == "2"  # a head and a second node
    local, ray_out = reference / "local", tmp_path / "ray"
    assert (ray_out / "results.csv").read_bytes() == (local / "results.csv").read_bytes()
    assert json.loads((ray_out / "results.json").read_text())["rows"] == json.loads(
        (local / "results.json").read_text())["rows"]
    assert unit_files(ray_out) == unit_files(local)  # byte-equal, decoders included
    seconds = {"nn_part_1", "encode", "decode", "nn_part_2", "coding"}  # measured: the rest is byte-equal (E-15.2)
    exported = sorted((local / "compressai-vision").rglob("summary*.csv"))
    assert exported
    for path in exported:
        theirs, mine = (list(csv.DictReader((root / path.relative_to(local)).open())) for root in (local, ray_out))
        assert [{k: v for k, v in r.items() if k not in seconds} for r in mine] == [
            {k: v for k, v in r.items() if k not in seconds} for r in theirs]
    with RunStore.open(ray_out, create=False) as store:  # E-15.3: every second the actors and tasks measured, once
        sweep = store.sweeps()[-1]["id"]
        charged, timings = store.setting_seconds(sweep), store.timings(sweep)
        assert set(charged) == {setting for setting, _ in unit_files(local)}
        for stage in ("image", "front", "coding", "encode", "decode", "back", "detection", "upload"):
            assert timings[stage] > 0
            assert sum(s.get(stage, 0.0) for s in charged.values()) == pytest.approx(timings[stage], rel=1e-9)


@spec("E-8.2")
def test_a_killed_worker_loses_and_repeats_nothing_finished(tmp_path, reference):
    """Ray retries the killed worker's task (or restarts the actor); finished units are written once."""
    config = write(replace(small(tmp_path, "ray", images=4), dataset_root=str(tmp_path / "data")),
                   tmp_path / "c.json")
    write_dataset(tmp_path / "data", train=0, test=4)
    (tmp_path / "units.py").write_text(UNITS_PY)
    body = UNITS + f"""
{command(config)} 2> driver.err &
driver=$!
until [ "$(units ray)" -ge 4 ]; do sleep 0.05; done
units ray --ids > before.txt
for attempt in $(seq 200); do  # a coding task's worker, killed while it works ([k]: not this script's own text)
  if pkill -9 -f 'ray::code_man[y]'; then echo code_many > killed.txt; break; fi
  sleep 0.01
done
[ -s killed.txt ] || {{ pkill -9 -f 'ray::_ModelHolde[r]' && echo actor > killed.txt; }}
wait $driver
"""
    result = cluster(body, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:] + (tmp_path / "driver.err").read_text()[-2000:]
    assert (tmp_path / "killed.txt").read_text().strip() in ("code_many", "actor")  # something was killed
    expected = small(tmp_path, "expected", images=4)
    run(expected, progress=False)
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "expected" / "results.csv").read_bytes()
    with RunStore.open(tmp_path / "ray", create=False) as store:
        ids = store.unit_ids()
    for setting, image, number in json.loads((tmp_path / "before.txt").read_text()):  # recorded once, never again
        assert ids[(setting, image)] == number, (setting, image)


@spec("E-8.2", "E-4.1")
def test_a_killed_driver_resumes_from_the_files(tmp_path, reference):
    config = write(replace(small(tmp_path, "ray"), dataset_root=str(reference / "data")), tmp_path / "c.json")
    (tmp_path / "units.py").write_text(UNITS_PY)
    body = UNITS + f"""
setsid {command(config)} 2> first.err &
driver=$!
until [ "$(units ray)" -ge 3 ]; do sleep 0.05; done
kill -9 -- -$driver 2>/dev/null || kill -9 $driver
wait $driver || true
units ray > done_before.txt
{command(config)}
"""
    result = cluster(body, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    done_before = int((tmp_path / "done_before.txt").read_text())
    assert 3 <= done_before < len(unit_files(reference / "local"))
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (reference / "local" / "results.csv").read_bytes()


@spec("E-8.2", "E-4.2")
def test_a_cfc_error_fails_its_units_and_the_sweep_goes_on(tmp_path):
    config = write(small(tmp_path, "ray"), tmp_path / "c.json")
    write_dataset(tmp_path / "data", train=0, test=3)
    broken = tmp_path / "data" / "JPEGImages" / "test_000002.jpg"
    broken.write_bytes(broken.read_bytes()[:120])
    result = cluster(f"{command(config)} || echo exit=$?", tmp_path)
    assert "exit=2" in result.stdout, result.stderr[-2000:]
    assert "units failed" in result.stderr and "test_000002" in result.stderr and "Traceback" not in result.stderr
    failed = {f["unit"] for f in json.loads((tmp_path / "ray" / "failed.json").read_text())}
    assert failed and all(unit.endswith("/test_000002") for unit in failed)
    written = unit_files(tmp_path / "ray")
    assert written and not any(image == "test_000002" for _, image in written)
    assert len(written) + len(failed) == 3 * len([k for k in written if k[1] == "test_000000"])


@spec("E-8.4")
def test_cuda_on_a_cluster_without_gpus_is_refused(tmp_path):
    config = write(replace(small(tmp_path, "ray"), device="cuda"), tmp_path / "c.json")
    result = cluster(f"{command(config)} || echo exit=$?", tmp_path, nodes=1)
    assert "exit=2" in result.stdout and "the Ray cluster has no GPU" in result.stderr, result.stderr[-2000:]
    assert not unit_files(tmp_path / "ray")


@spec("E-8.4", "E-8.2")
@pytest.mark.skipif(not __import__("torch").cuda.is_available(),
                    reason="no CUDA device here: the half-GPU model actors run only where one is")
def test_half_gpu_actors_give_the_local_engines_files(tmp_path):
    """device cuda: the model actors share the GPU (num_gpus 0.5) and the results equal the local engine's on it."""
    local = replace(small(tmp_path, "local"), device="cuda")
    write_dataset(tmp_path / "data", train=0, test=3)
    run(local, progress=False)
    config = write(replace(small(tmp_path, "ray"), device="cuda"), tmp_path / "c.json")
    result = cluster(command(config), tmp_path, nodes=1, cpus=2, gpus=1)
    assert result.returncode == 0, result.stderr[-2000:]
    assert unit_files(tmp_path / "ray") == unit_files(tmp_path / "local")

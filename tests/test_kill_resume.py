"""SIGKILL at random moments (issue 20; spec E-4.1, E-9.2, E-9.4): 20 trials of killing a run's whole process
group at a random time, then resuming it — no recorded unit is ever lost, recomputed or damaged, and the results are
byte-equal to an uninterrupted run's. Slow (about four minutes on 2 cores): ``tox -e golden``."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from cfc_ref.data.synthetic import CLASSES, write_dataset
from cfc_ref.experiment.config import ExperimentConfig
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.store import RunStore

from cfc_testing import ROOT

spec = pytest.mark.spec
TRIALS = 20


@pytest.mark.slow
@spec("E-4.1", "E-9.2", "E-9.4")
def test_sigkill_at_random_moments_never_loses_a_finished_unit(tmp_path):
    config = ExperimentConfig(name="kill", dataset_root=str(tmp_path / "data"), dataset_kind="synthetic",
                              synthetic_test_images=6, classes=CLASSES, splits=("max_11", "max_17"),
                              lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(32, 42), jpeg_qualities=(50,),
                              original_upload=False, lossless_splits=(), workers=2, output=str(tmp_path / "ref"))
    write_dataset(tmp_path / "data", train=0, test=6)
    reference = run(config, progress=False).parent
    expected = (reference / "results.csv").read_bytes()
    rng = random.Random(2026)
    interrupted = 0
    for trial in range(TRIALS):
        out = tmp_path / f"t{trial}"
        path = tmp_path / f"t{trial}.json"
        path.write_text(replace(config, output=str(out)).to_json())
        command = [sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"]
        seen: dict = {}
        for _attempt in range(2):  # two kills per trial (the second in the resumed run), then a run to the end
            process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 4.0))
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                interrupted += 1
            process.wait()
            if (out / "results.sqlite").exists():
                with RunStore.open(out, create=False) as store:
                    ids = store.unit_ids()
                    assert not store.verify(), "a recorded unit was damaged"
                lost = {k: v for k, v in seen.items() if ids.get(k) != v}
                assert not lost, f"trial {trial}: recorded units lost or recomputed: {sorted(lost)[:3]}"
                seen = ids
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        with RunStore.open(out, create=False) as store:
            ids = store.unit_ids()
        assert all(ids[k] == v for k, v in seen.items()), f"trial {trial}: a finished unit was computed again"
        assert (out / "results.csv").read_bytes() == expected, f"trial {trial}"
        assert not (out / "cache").exists()
    assert interrupted >= TRIALS  # every trial was killed at least once while it ran

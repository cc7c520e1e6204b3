"""The runner's overhead beyond codec and model time (issue 5; aim ≤ 10 %), measured on a small sweep."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cfc_ref.data.synthetic import CLASSES
from cfc_ref.experiment.config import ExperimentConfig
from cfc_ref.experiment.runner import LAST_TIMING, SerialExecutor, run

pytestmark = pytest.mark.bench


def test_runner_overhead(tmp_path, benchmark):
    config = ExperimentConfig(name="overhead", dataset_root=str(tmp_path / "data"), dataset_kind="synthetic",
                              synthetic_test_images=12, classes=CLASSES, workers=1, output=str(tmp_path / "out"))
    runs = iter(range(100))

    def fresh_run():
        return run(replace(config, output=str(tmp_path / f"out{next(runs)}")), SerialExecutor(), progress=False)

    benchmark.pedantic(fresh_run, rounds=2, iterations=1)
    share = LAST_TIMING.overhead
    benchmark.extra_info.update(jobs_s=LAST_TIMING.jobs, codec_s=LAST_TIMING.codec, model_s=LAST_TIMING.model,
                                overhead=share)
    print(f"\nrunner overhead: {100 * share:.1f} % of job time (codec {LAST_TIMING.codec:.2f} s, model "
          f"{LAST_TIMING.model:.2f} s, jobs {LAST_TIMING.jobs:.2f} s)")
    assert 0.0 <= share < 1.0

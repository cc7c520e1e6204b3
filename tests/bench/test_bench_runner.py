"""A sweep's cost as a ratio to its own codec time (issue 20, spec E-10): the per-stage seconds the run records,
on a small embedded sweep in one process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cfc_ref.experiment.config import embedded_default
from cfc_ref.experiment.local_engine import SerialExecutor, run
from cfc_ref.experiment.store import RunStore

pytestmark = pytest.mark.bench


def test_sweep_to_codec_ratio(tmp_path, benchmark):
    base = replace(embedded_default(str(tmp_path / "out")), limit=12, synthetic_test_images=12, workers=1)
    runs = iter(range(100))

    def fresh_run():
        return run(replace(base, output=str(tmp_path / f"out{next(runs)}")), SerialExecutor(), progress=False)

    path = benchmark.pedantic(fresh_run, rounds=2, iterations=1)
    with RunStore.open(Path(path).parent, create=False) as store:
        stages = store.timings()
        wall = store.sweeps()[-1]["wall"]
    codec = stages["encode"] + stages["decode"]
    benchmark.extra_info.update(wall_s=wall, codec_s=codec, ratio=wall / codec, stages=stages)
    print(f"\nsweep wall {wall:.2f} s = {wall / codec:.2f} × its codec time ({codec:.2f} s); stages "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items(), key=lambda item: -item[1])))
    assert wall >= codec > 0

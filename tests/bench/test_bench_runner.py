"""A sweep's cost as a ratio to its own codec time (issue 20, spec E-10): the per-stage seconds the run records, on
a small embedded sweep in one process, in rounds of two identical sweeps (the second one the A/A pair)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from harness import AA, BASELINE, RESULTS

from cfc_ref.benchhistory import group_rows
from cfc_ref.experiment.config import embedded_default
from cfc_ref.experiment.local_engine import SerialExecutor, run
from cfc_ref.experiment.store import RunStore

pytestmark = pytest.mark.bench
IMAGES, ROUNDS = 8, 3
GROUP = f"sweep {IMAGES} embedded images, 1 worker (baseline = its codec time)"


def test_sweep_to_codec_ratio(tmp_path):
    base = replace(embedded_default(str(tmp_path / "out")), limit=IMAGES, synthetic_test_images=IMAGES, workers=1)
    seconds: dict[str, list[float]] = {BASELINE: [], AA: [], "sweep wall": [], "sweep wall (A/A)": []}
    for index in range(2 * ROUNDS):
        path = run(replace(base, output=str(tmp_path / f"out{index}")), SerialExecutor(), progress=False)
        with RunStore.open(Path(path).parent, create=False) as store:
            stages, wall = store.timings(), store.sweeps()[-1]["wall"]
        second = index % 2
        seconds[AA if second else BASELINE].append(stages["encode"] + stages["decode"])
        seconds["sweep wall (A/A)" if second else "sweep wall"].append(wall)
        assert wall >= stages["encode"] + stages["decode"] > 0
    rows = group_rows(seconds, BASELINE, AA)
    for row in rows.values():
        row["clock"] = "wall"
    RESULTS[GROUP] = rows
    print(f"\nsweep wall = {rows['sweep wall']['ratio']:.3f} x its codec time")

"""Detector throughput on the CPU: the split's front and back end against the whole model, and the fast inference
copy against the Darknet-exact model, measured in one run on one torch thread (issues 4, 13)."""

from __future__ import annotations

import pytest
from detector_paths import CASES, fast_group, split_group
from harness import measure

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("width,batch", CASES)
def test_split_throughput(width, batch):
    rows = measure(split_group(width, batch))
    assert rows["front+back max_17"]["ratio"] > 0


@pytest.mark.parametrize("width,batch", CASES)
def test_fast_inference_path(width, batch):
    rows = measure(fast_group(width, batch, compiled=(width, batch) == (0.25, 1)))
    assert rows["fast fp32"]["ratio"] > 0

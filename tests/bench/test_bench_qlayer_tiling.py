"""Q-layer + tiling time for the paper's split tensors, as a ratio to a plain copy of the same array (issue 2)."""

from __future__ import annotations

import pytest
from harness import measure
from qlayer_paths import SHAPES, qlayer_group

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("label", SHAPES)
def test_qlayer_and_tiling(label):
    rows = measure(qlayer_group(label))
    assert rows["fast_numpy"]["ratio"] > 0

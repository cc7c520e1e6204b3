"""Q-layer + tiling of the paper's split tensors against a plain copy of the same array (issue 2)."""

from __future__ import annotations

import numpy as np
from harness import BASELINE, Group

from cfc_ref import qlayer, tiling
from cfc_ref.fast.qlayer_numpy import Quantizer
from cfc_ref.fast.tiling import tile_fast

SHAPES = {"max_11 256x26x26": (256, 26, 26), "max_17 512x13x13": (512, 13, 13)}


def features(shape: tuple[int, int, int]) -> np.ndarray:
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def reference_path(v: np.ndarray) -> np.ndarray:
    q, _ = qlayer.quantize(v, 8)
    return tiling.tile(q)


def qlayer_group(label: str, with_torch: bool = True, with_numba: bool = True) -> Group:
    v = features(SHAPES[label])
    quantizer = Quantizer(v.shape, 8)
    copy = np.empty_like(v)  # the copy into an array made once: no page faults of a fresh allocation in the baseline
    paths = {BASELINE: lambda: np.copyto(copy, v), "reference": lambda: reference_path(v),
             "fast_numpy": lambda: tile_fast(quantizer(v)[0])}
    if with_torch:
        import torch

        from cfc_ref.fast.qlayer_torch import quantize_batch
        from cfc_ref.fast.tiling import tile_batch

        batch = torch.from_numpy(v)[None]
        paths["torch_batch1"] = lambda: tile_batch(quantize_batch(batch, 8)[0])[0].numpy()
    if with_numba:
        try:
            from cfc_ref.fast import fused
        except ImportError:
            pass
        else:
            paths["fused_numba"] = lambda: fused.quantize_and_tile(v, 8)[0]

    def same_picture(outputs: dict[str, object]) -> None:
        expected = reference_path(v)
        for name, out in outputs.items():
            if name != BASELINE and name != "baseline (A/A)":
                assert np.array_equal(out, expected), name  # type: ignore[arg-type]

    return Group(f"qlayer+tiling {label}", paths, number=50, rounds=21, check=same_picture)

"""Fast variants of the Q-layer and tiling, beside the readable references ``cfc_ref.qlayer`` and
``cfc_ref.tiling`` (spec Q-6, T-6). Each is tested bit-equal to the reference and shares its input checks
(``cfc_ref.qlayer.check_extremes``, ``cfc_ref.tiling.geometry``); none is a second data path.

  qlayer_numpy   ``Quantizer``: the spec's binary64 steps into reused numpy buffers
  qlayer_torch   batched Q-layer in torch, CPU or CUDA (per-item side info)
  tiling         reshape/transpose tiling in numpy, and batched in torch
  fused          Q-layer + tiling in one compiled pass (numba, extra ``fast``)
"""

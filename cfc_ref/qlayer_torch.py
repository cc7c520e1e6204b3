"""Batched Q-layer in torch, CPU or CUDA (spec Q-6.1); the readable reference is ``cfc_ref.qlayer``.

Each item of a B×C×H×W batch gets its own side info, exactly as if quantized alone. The arithmetic is the spec's
binary64 sequence (Q-3.1, Q-3.2, Q-4.1), one elementwise op per spec operation so nothing is fused.
"""

from __future__ import annotations

import torch

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, check_bit_depth, check_mode


def batch_side_info(v: torch.Tensor, mode: QuantMode = "minmax") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item (lo, hi) as float32 tensors of shape (B,) (spec Q-2.1, Q-2.2, Q-2.4), after the Q-1 checks."""
    check_mode(mode)
    if not v.is_floating_point():
        raise QLayerError(f"feature tensor must be floating point, got {v.dtype}")
    if v.dim() < 2 or v[0].numel() == 0:
        raise QLayerError(f"expected a non-empty batch B×..., got shape {tuple(v.shape)}")
    flat = v.to(torch.float32).reshape(v.shape[0], -1)
    if not torch.isfinite(flat).all():
        raise QLayerError("feature tensor contains NaN or infinity")
    lo, hi = flat.amin(dim=1) + 0.0, flat.amax(dim=1) + 0.0  # + 0.0: -0.0 → +0.0
    if mode == "relu":
        if (lo < 0).any():
            raise QLayerError("relu mode needs a non-negative tensor")
        lo = torch.zeros_like(lo)
    return lo, hi


def _per_item(x: torch.Tensor, ndim: int) -> torch.Tensor:
    return x.to(torch.float64).reshape((-1,) + (1,) * (ndim - 1))


def quantize_batch(v: torch.Tensor, bit_depth: int, mode: QuantMode = "minmax"
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. (2) per item: returns (q as int32, lo, hi); q equals ``cfc_ref.qlayer.quantize`` of each item."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    lo, hi = batch_side_info(v, mode)
    d = _per_item(hi, v.dim()) - _per_item(lo, v.dim())
    constant = d == 0
    scale = torch.where(constant, torch.zeros_like(d), levels / torch.where(constant, torch.ones_like(d), d))
    t = (v.to(torch.float32).to(torch.float64) - _per_item(lo, v.dim())) * scale
    whole = torch.floor(t)
    q = whole + ((t - whole) >= 0.5).to(torch.float64)
    return q.clamp_(0, levels).to(torch.int32), lo, hi


def dequantize_batch(q: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Eq. (3) per item (spec Q-4.1): float32 features; equals ``cfc_ref.qlayer.dequantize`` of each item."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    if q.numel() and (int(q.min()) < 0 or int(q.max()) > levels):
        raise QLayerError(f"quantized samples must lie in 0..{levels} for {bit_depth} bits")
    lo64 = _per_item(lo, q.dim())
    step = (_per_item(hi, q.dim()) - lo64) / levels
    return (q.to(torch.float64) * step + lo64).to(torch.float32)

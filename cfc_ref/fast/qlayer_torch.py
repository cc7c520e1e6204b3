"""Batched Q-layer in torch, CPU or CUDA (spec Q-6.1); the readable reference is ``cfc_ref.qlayer``.

Each item of a B×C×H×W batch gets its own side info, exactly as if quantized alone. The arithmetic is the spec's
binary64 sequence (Q-3.1, Q-3.2, Q-4.1), one elementwise op per spec operation so nothing is fused.

The per-item divisions (scale = L / d, step = d / L) are done on the host in numpy: torch computes
``scalar / tensor`` as ``reciprocal() * scalar`` and, on CUDA, ``tensor / scalar`` as a multiply by the reciprocal —
two roundings, not the IEEE division the spec requires. Only subtract, multiply, add and floor run on the device.
"""

from __future__ import annotations

import numpy as np
import torch

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, check_bit_depth, check_extremes, check_mode


def check_batch_extremes(lo: np.ndarray, hi: np.ndarray, mode: QuantMode) -> tuple[np.ndarray, np.ndarray]:
    """``qlayer.check_extremes`` of every item of a batch at once (binary64 arrays of the items' min and max): the
    same refusals (the first failing item's message) and the same side info, item by item."""
    lo = np.asarray(lo, dtype=np.float64) + 0.0  # −0.0 → +0.0
    hi = np.asarray(hi, dtype=np.float64) + 0.0
    for bad in (~(np.isfinite(lo) & np.isfinite(hi)), (lo < 0.0) if mode == "relu" else np.zeros(lo.shape, bool)):
        if bad.any():  # finiteness first, over every item, then relu's sign: the reference's error for that item
            first = int(np.flatnonzero(bad)[0])
            check_extremes(lo[first], hi[first], mode)
    return (np.zeros_like(lo) if mode == "relu" else lo), hi


def batch_side_info(v: torch.Tensor, mode: QuantMode = "minmax") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item (lo, hi) as float32 tensors of shape (B,) (spec Q-2.1, Q-2.2, Q-2.4), after the Q-1 checks."""
    check_mode(mode)
    if not v.is_floating_point():
        raise QLayerError(f"feature tensor must be floating point, got {v.dtype}")
    if v.dim() < 2 or v[0].numel() == 0:
        raise QLayerError(f"expected a non-empty batch B×..., got shape {tuple(v.shape)}")
    flat = v.to(torch.float32).reshape(v.shape[0], -1)
    if torch.isnan(flat).any():  # explicit, whatever a device's reduction does with NaN
        raise QLayerError("feature tensor contains NaN or infinity")
    lo, hi = check_batch_extremes(flat.amin(dim=1).cpu().numpy(), flat.amax(dim=1).cpu().numpy(), mode)
    return (torch.as_tensor(lo, dtype=torch.float32, device=v.device),
            torch.as_tensor(hi, dtype=torch.float32, device=v.device))


def _per_item(x: torch.Tensor | np.ndarray, ndim: int, device: torch.device) -> torch.Tensor:
    """A (B,) vector as binary64 of shape (B, 1, 1, ...) on ``device``, to broadcast against the batch."""
    return torch.as_tensor(x, dtype=torch.float64, device=device).reshape((-1,) + (1,) * (ndim - 1))


def _host_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """IEEE binary64 division on the host, elementwise; 0 where the denominator is 0 (constant items, Q-3.4)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def quantize_batch(v: torch.Tensor, bit_depth: int, mode: QuantMode = "minmax"
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. (2) per item: returns (q as int32, lo, hi); q equals ``cfc_ref.qlayer.quantize`` of each item."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    lo, hi = batch_side_info(v, mode)
    d = hi.cpu().numpy().astype(np.float64) - lo.cpu().numpy().astype(np.float64)
    scale = _per_item(_host_divide(np.full_like(d, levels), d), v.dim(), v.device)  # s = L / d
    t = v.to(torch.float32).to(torch.float64)  # a fresh buffer: every op below is in place, one per spec step
    t.sub_(_per_item(lo, v.dim(), v.device)).mul_(scale)
    q = torch.floor(t)
    t.sub_(q)  # fractional part, exact
    q.add_(t >= 0.5)  # half up
    return q.clamp_(0, levels).to(torch.int32), lo, hi


def dequantize_batch(q: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Eq. (3) per item (spec Q-4.1): float32 features; equals ``cfc_ref.qlayer.dequantize`` of each item."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    if q.numel() and (int(q.min()) < 0 or int(q.max()) > levels):
        raise QLayerError(f"quantized samples must lie in 0..{levels} for {bit_depth} bits")
    d = hi.cpu().numpy().astype(np.float64) - lo.cpu().numpy().astype(np.float64)
    step = _per_item(d / levels, q.dim(), q.device)  # step = d / L, divided on the host
    return (q.to(torch.float64) * step + _per_item(lo, q.dim(), q.device)).to(torch.float32)

"""Batched Q-layer in torch, CPU or CUDA (spec Q-6.1); the readable reference is ``cfc_ref.qlayer``.

Each item of a B×C×H×W batch gets its own side info, exactly as if quantized alone. The arithmetic is the spec's
binary64 sequence (Q-3.1, Q-3.2, Q-4.1), one elementwise op per spec operation so nothing is fused.

No host round trip: every value, the side info and the checks included, stays on the batch's device, so the path
can be queued behind the network, captured in a CUDA graph, and read back only where its result leaves the device.
The checks the spec requires of the data (Q-1.2 finite, Q-2.2 non-negative in ``relu`` mode, Q-4.2 samples in
range) give a per-item code on the device (:data:`VALID`, :data:`NON_FINITE`, ...): ``quantize_batch`` and
``dequantize_batch`` read it once, at their end, to raise the ``QLayerError``; the ``*_deferred`` forms return it
unread, for a caller that reads it with the copy it makes anyway (:meth:`QuantizedBatch.check`).

Divisions are binary64 tensor ÷ tensor on the device, which is IEEE division on CPU and CUDA. No division here has
a scalar operand: torch computes a division by a Python (CPU) scalar on CUDA as a multiply by its reciprocal — two
roundings, not the division the spec requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, check_bit_depth, check_mode

VALID, NON_FINITE, NEGATIVE_IN_RELU, SAMPLE_RANGE = 0, 1, 2, 3  # per-item check codes


@dataclass(frozen=True)
class QuantizedBatch:
    """Eq. (2) of a batch on its device: samples ``q`` (int32, B×...), side info ``lo``, ``hi`` (float32, (B,)), the
    per-item check ``code`` (uint8, (B,)) and each item's own minimum (for the message), none of them read yet."""

    q: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor
    code: torch.Tensor
    minimum: torch.Tensor

    def check(self) -> QuantizedBatch:
        """Read the checks (one synchronisation) and raise the first failing item's ``QLayerError``; returns self."""
        raise_for(self.code, self.minimum)
        return self


def raise_for(code: torch.Tensor, minimum: torch.Tensor | None = None, bit_depth: int | None = None) -> None:
    """Raise the ``QLayerError`` of the first item whose check ``code`` is not :data:`VALID` (reads the codes)."""
    codes = code.cpu()
    bad = torch.nonzero(codes).flatten()
    if not bad.numel():
        return
    first = int(bad[0])
    kind = int(codes[first])
    if kind == NON_FINITE:
        raise QLayerError("feature tensor contains NaN or infinity")
    if kind == NEGATIVE_IN_RELU:
        low = float(minimum[first]) if minimum is not None else float("nan")
        raise QLayerError(f"relu mode needs a non-negative tensor, min is {low!r}")
    raise QLayerError(f"quantized samples must lie in 0..{2 ** (bit_depth or 16) - 1} for {bit_depth} bits")


def _extremes(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each item's min and max as float32 (B,), after the Q-1.1 and Q-1.4 checks (metadata only). One pass over
    the batch; ``aminmax`` propagates NaN (torch documents it), so a NaN or ±Inf anywhere shows in the min or max."""
    if not v.is_floating_point():
        raise QLayerError(f"feature tensor must be floating point, got {v.dtype}")
    if v.dim() < 2 or v[0].numel() == 0:
        raise QLayerError(f"expected a non-empty batch B×..., got shape {tuple(v.shape)}")
    low, high = torch.aminmax(v.to(torch.float32).reshape(v.shape[0], -1), dim=1)
    return low, high


def _side_info(low: torch.Tensor, high: torch.Tensor, mode: QuantMode
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(lo, hi, code) from the extremes: Q-1.2, Q-2.2 (relu: lo = 0, a negative minimum rejected), Q-2.4."""
    check_mode(mode)
    code = torch.where(torch.isfinite(low) & torch.isfinite(high), VALID, NON_FINITE).to(torch.uint8)
    if mode == "relu":
        code = torch.where((code == VALID) & (low < 0), NEGATIVE_IN_RELU, code).to(torch.uint8)
        lo = torch.zeros_like(low)
    else:
        lo = torch.where(low == 0, 0.0, low)  # −0.0 → +0.0
    return lo, torch.where(high == 0, 0.0, high), code


def side_info_deferred(v: torch.Tensor, mode: QuantMode = "minmax"
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-item (lo, hi, code) on ``v``'s device: lo and hi float32 of shape (B,) (spec Q-2.1, Q-2.2, Q-2.4), code
    the Q-1.2 / Q-2.2 check."""
    return _side_info(*_extremes(v), mode)


def batch_side_info(v: torch.Tensor, mode: QuantMode = "minmax") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item (lo, hi) as float32 tensors of shape (B,), after the Q-1 checks (which read the device once)."""
    low, high = _extremes(v)
    lo, hi, code = _side_info(low, high, mode)
    raise_for(code, low)
    return lo, hi


def _per_item(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """A (B,) vector as binary64 of shape (B, 1, 1, ...), to broadcast against the batch."""
    return x.to(torch.float64).reshape((-1,) + (1,) * (ndim - 1))


def _divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """IEEE binary64 division, elementwise, of two tensors on one device; 0 where the denominator is 0 (constant
    items, Q-3.4)."""
    zero = denominator == 0
    return torch.where(zero, 0.0, numerator / torch.where(zero, 1.0, denominator))


def _range(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """d = hi − lo in binary64, per item (Q-3.1)."""
    return hi.to(torch.float64) - lo.to(torch.float64)


def quantize_deferred(v: torch.Tensor, bit_depth: int, mode: QuantMode = "minmax") -> QuantizedBatch:
    """Eq. (2) per item, nothing read back: see :class:`QuantizedBatch`. Items whose check fails get samples too
    (meaningless ones); :meth:`QuantizedBatch.check` raises for them."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    low, high = _extremes(v)
    lo, hi, code = _side_info(low, high, mode)
    d = _range(lo, hi)
    scale = _per_item(_divide(torch.full_like(d, float(levels)), d), v.dim())  # s = L / d
    t = v.to(torch.float32) - _per_item(lo, v.dim())  # binary64: float32 − float64 promotes each sample exactly
    t.mul_(scale)
    q = torch.floor(t)
    t.sub_(q)  # fractional part, exact
    q.add_(t >= 0.5)  # half up
    return QuantizedBatch(q.clamp_(0, levels).to(torch.int32), lo, hi, code, low)


def quantize_batch(v: torch.Tensor, bit_depth: int, mode: QuantMode = "minmax"
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. (2) per item: returns (q as int32, lo, hi); q equals ``cfc_ref.qlayer.quantize`` of each item. Reads the
    device once, for the checks."""
    batch = quantize_deferred(v, bit_depth, mode).check()
    return batch.q, batch.lo, batch.hi


def dequantize_deferred(q: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bit_depth: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (3) per item, nothing read back: (float32 features, per-item code: :data:`SAMPLE_RANGE` where a sample
    lies outside 0..L, Q-4.2)."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    if q.dtype.is_floating_point or q.dtype == torch.bool or q.dim() < 1:
        raise QLayerError(f"quantized samples must be an integer batch, got {q.dtype} {tuple(q.shape)}")
    lo, hi = lo.to(q.device), hi.to(q.device)
    if q.numel():
        low, high = torch.aminmax(q.reshape(q.shape[0], -1), dim=1)
        code = torch.where((low < 0) | (high > levels), SAMPLE_RANGE, VALID).to(torch.uint8)
    else:
        code = torch.zeros(q.shape[0], dtype=torch.uint8, device=q.device)
    d = _range(lo, hi)
    step = _per_item(_divide(d, torch.full_like(d, float(levels))), q.dim())  # step = d / L
    v_hat = q.to(torch.float64).mul_(step).add_(_per_item(lo, q.dim()))  # two roundings: product, then sum
    return v_hat.to(torch.float32), code


def dequantize_batch(q: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Eq. (3) per item (spec Q-4.1): float32 features; equals ``cfc_ref.qlayer.dequantize`` of each item. Reads
    the device once, for the Q-4.2 check."""
    v_hat, code = dequantize_deferred(q, lo, hi, bit_depth)
    raise_for(code, bit_depth=bit_depth)
    return v_hat

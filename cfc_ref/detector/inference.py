"""Batched inference with an explicit precision mode (spec D-8.1): fp32 (reference), bf16 or fp16 autocast.

    raw = infer(model, batch, precision="bf16", channels_last=True)   # N×A·(5+C)×H×W, always returned as fp32
"""

from __future__ import annotations

import torch

from cfc_ref.detector.model import DarknetModel

PRECISIONS = ("fp32", "bf16", "fp16")


@torch.no_grad()
def infer(model: DarknetModel, batch: torch.Tensor, precision: str = "fp32", channels_last: bool = False
          ) -> torch.Tensor:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    model.eval()
    device = next(model.parameters()).device
    batch = batch.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        batch = batch.contiguous(memory_format=torch.channels_last)
    if precision == "fp32":
        out = model(batch)
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        with torch.autocast(device_type=device.type, dtype=dtype):
            out = model(batch)
    return out.float().contiguous()

"""A fast inference copy of a Darknet network (spec D-8.2; non-normative): the same layers, computed for speed.

    fast = FastDarknet(model)                       # fp32; or dtype=torch.bfloat16 on a GPU
    fast = torch.compile(FastDarknet(model))        # compiles (no host-side work in forward)
    front, back = split(fast, "max_17")             # any split point, as with the reference model

What differs from ``DarknetModel`` (which stays the readable, Darknet-exact reference):

- batch norm folded into the convolution: ``w·s/(√v+ε)`` and ``b − m·s/(√v+ε)`` (one pass instead of five);
- leaky ReLU applied in place;
- a 2×2 stride-2 max-pool as ``max_pool2d(ceil_mode=True)``, which equals Darknet's −∞ padding exactly, with no
  padded copy (other pools keep the copy);
- the reorg as one reshape and permute (the permutation Darknet's gather makes), with no index;
- channels_last memory layout and an optional reduced-precision dtype.

Folding changes float32 rounding, so outputs agree with the reference within the tolerance D-8.2 states, not bit for
bit. Inference only: there is no batch-norm training here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cfc_ref.detector.cfg import Conv, MaxPool, NetworkConfig, Region, Reorg, Route
from cfc_ref.detector.layers import BN_EPSILON, ConvLayer, MaxPoolLayer
from cfc_ref.detector.model import INPUT, DarknetModel


class FusedConv(nn.Module):
    """D-2.1 with the batch norm folded in and the activation in place."""

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        conv = layer.conv
        weight = conv.weight.detach().double()
        bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(weight.shape[0]).double()
        if layer.norm is not None:
            norm = layer.norm
            factor = norm.scale.detach().double() / (norm.rolling_variance.detach().double().sqrt() + BN_EPSILON)
            weight = weight * factor.view(-1, 1, 1, 1)
            bias = norm.bias.detach().double() - norm.rolling_mean.detach().double() * factor
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,  # type: ignore[arg-type]
                              conv.padding, bias=True)  # type: ignore[arg-type]
        with torch.no_grad():
            self.conv.weight.copy_(weight.float())
            self.conv.bias.copy_(bias.float())  # type: ignore[union-attr]
        self.activation = layer.spec.activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.activation == "logistic":
            return torch.sigmoid(x)
        return F.leaky_relu_(x, 0.1) if self.activation == "leaky" else x


class FastMaxPool(nn.Module):
    """D-2.2 without the padded copy where that is exact (size 2, stride 2)."""

    def __init__(self, spec: MaxPool) -> None:
        super().__init__()
        self.spec = spec
        self.reference = MaxPoolLayer(spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spec.size == 2 and self.spec.stride == 2:  # windows start inside; a −∞ pad never wins a max
            return F.max_pool2d(x, 2, 2, ceil_mode=True)
        return self.reference(x)


class FastReorg(nn.Module):
    """D-2.4 as one reshape and permute: Darknet's gather (``reorg_index``) reads its input as
    (C/s²)×(H·s)×(W·s) and is exactly the permutation (c', h, oy, w, ox) → (oy, ox, c', h, w) of that view, so no
    index is built or read (tested equal to the reference on every shape)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.stride
        view = x.reshape(n, c // (s * s), h, s, w, s)
        return view.permute(0, 3, 5, 1, 2, 4).reshape(n, c * s * s, h // s, w // s)


class FastDarknet(nn.Module):
    """Inference-only: ``FastDarknet(model)(x) ≈ model(x)`` (D-8.2). Has the reference's ``config``, ``region`` and
    ``run``, so ``cfc_ref.detector.split.split`` cuts it at any split point."""

    def __init__(self, model: DarknetModel, dtype: torch.dtype = torch.float32, channels_last: bool = True) -> None:
        super().__init__()
        self.config: NetworkConfig = model.config
        self.region = model.region
        self.dtype = dtype
        modules: list[nn.Module] = []
        for spec, layer in zip(model.config.layers, model.layers, strict=True):
            if isinstance(spec, Conv):
                assert isinstance(layer, ConvLayer)
                modules.append(FusedConv(layer))
            elif isinstance(spec, MaxPool):
                modules.append(FastMaxPool(spec))
            elif isinstance(spec, Reorg):
                modules.append(FastReorg(spec.stride))
            else:
                assert isinstance(spec, Route | Region)
                modules.append(nn.Identity())
        self.layers = nn.ModuleList(modules)
        device = next(model.parameters()).device
        self.to(device=device, dtype=dtype)
        if channels_last:
            self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.channels_last = channels_last
        self.eval()

    def run(self, outputs: dict[int, torch.Tensor], start: int, stop: int) -> dict[int, torch.Tensor]:
        """As ``DarknetModel.run``; inputs are cast to this model's dtype and layout."""
        prepared = {k: self._prepare(v) for k, v in outputs.items()}
        return DarknetModel.run(self, prepared, start, stop)  # type: ignore[arg-type]  # the same graph walk

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The region layer's input, as float32 (what ``voc_detections`` reads)."""
        last = len(self.config.layers) - 1
        return self.run({INPUT: x}, 0, last)[last - 1].float().contiguous()

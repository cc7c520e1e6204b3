"""Darknet's layers in torch, computed as Darknet computes them (spec D-2)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cfc_ref.detector.cfg import Conv, MaxPool
from cfc_ref.errors import DarknetError

BN_EPSILON = 0.000001  # D-2.1: added to the standard deviation
TRAIN_BN_MOMENTUM = 0.01  # Darknet: rolling = 0.99·rolling + 0.01·batch


class DarknetBatchNorm(nn.Module):
    """D-2.1: (x − mean) / (sqrt(variance) + 1e-6) · scale + bias; batch statistics while training (Darknet)."""

    rolling_mean: torch.Tensor
    rolling_variance: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("rolling_mean", torch.zeros(channels))
        self.register_buffer("rolling_variance", torch.ones(channels))
        self._kept: tuple[tuple, tuple[torch.Tensor, ...]] | None = None  # see _inference_terms

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(dim=(0, 2, 3))
            variance = x.var(dim=(0, 2, 3), unbiased=True)
            with torch.no_grad():
                self.rolling_mean.mul_(1 - TRAIN_BN_MOMENTUM).add_(TRAIN_BN_MOMENTUM * mean)
                self.rolling_variance.mul_(1 - TRAIN_BN_MOMENTUM).add_(TRAIN_BN_MOMENTUM * variance)
        else:
            mean, variance = self.rolling_mean, self.rolling_variance
        shape = (1, -1, 1, 1)
        if _in_place_ok(x) and not self.training:  # D-8.3: the same four operations in the same order, in place
            mean, denominator, scale, bias = self._inference_terms()
            return x.sub_(mean).div_(denominator).mul_(scale).add_(bias)
        if _in_place_ok(x):
            return (x.sub_(mean.view(shape)).div_(variance.view(shape).sqrt() + BN_EPSILON)
                    .mul_(self.scale.view(shape)).add_(self.bias.view(shape)))
        normalised = (x - mean.view(shape)) / (variance.view(shape).sqrt() + BN_EPSILON)
        return normalised * self.scale.view(shape) + self.bias.view(shape)

    def _inference_terms(self) -> tuple[torch.Tensor, ...]:
        """D-8.3: mean, sqrt(variance) + 1e-6, scale and bias shaped for broadcasting, computed once and kept
        while the four tensors are unchanged (same storage, same version: any in-place change, as loading weights
        makes, computes them again) — the same binary32 operations as computing them at every call."""
        tensors = (self.rolling_mean, self.rolling_variance, self.scale, self.bias)
        key = tuple((t.data_ptr(), t._version, t.device) for t in tensors)
        if self._kept is None or self._kept[0] != key:
            shape = (1, -1, 1, 1)
            with torch.no_grad():
                terms = (self.rolling_mean.view(shape), self.rolling_variance.view(shape).sqrt() + BN_EPSILON,
                         self.scale.detach().view(shape), self.bias.detach().view(shape))
            self._kept = (key, terms)
        return self._kept[1]


def _in_place_ok(x: torch.Tensor) -> bool:
    """D-8.3: outside autograd, a layer may overwrite the fresh tensor it just made (same numbers, no copies)."""
    return not torch.is_grad_enabled() and not x.requires_grad


class ConvLayer(nn.Module):
    """D-2.1: convolution, optional Darknet batch norm, leaky (0.1), linear or logistic activation."""

    def __init__(self, spec: Conv, in_channels: int) -> None:
        super().__init__()
        self.spec = spec
        self.conv = nn.Conv2d(in_channels, spec.filters, spec.size, spec.stride, spec.padding,
                              bias=not spec.batch_normalize)
        self.norm = DarknetBatchNorm(spec.filters) if spec.batch_normalize else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.spec.activation == "logistic":  # D-2.1: Darknet's default activation, 1 / (1 + exp(−x))
            return torch.sigmoid(x)
        if self.spec.activation != "leaky":
            return x
        return F.leaky_relu_(x, 0.1) if _in_place_ok(x) else F.leaky_relu(x, 0.1)


class MaxPoolLayer(nn.Module):
    """D-2.2: Darknet pads size − 1 (left/top: (size − 1) // 2) with −∞ and pools without ceil."""

    def __init__(self, spec: MaxPool) -> None:
        super().__init__()
        self.spec = spec
        pad = spec.size - 1
        self.padding = (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._reads_padding(x.shape[-2], x.shape[-1]):  # D-8.3: no window reaches the padding: no copy
            if self.spec.size == 2 and self.spec.stride == 2 and _in_place_ok(x):
                return pool_2x2(x)
            return F.max_pool2d(x, self.spec.size, self.spec.stride)
        x = F.pad(x, self.padding, value=float("-inf"))
        return F.max_pool2d(x, self.spec.size, self.spec.stride)

    def _reads_padding(self, height: int, width: int) -> bool:
        """Whether some window of Darknet's output grid covers a padded row or column."""
        left, right, top, bottom = self.padding
        size, stride = self.spec.size, self.spec.stride
        if left or top:
            return True
        rows = (height + top + bottom - size) // stride + 1
        cols = (width + left + right - size) // stride + 1
        return (rows - 1) * stride + size > height or (cols - 1) * stride + size > width


def pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """D-8.3: a 2×2 stride-2 max-pool of even height and width, bit for bit ``F.max_pool2d(x, 2, 2)``, as two
    elementwise maxima over strided views (torch's pooling loop is about ten times slower on one CPU thread).

    The pooling loop keeps the first of equal values in window order and the last NaN; the elementwise maximum may
    return either of two equal values and makes its own NaN. Equal non-zero values have the same bits, so the two
    differ only where the maximum is a zero (+0 and −0 are equal) or NaN: when any output is, the pooling itself
    runs instead."""
    columns = torch.maximum(x[..., 0::2], x[..., 1::2])
    pooled = torch.maximum(columns[..., 0::2, :], columns[..., 1::2, :])
    if bool((pooled.abs() > 0).all()):  # |0| > 0 and |NaN| > 0 are both false
        return pooled
    return F.max_pool2d(x, 2, 2)


@lru_cache(maxsize=32)
def reorg_index(channels: int, height: int, width: int, stride: int) -> np.ndarray:
    """D-2.4: for each output flat index, the input flat index Darknet's reorg_cpu(forward=0) reads."""
    out_channels = channels // (stride * stride)
    k, j, i = np.meshgrid(np.arange(channels), np.arange(height), np.arange(width), indexing="ij")
    c2, offset = k % out_channels, k // out_channels
    w2 = i * stride + offset % stride
    h2 = j * stride + offset // stride
    return (w2 + width * stride * (h2 + height * stride * c2)).ravel()


class ReorgLayer(nn.Module):
    """D-2.4: Darknet's reorg (a gather by the index above, then a view as (C·s²)×(H/s)×(W/s))."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.stride
        if h % s or w % s or c % (s * s):
            raise DarknetError(f"reorg stride {s} needs H, W divisible by {s} and C by {s * s}, got {c}×{h}×{w}")
        index = torch.from_numpy(reorg_index(c, h, w, s)).to(x.device)
        return x.reshape(n, -1).index_select(1, index).view(n, c * s * s, h // s, w // s)

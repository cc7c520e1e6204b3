"""The Darknet network as a torch module that can run any range of its layers (spec D-2, D-5)."""

from __future__ import annotations

import torch
from torch import nn

from cfc_ref.detector.cfg import Conv, MaxPool, NetworkConfig, Region, Reorg, Route, network_shapes
from cfc_ref.detector.layers import ConvLayer, MaxPoolLayer, ReorgLayer
from cfc_ref.errors import DarknetError

INPUT = -1  # key of the network input in a layer-output dictionary


class DarknetModel(nn.Module):
    """``model(x)`` is the region layer's input: the last convolution's raw output, N×num·(5+classes)×H/32×W/32.

    ``run(outputs, start, stop)`` runs layers start..stop−1 on a dictionary of layer outputs (the network input under
    key −1); routes read earlier entries. Front and back ends of a split are two such ranges (D-5.1).
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        network_shapes(config)  # D-1.4: bounds and geometry before any parameter is allocated
        self.config = config
        self.region = config.region
        self.out_channels: list[int] = []
        modules: list[nn.Module] = []
        channels = config.channels
        for index, spec in enumerate(config.layers):
            if isinstance(spec, Conv):
                modules.append(ConvLayer(spec, channels))
                channels = spec.filters
            elif isinstance(spec, MaxPool):
                modules.append(MaxPoolLayer(spec))
            elif isinstance(spec, Reorg):
                modules.append(ReorgLayer(spec.stride))
                channels *= spec.stride * spec.stride
            elif isinstance(spec, Route):
                modules.append(nn.Identity())
                channels = sum(self.out_channels[i] for i in spec.layers)
            elif isinstance(spec, Region):
                expected = spec.num * (5 + spec.classes)
                if channels != expected:
                    raise DarknetError(f"layer {index}: region needs {expected} channels, its input has {channels}")
                modules.append(nn.Identity())
            self.out_channels.append(channels)
        self.layers = nn.ModuleList(modules)

    def run(self, outputs: dict[int, torch.Tensor], start: int, stop: int) -> dict[int, torch.Tensor]:
        """Run layers ``start``..``stop−1``; adds their outputs to ``outputs`` and returns it."""
        for index in range(start, stop):
            spec = self.config.layers[index]
            if isinstance(spec, Route):
                outputs[index] = torch.cat([outputs[i] for i in spec.layers], dim=1)
            else:
                outputs[index] = self.layers[index](outputs[index - 1 if index else INPUT])
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.channels:
            raise DarknetError(f"expected N×{self.config.channels}×H×W input, got {tuple(x.shape)}")
        last = len(self.config.layers) - 1
        return self.run({INPUT: x}, 0, last)[last - 1]

    def layer_outputs(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Every layer's output (the region layer's is its input), for profiles and layer-by-layer checks."""
        outputs = self.run({INPUT: x}, 0, len(self.config.layers) - 1)
        outputs[len(self.config.layers) - 1] = outputs[len(self.config.layers) - 2]
        return outputs

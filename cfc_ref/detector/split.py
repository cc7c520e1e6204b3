"""Split points: a cut of the layer graph into a mobile front end and a cloud back end (spec D-5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cfc_ref.detector.cfg import NetworkConfig, Region, Route
from cfc_ref.detector.model import INPUT, DarknetModel
from cfc_ref.errors import DarknetError


@dataclass(frozen=True)
class SplitPoint:
    name: str  # e.g. "max_17"
    index: int  # the last layer of the front end
    crossing: tuple[int, ...]  # layers whose outputs are transmitted (D-5.1)
    crossing_names: tuple[str, ...]


def split_index(config: NetworkConfig, name: str) -> int:
    """``max_17`` → 17, checking that layer 17 really is a maxpool (D-1.2)."""
    try:
        kind, number = name.rsplit("_", 1)
        index = int(number)
    except ValueError:
        raise DarknetError(f"split point {name!r} is not <type>_<index>, e.g. max_17") from None
    last = len(config.layers) - 1
    if not 0 <= index < last:
        raise DarknetError(f"split point {name!r}: layer index must be 0..{last - 1}")
    if config.split_name(index) != name:
        raise DarknetError(f"split point {name!r}: layer {index} is {config.split_name(index)}")
    if kind not in ("conv", "max", "route", "reorg"):
        raise DarknetError(f"split point {name!r}: unknown layer type {kind!r}")
    return index


def crossing_layers(config: NetworkConfig, index: int) -> tuple[int, ...]:
    """D-5.1: outputs of layers ≤ index that a layer > index reads."""
    needed = {index}
    for later in range(index + 1, len(config.layers)):
        layer = config.layers[later]
        if isinstance(layer, Route):
            needed.update(i for i in layer.layers if i <= index)
        elif not isinstance(layer, Region) and later - 1 <= index:
            needed.add(later - 1)
    return tuple(sorted(needed))


def split_point(config: NetworkConfig, name: str) -> SplitPoint:
    index = split_index(config, name)
    crossing = crossing_layers(config, index)
    return SplitPoint(name, index, crossing, tuple(config.split_name(i) for i in crossing))


def all_split_points(config: NetworkConfig) -> list[SplitPoint]:
    return [split_point(config, config.split_name(i)) for i in range(len(config.layers) - 1)]


class FrontEnd(nn.Module):
    """Mobile side: image batch → {name: tensor} of everything that crosses the cut."""

    def __init__(self, model: DarknetModel, point: SplitPoint) -> None:
        super().__init__()
        self.model, self.point = model, point

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = self.model.run({INPUT: x}, 0, self.point.index + 1)
        return {name: outputs[i] for i, name in zip(self.point.crossing, self.point.crossing_names, strict=True)}


class BackEnd(nn.Module):
    """Cloud side: the transmitted tensors → the region layer's input, equal to ``model(x)``."""

    def __init__(self, model: DarknetModel, point: SplitPoint) -> None:
        super().__init__()
        self.model, self.point = model, point

    def forward(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        missing = set(self.point.crossing_names) - set(tensors)
        if missing:
            raise DarknetError(f"back end of {self.point.name} needs {sorted(missing)}")
        outputs = {i: tensors[name] for i, name in zip(self.point.crossing, self.point.crossing_names, strict=True)}
        last = len(self.model.config.layers) - 1
        return self.model.run(outputs, self.point.index + 1, last)[last - 1]


def split(model: DarknetModel, name: str) -> tuple[FrontEnd, BackEnd]:
    """D-5.1: ``back(front(x)) == model(x)`` exactly."""
    point = split_point(model.config, name)
    return FrontEnd(model, point), BackEnd(model, point)

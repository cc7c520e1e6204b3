"""Darknet ``.weights`` files: read, load into a model, write (spec D-3)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cfc_ref.detector.layers import ConvLayer
from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import DarknetError

WRITE_VERSION = (0, 2, 0)


@dataclass(frozen=True)
class WeightsHeader:
    major: int
    minor: int
    revision: int
    seen: int

    @property
    def seen_is_64bit(self) -> bool:
        """D-3.1: int64 ``seen`` when major·10 + minor ≥ 2 (and both < 1000)."""
        return self.major * 10 + self.minor >= 2 and self.major < 1000 and self.minor < 1000

    def to_bytes(self) -> bytes:
        seen = struct.pack("<q" if self.seen_is_64bit else "<i", self.seen)
        return struct.pack("<iii", self.major, self.minor, self.revision) + seen


def _conv_layers(model: DarknetModel) -> list[tuple[int, ConvLayer]]:
    return [(i, m) for i, m in enumerate(model.layers) if isinstance(m, ConvLayer)]


def _tensor_sizes(layer: ConvLayer) -> list[tuple[str, int]]:
    """D-3.1 order: biases, [scales, rolling_mean, rolling_variance], weights."""
    filters = layer.spec.filters
    names = ["biases"] + (["scales", "rolling_mean", "rolling_variance"] if layer.norm is not None else [])
    return [(name, filters) for name in names] + [("weights", layer.conv.weight.numel())]


def expected_bytes(model: DarknetModel, header: WeightsHeader) -> int:
    floats = sum(size for _, layer in _conv_layers(model) for _, size in _tensor_sizes(layer))
    return len(header.to_bytes()) + 4 * floats


def read_header(data: bytes) -> WeightsHeader:
    if len(data) < 16:
        raise DarknetError(f"weights file is {len(data)} bytes: too short for a header")
    major, minor, revision = struct.unpack_from("<iii", data)
    probe = WeightsHeader(major, minor, revision, 0)
    if probe.seen_is_64bit:
        if len(data) < 20:
            raise DarknetError("weights header truncated (64-bit seen)")
        (seen,) = struct.unpack_from("<q", data, 12)
    else:
        (seen,) = struct.unpack_from("<i", data, 12)
    return WeightsHeader(major, minor, revision, seen)


def _read_checked(model: DarknetModel, source: str | Path) -> bytes:
    """The whole file, read only after its size was compared with what the cfg needs (D-3.2)."""
    from cfc_ref.fileio import open_regular

    path = Path(source)
    try:
        with open_regular(path, DarknetError) as fh:
            size = os.fstat(fh.fileno()).st_size
            header = read_header(fh.read(20))
            _check_size(size, expected_bytes(model, header), path)
            fh.seek(0)
            return fh.read()
    except IsADirectoryError:
        raise DarknetError(f"{path}: a directory, not a weights file") from None


def _check_size(size: int, expected: int, where: object) -> None:
    if size != expected:
        raise DarknetError(f"{where}: weights file has {size} bytes, this cfg needs {expected} "
                           f"({'too short' if size < expected else 'bytes left over'})")


def load_weights(model: DarknetModel, source: str | Path | bytes) -> WeightsHeader:
    """Read a weights file into ``model`` (D-3.1); any size mismatch is a DarknetError (D-3.2), found before the
    file is read into memory."""
    data = source if isinstance(source, bytes) else _read_checked(model, source)
    header = read_header(data)
    _check_size(len(data), expected_bytes(model, header), "source" if isinstance(source, bytes) else source)
    offset = len(header.to_bytes())
    with torch.no_grad():
        for _, layer in _conv_layers(model):
            for name, size in _tensor_sizes(layer):
                values = torch.from_numpy(np.frombuffer(data, dtype="<f4", count=size, offset=offset).copy())
                offset += 4 * size
                _target(layer, name).copy_(values.view_as(_target(layer, name)))
    return header


def _target(layer: ConvLayer, name: str) -> torch.Tensor:
    if name == "weights":
        return layer.conv.weight
    if layer.norm is None:
        assert layer.conv.bias is not None
        return layer.conv.bias
    return {"biases": layer.norm.bias, "scales": layer.norm.scale, "rolling_mean": layer.norm.rolling_mean,
            "rolling_variance": layer.norm.rolling_variance}[name]


def weights_bytes(model: DarknetModel, seen: int = 0) -> bytes:
    """D-3.2: version 0.2.0, 64-bit seen, then every conv layer's tensors in D-3.1 order."""
    parts = [WeightsHeader(*WRITE_VERSION, seen).to_bytes()]
    for _, layer in _conv_layers(model):
        for name, _ in _tensor_sizes(layer):
            parts.append(_target(layer, name).detach().cpu().numpy().astype("<f4").tobytes())
    return b"".join(parts)


def save_weights(model: DarknetModel, path: str | Path, seen: int = 0) -> None:
    Path(path).write_bytes(weights_bytes(model, seen))


def randomize(model: DarknetModel, seed: int = 0) -> DarknetModel:
    """Random but well-scaled weights (He-normal kernels, BN near identity), for tests and stand-ins."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, layer in _conv_layers(model):
            fan_in = layer.conv.weight[0].numel()
            layer.conv.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
            if layer.norm is not None:
                layer.norm.scale.uniform_(0.8, 1.2, generator=generator)
                layer.norm.bias.normal_(0.0, 0.1, generator=generator)
                layer.norm.rolling_mean.normal_(0.0, 0.1, generator=generator)
                layer.norm.rolling_variance.uniform_(0.5, 1.5, generator=generator)
            else:
                assert layer.conv.bias is not None
                layer.conv.bias.normal_(0.0, 0.1, generator=generator)
    return model


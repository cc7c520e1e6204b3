"""Mobile side and cloud side of one image: features → container bytes → features (spec O-2).

    data = encode_features({"max_17": v17, "route_16": v16}, bit_depth=8)     # mobile
    features = decode_features(data)                                          # cloud

Data flows one way: Q-layer (``qlayer``) → tiling (``tiling``) → codec (``codecs``) → container (``container``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cfc_ref import qlayer, tiling
from cfc_ref.accounting import ImageBits, image_bits
from cfc_ref.codecs import PictureCodec, get_codec
from cfc_ref.container import TensorRecord, pack, parse
from cfc_ref.errors import CfcError


@dataclass(frozen=True)
class EncodeSettings:
    bit_depth: int = 8
    mode: qlayer.QuantMode = "minmax"
    layout: tiling.Layout = "tile"
    align: int = tiling.DEFAULT_ALIGN
    codec: str | PictureCodec = "raw"  # a wire name, or a configured codec such as HevcCodec(quality=27)


def encode_tensor(name: str, v: np.ndarray, settings: EncodeSettings) -> TensorRecord:
    """One tensor through Q-layer, tiling and codec into a wire record."""
    if np.ndim(v) != 3:
        raise CfcError(f"tensor {name!r} must be C×H×W, got shape {np.shape(v)}")
    q, side = qlayer.quantize(v, settings.bit_depth, settings.mode)
    picture = tiling.tile(q, settings.layout, settings.align)
    codec = get_codec(settings.codec)
    payload = codec.encode(picture, settings.bit_depth)
    shape = (int(q.shape[0]), int(q.shape[1]), int(q.shape[2]))
    return TensorRecord(name, shape, settings.bit_depth, settings.layout, settings.align, codec.name, side, payload)


def decode_record(record: TensorRecord) -> np.ndarray:
    """Inverse of :func:`encode_tensor`: codec decode → untile → de-quantize."""
    picture = get_codec(record.codec).decode(record.payload, record.picture_shape, record.bit_depth)
    q = tiling.untile(picture, record.shape, record.layout, record.align)
    return qlayer.dequantize(q, record.side_info, record.bit_depth)


def encode_features(features: Mapping[str, np.ndarray], settings: EncodeSettings = EncodeSettings()
                    ) -> bytes:
    """All tensors that cross a split, as one container."""
    return pack([encode_tensor(name, v, settings) for name, v in features.items()])


def decode_features(data: bytes) -> dict[str, np.ndarray]:
    return {record.name: decode_record(record) for record in parse(data)}


def bits_of(data: bytes) -> ImageBits:
    """Counted bits and container overhead of one container (spec W-5)."""
    return image_bits(parse(data), len(data))

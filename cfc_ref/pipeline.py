"""Mobile side and cloud side of one image: features → container bytes → features (spec O-2).

    data = encode_features({"max_17": v17, "conv_16": v16}, EncodeSettings(bit_depth=8))   # mobile
    features = decode_features(data)                                                       # cloud
    cloud = decode_container(data, decoder="fast")     # the same, with the decoders used and the bits received

Data flows one way: Q-layer (``qlayer``) → tiling (``tiling``) → codec (``codecs``) → container (``container``), and
back. ``implementation`` says which code computes the Q-layer and tiling (spec E-12, ``cfc_ref.implementations``):
``fast`` (the default) runs their fast twins ``fast.qlayer_numpy`` and ``fast.tiling``, ``reference`` the readable
``qlayer`` and ``tiling``; both give the same bytes (tested). ``EncodeSettings.quantizer`` picks the Q-layer variant:
``paper`` (eq. 2, the default) or ``fcm`` (spec Q-7: each tensor's configured range from ``ranges``, floor; one
readable implementation, ``qlayer.quantize_fixed``, in both). The experiment's engines and the codec-in-the-loop
training layer use these functions; nothing else codes features.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cfc_ref import qlayer, tiling
from cfc_ref.accounting import ImageBits, image_bits
from cfc_ref.codecs import PictureCodec, get_codec
from cfc_ref.codecs.decoded import DecodedPictures
from cfc_ref.container import TensorRecord, pack, parse
from cfc_ref.errors import CfcError
from cfc_ref.implementations import DEFAULT, Implementation


@dataclass(frozen=True)
class EncodeSettings:
    bit_depth: int = 8
    mode: qlayer.QuantMode = "minmax"
    layout: tiling.Layout = "tile"
    align: int = tiling.DEFAULT_ALIGN
    codec: str | PictureCodec = "raw"  # a wire name, or a configured codec such as HevcCodec(quality=27)
    quantizer: str = "paper"  # "paper" (eq. 2, Q-3) or "fcm" (Q-7: a configured range per tensor, floor)
    ranges: tuple[tuple[str, float, float], ...] = ()  # fcm: (tensor name, lo, hi) of every tensor it codes

    def range_of(self, name: str) -> qlayer.SideInfo:
        """Q-7.1: the configured range of tensor ``name`` (rounded to binary32 and checked)."""
        for tensor, lo, hi in self.ranges:
            if tensor == name:
                return qlayer.fixed_range(lo, hi)
        raise CfcError(f"the FCM quantizer has no configured range for tensor {name!r} "
                       f"(ranges: {', '.join(t for t, _, _ in self.ranges) or 'none'})")


QUANTIZERS = ("paper", "fcm")


def quantize_for(name: str, v: np.ndarray, settings: EncodeSettings, implementation: Implementation = DEFAULT
                 ) -> tuple[np.ndarray, qlayer.SideInfo, int]:
    """The Q-layer of one tensor as ``settings`` say: samples, side info and the elements clipped (Q-7.3; 0 for
    the paper's quantizer, which never clips)."""
    if settings.quantizer == "fcm":
        return qlayer.quantize_fixed(v, settings.range_of(name), settings.bit_depth)
    if settings.quantizer != "paper":
        raise CfcError(f"quantizer must be one of {', '.join(QUANTIZERS)}, got {settings.quantizer!r}")
    if implementation == "reference":
        return (*qlayer.quantize(v, settings.bit_depth, settings.mode), 0)
    return (*_quantize(v, settings.bit_depth, settings.mode), 0)


def to_picture(v: np.ndarray, settings: EncodeSettings, implementation: Implementation = DEFAULT, name: str = ""
               ) -> tuple[np.ndarray, qlayer.SideInfo]:
    """Mobile side before the codec: Q-layer (Q-3, or Q-7 for tensor ``name``) then tiling (T-2..T-4) of one C×H×W
    tensor."""
    picture, side, _ = _to_picture(name, v, settings, implementation)
    return picture, side


def _to_picture(name: str, v: np.ndarray, settings: EncodeSettings, implementation: Implementation
                ) -> tuple[np.ndarray, qlayer.SideInfo, int]:
    if np.ndim(v) != 3:
        raise CfcError(f"a transmitted tensor must be C×H×W, got shape {np.shape(v)}")
    q, side, clipped = quantize_for(name, v, settings, implementation)
    if implementation == "reference":
        return tiling.tile(q, settings.layout, settings.align), side, clipped
    from cfc_ref.fast.tiling import tile_fast  # the readable cfc_ref.tiling.tile, vectorised; tested equal (T-6.1)

    return tile_fast(q, settings.layout, settings.align), side, clipped  # tile_fast copies q into the picture


_QUANTIZERS = threading.local()


def _quantize(v: np.ndarray, bit_depth: int, mode: qlayer.QuantMode) -> tuple[np.ndarray, qlayer.SideInfo]:
    """Q-3 of a float32 tensor through ``fast.qlayer_numpy.Quantizer`` (the readable ``qlayer.quantize`` with its
    buffers reused per shape; tested equal, Q-6.1); anything else through ``qlayer.quantize`` itself. The samples
    returned may be a buffer the next call overwrites."""
    if not (isinstance(v, np.ndarray) and v.dtype == np.float32 and v.size and type(bit_depth) is int
            and 1 <= bit_depth <= 16):
        return qlayer.quantize(v, bit_depth, mode)
    from cfc_ref.fast.qlayer_numpy import Quantizer

    cache = _QUANTIZERS.__dict__.setdefault("by_shape", {})
    key = (v.shape, bit_depth, mode)
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = Quantizer(v.shape, bit_depth, mode)
    return cache[key](np.ascontiguousarray(v))


def from_picture(picture: np.ndarray, shape: tuple[int, int, int], side: qlayer.SideInfo,
                 settings: EncodeSettings, implementation: Implementation = DEFAULT) -> np.ndarray:
    """Cloud side after the codec: untile (T-5) then de-quantize (Q-4, the reference's in both implementations)."""
    from cfc_ref.fast.tiling import untile_fast  # the readable cfc_ref.tiling.untile, vectorised (T-6.1)

    samples = picture.astype(qlayer.sample_dtype(settings.bit_depth), copy=False)
    untile = tiling.untile if implementation == "reference" else untile_fast
    return qlayer.dequantize(untile(samples, shape, settings.layout, settings.align), side, settings.bit_depth)


def encode_tensor(name: str, v: np.ndarray, settings: EncodeSettings, implementation: Implementation = DEFAULT
                  ) -> TensorRecord:
    """One tensor through Q-layer, tiling and codec into a wire record."""
    return _encode_tensor(name, v, settings, implementation)[0]


def _encode_tensor(name: str, v: np.ndarray, settings: EncodeSettings, implementation: Implementation
                   ) -> tuple[TensorRecord, int]:
    picture, side, clipped = _to_picture(name, v, settings, implementation)
    codec = get_codec(settings.codec)
    payload = codec.encode(picture, settings.bit_depth)
    shape = (int(v.shape[0]), int(v.shape[1]), int(v.shape[2]))
    record = TensorRecord(name, shape, settings.bit_depth, settings.layout, settings.align, codec.name, side, payload)
    return record, clipped


def settings_of_record(record: TensorRecord) -> EncodeSettings:
    return EncodeSettings(record.bit_depth, record.mode, record.layout, record.align, record.codec)


def decode_record(record: TensorRecord, decoder: str | None = None, implementation: Implementation = DEFAULT,
                  decoded: DecodedPictures | None = None) -> tuple[np.ndarray, str]:
    """Inverse of :func:`encode_tensor`: codec decode → untile → de-quantize; also the decoder that ran. With
    ``decoded`` (a worker's, E-1.4) an HEVC stream decoded before in the job is not decoded again."""
    found = None
    if decoded is not None and record.codec == "hevc":
        found = decoded.get(record.payload, record.picture_shape, record.bit_depth, decoder)
    if found is None:
        codec = get_codec(record.codec, decoder)
        found = codec.decode_named(record.payload, record.picture_shape, record.bit_depth)
        if decoded is not None and record.codec == "hevc":
            found = decoded.put(record.payload, record.picture_shape, record.bit_depth, decoder, *found)
    picture, used = found
    return from_picture(picture, record.shape, record.side_info, settings_of_record(record), implementation), used


def encode_features(features: Mapping[str, np.ndarray], settings: EncodeSettings = EncodeSettings(),
                    implementation: Implementation = DEFAULT) -> bytes:
    """All tensors that cross a split, as one container."""
    return encode_uplink(features, settings, implementation).data


@dataclass(frozen=True)
class Uplink:
    """What the mobile side sends (the container's bytes) and the elements its Q-layer clipped (Q-7.3)."""

    data: bytes
    clipped: int


def encode_uplink(features: Mapping[str, np.ndarray], settings: EncodeSettings = EncodeSettings(),
                  implementation: Implementation = DEFAULT) -> Uplink:
    """:func:`encode_features` with the count of clipped elements (0 under the paper's quantizer)."""
    coded = [_encode_tensor(name, v, settings, implementation) for name, v in features.items()]
    return Uplink(pack([record for record, _ in coded]), sum(clipped for _, clipped in coded))


@dataclass(frozen=True)
class CloudSide:
    """What the cloud side made of one container: the features, the decoder of each tensor, and the bits counted
    from exactly the bytes it parsed (spec W-5)."""

    features: dict[str, np.ndarray]
    decoders: dict[str, str]
    bits: ImageBits


def decode_container(data: bytes, decoder: str | None = None, implementation: Implementation = DEFAULT,
                     decoded: DecodedPictures | None = None) -> CloudSide:
    """Parse a container strictly (W-4) and decode every tensor with the decoder policy ``decoder`` (H-4.4)."""
    records = parse(data)
    features, decoders = {}, {}
    for record in records:
        features[record.name], decoders[record.name] = decode_record(record, decoder, implementation, decoded)
    return CloudSide(features, decoders, image_bits(records, len(data)))


def decode_features(data: bytes) -> dict[str, np.ndarray]:
    return decode_container(data).features


def bits_of(data: bytes) -> ImageBits:
    """Counted bits and container overhead of one container (spec W-5)."""
    return image_bits(parse(data), len(data))

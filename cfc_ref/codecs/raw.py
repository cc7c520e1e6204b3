"""The ``raw`` codec (spec W-3.1): samples as they are, row-major, uint8 or little-endian uint16."""

from __future__ import annotations

import numpy as np

from cfc_ref.errors import CodecError


def raw_sample_dtype(bit_depth: int) -> np.dtype:
    return np.dtype(np.uint8) if bit_depth <= 8 else np.dtype("<u2")


class RawCodec:
    name = "raw"
    codec_id = 0

    def encode(self, picture: np.ndarray, bit_depth: int) -> bytes:
        if picture.ndim != 2:
            raise CodecError(f"expected a 2-d picture, got shape {picture.shape}")
        if picture.size and int(picture.max()) > 2**bit_depth - 1:
            raise CodecError(f"picture has samples above {2**bit_depth - 1} for {bit_depth} bits")
        return np.ascontiguousarray(picture, dtype=raw_sample_dtype(bit_depth)).tobytes()

    def decode(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> np.ndarray:
        dtype = raw_sample_dtype(bit_depth)
        if len(payload) != shape[0] * shape[1] * dtype.itemsize:
            raise CodecError(f"raw payload is {len(payload)} bytes, expected {shape[0] * shape[1] * dtype.itemsize}")
        picture = np.frombuffer(payload, dtype=dtype).reshape(shape)
        if picture.size and int(picture.max()) > 2**bit_depth - 1:
            raise CodecError(f"raw payload has samples above {2**bit_depth - 1} for {bit_depth} bits")
        return picture.astype(dtype.newbyteorder("="))

    def decode_named(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> tuple[np.ndarray, str]:
        return self.decode(payload, shape, bit_depth), "raw"

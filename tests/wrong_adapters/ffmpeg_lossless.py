"""Wrong on purpose: every stream decoded by FFmpeg (PyAV), lossless RExt streams included — which it mis-decodes
(spec H-4.3)."""

import numpy as np

from cfc_ref.codecs.hevc.ffmpeg import decode_ffmpeg

PROFILES = ("codec.decode",)


def decode_hevc(bitstream, width, height, bit_depth):
    picture = decode_ffmpeg(bytes(bitstream), (height, width), bit_depth)
    return picture.astype(np.uint8 if bit_depth == 8 else np.uint16)

"""FFmpeg's HEVC decoder inside the PyAV wheel, called on every stream (the package refuses it for lossless RExt)."""

import av

from cfc_ref.codecs.hevc.ffmpeg import decode_ffmpeg
from peers._decoders import as_picture

PROFILES = ("codec.decode",)
VERSION = f"PyAV {av.__version__}, libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}"


def decode_hevc(bitstream, width, height, bit_depth):
    return as_picture(decode_ffmpeg(bytes(bitstream), (height, width), bit_depth), bit_depth)

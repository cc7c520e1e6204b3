"""libde265 in process, through the pylibde265 wheel."""

from cfc_ref.codecs.hevc.pylibde265 import decode_pylibde265, pylibde265_available, pylibde265_name
from peers._decoders import as_picture

PROFILES = ("codec.decode",) if pylibde265_available() else ()
VERSION = pylibde265_name() if pylibde265_available() else "not installed"


def decode_hevc(bitstream, width, height, bit_depth):
    return as_picture(decode_pylibde265(bytes(bitstream), (height, width), bit_depth), bit_depth)

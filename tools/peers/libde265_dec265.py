"""libde265's command-line decoder dec265 (Debian: libde265-examples)."""

from cfc_ref.codecs.hevc.libde265 import decode_libde265, libde265_program, libde265_version
from peers._decoders import as_picture

PROFILES = ("codec.decode",) if libde265_program() else ()
VERSION = libde265_version(libde265_program()) if libde265_program() else "not installed"


def decode_hevc(bitstream, width, height, bit_depth):
    return as_picture(decode_libde265(bytes(bitstream), (height, width), bit_depth), bit_depth)

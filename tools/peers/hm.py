"""HM-16.12's own decoder and encoder (TAppDecoderStatic, TAppEncoderStatic; tools/build_hm.sh)."""

from cfc_ref.codecs.hevc.hm import decode_hm, encode_hm, hm_decoder, hm_encoder, hm_version
from peers._decoders import as_picture

PROFILES = (("codec.decode",) if hm_decoder() else ()) + (("codec.encode",) if hm_encoder() else ())
VERSION = hm_version(hm_decoder()) if hm_decoder() else "not installed"


def decode_hevc(bitstream, width, height, bit_depth):
    return as_picture(decode_hm(bytes(bitstream), (height, width), bit_depth), bit_depth)


def encode_hevc(picture, bit_depth, qp):
    return encode_hm(picture, bit_depth, qp)

"""``cfc-ref codec encode|decode|check``: HEVC for conformance users (spec/codec.md). Decoder names are checked
where they are used (H-4.4): building the parser does not load the codecs (E-10.3)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cfc_ref.cli.common import add_json, emit
from cfc_ref.errors import CfcError
from cfc_ref.fileio import write_output

MAX_STREAM_BYTES = 1 << 30  # a bitstream file larger than this is refused unread

if TYPE_CHECKING:  # importing the HEVC package loads PyAV; the CLI does that only when a codec command runs
    from cfc_ref.codecs.hevc.settings import Quality


def add_commands(sub: argparse._SubParsersAction) -> None:
    decoders = "auto, fast, pylibde265, hm, libde265 or ffmpeg"
    codec = sub.add_parser("codec", help="HEVC encode / decode / check vectors (spec/codec.md)")
    codec_sub = codec.add_subparsers(dest="codec_command", required=True)
    enc = codec_sub.add_parser("encode", help="raw picture → HEVC bitstream")
    enc.add_argument("input", help="raw samples: uint8, or little-endian uint16 above 8 bits, row-major")
    enc.add_argument("-o", "--output", required=True, help="the bitstream file to write")
    enc.add_argument("--width", type=int, required=True, help="picture width in samples")
    enc.add_argument("--height", type=int, required=True, help="picture height in samples")
    enc.add_argument("--bit-depth", type=int, required=True, help="bits per sample, 1 to 16")
    enc.add_argument("--qp", type=int, help="quantisation parameter (give --qp or --lossless)")
    enc.add_argument("--lossless", action="store_true", help="lossless coding (transquant bypass, spec H-3)")
    enc.add_argument("--encoder", choices=["x265", "hm"], default="x265",
                     help="x265 through PyAV, or HM-16.12 if installed (tools/build_hm.sh)")
    enc.set_defaults(func=_cmd_codec_encode)
    dec = codec_sub.add_parser("decode", help="HEVC bitstream → raw samples, through a conforming decoder")
    dec.add_argument("input", help="an HEVC bitstream (Annex B)")
    dec.add_argument("-o", "--output", required=True, help="the raw samples to write (uint8, or little-endian "
                                                           "uint16 above 8 bits)")
    dec.add_argument("--width", type=int, help="expected width (default: from the SPS)")
    dec.add_argument("--height", type=int, help="expected height (default: from the SPS)")
    dec.add_argument("--bit-depth", type=int, help="expected bit depth (default: from the SPS)")
    dec.add_argument("--decoder", default=None, metavar="NAME", help=decoders)
    dec.set_defaults(func=_cmd_codec_decode)
    chk = codec_sub.add_parser("check", help="run a directory of vectors (manifest.json) like golden/hm-16.12",
                               description="Per decoder: vectors decoded exact / wrong / refused / skipped. "
                               "Exit 1 when a picture or bitstream is wrong, a required decoder is missing, or "
                               "(--strict) a checked row did not decode every vector exactly.")
    chk.add_argument("directory", help="a directory with manifest.json (spec H-4.7)")
    chk.add_argument("--decoder", action="append", metavar="NAME",
                     help=f"a row to check: {decoders} (repeatable; default: auto, plus every installed decoder "
                     "for information)")
    chk.add_argument("--require-decoder", action="append", default=[], metavar="NAME",
                     help="fail unless this decoder is installed; it is checked as a row")
    chk.add_argument("--strict", action="store_true", help="fail when a checked row refused or skipped a vector")
    enc_group = chk.add_mutually_exclusive_group()
    enc_group.add_argument("--encode", dest="encode", action="store_true", default=None,
                           help="require the bitstream checks (a missing encoder counts as skipped)")
    enc_group.add_argument("--no-encode", dest="encode", action="store_false", help="check decoding only")
    add_json(chk, "the report")
    chk.add_argument("-v", "--verbose", action="store_true", help="one line per vector and row")
    chk.set_defaults(func=_cmd_codec_check)


def _quality(args: argparse.Namespace) -> Quality:
    if (args.qp is None) == (not args.lossless):
        raise CfcError("give exactly one of --qp QP or --lossless")
    return "lossless" if args.lossless else int(args.qp)


def _cmd_codec_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from cfc_ref.codecs.hevc import encode_picture, encoder_name
    from cfc_ref.codecs.raw import raw_sample_dtype
    from cfc_ref.tiling import MAX_PICTURE_SIDE

    for name in ("width", "height"):
        if not 1 <= getattr(args, name) <= MAX_PICTURE_SIDE:
            raise CfcError(f"--{name} must be 1 to {MAX_PICTURE_SIDE} (spec T-4.3), got {getattr(args, name)}")
    if not 1 <= args.bit_depth <= 16:
        raise CfcError(f"--bit-depth must be 1 to 16, got {args.bit_depth}")
    dtype = raw_sample_dtype(max(args.bit_depth, 8))
    from cfc_ref.fileio import read_bounded

    data = read_bounded(args.input, args.width * args.height * dtype.itemsize)
    expected = args.width * args.height * dtype.itemsize
    if len(data) != expected:
        raise CfcError(f"{args.input} has {len(data)} bytes, a {args.height}×{args.width} picture needs {expected}")
    picture = np.frombuffer(data, dtype=dtype).reshape(args.height, args.width)
    stream = encode_picture(picture.astype(np.uint8 if dtype.itemsize == 1 else np.uint16), args.bit_depth,
                            _quality(args), args.encoder)
    write_output(args.output, stream, "-o")
    print(f"{args.output}: {len(stream)} bytes ({8 * len(stream) / 1000:.3f} kbits), {encoder_name(args.encoder)}")
    return 0


def _cmd_codec_decode(args: argparse.Namespace) -> int:
    from cfc_ref.codecs.hevc import decode_picture
    from cfc_ref.codecs.hevc.check import raw_bytes
    from cfc_ref.codecs.hevc.syntax import stream_info
    from cfc_ref.fileio import read_bounded

    stream = read_bounded(args.input, MAX_STREAM_BYTES)
    if not stream:
        raise CfcError(f"{args.input} is empty")
    sps = stream_info(stream).sps
    shape = (args.height or sps.height, args.width or sps.width)
    bit_depth = args.bit_depth or sps.bit_depth_luma
    picture, decoder = decode_picture(stream, shape, bit_depth, args.decoder)
    write_output(args.output, raw_bytes(picture, max(bit_depth, 8)), "-o")
    print(f"{args.output}: {shape[0]}×{shape[1]} at {bit_depth} bits, decoded by {decoder}")
    return 0


def _cmd_codec_check(args: argparse.Namespace) -> int:
    from cfc_ref.codecs.hevc.check import check_directory, format_report

    report = check_directory(args.directory, args.decoder or None, args.encode, args.require_decoder)
    emit(args, report.to_json(args.strict), format_report(report, args.strict, args.verbose))
    return 1 if report.problems(args.strict) else 0

"""``cfc-ref demo`` and ``cfc-ref inspect``: the Q-layer, tiling and wire format on their own (spec Q-, T-, W-)."""

from __future__ import annotations

import argparse

from cfc_ref import __version__

MAX_CONTAINER_BYTES = 1 << 30  # a container file larger than this is refused unread


def add_commands(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="Q-layer + tiling + wire-format round trip on built-in feature tensors")
    demo.add_argument("--bits", type=int, nargs="+", default=[8, 10, 12], help="bit depths to round-trip")
    demo.add_argument("--codec", default="raw", help="the wire format's codec: raw (uncompressed samples) or hevc "
                                                     "(lossless, x265)")
    demo.set_defaults(func=_cmd_demo)
    inspect = sub.add_parser("inspect", help="parse a container strictly and list its records")
    inspect.add_argument("file", help="a container file (spec/container.md)")
    inspect.set_defaults(func=_cmd_inspect)


def _cmd_demo(args: argparse.Namespace) -> int:
    from cfc_ref.demo import round_trip

    print(f"cfc-ref {__version__}: Q-layer + tiling + wire-format round trip on the built-in feature tensors")
    print("(synthetic Leaky-ReLU fields shaped like YOLOv2 max 11 / max 17; codec 'raw' = uncompressed samples)\n")
    print(f"{'tensor':8} {'shape C×H×W':>13} {'bits':>4} {'max |V−V̂|':>11} {'bound Q-5.1':>11} "
          f"{'kbits (W-5.1)':>13} {'overhead bits':>13}")
    for row in round_trip(tuple(args.bits), args.codec):
        shape = "×".join(str(s) for s in row.shape)
        ok = "ok" if row.max_error <= row.error_bound else "EXCEEDS BOUND"
        print(f"{row.name:8} {shape:>13} {row.bit_depth:>4} {row.max_error:>11.3e} {row.error_bound:>11.3e} "
              f"{row.kilobits:>13.3f} {row.overhead_bits:>13}  {ok}")
        if row.max_error > row.error_bound:
            return 1
    if args.codec == "raw" and len({b for b in args.bits if 8 < b <= 16}) > 1:
        print("\n(codec 'raw' stores every sample above 8 bits in two bytes (spec W-3.1): 10 and 12 bits cost the "
              "same kbits; an HEVC codec tells them apart)")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from cfc_ref.accounting import image_bits
    from cfc_ref.container import parse
    from cfc_ref.fileio import read_bounded

    data = read_bounded(args.file, MAX_CONTAINER_BYTES)
    records = parse(data)
    for r in records:
        side = f"lo={r.side_info.lo!r} hi={r.side_info.hi!r}"
        print(f"{r.name}: {r.shape[0]}×{r.shape[1]}×{r.shape[2]} {r.bit_depth}-bit {r.mode} {r.layout} "
              f"align={r.align} codec={r.codec} picture={r.picture_shape[0]}×{r.picture_shape[1]} "
              f"payload={len(r.payload)} B {side}")
    bits = image_bits(records, len(data))
    print(f"counted: {bits.counted_bits} bits = {bits.kilobits:.3f} kbits; "
          f"container overhead: {bits.overhead_bits} bits")
    return 0

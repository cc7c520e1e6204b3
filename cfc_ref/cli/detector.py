"""``cfc-ref layers``: the per-layer profile of the detector (paper Fig. 1), as a table and a PNG."""

from __future__ import annotations

import argparse

from cfc_ref.cli.common import add_json, emit
from cfc_ref.errors import CfcError


def add_commands(sub: argparse._SubParsersAction) -> None:
    layers = sub.add_parser("layers", help="per-layer profile of the detector (paper Fig. 1): table and PNG")
    layers.add_argument("--cfg", default="yolo-voc", help="yolo-voc, yolo-voc.2.0, or a .cfg path")
    layers.add_argument("--width", type=int, default=416, help="input width in pixels")
    layers.add_argument("--height", type=int, default=416, help="input height in pixels")
    layers.add_argument("--width-factor", type=float, default=1.0, help="scale every layer's filters by this")
    layers.add_argument("--device", default="cpu", help="torch device to time on, e.g. cpu or cuda")
    layers.add_argument("--repeats", type=int, default=3,
                        help="timed forward passes (on the CPU the minimum of each layer's thread CPU time counts, "
                        "on a GPU the median)")
    layers.add_argument("--png", default="layers.png", help="figure path ('' for none)")
    add_json(layers, "the per-layer table")
    layers.set_defaults(func=_cmd_layers)


def _cmd_layers(args: argparse.Namespace) -> int:
    import math
    from pathlib import Path as _Path

    from cfc_ref.detector.cfg import BUILTIN, builtin_cfg, load_cfg, scale_width, with_input_size
    from cfc_ref.detector.model import DarknetModel
    from cfc_ref.detector.profile import format_table, layer_profile, plot_profile, profile_points
    from cfc_ref.detector.weights import randomize
    from cfc_ref.device import check_device
    from cfc_ref.fileio import write_output

    check_device(args.device, "--device")
    if not (math.isfinite(args.width_factor) and 0 < args.width_factor <= 16):
        raise CfcError(f"--width-factor must be a number in (0, 16], got {args.width_factor}")
    if not 1 <= args.repeats <= 1000:
        raise CfcError(f"--repeats must be 1 to 1000, got {args.repeats}")
    config = builtin_cfg(args.cfg) if args.cfg in BUILTIN else load_cfg(args.cfg)
    config = with_input_size(config, args.width, args.height)
    if args.width_factor != 1.0:
        config = scale_width(config, args.width_factor)
    rows = layer_profile(randomize(DarknetModel(config)), args.width, args.height, args.device, args.repeats)
    text = [f"{args.cfg} at {args.width}×{args.height}, width ×{args.width_factor}, measured on {args.device} "
            f"(random weights: time does not depend on them)", format_table(rows)]
    if args.png:
        title = (f"{_Path(args.cfg).name} {args.width}×{args.height} on {args.device}: "
                 "samples per layer, cumulative cost")
        write_output(args.png, plot_profile(rows, title), "--png")
        text.append(f"figure: {args.png}")
    emit(args, {"cfg": args.cfg, "width": args.width, "height": args.height, "width_factor": args.width_factor,
                 "device": args.device, "repeats": args.repeats, "png": args.png or None,
                 "layers": profile_points(rows)}, "\n".join(text))
    return 0

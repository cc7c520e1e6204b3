"""``cfc-ref`` command line: a thin layer over the API.

    cfc-ref                 # the main job: the paper's experiment on the embedded default (= cfc-ref run)
    cfc-ref run [CONFIG]    # the sweep (resumable), then Table 1 and Figs. 1, 4, 5
    cfc-ref report RESULTS  # Table 1 and figures from a results.json
    cfc-ref metrics map|bd  # VOC mAP and BD-KBPI-mAP for your own numbers
    cfc-ref demo            # Q-layer + tiling + wire-format round trip on built-in tensors
    cfc-ref inspect FILE    # parse a container strictly and list its records and bits
    cfc-ref codec encode|decode|check   # HEVC for conformance users (spec/codec.md)
    cfc-ref layers          # per-layer profile of YOLOv2-VOC (paper Fig. 1), table and PNG
    cfc-ref conformance --impl MODULE | --impl-cmd CMD   # check another implementation, per profile and clause
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from cfc_ref import __version__
from cfc_ref.errors import CfcError

if TYPE_CHECKING:  # importing the HEVC package loads PyAV; the CLI does that only when a codec command runs
    from cfc_ref.codecs.hevc.settings import Quality

EPILOG = """\
Without a command, cfc-ref runs the main job: `cfc-ref run` on the embedded default (the paper's experiment on a
synthetic stand-in, a few minutes on 2 cores; resumable).

Every command that produces results takes --json [FILE] (spec E-6.3): --json alone prints the results as one JSON
document on standard output and nothing else there; --json FILE writes it to FILE and prints the usual text.

Exit status (spec E-6.2): 0 success; 1 a check found a failure (a vector not reproduced, a conformance test
failed); 2 an error you can fix (bad input, one line); 3 an internal error (a bug: one line, CFC_DEBUG=1 shows the
traceback); 130 interrupted (finished results are kept).
"""


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """E-6.3: one --json convention for every command that produces results."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help=f"{what} as JSON: alone, on standard output instead of the text; with FILE, written "
                        "there as well as the text")


def _emit(args: argparse.Namespace, document: object, text: str | None) -> None:
    """Print ``text`` and/or write ``document`` as JSON, per --json (E-6.3)."""
    import json

    payload = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if args.json == "-":
        sys.stdout.write(payload)
        return
    if text is not None:
        print(text)
    if args.json:
        from cfc_ref.fileio import write_atomic

        write_atomic(Path(args.json), payload.encode())


def _note(args: argparse.Namespace, text: str) -> None:
    """A line that is not the results: on standard error under --json alone (E-6.3), else standard output."""
    print(text, file=sys.stderr if getattr(args, "json", None) == "-" else sys.stdout)


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
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from cfc_ref.accounting import image_bits
    from cfc_ref.container import parse

    data = Path(args.file).read_bytes()
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
    from cfc_ref.configfile import read_bounded

    data = read_bounded(args.input, args.width * args.height * dtype.itemsize)
    expected = args.width * args.height * dtype.itemsize
    if len(data) != expected:
        raise CfcError(f"{args.input} has {len(data)} bytes, a {args.height}×{args.width} picture needs {expected}")
    picture = np.frombuffer(data, dtype=dtype).reshape(args.height, args.width)
    stream = encode_picture(picture.astype(np.uint8 if dtype.itemsize == 1 else np.uint16), args.bit_depth,
                            _quality(args), args.encoder)
    Path(args.output).write_bytes(stream)
    print(f"{args.output}: {len(stream)} bytes ({8 * len(stream) / 1000:.3f} kbits), {encoder_name(args.encoder)}")
    return 0


def _cmd_codec_decode(args: argparse.Namespace) -> int:
    from cfc_ref.codecs.hevc import decode_picture
    from cfc_ref.codecs.hevc.check import raw_bytes
    from cfc_ref.codecs.hevc.syntax import stream_info

    stream = Path(args.input).read_bytes()
    if not stream:
        raise CfcError(f"{args.input} is empty")
    sps = stream_info(stream).sps
    shape = (args.height or sps.height, args.width or sps.width)
    bit_depth = args.bit_depth or sps.bit_depth_luma
    picture, decoder = decode_picture(stream, shape, bit_depth, args.decoder)
    Path(args.output).write_bytes(raw_bytes(picture, max(bit_depth, 8)))
    print(f"{args.output}: {shape[0]}×{shape[1]} at {bit_depth} bits, decoded by {decoder}")
    return 0


def _cmd_codec_check(args: argparse.Namespace) -> int:
    from cfc_ref.codecs.hevc.check import check_directory, format_report

    report = check_directory(args.directory, args.decoder or None, args.encode, args.require_decoder)
    _emit(args, report.to_json(args.strict), format_report(report, args.strict, args.verbose))
    return 1 if report.problems(args.strict) else 0


def _cmd_conformance(args: argparse.Namespace) -> int:
    if getattr(args, "conformance_command", None) == "compare":
        from cfc_ref.conformance.compare import compare, format_comparison, read_report

        diff = compare(read_report(args.before), read_report(args.after))
        _emit(args, diff, format_comparison(diff, args.before, args.after))
        return 1 if diff["regressions"] else 0
    from cfc_ref.conformance.runner import format_table, run_suite

    outcome = run_suite(args.impl, args.impl_cmd, args.profile, args.xfail, args.timeout, args.deadline,
                        progress=sys.stderr.isatty() and not args.json == "-")
    if args.junit_xml:
        from cfc_ref.conformance.junit import junit_xml
        from cfc_ref.fileio import write_atomic

        write_atomic(Path(args.junit_xml), junit_xml(outcome))
    _emit(args, outcome, format_table(outcome))
    return 0 if outcome["exit"] in (0, 5) and not any(r["outcome"] == "failed" for r in outcome["results"]) else 1


def _cmd_layers(args: argparse.Namespace) -> int:
    import math
    from pathlib import Path as _Path

    from cfc_ref.detector.cfg import BUILTIN, builtin_cfg, load_cfg, scale_width, with_input_size
    from cfc_ref.detector.model import DarknetModel
    from cfc_ref.detector.profile import format_table, layer_profile, plot_profile, profile_points
    from cfc_ref.detector.weights import randomize
    from cfc_ref.device import check_device

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
        plot_profile(rows, args.png, title)
        text.append(f"figure: {args.png}")
    _emit(args, {"cfg": args.cfg, "width": args.width, "height": args.height, "width_factor": args.width_factor,
                 "device": args.device, "repeats": args.repeats, "png": args.png or None,
                 "layers": profile_points(rows)}, "\n".join(text))
    return 0


def _cmd_metrics_map(args: argparse.Namespace) -> int:
    from cfc_ref.data.source import open_voc, read_truths
    from cfc_ref.metrics.files import read_detections
    from cfc_ref.metrics.voc import VOC_CLASSES, evaluate

    source = open_voc(args.voc_root)
    found = None if args.classes else source.classes()
    classes = tuple(args.classes.split(",")) if args.classes else found or VOC_CLASSES
    where = ("--classes" if args.classes else f"{source.name}'s classes.txt" if found else
             "the 20 VOC classes (no --classes, no classes.txt in the dataset)")
    truths = read_truths(source, source.ids(args.image_set))
    result = evaluate(truths, read_detections(args.detections, classes), classes)
    lines = [f"classes: {where}", f"{'class':14} {'npos':>6} {'AP VOC07':>9} {'AP all':>9}"]
    lines += [f"{r.cls:14} {r.npos:6d} {_ap(r.ap_voc07)} {_ap(r.ap_all)}" for r in result.per_class.values()]
    lines.append(f"{'mAP':14} {'':6} {result.map_voc07:9.4f} {result.map_all:9.4f}")
    document = {"classes_from": where, "image_set": args.image_set, "map_voc07": result.map_voc07,
                "map_all": result.map_all,
                "classes": [{"class": r.cls, "npos": r.npos, "ap_voc07": r.ap_voc07, "ap_all": r.ap_all}
                            for r in result.per_class.values()]}
    _emit(args, document, "\n".join(lines))
    return 0


def _ap(value: float | None) -> str:
    return "      n/a" if value is None else f"{value:9.4f}"


def _cmd_metrics_bd(args: argparse.Namespace) -> int:
    from cfc_ref.experiment.curves import read_curve_file
    from cfc_ref.metrics.bd import bd_summary

    anchor = read_curve_file(args.anchor, args.anchor_curve, args.pareto)
    test = read_curve_file(args.test, args.test_curve, args.pareto)
    summary = bd_summary(anchor, test, args.method)
    lines = [f"anchor: {len(anchor)} points, test: {len(test)} points"
             + (" (Pareto-optimal, M-5.4)" if args.pareto else " (as given)")]
    for method, cell in summary.items():
        if method == "read":
            continue
        rate, metric = cell["bd_kbpi_percent"], cell["bd_map"]
        lines.append(f"BD-KBPI-mAP ({method}): " + (f"{rate:+.2f} %" if rate is not None else
                                                    f"n/a ({cell['bd_kbpi_error']})")
                     + (f"   over mAP {cell['map_overlap'][0]:.4f}–{cell['map_overlap'][1]:.4f}"
                        if rate is not None else ""))
        lines.append(f"BD-mAP ({method}): " + (f"{metric:+.4f}" if metric is not None else
                                               f"n/a ({cell['bd_map_error']})")
                     + (f"   over KBPI {cell['kbpi_overlap'][0]:.4g}–{cell['kbpi_overlap'][1]:.4g}"
                        if metric is not None else ""))
    for key, name in (("bd_kbpi_percent", "BD-KBPI-mAP"), ("bd_map", "BD-mAP")):
        reading = summary.get("read", {}).get(key)
        if reading is None:
            continue
        value = reading["value"]
        shown = "none" if value is None else (f"{value:+.2f} %" if key == "bd_kbpi_percent" else f"{value:+.4f}")
        lines.append(f"read {name}: {shown}" + (f" ({reading['method']})" if reading["method"] else "")
                     + "".join(f"\n  caveat: {c}" for c in reading["caveats"]))
    _emit(args, summary, "\n".join(lines))
    return 0


def _add_metrics_commands(sub: argparse._SubParsersAction) -> None:
    from cfc_ref.experiment.curves import CURVE_HELP

    metrics = sub.add_parser("metrics", help="VOC mAP and BD-KBPI-mAP for your own numbers (spec/metrics.md)")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    m = metrics_sub.add_parser("map", help="per-class AP and mAP, VOC07 11-point and all-point")
    m.add_argument("voc_root", help="a VOCdevkit year directory (Annotations/, ImageSets/Main/), or a .zip of one")
    m.add_argument("detections", help="directory of comp4_det_<set>_<class>.txt files, or a .json file (spec M-3.2)")
    m.add_argument("--image-set", default="test", help="the image set of ImageSets/Main/ to evaluate")
    m.add_argument("--classes", default="", help="comma-separated class names (default: the dataset's classes.txt, "
                                                 "else the 20 VOC classes)")
    _add_json(m, "per-class AP and mAP")
    m.set_defaults(func=_cmd_metrics_map)
    b = metrics_sub.add_parser("bd", help="BD-KBPI-mAP and BD-mAP of TEST against ANCHOR (spec M-5)",
                               description="Each curve: a CSV of kbpi,map rows (a header naming the columns kbpi "
                               "and map is honoured), or a cfc-ref results.csv with a curve name. Prints cubic and "
                               "pchip, and the number to read with its caveats (spec M-5.6).")
    b.add_argument("anchor", help="the anchor curve's CSV file")
    b.add_argument("test", help="the test curve's CSV file")
    b.add_argument("--anchor-curve", metavar="CURVE", help=f"the anchor's curve in a results.csv: {CURVE_HELP}")
    b.add_argument("--test-curve", metavar="CURVE", help="the test's curve in a results.csv (as --anchor-curve)")
    b.add_argument("--pareto", action="store_true", help="use each curve's Pareto-optimal points, as the report "
                                                         "does (spec M-5.4)")
    b.add_argument("--method", choices=["cubic", "pchip", "both"], default="both",
                   help="the fit; both also gives the number to read (spec M-5.6)")
    _add_json(b, "the BD numbers")
    b.set_defaults(func=_cmd_metrics_bd)


def _cmd_run(args: argparse.Namespace) -> int:
    from cfc_ref.experiment.protocol import experiment_config, run_protocol

    config, embedded = experiment_config(args.config, output=args.output, limit=args.limit, workers=args.workers,
                                         weights=args.weights, cfg=args.cfg, splits=args.splits,
                                         lossy_only=args.lossy_only, accounting=args.accounting)
    _note(args, f"cfc-ref {__version__}: {config.name} -> {config.output}")
    outcome = run_protocol(config, with_retrained=embedded, progress=not args.quiet, engine=args.engine,
                           address=args.address)
    _emit(args, {"results": str(outcome.results), **outcome.report.to_json(), "timing": outcome.timing},
          f"{outcome.report.summary}\nResults: {outcome.results}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from cfc_ref.experiment.report import write_report

    retrained = {}
    for item in args.retrained:
        split, sep, path = item.partition("=")
        if not (sep and split and path):
            raise CfcError(f"--retrained {item!r}: expected SPLIT=RESULTS, e.g. max_11=runs/x/results.json")
        retrained[split] = path
    report = write_report(args.results, layer_figure=not args.no_layers, retrained=retrained)
    _emit(args, report.to_json(), report.summary)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from cfc_ref.training.run import TrainConfig, load_train_config, train_run, with_overrides

    config = load_train_config(args.config) if args.config else TrainConfig()
    config = with_overrides(config, split=args.split, mode=args.mode, iterations=args.iterations,
                            output=args.output, seed=args.seed)
    if args.split is not None and args.output is None and not args.config:
        config = with_overrides(config, output=f"runs/train-{args.split}")
    out = train_run(config)
    print(f"trained weights: {out / 'model.weights'} (cfg {out / 'model.cfg'}); loss curve {out / 'loss.png'}")
    return 0


def _add_experiment_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="compression-augmented training (paper §3.3), resumable")
    train.add_argument("config", nargs="?", help="training JSON (default: the embedded default, split max_11)")
    train.add_argument("--split", help="split point whose features are coded in the loop, e.g. max_17")
    train.add_argument("--mode", choices=["codec", "proxy", "none"],
                       help="what the features go through in the loop: the codec (paper §3.3, spec R-1), uniform "
                       "noise of the Q-layer's step (R-2), or nothing (default: the config's, codec)")
    train.add_argument("--iterations", type=int, help="training iterations (default: the config's)")
    train.add_argument("--seed", type=int, help="random seed (default: the config's)")
    train.add_argument("--output", help="output directory (default: the config's, or runs/train-SPLIT with --split)")
    train.set_defaults(func=_cmd_train)
    run = sub.add_parser("run", help="the paper's sweep: splits × bit depths × QPs + cloud-only (resumable)")
    run.add_argument("config", nargs="?", help="experiment JSON (default: the embedded default)")
    run.add_argument("--output", help="override the output directory")
    run.add_argument("--limit", type=int, help="use only the first N images")
    run.add_argument("--workers", type=int, help="processes (default: all cores)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--weights", help="Darknet weights to use instead of the config's model")
    run.add_argument("--cfg", help="cfg for --weights (default: the config's, or the embedded default's)")
    run.add_argument("--splits", nargs="+", help="split points to sweep, e.g. max_11 max_17")
    run.add_argument("--lossy-only", action="store_true", help="only the lossy split points (re-trained rows)")
    run.add_argument("--engine", choices=["local", "ray"], default="local",
                     help="local processes (default) or a Ray cluster (pip install 'cfc-ref[ray]'; spec E-8)")
    run.add_argument("--address", help="Ray cluster address for --engine ray (default: start a local one)")
    run.add_argument("--accounting", choices=["deployable", "paper", "both"],
                     help="what a split sends and counts (spec E-7): every crossing tensor (deployable), only the "
                     "split layer's own (paper), or both (default: the config's)")
    _add_json(run, "the paths written, Table 1 and the timing")
    run.set_defaults(func=_cmd_run)
    report = sub.add_parser("report", help="Table 1 and Figs. 1, 4, 5 from a results.json")
    report.add_argument("results", help="a run's results.json; the report is written beside it")
    report.add_argument("--no-layers", action="store_true", help="skip Fig. 1 (layer profile)")
    report.add_argument("--retrained", action="append", default=[], metavar="SPLIT=RESULTS",
                        help="results.json of a run with re-trained weights for SPLIT (Table 1 row, dashed curve); "
                        "repeatable (default: retrained-SPLIT/results.json found beside RESULTS)")
    _add_json(report, "the paths written and Table 1")
    report.set_defaults(func=_cmd_report)


def _add_codec_commands(sub: argparse._SubParsersAction) -> None:
    # Decoder names are checked where they are used (spec H-4.4): parsing arguments does not load the codecs.
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
    _add_json(chk, "the report")
    chk.add_argument("-v", "--verbose", action="store_true", help="one line per vector and row")
    chk.set_defaults(func=_cmd_codec_check)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default where it has one (E-6.3)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (action.default not in (None, False, "", [], argparse.SUPPRESS) and "default" not in text
                and action.option_strings):
            shown = " ".join(map(str, action.default)) if isinstance(action.default, list) else action.default
            text += f" (default: {shown})"
        return text


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (spec E-6.1), pointing at --help instead of repeating the usage."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cfc-ref", description=__doc__.splitlines()[0], epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"cfc-ref {__version__}")
    parser.set_defaults(func=_cmd_run, config=None, output=None, limit=None, workers=None, quiet=False, weights=None,
                        cfg=None, splits=None, lossy_only=False, accounting=None, engine="local", address=None,
                        json=None)
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="Q-layer + tiling + wire-format round trip on built-in feature tensors")
    demo.add_argument("--bits", type=int, nargs="+", default=[8, 10, 12], help="bit depths to round-trip")
    demo.add_argument("--codec", default="raw", help="the wire format's codec: raw (uncompressed samples) or hevc "
                                                     "(lossless, x265)")
    demo.set_defaults(func=_cmd_demo)
    inspect = sub.add_parser("inspect", help="parse a container strictly and list its records")
    inspect.add_argument("file", help="a container file (spec/wire-format.md)")
    inspect.set_defaults(func=_cmd_inspect)
    _add_codec_commands(sub)
    _add_metrics_commands(sub)
    _add_experiment_commands(sub)
    layers = sub.add_parser("layers", help="per-layer profile of the detector (paper Fig. 1): table and PNG")
    layers.add_argument("--cfg", default="yolo-voc", help="yolo-voc, yolo-voc.2.0, or a .cfg path")
    layers.add_argument("--width", type=int, default=416, help="input width in pixels")
    layers.add_argument("--height", type=int, default=416, help="input height in pixels")
    layers.add_argument("--width-factor", type=float, default=1.0, help="scale every layer's filters by this")
    layers.add_argument("--device", default="cpu", help="torch device to time on, e.g. cpu or cuda")
    layers.add_argument("--repeats", type=int, default=3, help="timed forward passes (the median counts)")
    layers.add_argument("--png", default="layers.png", help="figure path ('' for none)")
    _add_json(layers, "the per-layer table")
    layers.set_defaults(func=_cmd_layers)
    conf = sub.add_parser("conformance", help="the conformance suite against an implementation, per profile and "
                                              "clause (spec/conformance.md)",
                          description="Run the suite (spec C-2.8), or `cfc-ref conformance compare A.json B.json` "
                          "to see what changed between two reports.")
    conf.add_argument("--impl", help="adapter module (default: $CFC_IMPL, else the reference)")
    conf.add_argument("--impl-cmd", help="an executable speaking the JSON-lines process protocol (spec C-2.5)")
    conf.add_argument("--profile", action="append", help="run only this profile (repeatable): wire, metrics, "
                                                         "metrics.ap, metrics.bd, detector, …, codec, codec.encode")
    conf.add_argument("--xfail", help="file of vector ids expected to fail (one per line)")
    conf.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for one answer (default: by profile, 10 s for wire "
                      "and metrics, more for detector and codec; spec C-2.5)")
    conf.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for the whole run (default 3600)")
    conf.add_argument("--junit-xml", metavar="FILE", help="also write the outcomes as JUnit XML (for CI systems)")
    _add_json(conf, "the report (suite version and catalogue digest, implementation, environment, every test)")
    conf_sub = conf.add_subparsers(dest="conformance_command", metavar="compare")
    cmp_ = conf_sub.add_parser("compare", help="what changed between two conformance reports (--json FILE of two "
                                               "runs); exit 1 when a test got worse")
    cmp_.add_argument("before", help="the earlier report (JSON)")
    cmp_.add_argument("after", help="the later report (JSON)")
    _add_json(cmp_, "the differences")
    conf.set_defaults(func=_cmd_conformance)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 1 when a check found a failure, 2 on bad input (one line, spec E-6.1), 3 on an internal
    error (a bug: one line too, with the traceback only under CFC_DEBUG=1), 130 when interrupted."""
    for stream in (sys.stdout, sys.stderr):  # E-6.1: a terminal that cannot show a character gets a '?', no error
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CfcError as err:
        print(f"cfc-ref: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"cfc-ref: error: {where}{_one_line(err.strerror or err)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] != "torch":
            return _internal_error(err)
        print("cfc-ref: error: this command needs torch, which is not installed: pip install 'cfc-ref[torch]' "
              "(torch==2.13.0)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cfc-ref: interrupted (finished results are kept; run the same command again to resume)",
              file=sys.stderr)
        return 130
    except Exception as err:
        return _internal_error(err)


def _internal_error(err: Exception) -> int:
    if os.environ.get("CFC_DEBUG"):
        raise err
    print(f"cfc-ref: internal error: {type(err).__name__}: {_one_line(err)[:300]} (a bug in cfc-ref: please "
          "report it; CFC_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())

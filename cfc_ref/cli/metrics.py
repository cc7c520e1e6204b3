"""``cfc-ref metrics map|bd``: VOC mAP and BD-KBPI-mAP for your own numbers (spec/metrics.md)."""

from __future__ import annotations

import argparse

from cfc_ref.cli.common import add_json, emit


def add_commands(sub: argparse._SubParsersAction) -> None:
    from cfc_ref.metrics.curves import CURVE_HELP

    metrics = sub.add_parser("metrics", help="VOC mAP and BD-KBPI-mAP for your own numbers (spec/metrics.md)")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    m = metrics_sub.add_parser("map", help="per-class AP and mAP, VOC07 11-point and all-point")
    m.add_argument("voc_root", help="a VOCdevkit year directory (Annotations/, ImageSets/Main/), or a .zip of one")
    m.add_argument("detections", help="directory of comp4_det_<set>_<class>.txt files, or a .json file (spec M-3.2)")
    m.add_argument("--image-set", default="test", help="the image set of ImageSets/Main/ to evaluate")
    m.add_argument("--classes", default="", help="comma-separated class names (default: the dataset's classes.txt, "
                                                 "else the 20 VOC classes)")
    add_json(m, "per-class AP and mAP")
    m.set_defaults(func=_cmd_metrics_map)
    b = metrics_sub.add_parser("bd", help="BD-KBPI-mAP and BD-mAP of TEST against ANCHOR (spec M-5)",
                               description="Each curve: a CSV of kbpi,map rows (a header naming the columns kbpi "
                               "and map is honoured), a cfc-ref results.csv with a curve name, or a CompressAI-Vision "
                               "summary.csv (a run's compressai-vision/<curve>/summary.csv, or a directory of "
                               "<qp>/evaluation/summary.csv files; spec E-15.5). Prints cubic and pchip, and the "
                               "number to read with its caveats (spec M-5.6).")
    b.add_argument("anchor", help="the anchor curve's CSV file (or a directory of summary.csv files)")
    b.add_argument("test", help="the test curve's CSV file (or a directory of summary.csv files)")
    b.add_argument("--anchor-curve", metavar="CURVE", help=f"the anchor's curve in a results.csv: {CURVE_HELP}")
    b.add_argument("--test-curve", metavar="CURVE", help="the test's curve in a results.csv (as --anchor-curve)")
    b.add_argument("--pareto", action="store_true", help="use each curve's Pareto-optimal points, as the report "
                                                         "does (spec M-5.4)")
    b.add_argument("--method", choices=["cubic", "pchip", "monotonic", "both", "all"], default="all",
                   help="the fit: cubic (M-5.1), pchip, the monotonic constrained cubic (M-5.8); both (cubic and "
                   "pchip) and all (the three) also give the number to read (spec M-5.6)")
    b.add_argument("--rate", choices=["auto", "kbpi", "avg_bpp"], default="auto",
                   help="the rate of a summary.csv: auto (kbpi where the file has it, as cfc-ref's own do, else "
                   "avg_bpp), kbpi, or avg_bpp (bits per pixel); both curves must be in one unit (spec E-15.5)")
    b.add_argument("--percent", choices=["anchor", "test", "both"],
                   help="that curve's summary.csv holds end_accuracy in percent (divided by 100); default: none")
    add_json(b, "the BD numbers")
    b.set_defaults(func=_cmd_metrics_bd)


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
    emit(args, document, "\n".join(lines))
    return 0


def _ap(value: float | None) -> str:
    return "      n/a" if value is None else f"{value:9.4f}"


def _cmd_metrics_bd(args: argparse.Namespace) -> int:
    from cfc_ref.errors import MetricsError
    from cfc_ref.metrics.bd import bd_summary
    from cfc_ref.metrics.curves import read_curve
    from cfc_ref.metrics.summary import UNITS

    first = read_curve(args.anchor, args.anchor_curve, args.pareto, args.rate, args.percent in ("anchor", "both"))
    second = read_curve(args.test, args.test_curve, args.pareto, args.rate, args.percent in ("test", "both"))
    if first.unit != second.unit:  # E-15.5: BD of curves in two units would measure the units
        raise MetricsError(f"the anchor's rate is {first.unit} ({UNITS[first.unit]}), the test's {second.unit} "
                           f"({UNITS[second.unit]}): BD needs one unit; give --rate avg_bpp with cfc-ref's "
                           "summary.csv, or compare like with like")
    anchor, test = first.points, second.points
    summary = bd_summary(anchor, test, args.method)
    shown = summary.lines()
    if first.unit != "kbpi":  # the rate axis's name in the text (the numbers are the same kind, E-15.5)
        shown = [line.replace("over KBPI", f"over {first.unit}").replace("ln KBPI", f"ln {first.unit}")
                 for line in shown]
    lines = [f"anchor: {len(anchor)} points, test: {len(test)} points"
             + (" (Pareto-optimal, M-5.4)" if args.pareto else " (as given)")
             + ("" if first.unit == "kbpi" else f"; rate: {first.unit} ({UNITS[first.unit]})"), *shown]
    emit(args, summary.to_json(), "\n".join(lines))
    return 0
